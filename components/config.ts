// The one typed, validated configuration loader. Everything the program reads from
// Pulumi config goes through parseConfig; a bad value fails here, before any resource
// is registered, naming the key, the stack and what was expected.
import * as pulumi from "@pulumi/pulumi";
import { instanceNames, NamingError, PROD_ENV } from "./naming";

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

/** An instance's database connection limit when its app names none (catalogue key connectionLimit). */
export const DEFAULT_CONNECTION_LIMIT = 20;
/** Above this, one instance could take most of a default server's max_connections (100). */
export const MAX_CONNECTION_LIMIT = 80;

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

/**
 * The hours between two runs of a cron expression, for the simple shapes a backup schedule has
 * (minute and hour fixed: daily; hour a step of N: every N hours; hour any: hourly; minute,
 * hour and weekday fixed: weekly); undefined for anything else.
 */
export function cronIntervalHours(cron: string): number | undefined {
    const f = cron.trim().split(/\s+/);
    if (f.length !== 5 || !/^\d{1,2}$/.test(f[0]) || f[2] !== "*" || f[3] !== "*") return undefined;
    if (f[1] === "*" && f[4] === "*") return 1;
    const every = /^\*\/(\d{1,2})$/.exec(f[1]);
    if (every && f[4] === "*" && Number(every[1]) >= 1 && Number(every[1]) <= 24) return Number(every[1]);
    if (/^\d{1,2}$/.test(f[1]) && f[4] === "*") return 24;
    if (/^\d{1,2}$/.test(f[1]) && /^[0-6]$/.test(f[4])) return 168;
    return undefined;
}

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
}

/** A configuration mistake: printed without a stack trace by Pulumi (RunError) and by the plan. */
export class ConfigError extends pulumi.RunError {
    readonly isConfigError = true;
    constructor(readonly stack: string, readonly key: string, message: string) {
        super(`configuration error in stack "${stack}": ${message}`);
        this.name = "ConfigError";
    }
}

export function isConfigError(e: unknown): e is ConfigError {
    return !!e && typeof e === "object" && (e as { isConfigError?: boolean }).isConfigError === true;
}

/** Raw config as Pulumi hands it over: full keys (`homelab:apps`) to strings (JSON for objects). */
export type RawConfig = Record<string, string>;

const SECRET_KEYS = new Set(["k3sToken", "giteaRepoToken", "postgresAdminPassword"]);

/** Every key the project namespace accepts, and in which file it normally lives. */
const KEYS: Record<string, "project" | "stack"> = {
    apps: "project",
    versions: "project",
    giteaOrg: "project",
    backupSchedule: "project",
    mode: "stack",
    hosts: "stack",
    vms: "stack",
    vmImage: "stack",
    k3d: "stack",
    dataHost: "stack",
    sshUser: "stack",
    sshPublicKeyFile: "stack",
    k3sToken: "stack",
    k3sUpgradeTo: "stack",
    zone: "stack",
    internalZone: "stack",
    cloudflareZoneId: "stack",
    tunnelHostname: "stack",
    vaultAddress: "stack",
    vaultInCluster: "stack",
    giteaOidc: "stack",
    backup: "stack",
    existing: "stack",
    postgresAdminPassword: "stack",
    seed: "stack",
    identity: "stack",
    giteaRepoUser: "stack",
    giteaRepoToken: "stack",
};

const KEBAB = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const HOSTNAME = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const SIZE = /^[1-9]\d*[KMG]$/;
const K3S_VERSION = /^v\d+\.\d+\.\d+\+k3s\d+$/;
const SEMVER = /^\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** pg_control_system().system_identifier: an unsigned 64-bit integer, printed in decimal. */
const PG_SYSTEM_ID = /^[1-9]\d{0,19}$/;
const IMAGE = /^[a-z0-9.-]+(:\d+)?(\/[a-z0-9._-]+)+:[A-Za-z0-9._-]+$/;
const HOST_KEY_TYPES = [
    "ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "ssh-rsa",
] as const;
const HOST_KEY = /^(\S+) ([A-Za-z0-9+/]+={0,2})( [^\r\n]*)?$/;

/**
 * Whether a line is an OpenSSH public key as the command provider reads a hostKey: it hands it
 * to golang.org/x/crypto/ssh ParseAuthorizedKey (pulumi/pulumi-command v1.2.1,
 * provider/pkg/provider/remote/connection.go). Checked here: a host key type, and base64 whose
 * wire format starts with that same type name (RFC 4253 6.6: string type, then the key).
 */
export function isOpenSshPublicKey(line: string): boolean {
    const m = HOST_KEY.exec(line);
    if (!m || !(HOST_KEY_TYPES as readonly string[]).includes(m[1])) return false;
    const blob = Buffer.from(m[2], "base64");
    if (blob.length < 4 + m[1].length || blob.toString("base64") !== m[2]) return false;
    const n = blob.readUInt32BE(0);
    return n === m[1].length && blob.subarray(4, 4 + n).toString("latin1") === m[1] && blob.length > 4 + n;
}

/** Marks a value the operator must still replace with the real one (a fact the seeds do not state). */
export const PLACEHOLDER_MARK = "REPLACE-ME";

/** A small validating reader that knows the stack and the key path it is at. */
class Reader {
    readonly placeholders: { key: string; value: string }[] = [];
    constructor(readonly stack: string) {}

    /** A value that may be left as an obvious placeholder (recorded) until the operator knows it. */
    placeholderOr(key: string, v: unknown, read: () => string): string {
        if (typeof v === "string" && v.toUpperCase().includes(PLACEHOLDER_MARK)) {
            this.placeholders.push({ key: `${PROJECT}:${key}`, value: v });
            return v;
        }
        return read();
    }

    fail(key: string, value: unknown, expected: string): never {
        const shown = value === undefined ? "nothing" : JSON.stringify(value);
        const top = key.split(/[.[]/)[0];
        const where = KEYS[top] === "project"
            ? `the project defaults in Pulumi.yaml (or an override in Pulumi.${this.stack}.yaml)`
            : `Pulumi.${this.stack}.yaml`;
        throw new ConfigError(this.stack, key,
            `key "${PROJECT}:${key}" is ${shown}; expected ${expected}. Fix it in ${where}.`);
    }

    object(key: string, v: unknown, allowed: readonly string[]): Record<string, unknown> {
        if (v === null || typeof v !== "object" || Array.isArray(v)) {
            this.fail(key, v, `an object with keys ${allowed.join(", ")}`);
        }
        const o = v as Record<string, unknown>;
        for (const k of Object.keys(o)) {
            if (!allowed.includes(k)) {
                this.fail(`${key}.${k}`, o[k], `no such key (known keys under ${PROJECT}:${key}: ${allowed.join(", ")})`);
            }
        }
        return o;
    }

    map(key: string, v: unknown): Record<string, unknown> {
        if (v === null || typeof v !== "object" || Array.isArray(v)) this.fail(key, v, "a map");
        return v as Record<string, unknown>;
    }

    array(key: string, v: unknown, min = 0): unknown[] {
        if (!Array.isArray(v) || v.length < min) this.fail(key, v, `a list of at least ${min} item(s)`);
        return v as unknown[];
    }

    string(key: string, v: unknown, pattern?: RegExp, what?: string): string {
        if (typeof v !== "string" || v.length === 0 || (pattern && !pattern.test(v))) {
            this.fail(key, v, what ?? (pattern ? `a string matching ${pattern.source}` : "a non-empty string"));
        }
        return v as string;
    }

    bool(key: string, v: unknown): boolean {
        if (typeof v !== "boolean") this.fail(key, v, "true or false");
        return v as boolean;
    }

    int(key: string, v: unknown, min: number, max: number): number {
        if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
            this.fail(key, v, `an integer from ${min} to ${max}`);
        }
        return v as number;
    }

    oneOf<T extends string>(key: string, v: unknown, values: readonly T[]): T {
        if (typeof v !== "string" || !values.includes(v as T)) this.fail(key, v, `one of ${values.join(", ")}`);
        return v as T;
    }

    url(key: string, v: unknown): string {
        const s = this.string(key, v, undefined, "a URL such as https://vault.example.org:8200");
        let ok = false;
        try {
            ok = ["http:", "https:"].includes(new URL(s).protocol);
        } catch {
            ok = false;
        }
        if (!ok) this.fail(key, v, "an http(s) URL such as https://vault.example.org:8200");
        return s;
    }

    unique(key: string, names: string[], what: string): void {
        const seen = new Set<string>();
        for (const n of names) {
            if (seen.has(n)) this.fail(key, n, `unique ${what}s (${JSON.stringify(n)} appears twice)`);
            seen.add(n);
        }
    }
}

function parseValue(stack: string, fullKey: string, raw: string): unknown {
    const trimmed = raw.trim();
    if (/^[[{]/.test(trimmed)) {
        try {
            return JSON.parse(trimmed);
        } catch {
            throw new ConfigError(stack, fullKey, `key "${fullKey}" is not valid structured config: ${raw}`);
        }
    }
    if (trimmed === "true") return true;
    if (trimmed === "false") return false;
    if (/^-?\d+$/.test(trimmed)) return Number(trimmed);
    return raw;
}

const DEFAULT_SYNC: SyncPolicy = { automated: true, prune: true, selfHeal: true };

function readApps(r: Reader, v: unknown): AppSpec[] {
    const key = "apps";
    const catalogue = r.map(key, v);
    const names = Object.keys(catalogue);
    if (names.length === 0) r.fail(key, v, "at least one app");
    const apps: AppSpec[] = [];
    const seenLower = new Map<string, string>();
    for (const name of names) {
        const k = `${key}.${name}`;
        if (!KEBAB.test(name)) r.fail(k, name, `an app name in kebab-case (${KEBAB.source})`);
        const folded = name.toLowerCase();
        if (seenLower.has(folded)) r.fail(k, name, `unique app names ("${name}" duplicates "${seenLower.get(folded)}")`);
        seenLower.set(folded, name);
        const o = r.object(k, catalogue[name] ?? {}, ["public", "envs", "sync", "rolloutRestartTargets", "connectionLimit"]);
        const isPublic = o.public === undefined ? false : r.bool(`${k}.public`, o.public);
        const envs = o.envs === undefined
            ? [PROD_ENV]
            : r.array(`${k}.envs`, o.envs, 1).map((e, i) => r.string(`${k}.envs[${i}]`, e, KEBAB, `a kebab-case env name (${KEBAB.source})`));
        r.unique(`${k}.envs`, envs, "env");
        const sync: Record<string, SyncPolicy> = {};
        for (const env of envs) sync[env] = { ...DEFAULT_SYNC };
        if (o.sync !== undefined) {
            const overrides = r.map(`${k}.sync`, o.sync);
            for (const [env, ov] of Object.entries(overrides)) {
                const sk = `${k}.sync.${env}`;
                if (!envs.includes(env)) r.fail(sk, ov, `an override for one of this app's envs (${envs.join(", ")})`);
                const so = r.object(sk, ov, ["automated", "prune", "selfHeal"]);
                for (const f of ["automated", "prune", "selfHeal"] as const) {
                    if (so[f] !== undefined) sync[env][f] = r.bool(`${sk}.${f}`, so[f]);
                }
            }
        }
        for (const env of envs) {
            try {
                instanceNames(name, env);
            } catch (e) {
                if (e instanceof NamingError) r.fail(`${k}.envs`, env, `names that fit (${e.rule})`);
                throw e;
            }
        }
        const rolloutRestartTargets = o.rolloutRestartTargets === undefined ? [] : r.array(`${k}.rolloutRestartTargets`, o.rolloutRestartTargets).map((t, i) => {
            const tk = `${k}.rolloutRestartTargets[${i}]`;
            const to = r.object(tk, t, ["kind", "name"]);
            return {
                kind: r.oneOf(`${tk}.kind`, to.kind, RESTART_KINDS),
                name: r.string(`${tk}.name`, to.name, DNS_SUBDOMAIN, "a Kubernetes object name (DNS-1123 subdomain)"),
            };
        });
        r.unique(`${k}.rolloutRestartTargets`, rolloutRestartTargets.map((t) => `${t.kind}/${t.name}`), "target");
        const connectionLimit = o.connectionLimit === undefined
            ? DEFAULT_CONNECTION_LIMIT
            : r.int(`${k}.connectionLimit`, o.connectionLimit, 1, MAX_CONNECTION_LIMIT);
        apps.push({ name, public: isPublic, envs, sync, rolloutRestartTargets, connectionLimit });
    }
    // Instance ids must not collide across apps (app "a-b" env prod vs app "a" env "b").
    const ids = new Map<string, string>();
    for (const a of apps) {
        for (const env of a.envs) {
            const id = instanceNames(a.name, env).instance;
            const other = ids.get(id);
            if (other) r.fail(`${key}.${a.name}.envs`, env, `instance ids unique across apps ("${id}" is also ${other})`);
            ids.set(id, `${a.name}/${env}`);
        }
    }
    return apps;
}

function readVersions(r: Reader, v: unknown): Versions {
    const key = "versions";
    const o = r.object(key, v, ["k3s", "charts", "images"]);
    const k3s = r.string(`${key}.k3s`, o.k3s, K3S_VERSION, "a k3s release such as v1.34.3+k3s1");
    const chartsRaw = r.object(`${key}.charts`, o.charts, CHART_KEYS);
    const charts = {} as Record<ChartKey, ChartSpec>;
    for (const c of CHART_KEYS) {
        const ck = `${key}.charts.${c}`;
        const co = r.object(ck, chartsRaw[c], ["repo", "chart", "version"]);
        charts[c] = {
            repo: r.url(`${ck}.repo`, co.repo),
            chart: r.string(`${ck}.chart`, co.chart, KEBAB, "a chart name"),
            version: r.string(`${ck}.version`, co.version, SEMVER, "an exact chart version such as 1.2.3 (no ranges)"),
        };
    }
    const imagesRaw = r.object(`${key}.images`, o.images, IMAGE_KEYS);
    const images = {} as Record<ImageKey, string>;
    for (const i of IMAGE_KEYS) {
        images[i] = r.string(`${key}.images.${i}`, imagesRaw[i], IMAGE, "a pinned image reference registry/name:tag (no `latest`)");
        if (images[i].endsWith(":latest")) r.fail(`${key}.images.${i}`, images[i], "a pinned tag, not latest");
    }
    return { k3s, charts, images };
}

function readBackupSchedule(r: Reader, v: unknown): BackupSchedule {
    const key = "backupSchedule";
    const o = r.object(key, v, ["longhorn", "dataHost"]);
    const l = r.object(`${key}.longhorn`, o.longhorn, ["backup", "snapshot", "concurrency"]);
    const job = (k: string, jv: unknown): RecurringSpec => {
        const jo = r.object(k, jv, ["cron", "retain"]);
        const cron = r.string(`${k}.cron`, jo.cron, undefined, "a cron expression");
        if (cronIntervalHours(cron) === undefined) {
            r.fail(`${k}.cron`, cron, "a cron of a simple shape whose interval the freshness check can read (\"M H * * *\", \"M */N * * *\", \"M * * * *\" or \"M H * * D\")");
        }
        return { cron, retain: r.int(`${k}.retain`, jo.retain, 1, 250) };
    };
    const d = r.object(`${key}.dataHost`, o.dataHost, ["schedule", "retain"]);
    return {
        longhorn: {
            backup: job(`${key}.longhorn.backup`, l.backup),
            snapshot: job(`${key}.longhorn.snapshot`, l.snapshot),
            concurrency: l.concurrency === undefined ? 1 : r.int(`${key}.longhorn.concurrency`, l.concurrency, 1, 10),
        },
        dataHost: {
            schedule: r.oneOf(`${key}.dataHost.schedule`, d.schedule, DATA_HOST_SCHEDULES),
            retain: r.int(`${key}.dataHost.retain`, d.retain, 1, 365),
        },
    };
}

function readHosts(r: Reader, v: unknown): HostSpec[] {
    const hosts = r.array("hosts", v, 1).map((h, i) => {
        const k = `hosts[${i}]`;
        const o = r.object(k, h, ["name", "hostname", "address", "role", "hostKey"]);
        const host = {
            name: r.string(`${k}.name`, o.name, KEBAB, "a kebab-case host name"),
            hostname: o.hostname === undefined ? undefined : r.string(`${k}.hostname`, o.hostname, HOSTNAME, "a DNS hostname"),
            address: r.string(`${k}.address`, o.address, IPV4, "an IPv4 address such as 192.168.1.10"),
            role: r.oneOf(`${k}.role`, o.role, ["server", "agent"] as const),
        };
        const expected = `the host's SSH public host key on one line, "<type> <base64> [comment]" with type one of ${HOST_KEY_TYPES.join(", ")}: ` +
            "the output of `ssh-keyscan -t ed25519 <address>` without the leading address";
        const hostKey = r.string(`${k}.hostKey`, o.hostKey, undefined, expected);
        if (!isOpenSshPublicKey(hostKey)) r.fail(`${k}.hostKey`, hostKey, expected);
        // A well-formed key whose comment says REPLACE-ME stands for one not yet scanned: a real
        // run of prod refuses it like any other placeholder.
        if (hostKey.toUpperCase().includes(PLACEHOLDER_MARK)) r.placeholders.push({ key: `${PROJECT}:${k}.hostKey`, value: hostKey });
        return { ...host, hostKey };
    });
    r.unique("hosts", hosts.map((h) => h.name), "host name");
    r.unique("hosts", hosts.map((h) => h.address), "host address");
    return hosts;
}

function readVms(r: Reader, v: unknown): VmSpec[] {
    const vms = r.array("vms", v, 1).map((h, i) => {
        const k = `vms[${i}]`;
        const o = r.object(k, h, ["name", "role", "cpus", "memory", "disk"]);
        return {
            name: r.string(`${k}.name`, o.name, KEBAB, "a kebab-case VM name"),
            role: r.oneOf(`${k}.role`, o.role, ["server", "agent"] as const),
            cpus: r.int(`${k}.cpus`, o.cpus, 1, 16),
            memory: r.string(`${k}.memory`, o.memory, SIZE, "a size such as 4G"),
            disk: r.string(`${k}.disk`, o.disk, SIZE, "a size such as 20G"),
        };
    });
    r.unique("vms", vms.map((h) => h.name), "VM name");
    return vms;
}

function readExisting(r: Reader, v: unknown, apps: AppSpec[]): Existing {
    const o = r.object("existing", v, ["releases", "vault", "instances", "dnsRecords", "dataHost"]);
    const releases: Existing["releases"] = {};
    if (o.releases !== undefined) {
        const ro = r.object("existing.releases", o.releases, CHART_KEYS);
        for (const [k, loc] of Object.entries(ro)) {
            const s = r.string(`existing.releases.${k}`, loc, /^[a-z0-9]([-a-z0-9]*[a-z0-9])?\/[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, "where the release is installed, as <namespace>/<name>");
            const [namespace, name] = s.split("/");
            releases[k as ChartKey] = { namespace, name };
        }
    }
    const prodInstances = apps.filter((a) => a.envs.includes(PROD_ENV)).map((a) => instanceNames(a.name, PROD_ENV).instance);
    const instances = o.instances === undefined ? [] : r.array("existing.instances", o.instances).map((x, i) =>
        r.oneOf(`existing.instances[${i}]`, x, prodInstances));
    r.unique("existing.instances", instances, "instance");
    const dnsRecords: Record<string, string> = {};
    if (o.dnsRecords !== undefined) {
        const publicApps = apps.filter((a) => a.public).map((a) => a.name);
        for (const [app, id] of Object.entries(r.map("existing.dnsRecords", o.dnsRecords))) {
            const k = `existing.dnsRecords.${app}`;
            r.oneOf(`${k}`, app, publicApps);
            dnsRecords[app] = r.placeholderOr(k, id, () => r.string(k, id, /^[0-9a-f]{32}$/, "a 32-character Cloudflare record id"));
        }
    }
    for (const a of apps) {
        if (a.public && instances.includes(instanceNames(a.name, PROD_ENV).instance) && !(a.name in dnsRecords)) {
            r.fail(`existing.dnsRecords.${a.name}`, undefined, `the Cloudflare record id of ${a.name}'s existing DNS record (public app ${a.name} is listed in existing.instances)`);
        }
    }
    let dataHost: Existing["dataHost"];
    if (o.dataHost !== undefined) {
        const d = r.object("existing.dataHost", o.dataHost, ["composeProject"]);
        const project = d.composeProject;
        dataHost = {
            composeProject: r.placeholderOr("existing.dataHost.composeProject", project, () => r.string("existing.dataHost.composeProject", project, /^[a-z0-9][a-z0-9_-]*$/, "a docker compose project name (`docker compose ls` on the data host)")),
        };
    }
    return {
        releases,
        vault: o.vault === undefined ? false : r.bool("existing.vault", o.vault),
        instances,
        dnsRecords,
        dataHost,
    };
}

function checkRoles(r: Reader, key: string, nodes: { name: string; role: Role }[]): void {
    const servers = nodes.filter((n) => n.role === "server");
    if (servers.length !== 1) r.fail(key, nodes.map((n) => `${n.name}:${n.role}`), "exactly one node with role server");
}

/**
 * The project-level part alone: the app catalogue and the version manifest, validated by the
 * same readers as parseConfig (for the policy pack, which needs them without a stack's mode).
 */
export function parseCatalogue(stack: string, raw: RawConfig): { apps: AppSpec[]; versions: Versions } {
    const r = new Reader(stack);
    const value = (key: string, why: string) => {
        const v = raw[`${PROJECT}:${key}`];
        if (v === undefined) r.fail(key, undefined, `a value (${why})`);
        return parseValue(stack, `${PROJECT}:${key}`, v);
    };
    return {
        apps: readApps(r, value("apps", "the app catalogue")),
        versions: readVersions(r, value("versions", "the version manifest")),
    };
}

/** Parses and validates raw Pulumi config (full keys) for one stack. Throws ConfigError. */
export function parseConfig(stack: string, raw: RawConfig): LabConfig {
    const r = new Reader(stack);
    const values: Record<string, unknown> = {};
    for (const [fullKey, rawValue] of Object.entries(raw)) {
        const idx = fullKey.indexOf(":");
        const ns = fullKey.slice(0, idx);
        const key = fullKey.slice(idx + 1);
        if (ns !== PROJECT) continue; // providers' own namespaces (kubernetes:, vault:...) are theirs
        if (!(key in KEYS)) {
            r.fail(key, rawValue, `no such key: known keys are ${Object.keys(KEYS).map((k) => `${PROJECT}:${k}`).join(", ")}`);
        }
        values[key] = SECRET_KEYS.has(key) ? rawValue : parseValue(stack, fullKey, rawValue);
    }
    const present = (k: string) => values[k] !== undefined;
    const require = (k: string, why: string) => {
        if (!present(k)) r.fail(k, undefined, `a value (${why})`);
        return values[k];
    };
    const forbid = (k: string, why: string) => {
        if (present(k)) r.fail(k, values[k], `nothing (${why})`);
    };

    const isProd = stack === PROD_STACK;
    const mode = r.oneOf("mode", require("mode", "the metal mode of this stack"), ["hosts", "k3d", "multipass"] as const);
    const apps = readApps(r, require("apps", "the app catalogue"));
    const versions = readVersions(r, require("versions", "the version manifest"));
    const giteaOrg = r.string("giteaOrg", require("giteaOrg", "the Gitea organisation of the app repositories"), KEBAB, "a kebab-case Gitea organisation");

    const backupSchedule = readBackupSchedule(r, require("backupSchedule", "how often backups run and how many are kept"));

    const cfg: LabConfig = {
        project: PROJECT,
        stack,
        isProd,
        mode,
        apps,
        versions,
        giteaOrg,
        backupSchedule,
        vmImage: "24.04",
        sshUser: mode === "multipass" ? "ubuntu" : "root",
        sshPublicKeyFile: "~/.ssh/id_ed25519.pub",
        placeholders: r.placeholders,
    };

    if (mode === "hosts") {
        cfg.hosts = readHosts(r, require("hosts", "hosts mode needs its machines"));
        checkRoles(r, "hosts", cfg.hosts);
        forbid("vms", "vms is for multipass mode");
        forbid("k3d", "k3d is for k3d mode");
    } else if (mode === "multipass") {
        cfg.vms = readVms(r, require("vms", "multipass mode needs its VMs"));
        checkRoles(r, "vms", cfg.vms);
        forbid("hosts", "multipass mode discovers its hosts from the VMs");
        forbid("k3d", "k3d is for k3d mode");
        if (present("vmImage")) {
            cfg.vmImage = r.string("vmImage", values.vmImage, /^\d\d\.\d\d$/, "a pinned Ubuntu release such as 24.04 (not an alias like lts)");
        }
    } else {
        const k = r.object("k3d", values.k3d ?? {}, ["clusterName", "apiPort", "vaultPort", "argoCdPort", "ingressPort", "waitTimeoutSeconds", "dockerRuntime"]);
        cfg.k3d = {
            clusterName: k.clusterName === undefined ? "lab" : r.string("k3d.clusterName", k.clusterName, KEBAB, "a kebab-case cluster name"),
            apiPort: k.apiPort === undefined ? 6550 : r.int("k3d.apiPort", k.apiPort, 1024, 65535),
            vaultPort: k.vaultPort === undefined ? 8200 : r.int("k3d.vaultPort", k.vaultPort, 1024, 65535),
            argoCdPort: k.argoCdPort === undefined ? 8080 : r.int("k3d.argoCdPort", k.argoCdPort, 1024, 65535),
            ingressPort: k.ingressPort === undefined ? 8088 : r.int("k3d.ingressPort", k.ingressPort, 1024, 65535),
            waitTimeoutSeconds: k.waitTimeoutSeconds === undefined ? 180 : r.int("k3d.waitTimeoutSeconds", k.waitTimeoutSeconds, 10, 3600),
            dockerRuntime: k.dockerRuntime === undefined ? "auto" : r.oneOf("k3d.dockerRuntime", k.dockerRuntime, DOCKER_RUNTIMES),
        };
        for (const key of ["hosts", "vms", "dataHost", "sshUser", "k3sToken", "vmImage", "k3sUpgradeTo"]) forbid(key, "k3d mode has no SSH hosts");
    }

    if (mode !== "k3d") {
        const nodes = cfg.hosts ?? cfg.vms ?? [];
        cfg.dataHost = r.string("dataHost", require("dataHost", "the host that runs Postgres and Gitea"), KEBAB, "a host name");
        if (!nodes.some((n) => n.name === cfg.dataHost)) {
            r.fail("dataHost", cfg.dataHost, `one of the hosts (${nodes.map((n) => n.name).join(", ")})`);
        }
        if (present("sshUser")) cfg.sshUser = r.string("sshUser", values.sshUser, /^[a-z_][a-z0-9_-]*$/, "a Unix user name");
        if (present("k3sToken")) cfg.k3sToken = pulumi.secret(r.string("k3sToken", values.k3sToken));
        // An upgrade approval names the version it approves: a later bump of versions.k3s is
        // not approved by a stale key, it stops here until the operator updates or removes it.
        if (present("k3sUpgradeTo")) {
            const to = r.string("k3sUpgradeTo", values.k3sUpgradeTo, K3S_VERSION, "a k3s release such as v1.34.3+k3s1");
            if (to !== versions.k3s) {
                r.fail("k3sUpgradeTo", to, `the version the manifest pins, ${versions.k3s} (versions.k3s in Pulumi.yaml): an upgrade approval names the version it approves; set it to ${versions.k3s} to approve that upgrade, or remove it`);
            }
        }
        cfg.k3sUpgrade = isProd ? (present("k3sUpgradeTo") ? versions.k3s : undefined) : versions.k3s;
    }
    if (present("sshPublicKeyFile")) cfg.sshPublicKeyFile = r.string("sshPublicKeyFile", values.sshPublicKeyFile);

    if (isProd) {
        cfg.zone = r.string("zone", require("zone", "prod publishes public apps in its DNS zone"), HOSTNAME, "a DNS zone such as example.org");
        const zoneId = require("cloudflareZoneId", "the Cloudflare zone of prod's DNS zone");
        cfg.cloudflareZoneId = r.placeholderOr("cloudflareZoneId", zoneId, () => r.string("cloudflareZoneId", zoneId, /^[0-9a-f]{32}$/, "a 32-character Cloudflare zone id"));
        const tunnel = require("tunnelHostname", "public records point at prod's Cloudflare tunnel");
        cfg.tunnelHostname = r.placeholderOr("tunnelHostname", tunnel, () => r.string("tunnelHostname", tunnel, HOSTNAME, "a hostname such as <tunnel-id>.cfargotunnel.com"));
        if (present("internalZone")) cfg.internalZone = r.string("internalZone", values.internalZone, HOSTNAME, "the lab's internal DNS domain such as example.lab");
        cfg.vaultAddress = r.url("vaultAddress", require("vaultAddress", "prod uses its existing Vault"));
        if (present("vaultInCluster")) {
            const v = r.object("vaultInCluster", values.vaultInCluster, ["namespace", "service", "port"]);
            cfg.vaultInCluster = {
                namespace: r.string("vaultInCluster.namespace", v.namespace, KEBAB, "the Kubernetes namespace prod's Vault runs in"),
                service: r.string("vaultInCluster.service", v.service, KEBAB, "the name of the Kubernetes Service in front of prod's Vault"),
                port: v.port === undefined ? 8200 : r.int("vaultInCluster.port", v.port, 1, 65535),
            };
        }
        if (mode !== "hosts") r.fail("mode", mode, "hosts (prod runs on the real machines)");
    } else {
        forbid("zone", "sandboxes have no edge: no real DNS");
        forbid("cloudflareZoneId", "sandboxes have no edge: no real DNS");
        forbid("tunnelHostname", "sandboxes have no edge: no real DNS");
        forbid("internalZone", "the internal DNS domain is prod's");
        if (present("vaultAddress")) cfg.vaultAddress = r.url("vaultAddress", values.vaultAddress);
        forbid("vaultInCluster", "a sandbox installs its own Vault in its own cluster");
    }
    if (present("giteaOidc")) {
        const g = r.object("giteaOidc", values.giteaOidc, ["issuer", "audience", "jwksUrl"]);
        const issuer = r.url("giteaOidc.issuer", g.issuer);
        if (!issuer.endsWith("/")) {
            r.fail("giteaOidc.issuer", issuer, `the issuer exactly as the tokens state it: Gitea's ROOT_URL with its trailing slash (${issuer}/)`);
        }
        cfg.giteaOidc = {
            issuer,
            audience: r.string("giteaOidc.audience", g.audience, undefined, "the audience (aud) the CI tokens carry"),
            jwksUrl: g.jwksUrl === undefined ? undefined : r.url("giteaOidc.jwksUrl", g.jwksUrl),
        };
    }
    if (present("existing")) {
        if (!isProd) r.fail("existing", values.existing, "nothing (only prod adopts what already exists; a sandbox creates everything)");
        cfg.existing = readExisting(r, values.existing, apps);
    }
    if (present("postgresAdminPassword")) {
        if (!cfg.existing?.dataHost) r.fail("postgresAdminPassword", "[secret]", "nothing unless homelab:existing.dataHost says the data host's Postgres exists (the program's own compose project makes its password)");
        cfg.postgresAdminPassword = pulumi.secret(r.string("postgresAdminPassword", values.postgresAdminPassword));
    }
    if (present("backup") || isProd) {
        const b = r.object("backup", require("backup", "prod backs Longhorn up to a GCS bucket"), ["bucket", "prefix", "existing", "project", "location"]);
        cfg.backup = {
            bucket: r.string("backup.bucket", b.bucket, /^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$/, "a GCS bucket name"),
            prefix: b.prefix === undefined ? "longhorn" : r.string("backup.prefix", b.prefix, /^[a-z0-9][a-z0-9._-]*(\/[a-z0-9][a-z0-9._-]*)*$/, "a path inside the bucket such as longhorn"),
            existing: b.existing === undefined ? false : r.bool("backup.existing", b.existing),
            project: b.project === undefined ? undefined : r.placeholderOr("backup.project", b.project, () => r.string("backup.project", b.project, /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/, "a GCP project id")),
            location: b.location === undefined ? "EU" : r.string("backup.location", b.location, /^[A-Z0-9-]+$/, "a GCS location such as EU or EUROPE-WEST1"),
        };
    }
    if (isProd) {
        const id = r.object("identity", require("identity", "guard layer 3: a sandbox compares what it reaches with prod's identities"),
            ["kubeSystemUid", "vaultClusterId", "postgresSystemIdentifier"]);
        const sysId = r.string("identity.postgresSystemIdentifier", id.postgresSystemIdentifier, PG_SYSTEM_ID,
            "a quoted decimal string: `psql -Atc 'SELECT system_identifier FROM pg_control_system()'` on prod's Postgres");
        if (BigInt(sysId) > 18446744073709551615n) r.fail("identity.postgresSystemIdentifier", sysId, "an unsigned 64-bit integer");
        cfg.identity = {
            kubeSystemUid: r.string("identity.kubeSystemUid", id.kubeSystemUid, UUID,
                "a lower-case UUID: `kubectl get namespace kube-system -o jsonpath='{.metadata.uid}'` on prod"),
            vaultClusterId: r.string("identity.vaultClusterId", id.vaultClusterId, UUID,
                "a lower-case UUID: `cluster_id` of `curl -s $VAULT_ADDR/v1/sys/health` on prod"),
            postgresSystemIdentifier: sysId,
        };
        cfg.repoCreds = {
            username: r.string("giteaRepoUser", require("giteaRepoUser", "the Gitea user whose token Argo CD reads the app repositories with"),
                /^[A-Za-z0-9][A-Za-z0-9._-]*$/, "a Gitea user name"),
            // A secret never written to the stack file by hand: until the operator sets it, it is a
            // placeholder that a real run of prod refuses (the offline plan only warns).
            password: pulumi.secret(present("giteaRepoToken")
                ? r.string("giteaRepoToken", values.giteaRepoToken)
                : (r.placeholders.push({ key: `${PROJECT}:giteaRepoToken`, value: `${PLACEHOLDER_MARK}: not set; run pulumi config set --secret homelab:giteaRepoToken -s prod` }), "")),
        };
        forbid("seed", "prod's Gitea holds the real repositories; only sandboxes are seeded");
    } else {
        forbid("identity", "only prod's stack file records prod's identities");
        forbid("backup", "prod-only: it builds a GCP provider, which would run on the operator's ambient gcloud credentials; a sandbox backs up to its own MinIO");
        forbid("giteaRepoUser", "a sandbox's Gitea is bootstrapped with its own token");
        forbid("giteaRepoToken", "a sandbox's Gitea is bootstrapped with its own token");
        if (present("seed")) {
            const sd = r.object("seed", values.seed, ["folder", "repos"]);
            const appNames = apps.map((a) => a.name);
            const repos: Record<string, string> = {};
            if (sd.repos !== undefined) {
                for (const [app, p] of Object.entries(r.map("seed.repos", sd.repos))) {
                    if (!appNames.includes(app)) r.fail(`seed.repos.${app}`, p, `an app of the catalogue (${appNames.join(", ")})`);
                    repos[app] = r.string(`seed.repos.${app}`, p, undefined, "the path of a local clone of the app's repository");
                }
            }
            cfg.seed = {
                folder: sd.folder === undefined ? undefined : r.string("seed.folder", sd.folder, undefined, "a folder holding one clone per app (<folder>/<app>)"),
                repos,
            };
        }
    }
    return cfg;
}

/** Reads the running stack's configuration through Pulumi and validates it. */
export function loadConfig(): LabConfig {
    return parseConfig(pulumi.getStack(), pulumi.runtime.allConfig());
}
