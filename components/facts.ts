// Prod's facts: what the live lab holds that the program adopts, exactly as it is. Written by
// `npm run discover -- prod` (read-only) into `facts/prod.json`, committed, never holding a secret;
// read by the prod stack so that each adopted resource is registered with the inputs it already has
// (the adoption baseline: the provider's Diff after Read is empty). Sandboxes never read it.
//
// Identities (kube-system UID, Vault cluster_id, PostgreSQL system_identifier) and the Pis' SSH host
// keys stay in Pulumi.prod.yaml (the prod fingerprint, guard layer 3); discover fills those in too.
import * as fs from "fs";
import * as path from "path";

/** Where the facts file lives, relative to the project directory. */
export const FACTS_FILE = path.join("facts", "prod.json");

/** Who wrote the facts: `discover` (read from the live lab) or `seeds` (a stand-in derived from the lab map, until discover runs). */
export type FactsSource = "discover" | "seeds";

export interface HelmReleaseFacts {
    /** Chart name and version, from the release's chart metadata (Helm's release Secret). */
    chart: string;
    version: string;
    /** The user-supplied values (`helm get values`), not the computed ones. */
    values: Record<string, unknown>;
}

export interface VaultMountFacts { type: string; description?: string; options?: Record<string, string>; }
export interface VaultAuthFacts { type: string; description?: string; }
export interface VaultDatabaseConnectionFacts {
    /** Non-secret fields only (password never read back by Vault). */
    plugin_name: string;
    connection_url: string;
    username: string;
    allowed_roles: string[];
    verify_connection?: boolean;
    [field: string]: unknown;
}
export interface VaultDatabaseRoleFacts {
    db_name: string;
    creation_statements: string[];
    revocation_statements?: string[];
    default_ttl?: number;
    max_ttl?: number;
    [field: string]: unknown;
}
export interface VaultFacts {
    /** `sys/mounts`, by path without trailing slash. */
    mounts: Record<string, VaultMountFacts>;
    /** `sys/auth`, by path without trailing slash. */
    auth: Record<string, VaultAuthFacts>;
    /** Per Kubernetes auth backend path: its non-secret config and its roles. */
    kubernetesAuth: Record<string, { config: Record<string, unknown>; roles: Record<string, Record<string, unknown>> }>;
    /** Policy name to its text, as Vault returns it. */
    policies: Record<string, string>;
    /** Per database mount path: connections (non-secret) and roles. */
    database: Record<string, { connections: Record<string, VaultDatabaseConnectionFacts>; roles: Record<string, VaultDatabaseRoleFacts> }>;
}

export interface PostgresDatabaseFacts {
    owner: string; connectionLimit: number; encoding: string;
    /** datacl's aclitems as text, sorted; [] when datacl is NULL (PostgreSQL's default privileges: PUBLIC has CONNECT and TEMPORARY). */
    acl: string[];
}
export interface PostgresRoleFacts {
    login: boolean; superuser: boolean; createdb: boolean; createrole: boolean; inherit: boolean;
    replication: boolean; bypassRls: boolean; connectionLimit: number;
    /** Roles it is a member of (pg_auth_members), sorted. */
    memberOf: string[];
}
export interface PostgresFacts { databases: Record<string, PostgresDatabaseFacts>; roles: Record<string, PostgresRoleFacts>; }

/** One Kubernetes object as the program would register it: metadata name and the spec (or data-less body). */
export interface KubeObjectFacts { apiVersion: string; kind: string; name: string; spec?: Record<string, unknown>; }
/** Per app namespace: its ServiceAccounts and VSO objects (VaultConnection, VaultAuth, VaultDynamicSecret, VaultStaticSecret). */
export type NamespaceFacts = KubeObjectFacts[];

export interface DnsRecordFacts { id: string; type: string; name: string; content: string; proxied: boolean; ttl: number; }

export interface ProdFacts {
    source: FactsSource;
    /** ISO time of the discover run, or null for the seeds stand-in. */
    discoveredAt: string | null;
    /** Helm releases by `<namespace>/<name>`. */
    helmReleases: Record<string, HelmReleaseFacts>;
    vault: VaultFacts;
    postgres: PostgresFacts;
    /** App namespaces by name. */
    namespaces: Record<string, NamespaceFacts>;
    /** Public DNS records by app. */
    dnsRecords: Record<string, DnsRecordFacts>;
    /** Values that are secrets: what carries each (`pulumi config set --secret homelab:<key> -s prod`). */
    secrets: Record<string, string>;
}

export class FactsError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "FactsError";
    }
}

/** Reads and checks the shape of `facts/prod.json` in the project directory. */
export function readFacts(projectDir: string): ProdFacts {
    const file = path.join(projectDir, FACTS_FILE);
    let raw: unknown;
    try {
        raw = JSON.parse(fs.readFileSync(file, "utf8"));
    } catch (e) {
        throw new FactsError(`cannot read prod's facts from ${file}: ${(e as Error).message}. Record them with \`npm run discover -- prod\`.`);
    }
    const o = raw as Record<string, unknown>;
    const need = ["source", "discoveredAt", "helmReleases", "vault", "postgres", "namespaces", "dnsRecords", "secrets"];
    for (const k of need) {
        if (!o || typeof o !== "object" || !(k in o)) throw new FactsError(`${file}: missing key "${k}" (expected: ${need.join(", ")}). Rewrite it with \`npm run discover -- prod\`.`);
    }
    if (o.source !== "discover" && o.source !== "seeds") throw new FactsError(`${file}: source is ${JSON.stringify(o.source)}, expected "discover" or "seeds"`);
    return o as unknown as ProdFacts;
}
