// Helm values of the platform's releases, built in code from the configuration (pure functions,
// so tests can read them without a cluster).
import { ChartKey, LabConfig } from "../config";
import { shared } from "../naming";
import { ARGOCD_NODE_PORT, VAULT_NODE_PORT } from "../metal/types";

/** Vault's API port (the chart's service, and an existing in-cluster Vault's default). */
export const VAULT_PORT = 8200;
/** Longhorn replicates each volume on this many nodes (the three Pis, the three VMs). */
export const LONGHORN_REPLICAS = 3;
export const LONGHORN_STORAGE_CLASS = "longhorn";
export const BACKUP_CREDENTIALS_SECRET = "longhorn-backup-gcs";

export type VaultMode = "dev" | "standalone" | "external";

/** Which Vault each stack has: dev on k3d, standalone on the VMs, the existing one on prod. */
export function vaultMode(cfg: LabConfig): VaultMode {
    if (cfg.mode === "k3d") return "dev";
    return cfg.isProd ? "external" : "standalone";
}

/**
 * Where the stack's Vault runs, as the cluster sees it: inside the cluster (a sandbox's own
 * release, or prod's existing one in its namespace) or outside it (an existing Vault that only
 * has an address). It decides VSO's address and how Vault's Kubernetes auth reviews tokens.
 */
export type VaultLocation =
    | { kind: "in-cluster"; namespace: string; service: string; port: number; address: string }
    | { kind: "outside"; address: string };

export function vaultLocation(cfg: LabConfig): VaultLocation {
    const inCluster = (namespace: string, service: string, port: number): VaultLocation => ({
        kind: "in-cluster", namespace, service, port,
        address: `http://${service}.${namespace}.svc.cluster.local:${port}`,
    });
    if (vaultMode(cfg) !== "external") return inCluster(shared.vaultNamespace, shared.releases.vault, VAULT_PORT);
    if (cfg.vaultInCluster) return inCluster(cfg.vaultInCluster.namespace, cfg.vaultInCluster.service, cfg.vaultInCluster.port);
    return { kind: "outside", address: cfg.vaultAddress! };
}

/** Where each chart's release lives: prod's existing ones where they are, the program's own by naming.ts. */
const DEFAULT_NAMESPACES: Record<ChartKey, string> = {
    longhorn: shared.longhornNamespace,
    vault: shared.vaultNamespace,
    vaultSecretsOperator: shared.vsoNamespace,
    argoCd: shared.argoCdNamespace,
};

export function releaseLocation(cfg: LabConfig, key: ChartKey): { namespace: string; name: string } {
    return cfg.existing?.releases[key] ?? { namespace: DEFAULT_NAMESPACES[key], name: shared.releases[key] };
}

/** Longhorn runs where there are real (or virtual) disks and three nodes; not on k3d. */
export function hasLonghorn(cfg: LabConfig): boolean {
    return cfg.mode !== "k3d";
}

/** The releases a stack installs, in one place (tests and the parity check read it). */
export function releasesOf(cfg: LabConfig): ChartKey[] {
    const r: ChartKey[] = [];
    if (hasLonghorn(cfg)) r.push("longhorn");
    if (vaultMode(cfg) !== "external") r.push("vault");
    r.push("vaultSecretsOperator", "argoCd");
    return r;
}

/**
 * Longhorn's values. `deletingConfirmationFlag` is what lets the chart's pre-delete uninstall job
 * succeed (longhorn/longhorn v1.10.1 chart/templates/uninstall-job.yaml runs `longhorn-manager
 * uninstall`, which refuses unless the setting is true): on for sandboxes, which are destroyed
 * often; never on prod, where an uninstall must stay refused.
 */
export function longhornValues(backupTarget: string | undefined, allowUninstall: boolean): Record<string, unknown> {
    return {
        persistence: {
            defaultClass: true,
            defaultClassReplicaCount: LONGHORN_REPLICAS,
            reclaimPolicy: "Retain",
        },
        defaultSettings: {
            defaultReplicaCount: LONGHORN_REPLICAS,
            deletingConfirmationFlag: allowUninstall,
        },
        defaultBackupStore: backupTarget
            ? { backupTarget, backupTargetCredentialSecret: BACKUP_CREDENTIALS_SECRET }
            : { backupTarget: "" },
    };
}

export function vaultValues(mode: "dev" | "standalone", cfg: LabConfig): Record<string, unknown> {
    const [repository, tag] = splitImage(cfg.versions.images.vault);
    const server: Record<string, unknown> = {
        image: { repository, tag },
        service: { type: "NodePort", nodePort: VAULT_NODE_PORT },
    };
    if (mode === "dev") {
        // the root token is set by the program (a secret), not the chart's default "root"
        server.dev = { enabled: true };
        server.dataStorage = { enabled: false };
        // The chart's default OnDelete (hashicorp/vault-helm v0.32.0 values.yaml
        // server.updateStrategyType) would keep the old pod, and its old token, after a new
        // token; a dev Vault holds nothing to lose in a rolling update.
        server.updateStrategyType = "RollingUpdate";
    } else {
        server.standalone = {
            enabled: true,
            config: [
                "ui = true",
                "listener \"tcp\" {",
                "  address = \"[::]:8200\"",
                "  cluster_address = \"[::]:8201\"",
                "  tls_disable = 1",
                "}",
                "storage \"file\" {",
                "  path = \"/vault/data\"",
                "}",
            ].join("\n"),
        };
        server.dataStorage = { enabled: true, size: "2Gi", storageClass: LONGHORN_STORAGE_CLASS };
    }
    return { injector: { enabled: false }, server };
}

export function vsoValues(): Record<string, unknown> {
    // The default VaultConnection is created by the program (validated against its CRD).
    return { defaultVaultConnection: { enabled: false } };
}

/**
 * Argo CD's values (argoproj/argo-helm argo-cd-10.1.1 charts/argo-cd/values.yaml). A sandbox
 * publishes the server on a fixed NodePort (templates/argocd-server/service.yaml sets
 * `nodePort` from `server.service.nodePortHttp`); prod's stays a ClusterIP service.
 */
export function argoCdValues(publishNodePort: boolean): Record<string, unknown> {
    const values: Record<string, unknown> = {
        crds: { install: true, keep: true },
        configs: { params: { "server.insecure": true } },
        dex: { enabled: false },
    };
    if (publishNodePort) values.server = { service: { type: "NodePort", nodePortHttp: ARGOCD_NODE_PORT } };
    return values;
}

export function splitImage(image: string): [string, string] {
    const i = image.lastIndexOf(":");
    return [image.slice(0, i), image.slice(i + 1)];
}
