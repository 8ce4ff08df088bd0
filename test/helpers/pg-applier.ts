// A test-only applier of a plan's PostgreSQL side, against the real server of postgres-server.ts:
//
// 1. every `postgresql:*` resource, with the SQL terraform-provider-postgresql runs to create it.
//    @pulumi/postgresql 3.18.1 bridges cyrilgdn/terraform-provider-postgresql v1.27.0
//    (pulumi/pulumi-postgresql b57d264 "Upgrade terraform-provider-postgresql to v1.27.0" moved its
//    `upstream` submodule to ff936b9, where it still is after v3.18.0); the SQL below is read from
//    that commit, file by file (cited at each function). A resource type the applier does not know
//    is an error: add it from the provider's source before the program uses it.
// 2. the plan's Vault database connections and roles, read (not applied: vault-applier.ts applies
//    them to a real Vault API server, whose plugin issues and revokes the credentials the tests use).
//    One part of Vault's PostgreSQL plugin is kept here, for what the real server cannot be made to
//    do on demand: running a role's revocation statements again for a user already revoked (Vault
//    does when a revocation failed and is retried; OpenBao revokes a lease once). As Vault 1.21's
//    plugin does it (hashicorp/vault, plugins/database/postgresql/postgresql.go, customDeleteUser;
//    OpenBao's internal/builtin/database/postgresql/postgresql.go is the same): the connection's user
//    logs in to the connection's database; each statement with {{name}} replaced (dbtxn.parseQuery),
//    split on ';' (strutil.ParseArbitraryStringSlice) unless it contains END
//    (containsMultilineStatement), all in one transaction.
import * as crypto from "crypto";
import { Client } from "pg";
import { PlanResource, SECRET_PLACEHOLDER } from "../../tools/plan-types";
import { PostgresServer, SUPERUSER } from "./postgres-server";

const UNKNOWN = "[unknown]";

/** lib/pq's QuoteIdentifier. */
export function quoteIdent(s: string): string {
    const nul = s.indexOf("\u0000");
    return `"${(nul >= 0 ? s.slice(0, nul) : s).replace(/"/g, '""')}"`;
}

/** The provider's pqQuoteLiteral (postgresql/helpers.go): backslashes doubled, quotes doubled. */
export function quoteLiteral(s: string): string {
    return s.replace(/\\/g, "\\\\").replace(/'/g, "''");
}

/** Every statement run, in order, with the user and database it ran as (for failure messages). */
export interface Executed {
    resource: string;
    user: string;
    database: string;
    sql: string;
}

export interface VaultConnection {
    name: string;
    database: string;
    username: string;
    password: string;
    allowedRoles: string[];
}

export interface VaultRole {
    name: string;
    dbName: string;
    creationStatements: string[];
    revocationStatements: string[];
    defaultTtl: number;
}

export interface Credential {
    username: string;
    password: string;
    database: string;
    role: string;
}

export class AppliedPlan {
    readonly log: Executed[] = [];
    /** Passwords of roles whose plan password is a secret placeholder: generated here. */
    readonly passwords = new Map<string, string>();
    readonly connections = new Map<string, VaultConnection>();
    readonly vaultRoles = new Map<string, VaultRole>();
    constructor(readonly server: PostgresServer) {}

    /**
     * Vault: the revocation statements of a credential's role run again (DeleteUser with revocation
     * statements: customDeleteUser), as a retried revocation does. Only for what the real server
     * cannot be made to do on demand (see the top of this file).
     */
    async revoke(cred: Credential): Promise<void> {
        const role = this.vaultRoles.get(cred.role)!;
        const conn = this.connections.get(role.dbName)!;
        if (role.revocationStatements.length === 0) throw new Error(`Vault role ${role.name} has no revocation statements: Vault's default revocation would run`);
        await this.vaultTransaction(conn, `revoke ${cred.username}`, role.revocationStatements, { name: cred.username, username: cred.username });
    }

    /** One transaction on the connection's database as the connection's user, statements as Vault splits them. */
    private async vaultTransaction(conn: VaultConnection, what: string, statements: string[], params: Record<string, string>) {
        const c = new Client(this.server.config(conn.username, conn.password, conn.database));
        await c.connect();
        try {
            await c.query("BEGIN");
            for (const stmt of statements) {
                const queries = containsMultilineStatement(stmt)
                    ? [stmt]
                    : parseArbitraryStringSlice(stmt, ";").map((q) => q.trim()).filter((q) => q.length > 0);
                for (const q of queries) {
                    const sql = parseQuery(params, q);
                    this.log.push({ resource: `vault ${what}`, user: conn.username, database: conn.database, sql: redact(sql, params) });
                    try {
                        await c.query(sql);
                    } catch (e) {
                        throw new Error(`Vault (${what}) as ${conn.username} on ${conn.database}: ${redact(sql, params)}\n  -> ${(e as Error).message}`);
                    }
                }
            }
            await c.query("COMMIT");
        } catch (e) {
            await c.query("ROLLBACK").catch(() => undefined);
            throw e;
        } finally {
            await c.end();
        }
    }
}

function redact(sql: string, params: Record<string, string>): string {
    return params.password ? sql.split(params.password).join("[password]") : sql;
}

// ---- Vault's helpers, ported ------------------------------------------------------------------

/** dbtxn.parseQuery (sdk/helper/dbtxn/dbtxn.go): every {{key}} replaced by its value. */
export function parseQuery(m: Record<string, string>, tpl: string): string {
    for (const [k, v] of Object.entries(m)) tpl = tpl.split(`{{${k}}}`).join(v);
    return tpl;
}

/**
 * strutil.ParseArbitraryStringSlice (go-secure-stdlib/strutil): a base64 input is decoded, a JSON
 * array of strings is taken as is, anything else is split on sep with each part trimmed.
 */
export function parseArbitraryStringSlice(input: string, sep: string): string[] {
    input = input.trim();
    if (input === "") return [];
    if (/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(input)) {
        input = Buffer.from(input, "base64").toString("utf8");
    }
    try {
        const j = JSON.parse(input);
        if (Array.isArray(j) && j.every((x) => typeof x === "string")) return j;
        if (j === null) return [];
    } catch {
        // not JSON: a separated list
    }
    return input.trim() === "" ? [] : input.trim().split(sep).map((s) => s.trim());
}

/**
 * containsMultilineStatement (plugins/database/postgresql/postgresql.go): the word END outside
 * quoted strings. Ported with its quirk: each literal is removed from the original statement, so
 * only the last one found is actually left out.
 */
export function containsMultilineStatement(stmt: string): boolean {
    const literals = [...(stmt.match(/(".*?")/g) ?? []), ...(stmt.match(/('.*?')/g) ?? [])];
    let without = stmt;
    for (const lit of literals) without = stmt.split(lit).join("");
    return /\bEND\b/.test(without);
}

// ---- The provider's resources -------------------------------------------------------------------

type Inputs = Record<string, unknown>;
const str = (i: Inputs, k: string, dflt = ""): string => (typeof i[k] === "string" ? (i[k] as string) : dflt);
const bool = (i: Inputs, k: string, dflt: boolean): boolean => (typeof i[k] === "boolean" ? (i[k] as boolean) : dflt);
const int = (i: Inputs, k: string, dflt: number): number => (typeof i[k] === "number" ? (i[k] as number) : dflt);
const strs = (i: Inputs, k: string): string[] => (Array.isArray(i[k]) ? (i[k] as string[]) : []);

/** A superuser session on one database (the provider's `superuser: true` login). */
class Session {
    constructor(readonly c: Client, readonly database: string, private readonly log: Executed[], private readonly resource: string) {}
    async exec(sql: string, params: unknown[] = []): Promise<{ rows: any[] }> {
        this.log.push({ resource: this.resource, user: SUPERUSER, database: this.database, sql: sql.replace(/PASSWORD '[^']*'/, "PASSWORD '[secret]'") });
        try {
            return await this.c.query(sql, params);
        } catch (e) {
            throw new Error(`${this.resource}: ${sql.replace(/PASSWORD '[^']*'/, "PASSWORD '[secret]'")}\n  -> ${(e as Error).message}`);
        }
    }
}

async function inTransaction(applied: AppliedPlan, resource: string, database: string, fn: (s: Session) => Promise<void>) {
    const c = await applied.server.superuser(database);
    const s = new Session(c, database, applied.log, resource);
    try {
        await c.query("BEGIN");
        await fn(s);
        await c.query("COMMIT");
    } catch (e) {
        await c.query("ROLLBACK").catch(() => undefined);
        throw e;
    } finally {
        await c.end();
    }
}

/** helpers.go isMemberOfRole, with set_option (PostgreSQL 16+). */
async function isMemberOfRole(s: Session, role: string, member: string): Promise<boolean> {
    const r = await s.exec("SELECT 1 FROM pg_auth_members WHERE pg_get_userbyid(roleid) = $1 AND pg_get_userbyid(member) = $2 AND set_option", [role, member]);
    return r.rows.length > 0;
}

/** helpers.go pgLockRole. */
async function pgLockRole(s: Session, role: string) {
    await s.exec("SET statement_timeout = 0");
    await s.exec("SELECT pg_advisory_xact_lock(oid::bigint) FROM pg_roles WHERE rolname = $1", [role]);
    await s.exec("SELECT pg_advisory_xact_lock(member::bigint) FROM pg_auth_members JOIN pg_roles ON roleid = pg_roles.oid WHERE rolname = $1", [role]);
}

/** resource_postgresql_role.go, resourcePostgreSQLRoleCreate (+ grantRoles, alterSearchPath, setAssumeRole...). */
async function createRole(applied: AppliedPlan, r: PlanResource) {
    const i = r.inputs;
    const name = str(i, "name", r.name);
    const opts: string[] = [];
    let password = str(i, "password");
    if (password === SECRET_PLACEHOLDER || password === UNKNOWN) {
        // A secret the plan cannot show (e.g. a random.RandomPassword result): one made here.
        password = crypto.randomBytes(24).toString("base64url");
        applied.passwords.set(name, password);
    } else if (password) {
        applied.passwords.set(name, password);
    }
    if (password) {
        if (password.toUpperCase() === "NULL") opts.push("PASSWORD NULL");
        else opts.push(bool(i, "encryptedPassword", true) ? "ENCRYPTED" : "UNENCRYPTED", `PASSWORD '${quoteLiteral(password)}'`);
    }
    const validUntil = str(i, "validUntil", "infinity");
    opts.push(validUntil === "" || validUntil.toLowerCase() === "infinity" ? "VALID UNTIL 'infinity'" : `VALID UNTIL '${quoteLiteral(validUntil)}'`);
    opts.push(`CONNECTION LIMIT ${int(i, "connectionLimit", -1)}`);
    const flags: [string, string, string][] = [
        ["superuser", "SUPERUSER", "NOSUPERUSER"],
        ["createDatabase", "CREATEDB", "NOCREATEDB"],
        ["createRole", "CREATEROLE", "NOCREATEROLE"],
        ["inherit", "INHERIT", "NOINHERIT"],
        ["login", "LOGIN", "NOLOGIN"],
        ["bypassRowLevelSecurity", "BYPASSRLS", "NOBYPASSRLS"],
        ["replication", "REPLICATION", "NOREPLICATION"],
    ];
    for (const [k, on, off] of flags) opts.push(bool(i, k, k === "inherit") ? on : off);
    await inTransaction(applied, r.urn, "postgres", async (s) => {
        await s.exec(`CREATE ROLE ${quoteIdent(name)} WITH ${opts.join(" ")}`);
        for (const g of strs(i, "roles")) await s.exec(`GRANT ${quoteIdent(g)} TO ${quoteIdent(name)}`);
        const searchPath = strs(i, "searchPaths");
        await s.exec(`ALTER ROLE ${quoteIdent(name)} SET search_path TO ${searchPath.length ? searchPath.map(quoteIdent).join(", ") : "DEFAULT"}`);
        if (int(i, "statementTimeout", 0)) await s.exec(`ALTER ROLE ${quoteIdent(name)} SET statement_timeout TO ${int(i, "statementTimeout", 0)}`);
        if (int(i, "idleInTransactionSessionTimeout", 0)) {
            await s.exec(`ALTER ROLE ${quoteIdent(name)} SET idle_in_transaction_session_timeout TO ${int(i, "idleInTransactionSessionTimeout", 0)}`);
        }
        if (str(i, "assumeRole")) await s.exec(`ALTER ROLE ${quoteIdent(name)} SET ROLE TO ${quoteIdent(str(i, "assumeRole"))}`);
    });
}

/** resource_postgresql_database.go, createDatabase: owner granted to the provider's user for the time of CREATE DATABASE. */
async function createDatabase(applied: AppliedPlan, r: PlanResource) {
    const i = r.inputs;
    const name = str(i, "name", r.name);
    const owner = str(i, "owner");
    const c = await applied.server.superuser("postgres");
    const s = new Session(c, "postgres", applied.log, r.urn);
    try {
        let granted = false;
        if (owner && owner !== SUPERUSER && !(await isMemberOfRole(s, owner, SUPERUSER))) {
            await s.exec(`GRANT ${quoteIdent(owner)} TO ${quoteIdent(SUPERUSER)}`);
            granted = true;
        }
        let sql = `CREATE DATABASE ${quoteIdent(name)} OWNER ${quoteIdent(owner || SUPERUSER)}`;
        const template = str(i, "template");
        sql += template.toUpperCase() === "DEFAULT" ? " TEMPLATE DEFAULT" : template ? ` TEMPLATE ${quoteIdent(template)}` : " TEMPLATE template0";
        const encoding = str(i, "encoding");
        sql += encoding.toUpperCase() === "DEFAULT" ? " ENCODING DEFAULT" : encoding ? ` ENCODING '${quoteLiteral(encoding)}' ` : " ENCODING 'UTF8'";
        if (str(i, "lcCollate")) sql += ` LC_COLLATE '${quoteLiteral(str(i, "lcCollate"))}' `;
        if (str(i, "lcCtype")) sql += ` LC_CTYPE '${quoteLiteral(str(i, "lcCtype"))}' `;
        if (str(i, "tablespaceName")) sql += ` TABLESPACE ${quoteIdent(str(i, "tablespaceName"))}`;
        sql += ` ALLOW_CONNECTIONS ${bool(i, "allowConnections", true)}`;
        sql += ` CONNECTION LIMIT ${int(i, "connectionLimit", -1)}`;
        sql += ` IS_TEMPLATE ${bool(i, "isTemplate", false)}`;
        await s.exec(sql);
        if (granted) await s.exec(`REVOKE ${quoteIdent(owner)} FROM ${quoteIdent(SUPERUSER)}`);
    } finally {
        await c.end();
    }
}

/** helpers.go allowedPrivileges (MAINTAIN on tables from PostgreSQL 17). */
const ALLOWED_PRIVILEGES: Record<string, string[]> = {
    database: ["ALL", "CREATE", "CONNECT", "TEMPORARY"],
    table: ["ALL", "SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER", "MAINTAIN"],
    sequence: ["ALL", "USAGE", "SELECT", "UPDATE"],
    schema: ["ALL", "CREATE", "USAGE"],
    function: ["ALL", "EXECUTE"],
    procedure: ["ALL", "EXECUTE"],
    routine: ["ALL", "EXECUTE"],
};

/**
 * resource_postgresql_grant.go, resourcePostgreSQLGrantCreateOrUpdate: in a transaction on the
 * grant's database, lock the role (and the database), revoke everything from the role
 * (createRevokeQuery), then grant the privileges, if any (createGrantQuery). As a superuser the
 * provider needs no temporary owner memberships (withRolesGranted returns early).
 */
async function createGrant(applied: AppliedPlan, r: PlanResource) {
    const i = r.inputs;
    const objectType = str(i, "objectType");
    const database = str(i, "database");
    const role = str(i, "role");
    const schema = str(i, "schema");
    const privileges = strs(i, "privileges");
    const objects = strs(i, "objects");
    if (!schema && !["database", "foreign_data_wrapper", "foreign_server"].includes(objectType)) {
        throw new Error(`${r.urn}: parameter 'schema' is mandatory for postgresql_grant resource`);
    }
    if (objects.length && (objectType === "database" || objectType === "schema")) {
        throw new Error(`${r.urn}: cannot specify \`objects\` when \`object_type\` is \`database\` or \`schema\``);
    }
    const allowed = ALLOWED_PRIVILEGES[objectType];
    if (!allowed) throw new Error(`${r.urn}: object type ${objectType} is not implemented by this applier (see resource_postgresql_grant.go)`);
    for (const p of privileges) if (!allowed.includes(p)) throw new Error(`${r.urn}: ${p} is not allowed for type ${objectType}`);
    const roleSql = quoteIdent(role);
    await inTransaction(applied, r.urn, database, async (s) => {
        await pgLockRole(s, role);
        if (objectType === "database") {
            await s.exec("SET statement_timeout = 0");
            await s.exec("SELECT pg_advisory_xact_lock(oid::bigint) FROM pg_database WHERE datname = $1", [database]);
        }
        const on = (() => {
            switch (objectType) {
                case "database": return `DATABASE ${quoteIdent(database)}`;
                case "schema": return `SCHEMA ${quoteIdent(schema)}`;
                default: return objects.length
                    ? `${objectType.toUpperCase()} ${objects.map((o) => `${quoteIdent(schema)}.${quoteIdent(o)}`).join(",")}`
                    : `ALL ${objectType.toUpperCase()}S IN SCHEMA ${quoteIdent(schema)}`;
            }
        })();
        await s.exec(`REVOKE ALL PRIVILEGES ON ${on} FROM ${roleSql}`);
        if (privileges.length) {
            await s.exec(`GRANT ${privileges.join(",")} ON ${on} TO ${roleSql}${bool(i, "withGrantOption", false) ? " WITH GRANT OPTION" : ""}`);
        }
    });
}

/** resource_postgresql_grant_role.go, resourcePostgreSQLGrantRoleCreate: revoke, then grant (WITH ADMIN OPTION). */
async function createGrantRole(applied: AppliedPlan, r: PlanResource) {
    const i = r.inputs;
    const role = str(i, "role");
    const grantRole = str(i, "grantRole");
    await inTransaction(applied, r.urn, "postgres", async (s) => {
        await s.exec(`REVOKE ${quoteIdent(grantRole)} FROM ${quoteIdent(role)}`);
        await s.exec(`GRANT ${quoteIdent(grantRole)} TO ${quoteIdent(role)}${bool(i, "withAdminOption", false) ? " WITH ADMIN OPTION" : ""}`);
    });
}

const APPLIERS: Record<string, (a: AppliedPlan, r: PlanResource) => Promise<void>> = {
    "postgresql:index/role:Role": createRole,
    "postgresql:index/database:Database": createDatabase,
    "postgresql:index/grant:Grant": createGrant,
    "postgresql:index/grantRole:GrantRole": createGrantRole,
};

/** Resources in an order that respects their dependencies (the engine's order), stable otherwise. */
export function dependencyOrder(resources: PlanResource[]): PlanResource[] {
    const byUrn = new Map(resources.map((r) => [r.urn, r]));
    const done = new Set<string>();
    const out: PlanResource[] = [];
    const visit = (r: PlanResource, path: string[]) => {
        if (done.has(r.urn)) return;
        if (path.includes(r.urn)) throw new Error(`dependency cycle: ${[...path, r.urn].join(" -> ")}`);
        for (const d of r.dependsOn) {
            const dep = byUrn.get(d);
            if (dep) visit(dep, [...path, r.urn]);
        }
        done.add(r.urn);
        out.push(r);
    };
    for (const r of resources) visit(r, []);
    return out;
}

/**
 * Applies a plan's PostgreSQL resources and reads its Vault database connections and roles.
 * `host` mapping: the plan's Postgres address (as Vault in the cluster reaches it) is this server.
 */
export async function applyPlan(server: PostgresServer, resources: PlanResource[]): Promise<AppliedPlan> {
    const applied = new AppliedPlan(server);
    const relevant = resources.filter((r) => r.type.startsWith("postgresql:") || r.type.startsWith("pulumi:providers:postgresql"));
    for (const r of dependencyOrder(relevant)) {
        if (r.type === "pulumi:providers:postgresql") {
            if (r.inputs.superuser !== true && r.inputs.superuser !== "true") throw new Error(`${r.urn}: the applier runs as the superuser; the provider is not declared superuser`);
            continue;
        }
        const apply = APPLIERS[r.type];
        if (!apply) throw new Error(`${r.urn}: resource type ${r.type} is not implemented by the applier (add the SQL of its resource_postgresql_*.go)`);
        await apply(applied, r);
    }
    for (const r of resources) {
        if (r.type === "vault:database/secretBackendConnection:SecretBackendConnection") {
            const pg = r.inputs.postgresql as Inputs | undefined;
            if (!pg) throw new Error(`${r.urn}: only postgresql connections are known to the applier`);
            const url = new URL(str(pg, "connectionUrl").replace("{{username}}", "u").replace("{{password}}", "p"));
            const username = str(pg, "username");
            const password = applied.passwords.get(username);
            if (password === undefined) throw new Error(`${r.urn}: connects as ${username}, a role the plan does not create with a password`);
            const conn: VaultConnection = {
                name: str(r.inputs, "name"),
                database: decodeURIComponent(url.pathname.replace(/^\//, "")) || "postgres",
                username,
                password,
                allowedRoles: strs(r.inputs, "allowedRoles"),
            };
            if (r.inputs.verifyConnection !== false) {
                const c = new Client(server.config(conn.username, conn.password, conn.database));
                try {
                    await c.connect();
                } catch (e) {
                    throw new Error(`${r.urn}: Vault cannot verify its connection as ${username} to ${conn.database}: ${(e as Error).message}`);
                } finally {
                    await c.end().catch(() => undefined);
                }
            }
            applied.connections.set(conn.name, conn);
        } else if (r.type === "vault:database/secretBackendRole:SecretBackendRole") {
            applied.vaultRoles.set(str(r.inputs, "name"), {
                name: str(r.inputs, "name"),
                dbName: str(r.inputs, "dbName"),
                creationStatements: strs(r.inputs, "creationStatements"),
                revocationStatements: strs(r.inputs, "revocationStatements"),
                defaultTtl: int(r.inputs, "defaultTtl", 3600),
            });
        }
    }
    return applied;
}

/** Drops every database and role but the bootstrap ones, and gives postgres/template1 back their defaults. */
export async function resetServer(server: PostgresServer): Promise<void> {
    const c = await server.superuser("postgres");
    try {
        const dbs = (await c.query("SELECT datname FROM pg_database WHERE datname NOT IN ('postgres', 'template0', 'template1')")).rows;
        for (const { datname } of dbs) await c.query(`DROP DATABASE ${quoteIdent(datname)} WITH (FORCE)`);
        const roles = (await c.query(`SELECT rolname FROM pg_roles WHERE rolname !~ '^pg_' AND rolname <> $1`, [SUPERUSER])).rows;
        for (const { rolname } of roles) {
            await c.query(`DROP OWNED BY ${quoteIdent(rolname)}`);
            await c.query(`DROP ROLE ${quoteIdent(rolname)}`);
        }
        await c.query("GRANT CONNECT, TEMPORARY ON DATABASE postgres, template1 TO PUBLIC");
    } finally {
        await c.end();
    }
}
