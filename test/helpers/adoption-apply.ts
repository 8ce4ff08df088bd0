// Applies an offline plan of prod to the replica (prod-replica.ts) the way `pulumi up` would, and
// reads the replica's observable state before and after, for the adoption proof (issue 16 item 4).
//
// What `up` does per resource, at the pinned versions:
// - created (no `import`): the provider's Create. PostgreSQL through pg-applier.ts (the SQL of
//   cyrilgdn/terraform-provider-postgresql at ff936b9, the v1.27.0 that @pulumi/postgresql 3.18.1
//   bridges); Vault through writeVault below (the write the provider's Create makes);
// - adopted (`import`): the engine reads the object (the provider's Read), then diffs the program's
//   inputs against what was read, and since engine 3.174.0 updates in the same `up` when they
//   differ (pulumi/pulumi pkg/resource/deploy/step_generator.go: an import whose inputs differ is
//   followed by an update; issue 16). So: read, compare the fields the provider compares (a field
//   the program leaves unset takes the schema's Default), and when anything differs run the
//   provider's Update:
//   * postgresql Role: resource_postgresql_role.go resourcePostgreSQLRoleUpdate: each changed
//     attribute (setRoleLogin... d.HasChange), the password when set (a write-only value never equals
//     what was read), then ALWAYS revokeRoles (every membership revoked), grantRoles (the `roles`
//     input granted) and alterSearchPath (ALTER ROLE ... SET search_path TO DEFAULT when empty);
//   * postgresql Database: resource_postgresql_database.go resourcePostgreSQLDatabaseUpdate:
//     setDBOwner (ALTER DATABASE OWNER TO, when the owner input is set and changed),
//     setDBConnLimit, setDBAllowConns, setDBIsTemplate;
//   * vault: the same write as on create, with the program's fields (the provider's Update of these
//     resources writes its configuration again; for mounts and auth backends, a tune).
// Only loopback is ever reached: prod's PostgreSQL address in a plan is mapped to the replica's
// (replica.mapAddress), and any other non-loopback host in a Vault write is refused.
import { Client } from "pg";
import { VaultFacts } from "../../components/facts";
import { PlanDocument, PlanResource, SECRET_PLACEHOLDER } from "../../tools/plan-types";
import { VaultReader } from "../../tools/discover/vault";
import { applyPlan, quoteIdent } from "./pg-applier";
import { Replica } from "./prod-replica";
import { SUPERUSER } from "./postgres-server";

type Inputs = Record<string, unknown>;
const str = (i: Inputs, k: string, d = ""): string => (typeof i[k] === "string" ? (i[k] as string) : d);
const bool = (i: Inputs, k: string, d: boolean): boolean => (typeof i[k] === "boolean" ? (i[k] as boolean) : d);
const int = (i: Inputs, k: string, d: number): number => (typeof i[k] === "number" ? (i[k] as number) : d);
const strs = (i: Inputs, k: string): string[] => (Array.isArray(i[k]) ? (i[k] as string[]) : []);
const sorted = (a: unknown) => (Array.isArray(a) ? [...a].map(String).sort() : a);
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

// ---- the observable state ----------------------------------------------------------------------

export interface ObservableState {
    postgres: Record<string, unknown>;
    vault: VaultFacts;
}

/** The PostgreSQL catalog (owners, ACLs, role attributes and settings, password hashes' digests, memberships) and Vault's reads. */
export async function observe(r: Replica): Promise<ObservableState> {
    const c = await r.pg.superuser("postgres");
    const pg: Record<string, unknown> = {};
    try {
        for (const d of (await c.query(`SELECT datname, pg_get_userbyid(datdba) AS owner, datconnlimit, pg_encoding_to_char(encoding) AS encoding,
                datacl::text AS acl, datallowconn, datistemplate FROM pg_database WHERE datname <> 'template0' ORDER BY datname`)).rows) {
            pg[`database ${d.datname}`] = { owner: d.owner, connlimit: d.datconnlimit, encoding: d.encoding, acl: d.acl, allowconn: d.datallowconn, istemplate: d.datistemplate };
        }
        for (const x of (await c.query(`SELECT r.rolname, r.rolsuper, r.rolinherit, r.rolcreaterole, r.rolcreatedb, r.rolcanlogin, r.rolreplication, r.rolbypassrls, r.rolconnlimit,
                r.rolvaliduntil::text AS validuntil, r.rolconfig, md5(coalesce(a.rolpassword, '')) AS password_digest
                FROM pg_roles r JOIN pg_authid a ON a.oid = r.oid
                WHERE r.rolname !~ '^pg_' AND NOT (r.rolname ~ '^v-' AND r.rolvaliduntil IS NOT NULL) ORDER BY r.rolname`)).rows) {
            const { rolname, ...attrs } = x;
            pg[`role ${rolname}`] = attrs;
        }
        for (const m of (await c.query(`SELECT pg_get_userbyid(roleid) AS role, pg_get_userbyid(member) AS member, pg_get_userbyid(grantor) AS grantor,
                admin_option, inherit_option, set_option FROM pg_auth_members ORDER BY 1, 2, 3`)).rows) {
            if (/^pg_/.test(m.role)) continue;
            pg[`membership ${m.member} in ${m.role}`] = { grantor: m.grantor, admin: m.admin_option, inherit: m.inherit_option, set: m.set_option };
        }
        const dbs = (await c.query("SELECT datname FROM pg_database WHERE datallowconn AND datname <> 'template0' ORDER BY 1")).rows.map((x) => x.datname as string);
        for (const db of dbs) {
            const dc = await r.pg.superuser(db);
            try {
                for (const n of (await dc.query("SELECT nspname, pg_get_userbyid(nspowner) AS owner, nspacl::text AS acl FROM pg_namespace WHERE nspname = 'public'")).rows) {
                    pg[`schema ${db}.${n.nspname}`] = { owner: n.owner, acl: n.acl };
                }
            } finally {
                await dc.end();
            }
        }
    } finally {
        await c.end();
    }
    const vault = await new VaultReader(r.vault.addr, r.vaultToken, 15_000).read();
    return { postgres: pg, vault };
}

/** Paths to values; a PostgreSQL object (a database, a role, a membership) is one line with all its fields. */
function flatten(v: unknown, at: string, out: Map<string, string>, depth = 0): Map<string, string> {
    const whole = at.startsWith("postgres / ") && depth >= 2;
    if (!whole && v && typeof v === "object" && !Array.isArray(v) && Object.keys(v).length) {
        for (const [k, x] of Object.entries(v)) flatten(x, at ? `${at} / ${k}` : k, out, depth + 1);
    } else out.set(at, JSON.stringify(v));
    return out;
}

/** Every difference between two observations, one line each, sorted: `~ path: before -> after`, `+ path: after`, `- path: before`. */
export function stateDiff(before: ObservableState, after: ObservableState): string[] {
    const a = flatten(before, "", new Map());
    const b = flatten(after, "", new Map());
    const out: string[] = [];
    for (const [k, v] of a) {
        if (!b.has(k)) out.push(`- ${k}: ${v}`);
        else if (b.get(k) !== v) out.push(`~ ${k}: ${v} -> ${b.get(k)}`);
    }
    for (const [k, v] of b) if (!a.has(k)) out.push(`+ ${k}: ${v}`);
    return out.sort((x, y) => x.slice(2).localeCompare(y.slice(2)));
}

// ---- applying ------------------------------------------------------------------------------------

export interface ApplyReport {
    /** Per resource: what happened (created, updated: fields, unchanged, skipped: why). */
    steps: string[];
    /** Resources whose create or update failed (the message); the others were still applied. */
    errors: string[];
}

function dependencyOrder(resources: PlanResource[]): PlanResource[] {
    const byUrn = new Map(resources.map((r) => [r.urn, r]));
    const done = new Set<string>();
    const out: PlanResource[] = [];
    const visit = (r: PlanResource, seen: string[]) => {
        if (done.has(r.urn)) return;
        if (seen.includes(r.urn)) throw new Error(`dependency cycle: ${[...seen, r.urn].join(" -> ")}`);
        for (const d of r.dependsOn) {
            const dep = byUrn.get(d);
            if (dep) visit(dep, [...seen, r.urn]);
        }
        done.add(r.urn);
        out.push(r);
    };
    for (const r of resources) visit(r, []);
    return out;
}

async function withSuper<T>(r: Replica, db: string, fn: (c: Client) => Promise<T>): Promise<T> {
    const c = await r.pg.superuser(db);
    try {
        return await fn(c);
    } finally {
        await c.end();
    }
}

/** An adopted postgresql Role: Read, Diff with the schema's defaults, Update when it differs. */
async function adoptRole(r: Replica, res: PlanResource, passwords: Map<string, string>): Promise<string> {
    const i = res.inputs;
    const name = str(i, "name", res.name);
    return withSuper(r, "postgres", async (c) => {
        const cur = (await c.query(`SELECT rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolcanlogin, rolreplication, rolbypassrls, rolconnlimit,
            coalesce(rolvaliduntil::text, 'infinity') AS validuntil, ARRAY(SELECT pg_get_userbyid(m.roleid) FROM pg_auth_members m WHERE m.member = a.oid ORDER BY 1)::text[] AS roles
            FROM pg_authid a WHERE rolname = $1`, [name])).rows[0];
        if (!cur) throw new Error(`import ${name}: no such role (the import fails)`);
        const flags: [string, string, boolean, string, string][] = [
            ["superuser", "rolsuper", false, "SUPERUSER", "NOSUPERUSER"], ["createDatabase", "rolcreatedb", false, "CREATEDB", "NOCREATEDB"],
            ["createRole", "rolcreaterole", false, "CREATEROLE", "NOCREATEROLE"], ["inherit", "rolinherit", true, "INHERIT", "NOINHERIT"],
            ["login", "rolcanlogin", false, "LOGIN", "NOLOGIN"], ["replication", "rolreplication", false, "REPLICATION", "NOREPLICATION"],
            ["bypassRowLevelSecurity", "rolbypassrls", false, "BYPASSRLS", "NOBYPASSRLS"],
        ];
        const changed: string[] = [];
        const sql: string[] = [];
        let password = str(i, "password");
        if (password) {
            changed.push("password");
            if (password === SECRET_PLACEHOLDER || password === "[unknown]") password = `replica-${Math.random().toString(36).slice(2)}`;
            passwords.set(name, password);
            sql.push(`ALTER ROLE ${quoteIdent(name)} WITH PASSWORD '${password.replace(/'/g, "''")}'`);
        }
        if (int(i, "connectionLimit", -1) !== cur.rolconnlimit) {
            changed.push("connectionLimit");
            sql.push(`ALTER ROLE ${quoteIdent(name)} CONNECTION LIMIT ${int(i, "connectionLimit", -1)}`);
        }
        for (const [k, col, dflt, on, off] of flags) {
            if (bool(i, k, dflt) !== cur[col]) {
                changed.push(k);
                sql.push(`ALTER ROLE ${quoteIdent(name)} WITH ${bool(i, k, dflt) ? on : off}`);
            }
        }
        if (str(i, "validUntil", "infinity") !== cur.validuntil) {
            changed.push("validUntil");
            sql.push(`ALTER ROLE ${quoteIdent(name)} VALID UNTIL '${str(i, "validUntil", "infinity")}'`);
        }
        if (!same(sorted(strs(i, "roles")), sorted(cur.roles))) changed.push("roles");
        if (changed.length === 0) return "unchanged (Diff after Read is empty)";
        // Update: the changed attributes, then always revokeRoles, grantRoles, alterSearchPath
        await c.query("BEGIN");
        for (const s of sql) await c.query(s);
        for (const g of cur.roles as string[]) await c.query(`REVOKE ${quoteIdent(g)} FROM ${quoteIdent(name)}`);
        for (const g of strs(i, "roles")) await c.query(`GRANT ${quoteIdent(g)} TO ${quoteIdent(name)}`);
        const sp = strs(i, "searchPaths");
        await c.query(`ALTER ROLE ${quoteIdent(name)} SET search_path TO ${sp.length ? sp.map(quoteIdent).join(", ") : "DEFAULT"}`);
        await c.query("COMMIT");
        return `updated after import: ${changed.join(", ")}`;
    });
}

/** An adopted postgresql Database: Read, Diff, Update. A ForceNew field that differs would replace (drop) it: an error. */
async function adoptDatabase(r: Replica, res: PlanResource): Promise<string> {
    const i = res.inputs;
    const name = str(i, "name", res.name);
    return withSuper(r, "postgres", async (c) => {
        const cur = (await c.query(`SELECT pg_get_userbyid(datdba) AS owner, datconnlimit, datallowconn, datistemplate, pg_encoding_to_char(encoding) AS encoding
            FROM pg_database WHERE datname = $1`, [name])).rows[0];
        if (!cur) throw new Error(`import ${name}: no such database (the import fails)`);
        if (str(i, "encoding") && str(i, "encoding") !== cur.encoding) throw new Error(`${name}: encoding ${cur.encoding} -> ${str(i, "encoding")} is ForceNew: the database would be REPLACED (dropped)`);
        const changed: string[] = [];
        const sql: string[] = [];
        const owner = str(i, "owner");
        if (owner && owner !== cur.owner) {
            changed.push(`owner ${cur.owner} -> ${owner}`);
            // setDBOwner: the provider's user is a superuser here, so no temporary membership is needed
            sql.push(`ALTER DATABASE ${quoteIdent(name)} OWNER TO ${quoteIdent(owner)}`);
        }
        if (int(i, "connectionLimit", -1) !== cur.datconnlimit) {
            changed.push(`connectionLimit ${cur.datconnlimit} -> ${int(i, "connectionLimit", -1)}`);
            sql.push(`ALTER DATABASE ${quoteIdent(name)} CONNECTION LIMIT = ${int(i, "connectionLimit", -1)}`);
        }
        if (bool(i, "allowConnections", true) !== cur.datallowconn) {
            changed.push("allowConnections");
            sql.push(`ALTER DATABASE ${quoteIdent(name)} ALLOW_CONNECTIONS ${bool(i, "allowConnections", true)}`);
        }
        if (bool(i, "isTemplate", false) !== cur.datistemplate) {
            changed.push("isTemplate");
            sql.push(`ALTER DATABASE ${quoteIdent(name)} IS_TEMPLATE ${bool(i, "isTemplate", false)}`);
        }
        for (const s of sql) await c.query(s);
        return changed.length ? `updated after import: ${changed.join(", ")}` : "unchanged (Diff after Read is empty)";
    });
}

const LOOPBACK_URL = /^postgres(?:ql)?:\/\/[^@/]*@127\.0\.0\.1:\d+\//;

/** The write (path, body) the vault provider makes for a resource, and what to compare after a Read. */
function vaultWrite(r: Replica, res: PlanResource, passwords: Map<string, string>): { method: "POST" | "PUT"; path: string; body: Inputs; read: string; compare: (data: any) => string[] } {
    const i = res.inputs;
    const diff = (pairs: [string, unknown, unknown][]) => pairs.filter(([, got, want]) => !same(got, want)).map(([k]) => k);
    switch (res.type) {
        case "vault:index/policy:Policy":
            return { method: "PUT", path: `sys/policy/${str(i, "name")}`, body: { policy: str(i, "policy") }, read: `sys/policy/${str(i, "name")}`,
                compare: (d) => diff([["policy", d?.rules, str(i, "policy")]]) };
        case "vault:index/mount:Mount": {
            const p = str(i, "path");
            return { method: "POST", path: `sys/mounts/${p}/tune`, body: { description: str(i, "description"), options: i.options ?? {} }, read: `sys/mounts/${p}`,
                compare: (d) => diff([["type", d?.type, str(i, "type")], ["description", d?.description ?? "", str(i, "description")], ...(i.options ? [["options", d?.options, i.options] as [string, unknown, unknown]] : [])]) };
        }
        case "vault:index/authBackend:AuthBackend": {
            const p = str(i, "path") || str(i, "type");
            return { method: "POST", path: `sys/auth/${p}/tune`, body: { description: str(i, "description") }, read: `sys/auth/${p}`,
                compare: (d) => diff([["type", d?.type, str(i, "type")], ["description", d?.description ?? "", str(i, "description")]]) };
        }
        case "vault:kubernetes/authBackendConfig:AuthBackendConfig": {
            const b = str(i, "backend", "kubernetes");
            const body: Inputs = { kubernetes_host: str(i, "kubernetesHost"), disable_local_ca_jwt: bool(i, "disableLocalCaJwt", false) };
            return { method: "POST", path: `auth/${b}/config`, body, read: `auth/${b}/config`,
                compare: (d) => diff([["kubernetes_host", d?.kubernetes_host, body.kubernetes_host], ["disable_local_ca_jwt", d?.disable_local_ca_jwt ?? false, body.disable_local_ca_jwt]]) };
        }
        case "vault:kubernetes/authBackendRole:AuthBackendRole": {
            const b = str(i, "backend", "kubernetes");
            const body: Inputs = {
                bound_service_account_names: strs(i, "boundServiceAccountNames"), bound_service_account_namespaces: strs(i, "boundServiceAccountNamespaces"),
                token_policies: strs(i, "tokenPolicies"), token_ttl: int(i, "tokenTtl", 0), token_max_ttl: int(i, "tokenMaxTtl", 0), audience: str(i, "audience"),
            };
            return { method: "POST", path: `auth/${b}/role/${str(i, "roleName")}`, body, read: `auth/${b}/role/${str(i, "roleName")}`,
                compare: (d) => diff([
                    ["bound_service_account_names", sorted(d?.bound_service_account_names), sorted(body.bound_service_account_names)],
                    ["bound_service_account_namespaces", sorted(d?.bound_service_account_namespaces), sorted(body.bound_service_account_namespaces)],
                    ["token_policies", sorted(d?.token_policies), sorted(body.token_policies)], ["token_ttl", d?.token_ttl, body.token_ttl],
                    ["token_max_ttl", d?.token_max_ttl ?? 0, body.token_max_ttl], ["audience", d?.audience ?? "", body.audience],
                ]) };
        }
        case "vault:database/secretBackendConnection:SecretBackendConnection": {
            const pg = (i.postgresql ?? {}) as Inputs;
            const url = r.mapAddress(str(pg, "connectionUrl"));
            if (!LOOPBACK_URL.test(url)) throw new Error(`${res.urn}: connection_url ${url} is not the replica's loopback server: refused`);
            const username = str(pg, "username");
            let password = str(pg, "password");
            if (password === SECRET_PLACEHOLDER || password === "[unknown]") password = passwords.get(username) ?? "";
            const body: Inputs = { plugin_name: "postgresql-database-plugin", connection_url: url, username, allowed_roles: strs(i, "allowedRoles").join(","), verify_connection: i.verifyConnection !== false };
            if (password) body.password = password;
            const m = str(i, "backend");
            return { method: "POST", path: `${m}/config/${str(i, "name")}`, body, read: `${m}/config/${str(i, "name")}`,
                compare: (d) => [
                    ...diff([["connection_url", d?.connection_details?.connection_url, url], ["username", d?.connection_details?.username, username], ["allowed_roles", sorted(d?.allowed_roles), sorted(strs(i, "allowedRoles"))]]),
                    // a write-only field set in the program never equals the (absent) value read back
                    ...(str(pg, "password") ? ["password (write-only)"] : []),
                ] };
        }
        case "vault:database/secretBackendRole:SecretBackendRole": {
            const m = str(i, "backend");
            const body: Inputs = {
                db_name: str(i, "dbName"), creation_statements: strs(i, "creationStatements"), revocation_statements: strs(i, "revocationStatements"),
                default_ttl: int(i, "defaultTtl", 0), max_ttl: int(i, "maxTtl", 0),
            };
            return { method: "POST", path: `${m}/roles/${str(i, "name")}`, body, read: `${m}/roles/${str(i, "name")}`,
                compare: (d) => diff([["db_name", d?.db_name, body.db_name], ["creation_statements", d?.creation_statements, body.creation_statements],
                    ["revocation_statements", d?.revocation_statements ?? [], body.revocation_statements], ["default_ttl", d?.default_ttl, body.default_ttl], ["max_ttl", d?.max_ttl, body.max_ttl]]) };
        }
        default:
            throw new Error(`${res.urn}: ${res.type} is not known to the adoption applier`);
    }
}

/**
 * What `up` has recorded so far (the stack's state): per urn, the inputs last applied. A resource in
 * the state is not imported or created again: it is updated when its inputs changed, or left alone.
 */
export type ReplicaState = Map<string, PlanResource>;

/**
 * Applies the plan's PostgreSQL and Vault resources to the replica, in dependency order, given
 * what earlier applications recorded (`state`, updated here).
 */
export async function applyToReplica(r: Replica, plan: PlanDocument, state: ReplicaState = new Map()): Promise<ApplyReport> {
    const report: ApplyReport = { steps: [], errors: [] };
    const mine = plan.resources.filter((x) => x.type.startsWith("postgresql:") || x.type.startsWith("vault:"));
    const passwords = new Map(r.passwords);
    const failed = new Set<string>();
    for (const res of dependencyOrder(plan.resources).filter((x) => mine.includes(x))) {
        const prior = state.get(res.urn);
        const adopting = !prior && !!res.import;
        const label = `${res.type.replace(/^.*:/, "")} ${res.name}${adopting ? " (import)" : ""}`;
        const blocked = res.dependsOn.find((d) => failed.has(d));
        if (blocked) {
            failed.add(res.urn);
            report.steps.push(`${label}: not applied, it depends on ${blocked}, which failed`);
            continue;
        }
        if (prior && same(prior.inputs, res.inputs)) {
            report.steps.push(`${label}: unchanged (in the state, same inputs)`);
            continue;
        }
        try {
            let what: string;
            if (res.type.startsWith("postgresql:")) {
                // an adopted role or database, or one in the state whose inputs changed: Read, Diff, Update
                if ((adopting || prior) && res.type === "postgresql:index/role:Role") what = await adoptRole(r, res, passwords);
                else if ((adopting || prior) && res.type === "postgresql:index/database:Database") what = await adoptDatabase(r, res);
                else if (adopting) throw new Error(`${res.type} has no importer in the provider`);
                else {
                    // created, or a grant whose inputs changed (its Update is its Create: revoke, then grant)
                    const applied = await applyPlan(r.pg, [res]);
                    for (const [k, v] of applied.passwords) passwords.set(k, v);
                    what = prior ? "updated (re-granted)" : "created";
                }
            } else {
                const w = vaultWrite(r, res, passwords);
                let changed: string[] = [];
                if (adopting || prior) {
                    const got = await r.vault.request("GET", w.read, undefined, r.vaultToken);
                    if (got.status !== 200) throw new Error(`GET ${w.read} -> ${got.status} (the ${adopting ? "import" : "read"} fails)`);
                    changed = w.compare(got.body?.data ?? got.body);
                }
                if (!(adopting || prior) || changed.length) {
                    const put = await r.vault.request(w.method, w.path, w.body, r.vaultToken);
                    if (put.status >= 400) throw new Error(`${w.method} /v1/${w.path} -> ${put.status}: ${JSON.stringify(put.body?.errors ?? put.body)}`);
                }
                what = !(adopting || prior) ? "created" : changed.length ? `updated${adopting ? " after import" : ""}: ${changed.join(", ")}` : "unchanged (Diff after Read is empty)";
            }
            state.set(res.urn, res);
            report.steps.push(`${label}: ${what}`);
        } catch (e) {
            failed.add(res.urn);
            const msg = `${label}: FAILED: ${(e as Error).message.split("\n")[0]}`;
            report.steps.push(msg);
            report.errors.push(msg);
        }
    }
    const urns = new Set(mine.map((x) => x.urn));
    for (const [urn, prior] of state) {
        if (urns.has(urn)) continue;
        state.delete(urn);
        const label = `${prior.type.replace(/^.*:/, "")} ${prior.name}`;
        if (prior.retainOnDelete) report.steps.push(`${label}: removed from the program, retained (dropped from the state only)`);
        else {
            const msg = `${label}: removed from the program: the provider would DELETE it (not applied to the replica)`;
            report.steps.push(msg);
            report.errors.push(msg);
        }
    }
    return report;
}

/** The resource a step is about: "<type tail> <name>", as the steps start. */
export function stepSubject(step: string): string {
    return step.replace(/( \(import\))?: .*$/, "");
}

export { SUPERUSER };
