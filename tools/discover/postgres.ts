// The PostgreSQL side of discover: catalog SELECTs only, in a READ ONLY transaction, as the admin
// user (PGUSER, default postgres; password PGPASSWORD, never printed). What it reads is what the
// adoption must keep and what the replica proof compares:
// - pg_database: owner (datdba), datconnlimit, encoding, and the ACL as stored: datacl's items
//   sorted, [] when datacl is NULL (never granted nor revoked: PostgreSQL's default privileges,
//   acldefault('d', datdba): PUBLIC may connect and create temporary tables);
// - pg_roles: the attributes CREATE ROLE sets; pg_auth_members: memberships;
// - pg_control_system(): system_identifier (the cluster's identity).
// Vault's dynamic credentials (roles named v-<display>-<role>-..., with a VALID UNTIL) come and go
// by the hour: they are not facts to adopt and are left out.
import { Client } from "pg";
import { PostgresFacts } from "../../components/facts";

export interface PgTarget { host: string; port: number; user: string; password: string; database?: string; }

export const CATALOG_SQL = {
    databases: `SELECT d.datname, pg_get_userbyid(d.datdba) AS owner, d.datconnlimit, pg_encoding_to_char(d.encoding) AS encoding,
        COALESCE(d.datacl::text[], '{}'::text[]) AS acl
        FROM pg_database d WHERE d.datname <> 'template0' ORDER BY d.datname`,
    roles: `SELECT r.rolname, r.rolcanlogin, r.rolsuper, r.rolcreatedb, r.rolcreaterole, r.rolinherit, r.rolreplication, r.rolbypassrls, r.rolconnlimit,
        ARRAY(SELECT pg_get_userbyid(m.roleid) FROM pg_auth_members m WHERE m.member = r.oid ORDER BY 1)::text[] AS member_of
        FROM pg_roles r WHERE r.rolname !~ '^pg_' AND NOT (r.rolname ~ '^v-' AND r.rolvaliduntil IS NOT NULL) ORDER BY r.rolname`,
    systemIdentifier: "SELECT system_identifier::text AS id FROM pg_control_system()",
};

export async function connect(t: PgTarget, timeoutMs: number): Promise<Client> {
    const c = new Client({
        host: t.host, port: t.port, user: t.user, password: t.password, database: t.database ?? "postgres",
        connectionTimeoutMillis: timeoutMs, query_timeout: timeoutMs, statement_timeout: timeoutMs,
        application_name: "lab-discover",
    });
    try {
        await c.connect();
    } catch (e) {
        await c.end().catch(() => undefined);
        throw new Error(`PostgreSQL at ${t.host}:${t.port} as ${t.user}: ${(e as Error).message}`);
    }
    return c;
}

/** Reads the catalog facts over an open client (read-only transaction). */
export async function readCatalog(c: Client): Promise<{ facts: PostgresFacts; systemIdentifier: string }> {
    await c.query("BEGIN TRANSACTION READ ONLY");
    try {
        const facts: PostgresFacts = { databases: {}, roles: {} };
        for (const d of (await c.query(CATALOG_SQL.databases)).rows) {
            facts.databases[d.datname] = { owner: d.owner, connectionLimit: d.datconnlimit, encoding: d.encoding, acl: [...d.acl].sort() };
        }
        for (const r of (await c.query(CATALOG_SQL.roles)).rows) {
            facts.roles[r.rolname] = {
                login: r.rolcanlogin, superuser: r.rolsuper, createdb: r.rolcreatedb, createrole: r.rolcreaterole, inherit: r.rolinherit,
                replication: r.rolreplication, bypassRls: r.rolbypassrls, connectionLimit: r.rolconnlimit, memberOf: r.member_of,
            };
        }
        const systemIdentifier = (await c.query(CATALOG_SQL.systemIdentifier)).rows[0].id as string;
        return { facts, systemIdentifier };
    } finally {
        await c.query("ROLLBACK").catch(() => undefined);
    }
}

export async function readPostgres(t: PgTarget, timeoutMs: number) {
    const c = await connect(t, timeoutMs);
    try {
        return await readCatalog(c);
    } finally {
        await c.end().catch(() => undefined);
    }
}
