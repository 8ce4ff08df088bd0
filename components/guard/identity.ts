// Guard layer 3: live identity. Names can lie (a DNS entry, a reused address); identities do
// not. Prod's stack file records the identity of its cluster (the kube-system namespace's UID),
// its Vault (cluster_id) and its Postgres (system_identifier). A sandbox reads the identity of
// what it is about to configure, before any resource that writes there (the providers take
// their credentials through these checks), and stops if it is prod's. LAB_I_MEAN_PROD=true
// (per invocation) turns the stop into a warning.
import * as pulumi from "@pulumi/pulumi";
import type * as Pg from "pg";
import { ProdIdentity } from "../config";
import { ESCAPE_HATCH, escapeHatchSet } from "./index";
import { isOfflinePlan } from "../offline";

export type IdentityKind = "kubernetes" | "vault" | "postgres";

export const IDENTITY_WHAT: Record<IdentityKind, { key: keyof ProdIdentity; what: string }> = {
    kubernetes: { key: "kubeSystemUid", what: "the cluster's kube-system namespace UID" },
    vault: { key: "vaultClusterId", what: "Vault's cluster_id" },
    postgres: { key: "postgresSystemIdentifier", what: "Postgres's system_identifier" },
};

export interface PostgresTarget {
    host: string;
    port: number;
    user: string;
    password: string;
    database?: string;
}

/** How identities are read: the real clients, or fakes in tests. Each must time out on its own. */
export interface IdentityReaders {
    kubernetes(kubeconfig: string): Promise<string>;
    vault(address: string): Promise<string>;
    postgres(target: PostgresTarget): Promise<string>;
}

export const READ_TIMEOUT_MS = 15_000;
/** The guard tries each read this many times, this far apart, before it stops the run (at most about a minute and a half). */
export const READ_ATTEMPTS = 4;
export const READ_RETRY_DELAY_MS = 5_000;

/** kube-system's metadata.uid, with the official client (@kubernetes/client-node). */
async function readKubeSystemUid(kubeconfig: string): Promise<string> {
    const k8s = await import("@kubernetes/client-node");
    const kc = new k8s.KubeConfig();
    kc.loadFromString(kubeconfig);
    const api = kc.makeApiClient(k8s.CoreV1Api);
    const ns = await withTimeout(api.readNamespace({ name: "kube-system" }), READ_TIMEOUT_MS, "reading namespace kube-system");
    const uid = ns.metadata?.uid;
    if (!uid) throw new Error("namespace kube-system has no metadata.uid");
    return uid;
}

/** Vault's cluster_id from GET /v1/sys/health (unauthenticated; sealed or standby still answer). */
async function readVaultClusterId(address: string): Promise<string> {
    // standbyok/sealedcode etc. only change the status code; the body carries cluster_id when initialised.
    const res = await fetch(`${address.replace(/\/+$/, "")}/v1/sys/health?standbyok=true&perfstandbyok=true`, {
        signal: AbortSignal.timeout(READ_TIMEOUT_MS),
    });
    const body = (await res.json()) as { cluster_id?: string };
    if (!body.cluster_id) throw new Error(`Vault at ${address} reports no cluster_id (HTTP ${res.status}: not initialised?)`);
    return body.cluster_id;
}

/** pg_control_system().system_identifier (PostgreSQL 9.6+), as the admin. */
async function readPostgresSystemIdentifier(t: PostgresTarget): Promise<string> {
    // loaded here, not with the module: the offline plan loads this module and never reads Postgres
    const { Client } = require("pg") as typeof Pg;
    const client = new Client({
        host: t.host, port: t.port, user: t.user, password: t.password, database: t.database ?? "postgres",
        connectionTimeoutMillis: READ_TIMEOUT_MS, query_timeout: READ_TIMEOUT_MS,
    });
    await client.connect();
    try {
        const r = await client.query<{ id: string }>("SELECT system_identifier::text AS id FROM pg_control_system()");
        return r.rows[0].id;
    } finally {
        await client.end();
    }
}

export const liveReaders: IdentityReaders = {
    kubernetes: readKubeSystemUid,
    vault: readVaultClusterId,
    postgres: readPostgresSystemIdentifier,
};

export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms / 1000}s`)), ms);
    });
    return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** A sandbox found prod (or could not tell): printed without a stack trace. */
export class IdentityError extends pulumi.RunError {
    constructor(message: string) {
        super(message);
        this.name = "IdentityError";
    }
}

/**
 * Compares one identity seen live with prod's. Returns undefined when it differs; throws
 * IdentityError when it is prod's, unless LAB_I_MEAN_PROD=true, where it returns the warning.
 */
export function compareIdentity(stack: string, kind: IdentityKind, target: string, seen: string,
    prod: ProdIdentity, env: NodeJS.ProcessEnv = process.env): string | undefined {
    const { key, what } = IDENTITY_WHAT[kind];
    if (seen.trim().toLowerCase() !== prod[key].trim().toLowerCase()) return undefined;
    const message = `stack "${stack}" is about to configure ${target}, whose identity is prod's: ${what} is ${seen} ` +
        `(Pulumi.prod.yaml homelab:identity.${key}). A sandbox must never write to prod`;
    if (escapeHatchSet(env)) return `${ESCAPE_HATCH}=true: ${message}; continuing for this run only.`;
    throw new IdentityError(`${message}. Nothing was written there. Check the kubeconfig, addresses and ` +
        `credentials this sandbox was given; set ${ESCAPE_HATCH}=true for one run only if you really mean it.`);
}

/** Reads one identity and compares it; a read that fails stops the run too (fail closed). */
export async function checkLiveIdentity(stack: string, kind: IdentityKind, target: string, read: () => Promise<string>,
    prod: ProdIdentity, env: NodeJS.ProcessEnv = process.env, attempts = 1, delayMs = 0): Promise<{ seen: string; warning?: string }> {
    let seen: string;
    try {
        // A target just brought up may need a moment to answer: a few bounded attempts.
        for (let i = 1; ; i++) {
            try {
                seen = await read();
                break;
            } catch (e) {
                if (i >= attempts) throw e;
                await new Promise((resolve) => setTimeout(resolve, delayMs));
            }
        }
    } catch (e) {
        if (escapeHatchSet(env)) {
            return { seen: "", warning: `${ESCAPE_HATCH}=true: could not read ${IDENTITY_WHAT[kind].what} of ${target} (${(e as Error).message}); continuing unchecked for this run only.` };
        }
        throw new IdentityError(`stack "${stack}" cannot read ${IDENTITY_WHAT[kind].what} of ${target} before configuring it: ` +
            `${(e as Error).message}. The guard does not write to what it cannot identify; retry once it answers.`);
    }
    return { seen, warning: compareIdentity(stack, kind, target, seen, prod, env) };
}

export interface LiveIdentityGuard {
    readonly stack: string;
    /** The offline plan: nothing is read (its mocked commands reach nothing). */
    readonly offline: boolean;
    /** Passes `value` through once `kind`'s identity, read from `read(value)`, is not prod's. */
    guard<T>(kind: IdentityKind, target: string, value: pulumi.Input<T>, read: (v: T) => Promise<string> | undefined): pulumi.Output<T>;
}

/**
 * The guard for one sandbox stack: each provider input that reaches a target goes through
 * guard(); the read runs when the value is known. A read that returns undefined (nothing to
 * read yet: the offline plan's mocked commands print nothing) passes the value unchanged.
 */
export function liveIdentityGuard(stack: string, prod: ProdIdentity, env: NodeJS.ProcessEnv = process.env, offline = isOfflinePlan()): LiveIdentityGuard {
    return {
        stack,
        offline,
        guard<T>(kind: IdentityKind, target: string, value: pulumi.Input<T>, read: (v: T) => Promise<string> | undefined) {
            return pulumi.output(value).apply(async (v) => {
                const first = read(v as T);
                if (first === undefined) return v as T;
                let reading: Promise<string> | undefined = first;
                const again = () => {
                    const r = reading ?? read(v as T)!;
                    reading = undefined;
                    return r;
                };
                const { warning } = await checkLiveIdentity(stack, kind, target, again, prod, env, READ_ATTEMPTS, READ_RETRY_DELAY_MS);
                if (warning) pulumi.log.warn(warning);
                return v as T;
            }) as pulumi.Output<T>;
        },
    };
}

/** Whether a recorded identity of prod is still the placeholder Pulumi.prod.yaml ships with. */
export function isPlaceholderIdentity(value: string): boolean {
    const v = value.trim();
    return v === "" || /REPLACE-ME/i.test(v) || /^0{8}-0{4}-0{4}-0{4}-0{12}$/.test(v) || /^10*$/.test(v);
}

/**
 * Prod's identities, as a sandbox's real run needs them: every one recorded. A run under the engine
 * (not the offline plan, which never reads an identity) refuses while any is missing or still a
 * placeholder: with nothing to compare with, every live identity would pass.
 */
export function requireProdIdentity(stack: string, identity: ProdIdentity | undefined, offline = isOfflinePlan()): ProdIdentity | undefined {
    if (offline) return identity;
    const missing = (Object.keys(IDENTITY_WHAT) as IdentityKind[])
        .map((k) => IDENTITY_WHAT[k].key)
        .filter((key) => !identity || isPlaceholderIdentity(identity[key] ?? ""));
    if (missing.length === 0) return identity;
    throw new IdentityError(`stack "${stack}" cannot tell prod from what it reaches: Pulumi.prod.yaml homelab:identity `
        + missing.map((k) => `${k} is ${identity ? JSON.stringify(identity[k]) : "missing"}`).join(", ")
        + ` (a placeholder). Record prod's identities first: npm run discover -- prod (it reads them from prod and writes them to Pulumi.prod.yaml), commit, then run again.`);
}

/**
 * What a credential read gives the guard: in the offline plan nothing is read (its mocked commands
 * reach nothing); under the engine an empty credential is an error, never a skip: the provider
 * would fall back to the operator's ambient one (KUBECONFIG, PGPASSWORD, VAULT_TOKEN), which is
 * exactly what the guard must see.
 */
function readOrRefuse(guard: LiveIdentityGuard, kind: IdentityKind, credential: string, what: string, read: () => Promise<string>): Promise<string> | undefined {
    const stack = guard.stack;
    if (guard.offline) return undefined;
    if (!credential.trim()) {
        throw new IdentityError(`stack "${stack}": ${what} is empty, so ${IDENTITY_WHAT[kind].what} cannot be read; `
            + "the guard never skips an identity check (an empty credential makes the provider use the operator's ambient one). "
            + "Check that the layer that produces it ran.");
    }
    return read();
}

/** Metal's outputs with the kubeconfig and the Postgres admin password behind the live identity checks. */
export function guardedMetal<M extends {
    kubeconfig: pulumi.Output<string>;
    postgres: { host: pulumi.Output<string>; port: pulumi.Output<number>; adminUser: pulumi.Output<string>; adminPassword: pulumi.Output<string> };
}>(metal: M, guard: LiveIdentityGuard, readers: IdentityReaders = liveReaders): M {
    const kubeconfig = guard.guard("kubernetes", "the cluster of its kubeconfig", metal.kubeconfig,
        (k: string) => readOrRefuse(guard, "kubernetes", k, "the kubeconfig", () => readers.kubernetes(k)));
    const p = metal.postgres;
    const creds = pulumi.all([p.host, p.port, p.adminUser, p.adminPassword]);
    const password = guard.guard("postgres", "its Postgres", creds,
        ([host, port, user, pw]: [string, number, string, string]) =>
            readOrRefuse(guard, "postgres", pw ?? "", "the Postgres admin password", () => readers.postgres({ host, port, user, password: pw })))
        .apply(([, , , pw]) => pw);
    return { ...metal, kubeconfig: pulumi.secret(kubeconfig), postgres: { ...p, adminPassword: pulumi.secret(password) } };
}

/**
 * The Vault provider's address behind the check: read once Vault is up (`ready` created) and the
 * program holds its token (none in the offline plan, whose mocked commands print nothing).
 */
export function guardedVaultAddress(guard: LiveIdentityGuard, address: pulumi.Input<string>, token: pulumi.Input<string> | undefined,
    ready: pulumi.Resource[], readers: IdentityReaders = liveReaders): pulumi.Output<string> {
    const readyIds = ready.map((r) => (r instanceof pulumi.CustomResource ? r.id : pulumi.output("")));
    const value = pulumi.all([address, token ?? "", ...readyIds]);
    return guard.guard("vault", "its Vault", value,
        ([a, t]: string[]) => readOrRefuse(guard, "vault", t ?? "", "the Vault token", () => readers.vault(a))).apply(([a]) => a);
}
