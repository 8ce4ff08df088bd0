// Helm's release records, read the way Helm reads them (helm/helm v3.19.0; pulumi-kubernetes 4.34.2
// embeds Helm 3 and its Release resource keeps the same storage):
// - pkg/storage/storage.go: HelmStorageType = "sh.helm.release.v1"; makeKey(name, version) =
//   "sh.helm.release.v1.<name>.v<version>";
// - pkg/storage/driver/secrets.go newSecretsObject: a Secret of type "helm.sh/release.v1" in the
//   release namespace, labels name, owner=helm, status, version, data {"release": encodeRelease(rls)};
// - pkg/storage/driver/util.go encodeRelease: json.Marshal, gzip (BestCompression), base64
//   StdEncoding; decodeRelease: base64-decode, gunzip when it starts with the gzip magic 1f 8b 08
//   (older releases are plain JSON), json.Unmarshal;
// - pkg/release/release.go: Release{name, info{status}, chart{metadata{name, version}}, config
//   (the user-supplied values, what `helm get values` prints), manifest, version, namespace}.
// The Kubernetes API returns a Secret's data base64-encoded, so the release field is base64 twice.
import * as zlib from "zlib";
import { HelmReleaseFacts } from "../../components/facts";

export const HELM_STORAGE_TYPE = "sh.helm.release.v1";
export const HELM_SECRET_TYPE = "helm.sh/release.v1";

export function helmSecretName(release: string, version: number): string {
    return `${HELM_STORAGE_TYPE}.${release}.v${version}`;
}

export interface HelmRelease {
    name: string;
    namespace: string;
    version: number;
    status: string;
    chart: string;
    chartVersion: string;
    config: Record<string, unknown>;
}

/** util.go encodeRelease (for the replica's fake API): base64(gzip(json)). */
export function encodeRelease(rls: unknown): string {
    return zlib.gzipSync(Buffer.from(JSON.stringify(rls)), { level: 9 }).toString("base64");
}

/** util.go decodeRelease. */
export function decodeRelease(data: string): any {
    let b = Buffer.from(data, "base64");
    if (b.length > 3 && b[0] === 0x1f && b[1] === 0x8b && b[2] === 0x08) b = zlib.gunzipSync(b);
    return JSON.parse(b.toString("utf8"));
}

/** A release Secret as the API returns it (data base64) to the release it records. */
export function releaseFromSecret(secret: any): HelmRelease {
    const name = secret?.metadata?.name ?? "?";
    if (secret?.type !== HELM_SECRET_TYPE) throw new Error(`Secret ${name} is of type ${secret?.type}, not ${HELM_SECRET_TYPE}`);
    const field = secret?.data?.release;
    if (typeof field !== "string") throw new Error(`Secret ${name} has no data.release`);
    const rls = decodeRelease(Buffer.from(field, "base64").toString("utf8"));
    const meta = rls?.chart?.metadata ?? {};
    return {
        name: rls.name,
        namespace: rls.namespace,
        version: Number(rls.version),
        status: rls?.info?.status ?? secret?.metadata?.labels?.status ?? "unknown",
        chart: meta.name,
        chartVersion: meta.version,
        config: rls.config ?? {},
    };
}

/**
 * The release Helm acts on: the highest revision whose status is `deployed` (what `helm get values`
 * and `helm upgrade` start from). None deployed: an error naming the revisions seen.
 */
export function currentRelease(secrets: any[], namespace: string, name: string): HelmReleaseFacts & { revision: number } {
    const mine = secrets.filter((s) => s?.metadata?.labels?.owner === "helm" && s?.metadata?.labels?.name === name);
    if (mine.length === 0) throw new Error(`no Helm release ${namespace}/${name}: no Secret ${HELM_STORAGE_TYPE}.${name}.v<N> in namespace ${namespace}`);
    const releases = mine.map(releaseFromSecret).sort((a, b) => b.version - a.version);
    const deployed = releases.find((r) => r.status === "deployed");
    if (!deployed) throw new Error(`Helm release ${namespace}/${name} has no deployed revision (${releases.map((r) => `v${r.version} ${r.status}`).join(", ")})`);
    return { chart: deployed.chart, version: deployed.chartVersion, values: deployed.config, revision: deployed.version };
}
