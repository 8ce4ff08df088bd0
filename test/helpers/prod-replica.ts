// A replica of prod as Ansible and OpenTofu built it, on loopback servers, for the adoption proof
// (issue 16 item 4) and discover's end-to-end tests:
// - PostgreSQL 17.7 (the run's server, postgres-server.ts): per instance the owner role `<app>_role`
//   and the database `<app>` owned by it, as postgres/iac makes them (the seed commit of ADR-0002
//   Phase B: "db=<app>, role=<app>_role"), created with the SQL the same provider runs
//   (cyrilgdn/terraform-provider-postgresql, through pg-applier.ts: OpenTofu used that provider);
// - Vault: a real OpenBao server of its own (openbao.ts, raft storage, initialised and unsealed
//   here), with what OpenTofu made: the kv v2 mount `apps`, the `database` mount with one
//   connection and one role per instance, Kubernetes auth with one role and one policy per instance;
// - the Kubernetes API (fake-cluster-api.ts): Helm's release Secrets of the releases Ansible
//   installed (Longhorn in longhorn-system, VSO in tools; helm.ts encodes them as Helm does) and,
//   per app namespace, its ServiceAccount and the VSO objects it runs (VaultAuth, VaultDynamicSecret);
// - Cloudflare's API (fake-cloudflare.ts) with the zone and the public apps' records; an sshd-like
//   fake per Pi (fake-sshd.ts) with its host key.
// What the seeds do not state (the charts' versions and values Ansible used, the connections'
// user, the policies' text...) is a stand-in chosen here and written once below (REPLICA_*), so
// the tests compare what discover reads with exactly what was built.
import { spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { encodeRelease, helmSecretName, HELM_SECRET_TYPE } from "../../tools/discover/helm";
import { PlanResource } from "../../tools/plan-types";
import { FakeClusterApi, list, namespace } from "./fake-cluster-api";
import { FakeCloudflare } from "./fake-cloudflare";
import { FakeSshd } from "./fake-sshd";
import { OpenBaoPersistent, startOpenBaoPersistent } from "./openbao";
import { applyPlan, quoteIdent, resetServer } from "./pg-applier";
import { PostgresServer } from "./postgres-server";

export const ZONE = "arcodange.fr";
export const TUNNEL = "6ff42ae2-765d-4adf-8112-31c55c1551ef.cfargotunnel.com";
export const ZONE_ID = "023e105f4ecef8ad9ca31a8372d0c353";
export const KUBE_SYSTEM_UID = "5d8f3c2a-1b4e-4f6a-9c7d-2e8b0a1f3c4d";

/** The releases Ansible installed: chart versions and the values it passed (stand-ins). */
export const REPLICA_RELEASES = {
    "longhorn-system/longhorn": { chart: "longhorn", version: "1.8.1", revision: 2, values: { defaultSettings: { backupTarget: "s3://arcodange-tf@europe-west1/longhorn", backupTargetCredentialSecret: "longhorn-gcs-backup", defaultReplicaCount: 2 }, persistence: { defaultClassReplicaCount: 2 } } },
    "tools/vault-secrets-operator": { chart: "vault-secrets-operator", version: "0.9.1", revision: 1, values: { defaultVaultConnection: { enabled: true, address: "http://vault.tools.svc.cluster.local:8200", skipTLSVerify: false } } },
};

/** OpenTofu's Vault database role of an instance (stand-in: no createrole_self_grant, no revocation statements). */
export function replicaCreationStatements(app: string): string[] {
    return [`CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}' IN ROLE "${ownerRole(app)}";`];
}

/** OpenTofu's policy of an instance (HCL, as it was written there). */
export function replicaPolicy(app: string): string {
    return `path "apps/data/${app}" {\n  capabilities = ["read"]\n}\n\npath "apps/data/${app}/*" {\n  capabilities = ["read"]\n}\n\npath "database/creds/${app}" {\n  capabilities = ["read"]\n}\n`;
}

export const ownerRole = (app: string) => `${app.replace(/-/g, "_")}_role`;
/** The public apps (the project's catalogue: public: true). */
export const PUBLIC_APPS = ["webapp", "cms", "url-shortener", "dance-lessons-coach"];

export interface Replica {
    instances: string[];
    pg: PostgresServer;
    vault: OpenBaoPersistent;
    vaultToken: string;
    kube: FakeClusterApi;
    cloudflare: FakeCloudflare;
    sshd: Record<string, FakeSshd>;
    dnsRecordIds: Record<string, string>;
    dir: string;
    /** The endpoints file for `discover --endpoints` (every endpoint on loopback). */
    endpointsFile: string;
    /** The environment discover needs (tokens for the replica, never prod's). */
    env: NodeJS.ProcessEnv;
    /** The plan's PostgreSQL address (as Vault in prod's cluster reaches it) -> this replica's. */
    mapAddress(s: string): string;
    stop(): Promise<void>;
}

function helmReleaseSecret(ns: string, name: string, r: { chart: string; version: string; revision: number; values: unknown }, status: string, revision: number) {
    const rls = { name, namespace: ns, version: revision, info: { status, description: "Upgrade complete" }, chart: { metadata: { name: r.chart, version: r.version, apiVersion: "v2" }, values: { chartDefaults: true } }, config: r.values, manifest: "---\n" };
    return {
        apiVersion: "v1", kind: "Secret", type: HELM_SECRET_TYPE,
        metadata: { name: helmSecretName(name, revision), namespace: ns, labels: { name, owner: "helm", status, version: String(revision) } },
        data: { release: Buffer.from(encodeRelease(rls)).toString("base64") },
    };
}

/** A self-signed CA certificate (openssl), standing in for the cluster's CA. */
function selfSignedCa(dir: string): string {
    const r = spawnSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", path.join(dir, "ca.key"), "-subj", "/CN=k3s-server-ca", "-days", "1"], { encoding: "utf8", timeout: 20_000 });
    if (r.status !== 0) throw new Error(`openssl could not make the replica's cluster CA: ${r.stderr ?? r.error}`);
    return r.stdout;
}

/** Initialises and unseals a persistent OpenBao server; waits until it is active. */
async function initVault(v: OpenBaoPersistent): Promise<string> {
    const init = await v.call("PUT", "sys/init", { secret_shares: 1, secret_threshold: 1 }, null);
    await v.call("PUT", "sys/unseal", { key: init.keys_base64[0] }, null);
    const deadline = Date.now() + 30_000;
    for (;;) {
        const h = await v.request("GET", "sys/health", undefined, null);
        if (h.status === 200) return init.root_token;
        if (Date.now() > deadline) throw new Error(`OpenBao did not become active: ${h.status} ${JSON.stringify(h.body)}\n${v.logTail()}`);
        await new Promise((r) => setTimeout(r, 200));
    }
}

/** Builds the replica (PostgreSQL is reset first: the run's server is shared with other suites). */
export async function buildReplica(pg: PostgresServer, instances: string[]): Promise<Replica> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "prod-replica-"));
    const started: (() => Promise<void>)[] = [];
    try {
        // PostgreSQL: postgres/iac's roles and databases, with the provider's own SQL
        await resetServer(pg);
        const iac: PlanResource[] = [];
        for (const app of instances) {
            const base = { parent: null, provider: null, protect: false, import: null, retainOnDelete: false };
            iac.push({ ...base, urn: `tofu::postgresql_role.${app}`, type: "postgresql:index/role:Role", name: ownerRole(app), dependsOn: [], inputs: { name: ownerRole(app), login: true, password: crypto.randomBytes(18).toString("base64url") } });
            iac.push({ ...base, urn: `tofu::postgresql_database.${app}`, type: "postgresql:index/database:Database", name: app, dependsOn: [`tofu::postgresql_role.${app}`], inputs: { name: app, owner: ownerRole(app) } });
        }
        await applyPlan(pg, iac);

        // Vault (OpenBao): what OpenTofu configured
        const vault = await startOpenBaoPersistent();
        started.push(() => vault.stop());
        const token = await initVault(vault);
        const w = (p: string, body: unknown) => vault.call("POST", p, body, token);
        await w("sys/mounts/apps", { type: "kv", description: "App secrets", options: { version: "2" } });
        await w("sys/mounts/database", { type: "database", description: "Dynamic PostgreSQL credentials" });
        await w("sys/auth/kubernetes", { type: "kubernetes" });
        // In the cluster Vault reads the cluster's CA from its pod (disable_local_ca_jwt false); out of
        // it, OpenBao needs the CA given: the replica's own, which discover then reads back.
        await w("auth/kubernetes/config", { kubernetes_host: "https://kubernetes.default.svc:443", kubernetes_ca_cert: selfSignedCa(dir) });
        for (const app of instances) {
            await vault.call("PUT", `sys/policy/${app}`, { policy: replicaPolicy(app) }, token);
            await w(`auth/kubernetes/role/${app}`, { bound_service_account_names: [app], bound_service_account_namespaces: [app], token_policies: [app], token_ttl: 3600 });
            await w(`database/config/${app}`, {
                plugin_name: "postgresql-database-plugin",
                connection_url: `postgresql://{{username}}:{{password}}@127.0.0.1:${pg.port}/${app}?sslmode=disable`,
                username: "postgres", password: pg.superuserPassword, allowed_roles: [app], verify_connection: true,
            });
            await w(`database/roles/${app}`, { db_name: app, creation_statements: replicaCreationStatements(app), default_ttl: 3600, max_ttl: 86400 });
        }

        // Kubernetes API: Helm's release Secrets and the app namespaces' objects
        const kube = new FakeClusterApi();
        await kube.start();
        started.push(() => kube.stop());
        kube.objects.set("/api/v1/namespaces/kube-system", namespace("kube-system", KUBE_SYSTEM_UID));
        const byNs = new Map<string, unknown[]>();
        for (const [key, r] of Object.entries(REPLICA_RELEASES)) {
            const [ns, name] = key.split("/");
            const secrets = byNs.get(ns) ?? [];
            for (let rev = 1; rev <= r.revision; rev++) secrets.push(helmReleaseSecret(ns, name, { ...r, values: rev === r.revision ? r.values : { old: true } }, rev === r.revision ? "deployed" : "superseded", rev));
            byNs.set(ns, secrets);
        }
        for (const [ns, items] of byNs) kube.objects.set(`/api/v1/namespaces/${ns}/secrets`, list("Secret", "v1", items));
        const vso = "/apis/secrets.hashicorp.com/v1beta1/namespaces";
        for (const app of instances) {
            kube.objects.set(`/api/v1/namespaces/${app}/serviceaccounts`, list("ServiceAccount", "v1", [
                { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "default", namespace: app, uid: `sa-default-${app}` } },
                { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: app, namespace: app, uid: `sa-${app}` } },
            ]));
            kube.objects.set(`${vso}/${app}/vaultauths`, list("VaultAuth", "secrets.hashicorp.com/v1beta1", [
                { apiVersion: "secrets.hashicorp.com/v1beta1", kind: "VaultAuth", metadata: { name: "default", namespace: app }, spec: { method: "kubernetes", mount: "kubernetes", kubernetes: { role: app, serviceAccount: app, audiences: ["vault"] } }, status: { valid: true } },
            ]));
            kube.objects.set(`${vso}/${app}/vaultdynamicsecrets`, list("VaultDynamicSecret", "secrets.hashicorp.com/v1beta1", [
                { apiVersion: "secrets.hashicorp.com/v1beta1", kind: "VaultDynamicSecret", metadata: { name: `${app}-db`, namespace: app }, spec: { vaultAuthRef: "default", mount: "database", path: `creds/${app}`, destination: { name: `${app}-db-credentials`, create: true } }, status: { lastGeneration: 1 } },
            ]));
            for (const plural of ["vaultconnections", "vaultstaticsecrets"]) kube.objects.set(`${vso}/${app}/${plural}`, list("List", "secrets.hashicorp.com/v1beta1", []));
        }

        // Cloudflare and the Pis' SSH servers
        const cloudflare = new FakeCloudflare();
        await cloudflare.start();
        started.push(() => cloudflare.stop());
        const dnsRecordIds: Record<string, string> = {};
        const records = [
            { id: "rec-mx-1", type: "MX", name: ZONE, content: "mx.zoho.eu", proxied: false, ttl: 3600 },
            { id: "rec-apex", type: "CNAME", name: ZONE, content: TUNNEL, proxied: true, ttl: 1 },
        ];
        for (const app of PUBLIC_APPS.filter((a) => instances.includes(a))) {
            dnsRecordIds[app] = crypto.createHash("md5").update(app).digest("hex");
            records.push({ id: dnsRecordIds[app], type: "CNAME", name: `${app}.${ZONE}`, content: TUNNEL, proxied: true, ttl: 1 });
        }
        cloudflare.zones.push({ id: ZONE_ID, name: ZONE, records }, { id: "other-zone", name: "example.org", records: [] });
        const sshd: Record<string, FakeSshd> = {};
        for (const pi of ["pi1", "pi2", "pi3"]) {
            sshd[pi] = new FakeSshd();
            await sshd[pi].start();
            const s = sshd[pi];
            started.push(() => s.stop());
        }

        const kubeconfig = path.join(dir, "replica.kubeconfig");
        fs.writeFileSync(kubeconfig, kube.kubeconfig());
        const endpointsFile = path.join(dir, "endpoints.json");
        fs.writeFileSync(endpointsFile, JSON.stringify({
            kubeconfig, vault: vault.addr, postgres: `127.0.0.1:${pg.port}`, cloudflare: cloudflare.url,
            ssh: Object.fromEntries(Object.entries(sshd).map(([n, s]) => [n, `127.0.0.1:${s.port}`])),
        }, null, 2));
        const prodPg = "192.168.1.202:5432";
        return {
            instances, pg, vault, vaultToken: token, kube, cloudflare, sshd, dnsRecordIds, dir, endpointsFile,
            env: { VAULT_TOKEN: token, PGPASSWORD: pg.superuserPassword, PGUSER: "postgres", CLOUDFLARE_API_TOKEN: cloudflare.token, HOME: dir },
            mapAddress: (s) => s.split(prodPg).join(`127.0.0.1:${pg.port}`),
            async stop() {
                for (const f of started.reverse()) await f().catch(() => undefined);
                fs.rmSync(dir, { recursive: true, force: true });
                await resetServer(pg).catch(() => undefined);
            },
        };
    } catch (e) {
        for (const f of started.reverse()) await f().catch(() => undefined);
        fs.rmSync(dir, { recursive: true, force: true });
        throw e;
    }
}

export { quoteIdent };
