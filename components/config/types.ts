// The typed configuration the program reads: what parseConfig returns. The shape of what a stack
// may SAY is components/config/homelab-config.schema.json; these types are what the loader makes of it (defaults
// applied, names resolved). The enums below are checked against the schema's by test/config-schema.test.ts.
import * as pulumi from "@pulumi/pulumi";

export const PROJECT = "homelab";
export const PROD_STACK = "prod";

export type Mode = "hosts" | "k3d" | "multipass";
export type Role = "server" | "agent";

export interface SyncPolicy {
    automated: boolean;
    prune: boolean;
    selfHeal: boolean;
}

export const RESTART_KINDS = ["Deployment", "DaemonSet", "StatefulSet", "argo.Rollout"] as const;
export type RestartKind = (typeof RESTART_KINDS)[number];

/** A workload VSO rolls out again when the instance's database credentials rotate. */
export interface RestartTarget {
    kind: RestartKind;
    name: string;
}

export interface AppSpec {
    name: string;
    public: boolean;
    envs: string[];
    /** The effective Argo CD sync policy per env (defaults merged with the per-env override). */
    sync: Record<string, SyncPolicy>;
    /** Workloads that read the database credentials at start: restarted when they rotate. */
    rolloutRestartTargets: RestartTarget[];
    /** The CONNECTION LIMIT of each of the app's databases (one per env). */
    connectionLimit: number;
}

export interface ChartSpec {
    repo: string;
    chart: string;
    version: string;
}

export const CHART_KEYS = ["longhorn", "vault", "vaultSecretsOperator", "argoCd"] as const;
export type ChartKey = (typeof CHART_KEYS)[number];
export const IMAGE_KEYS = ["postgres", "gitea", "vault", "minio"] as const;
export type ImageKey = (typeof IMAGE_KEYS)[number];

export interface Versions {
    k3s: string;
    charts: Record<ChartKey, ChartSpec>;
    images: Record<ImageKey, string>;
    rclone: RcloneSpec;
}

/** The data host's rclone (backup-install.sh installs this release where an older one is found). */
export interface RcloneSpec {
    version: string;
    /** SHA-256 of rclone-v<version>-linux-arm64.zip (the release's SHA256SUMS), or a REPLACE-ME placeholder. */
    sha256LinuxArm64: string;
}

export interface HostSpec {
    name: string;
    /** The DNS name the host is known by, if any (part of prod's fingerprint). */
    hostname?: string;
    address: string;
    role: Role;
    /**
     * The host's SSH public host key, `<type> <base64> [comment]` (a line of `ssh-keyscan`
     * output without the host name): the command provider accepts this key only.
     */
    hostKey: string;
}

export interface VmSpec {
    name: string;
    role: Role;
    cpus: number;
    memory: string;
    disk: string;
}

export interface K3dSpec {
    clusterName: string;
    apiPort: number;
    /** The laptop port Vault's NodePort is published on. */
    vaultPort: number;
    /** The laptop port Argo CD's NodePort is published on. */
    argoCdPort: number;
    /** The laptop port (loopback) of the cluster's port 80: k3s's Traefik, the ingress. */
    ingressPort: number;
    /** Seconds `k3d cluster create --wait` may take. */
    waitTimeoutSeconds: number;
    /**
     * The laptop's Docker runtime, for k3d's DNS fix (K3D_FIX_DNS): auto lets k3d decide;
     * docker-desktop forces it on, colima forces it off (components/metal/README.md).
     */
    dockerRuntime: DockerRuntime;
}

export const DOCKER_RUNTIMES = ["auto", "docker-desktop", "colima"] as const;
export type DockerRuntime = (typeof DOCKER_RUNTIMES)[number];

export interface BackupSpec {
    bucket: string;
    /** Where Longhorn's backups live in the bucket (the bucket also holds other things). */
    prefix: string;
    /** Use an existing bucket instead of creating it. */
    existing: boolean;
    project?: string;
    location: string;
}

/** A Longhorn recurring job: when (cron, in the Longhorn manager's time zone) and how many it keeps. */
export interface RecurringSpec {
    cron: string;
    retain: number;
}

/** How often each kind of data is backed up, and how many backups are kept (Pulumi.yaml backupSchedule). */
export interface BackupSchedule {
    longhorn: { backup: RecurringSpec; snapshot: RecurringSpec; concurrency: number };
    /** The data host's job: a systemd calendar shorthand, and complete backups kept per kind. */
    dataHost: { schedule: DataHostSchedule; retain: number };
}

export const DATA_HOST_SCHEDULES = ["hourly", "daily", "weekly"] as const;
export type DataHostSchedule = (typeof DATA_HOST_SCHEDULES)[number];
export const SCHEDULE_HOURS: Record<DataHostSchedule, number> = { hourly: 1, daily: 24, weekly: 168 };

/** An existing Vault that runs inside the stack's cluster (prod's, in the tools namespace). */
export interface VaultInCluster {
    namespace: string;
    service: string;
    port: number;
}

/**
 * The OIDC issuer whose tokens Gitea CI presents to Vault's JWT backend. Absent: no JWT backend
 * (Gitea 1.25 issues no OIDC tokens to Actions jobs; a backend nobody can log in to is not kept).
 */
export interface GiteaOidc {
    /** Exactly the `iss` claim of the tokens (Gitea's ROOT_URL, with its trailing slash). */
    issuer: string;
    /** The `aud` the tokens carry; Vault refuses a token with an `aud` its role does not bind. */
    audience: string;
    /** Where Vault fetches the signing keys; otherwise OIDC discovery on the issuer. */
    jwksUrl?: string;
}

/** Prod: what Ansible and OpenTofu already built, adopted (imported) instead of created. */
export interface Existing {
    /** Helm releases already installed, by chart key: where they are (`<namespace>/<name>`). */
    releases: Partial<Record<ChartKey, { namespace: string; name: string }>>;
    /** Vault's mounts, auth backends and their configuration (OpenTofu). */
    vault: boolean;
    /** App instances whose database, roles, namespace and Vault policy and roles exist. */
    instances: string[];
    /** Cloudflare record ids of the public apps' existing DNS records, by app. */
    dnsRecords: Record<string, string>;
    /**
     * The data host's Postgres and Gitea run in a compose project that is not the program's: used
     * where they are, never composed (its project name, for the backup job to find the containers).
     */
    dataHost?: { composeProject: string };
}

/** Where a sandbox's Gitea is seeded from: the operator's local clones (never prod's Gitea). */
export interface SeedSpec {
    /** A folder holding one clone per app, `<folder>/<app>` (as written: `~` and relative paths resolve later). */
    folder?: string;
    /** A clone per app (overrides `folder` for that app). */
    repos: Record<string, string>;
}

/**
 * Prod's live identities (guard layer 3): what a sandbox must never find on the other end.
 * Kubernetes: the `kube-system` namespace's metadata.uid; Vault: `cluster_id` of /v1/sys/health;
 * PostgreSQL: `system_identifier` of pg_control_system().
 */
export interface ProdIdentity {
    kubeSystemUid: string;
    vaultClusterId: string;
    postgresSystemIdentifier: string;
}

/** How Argo CD reads prod's existing Gitea: a user and a token (a `secure:` value). */
export interface RepoCredsSpec {
    username: string;
    /** Secret. */
    password: pulumi.Output<string>;
}

export interface LabConfig {
    project: string;
    stack: string;
    isProd: boolean;
    mode: Mode;
    apps: AppSpec[];
    versions: Versions;
    giteaOrg: string;
    /** hosts mode: the machines; multipass mode: undefined (they come from the VMs). */
    hosts?: HostSpec[];
    vms?: VmSpec[];
    /** multipass image: pinned Ubuntu release, never the moving `lts` alias. */
    vmImage: string;
    k3d?: K3dSpec;
    /** hosts and multipass: the host that runs Postgres and Gitea in docker compose. */
    dataHost?: string;
    sshUser: string;
    sshPublicKeyFile: string;
    /** A fixed k3s join token (secret); otherwise the server's own token is read back. */
    k3sToken?: pulumi.Output<string>;
    /**
     * hosts and multipass: the version a host at another k3s version may be upgraded to (always
     * versions.k3s), or undefined: such a host is refused, untouched (k3s-install.sh). Prod: only
     * with homelab:k3sUpgradeTo in Pulumi.prod.yaml naming that version. A sandbox: always (a
     * rehearsal, upgraded the same way: server first, then one agent at a time).
     */
    k3sUpgrade?: string;
    /** Prod edge: DNS zone and its Cloudflare zone id. */
    zone?: string;
    /** Prod: the internal DNS domain of the lab (names the guard treats as prod). */
    internalZone?: string;
    /**
     * Prod: keys still holding a `REPLACE-ME` placeholder (facts the seeds do not state). A real
     * run of prod refuses them; only the offline plan lets them through, as warnings.
     */
    placeholders: { key: string; value: string }[];
    cloudflareZoneId?: string;
    /** Prod edge: the Cloudflare tunnel hostname public records point at. */
    tunnelHostname?: string;
    /** The operator's URL of the stack's Vault (prod: the existing one); sandboxes derive theirs. */
    vaultAddress?: string;
    /** Prod: where its existing Vault runs inside the cluster; absent means outside the cluster. */
    vaultInCluster?: VaultInCluster;
    giteaOidc?: GiteaOidc;
    backup?: BackupSpec;
    /** Prod only: what already exists (adoption). */
    existing?: Existing;
    /** The admin password of an existing data host's Postgres (secret); absent: the provider's PGPASSWORD. */
    postgresAdminPassword?: pulumi.Output<string>;
    backupSchedule: BackupSchedule;
    /** Sandboxes: where the Gitea repositories are seeded from (absent: every repository starts empty). */
    seed?: SeedSpec;
    /** Prod: its live identities, read by a sandbox's guard (layer 3). */
    identity?: ProdIdentity;
    /** Prod: Argo CD's credentials for the existing Gitea (sandboxes get a bootstrap token). */
    repoCreds?: RepoCredsSpec;
    /** The migrations switched on (components/migrations.ts): prod's `homelab:migrations`, every one on a sandbox. */
    migrations: string[];
}

