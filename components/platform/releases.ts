// Helm values of the platform's releases, built in code from the configuration (pure functions,
// so tests can read them without a cluster).
import { ChartKey, LabConfig } from "../config";
import { shared } from "../naming";
import { VAULT_NODE_PORT } from "../metal/types";

/** Vault's API as workloads inside the cluster reach it (VSO, Vault's own auth config). */
export const VAULT_CLUSTER_ADDRESS = `http://${shared.releases.vault}.${shared.vaultNamespace}.svc.cluster.local:8200`;
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

export function longhornValues(backupTarget?: string): Record<string, unknown> {
    return {
        persistence: {
            defaultClass: true,
            defaultClassReplicaCount: LONGHORN_REPLICAS,
            reclaimPolicy: "Retain",
        },
        defaultSettings: {
            defaultReplicaCount: LONGHORN_REPLICAS,
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

export function argoCdValues(): Record<string, unknown> {
    return {
        crds: { install: true, keep: true },
        configs: { params: { "server.insecure": true } },
        dex: { enabled: false },
    };
}

export function splitImage(image: string): [string, string] {
    const i = image.lastIndexOf(":");
    return [image.slice(0, i), image.slice(i + 1)];
}
