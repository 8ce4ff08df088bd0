// The Kubernetes side of discover, read-only (GET and LIST only): Helm release Secrets, the app
// namespaces' ServiceAccounts and VSO objects, kube-system's UID. Each call bounded in time.
import { KubeObjectFacts } from "../../components/facts";
import { withTimeout } from "../../components/guard/identity";
import { currentRelease } from "./helm";

/** VSO's kinds (secrets.hashicorp.com/v1beta1, the CRDs in ../crds of the pinned chart), plural names. */
export const VSO_KINDS: { kind: string; plural: string }[] = [
    { kind: "VaultConnection", plural: "vaultconnections" },
    { kind: "VaultAuth", plural: "vaultauths" },
    { kind: "VaultDynamicSecret", plural: "vaultdynamicsecrets" },
    { kind: "VaultStaticSecret", plural: "vaultstaticsecrets" },
];
export const VSO_GROUP = "secrets.hashicorp.com";
export const VSO_VERSION = "v1beta1";

export interface KubeRead {
    kubeSystemUid(): Promise<string>;
    listSecrets(namespace: string, labelSelector: string): Promise<any[]>;
    listServiceAccounts(namespace: string): Promise<any[]>;
    listCustom(group: string, version: string, namespace: string, plural: string): Promise<any[]>;
}

export async function kubeRead(kubeconfig: string, timeoutMs: number): Promise<KubeRead> {
    const k8s = await import("@kubernetes/client-node");
    const kc = new k8s.KubeConfig();
    kc.loadFromString(kubeconfig);
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const custom = kc.makeApiClient(k8s.CustomObjectsApi);
    const t = <T>(p: Promise<T>, what: string) => withTimeout(p, timeoutMs, `Kubernetes API, ${what}`);
    return {
        kubeSystemUid: async () => {
            const ns = await t(core.readNamespace({ name: "kube-system" }), "reading namespace kube-system");
            if (!ns.metadata?.uid) throw new Error("namespace kube-system has no metadata.uid");
            return ns.metadata.uid;
        },
        listSecrets: async (namespace, labelSelector) => (await t(core.listNamespacedSecret({ namespace, labelSelector }), `listing Secrets in ${namespace}`)).items,
        listServiceAccounts: async (namespace) => (await t(core.listNamespacedServiceAccount({ namespace }), `listing ServiceAccounts in ${namespace}`)).items,
        listCustom: async (group, version, namespace, plural) =>
            ((await t(custom.listNamespacedCustomObject({ group, version, namespace, plural }), `listing ${plural} in ${namespace}`)) as any).items ?? [],
    };
}

export async function readHelmRelease(kube: KubeRead, namespace: string, name: string) {
    // secrets.go List/Query: the label selector owner=helm,name=<release>
    const secrets = await kube.listSecrets(namespace, `owner=helm,name=${name}`);
    return currentRelease(secrets, namespace, name);
}

/** The fields of an object the program would register: no status, no server-set metadata. */
function objectFacts(apiVersion: string, kind: string, o: any): KubeObjectFacts {
    const out: KubeObjectFacts = { apiVersion, kind, name: o?.metadata?.name };
    if (o?.spec !== undefined) out.spec = o.spec;
    return out;
}

/**
 * An app namespace's ServiceAccounts (but `default`, which Kubernetes makes in every namespace)
 * and VSO objects, sorted by kind then name.
 */
export async function readNamespace(kube: KubeRead, namespace: string): Promise<KubeObjectFacts[]> {
    const out: KubeObjectFacts[] = [];
    for (const sa of await kube.listServiceAccounts(namespace)) {
        if (sa?.metadata?.name === "default") continue;
        const f = objectFacts("v1", "ServiceAccount", sa);
        if (sa.automountServiceAccountToken !== undefined) f.spec = { automountServiceAccountToken: sa.automountServiceAccountToken };
        out.push(f);
    }
    for (const { kind, plural } of VSO_KINDS) {
        for (const o of await kube.listCustom(VSO_GROUP, VSO_VERSION, namespace, plural)) out.push(objectFacts(`${VSO_GROUP}/${VSO_VERSION}`, kind, o));
    }
    return out.sort((a, b) => a.kind.localeCompare(b.kind) || a.name.localeCompare(b.name));
}
