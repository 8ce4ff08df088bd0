// The per-instance database contract (README.md, "The database contract"), proven on a real
// PostgreSQL 17.7 with credentials a real Vault API server issued: each plan's PostgreSQL resources
// applied with the SQL the provider runs (test/helpers/pg-applier.ts), its Vault resources applied
// to OpenBao with the provider's calls (test/helpers/vault-applier.ts: database/config/<instance>
// connects as vault_admin to this PostgreSQL), then credentials read from database/creds/<instance>
// (the server's postgresql-database-plugin runs the plan's creation statements) and revoked through
// their lease (it runs the plan's revocation statements). Over prod's plan with an in-cluster
// sibling (erp with envs [prod, sandbox]) and over each sandbox stack's plan. In CI both servers
// must start: these tests never skip.
//
// Relies on OpenBao's postgresql-database-plugin behaving as Vault 1.21.1's: statement splitting, one
// transaction, the default username_template (docs/architecture.md, "Testing against a real Vault API").
// pg-applier.ts's emulation of the plugin is used in one place only, which says why (a second run
// of the revocation statements for one user: OpenBao revokes a lease once).
import { strict as assert } from "assert";
import { Client } from "pg";
import { DEFAULT_CONNECTION_LIMIT } from "../components/config";
import { instanceNames, InstanceNames, shared } from "../components/naming";
import { SHARED_DATABASES } from "../components/platform/postgres-access";
import { PlanDocument } from "../tools/plan-types";
import { useOpenBao } from "./helpers/openbao";
import { AppliedPlan, applyPlan, Credential, quoteIdent, resetServer } from "./helpers/pg-applier";
import { programPlanOf as planOf, projectApps } from "./helpers/plan";
// The contract as the program makes it: prod with every migration on (programPlanOf); the baseline registers no grant.
import { PostgresServer, SUPERUSER, usePostgres } from "./helpers/postgres-server";
import { TokenReviewApi } from "./helpers/token-review";
import { applyVault, IssuedCredential, unapplyVault, VaultCredentials } from "./helpers/vault-applier";

/** What a login attempt as a credential gives: the connected client, or PostgreSQL's refusal. */
async function connect(server: PostgresServer, cred: Credential, database = cred.database): Promise<Client> {
    const c = new Client(server.config(cred.username, cred.password, database));
    await c.connect();
    return c;
}

async function refused(server: PostgresServer, cred: Credential, database: string): Promise<string> {
    const c = new Client(server.config(cred.username, cred.password, database));
    try {
        await c.connect();
    } catch (e) {
        return (e as Error).message;
    }
    await c.end();
    assert.fail(`${cred.username} (${cred.role}) connected to database ${database}`);
}

/** Runs sql as cred and returns PostgreSQL's error message (fails if it succeeded). */
async function fails(c: Client, sql: string): Promise<string> {
    try {
        await c.query(sql);
    } catch (e) {
        return (e as Error).message;
    }
    assert.fail(`succeeded: ${sql}`);
}

async function withClient<T>(c: Client | Promise<Client>, fn: (c: Client) => Promise<T>): Promise<T> {
    const client = await c;
    try {
        return await fn(client);
    } finally {
        await client.end();
    }
}

interface Case {
    title: string;
    plan: () => PlanDocument;
    /** The connection limit each app's databases must have. */
    limits: Record<string, number>;
}

const ERP_LIMIT = 5;
const withSibling = (): Record<string, Record<string, unknown>> => {
    const apps = projectApps();
    apps.erp = { ...apps.erp, envs: ["prod", "sandbox"], connectionLimit: ERP_LIMIT };
    return apps;
};

const CASES: Case[] = [
    { title: "prod with an in-cluster sibling (erp: prod, sandbox)", plan: () => planOf("prod", { "homelab:apps": withSibling() }), limits: { erp: ERP_LIMIT } },
    { title: "sandbox-k3d", plan: () => planOf("sandbox-k3d"), limits: {} },
    { title: "sandbox-vms", plan: () => planOf("sandbox-vms"), limits: {} },
];

describe("the database contract on a real PostgreSQL 17.7", function () {
    this.timeout(180_000);
    const pg = usePostgres();
    const bao = useOpenBao();
    const k8s = new TokenReviewApi();
    before(() => k8s.start());
    after(() => k8s.stop());

    it("is the PostgreSQL version prod runs (postgres:17.7-bookworm), with password logins over TCP", async () => {
        assert.match(pg().version, /^17\.7\b/);
        await withClient(pg().superuser(), async (c) => {
            const hba = (await c.query("SELECT type, database, user_name, address, auth_method FROM pg_hba_file_rules")).rows;
            assert.deepEqual(hba, [{ type: "host", database: ["all"], user_name: ["all"], address: "127.0.0.1", auth_method: "scram-sha-256" }]);
        });
    });

    for (const cs of CASES) {
        describe(cs.title, () => {
            let plan: PlanDocument;
            let applied: AppliedPlan;
            let vault: VaultCredentials;
            let instances: InstanceNames[];
            before(async function () {
                this.timeout(300_000);
                plan = cs.plan();
                // Vault's side first: unmounting revokes the last case's leases while their roles exist
                await unapplyVault(bao(), bao().rootToken, plan.resources);
                await resetServer(pg());
                applied = await applyPlan(pg(), plan.resources);
                await applyVault(bao(), bao().rootToken, plan.resources, {
                    postgres: { host: pg().host, port: pg().port }, passwords: applied.passwords, kubernetesHost: k8s.url, kubernetesCaCert: k8s.caCert,
                });
                vault = new VaultCredentials(bao(), bao().rootToken, VaultCredentials.databasesOf(plan.resources));
                instances = plan.resources.filter((r) => r.type === "lab:apps:AppInstance")
                    .map((r) => instanceNames(r.inputs.app as string, r.inputs.env as string));
                assert.ok(instances.length >= 6, "the whole catalogue is there");
            });
            const issue = (n: InstanceNames) => vault.issue(n.databaseSecretsRole);
            const revoke = (cred: IssuedCredential) => vault.revoke(cred);
            /** Rewrites a database secrets role on the server (the provider's call), for a test that changes its statements. */
            const writeRole = (name: string, change: Record<string, unknown>) => {
                const r = plan.resources.find((x) => x.type === "vault:database/secretBackendRole:SecretBackendRole" && x.inputs.name === name)!;
                return bao().call("POST", `database/roles/${name}`, {
                    db_name: r.inputs.dbName, creation_statements: r.inputs.creationStatements, default_ttl: r.inputs.defaultTtl,
                    max_ttl: r.inputs.maxTtl, revocation_statements: r.inputs.revocationStatements, ...change,
                });
            };

            it("a credential connects to its own database, creates, writes and reads", async () => {
                for (const n of instances) {
                    const cred = await issue(n);
                    // issued by the server: its lease, its default username_template (v-<display>-<role>-<random>-<time>)
                    assert.match(cred.leaseId, new RegExp(`^database/creds/${n.databaseSecretsRole}/`));
                    assert.equal(cred.leaseDuration, 3600, "the role's default_ttl");
                    assert.match(cred.username, new RegExp(`^v-[a-z]{1,8}-${n.databaseSecretsRole.slice(0, 8)}-[A-Za-z0-9]{20}-\\d+$`));
                    await withClient(connect(pg(), cred), async (c) => {
                        await c.query("CREATE TABLE contract_rw (id serial PRIMARY KEY, v text)");
                        await c.query("INSERT INTO contract_rw (v) VALUES ('written')");
                        assert.deepEqual((await c.query("SELECT v FROM contract_rw")).rows, [{ v: "written" }], n.instance);
                        await c.query("DROP TABLE contract_rw");
                    });
                    await revoke(cred);
                    await withClient(pg().superuser(), async (c) => {
                        assert.equal((await c.query("SELECT count(*)::int AS n FROM pg_roles WHERE rolname = $1", [cred.username])).rows[0].n, 0, "revoking the lease dropped the user");
                    });
                }
            });

            it("a credential reaches no sibling's database, nor postgres or template1; no sibling's credential reaches it", async () => {
                const creds = new Map<string, IssuedCredential>();
                for (const n of instances) creds.set(n.instance, await issue(n));
                for (const n of instances) {
                    const cred = creds.get(n.instance)!;
                    for (const db of SHARED_DATABASES) {
                        assert.match(await refused(pg(), cred, db), new RegExp(`permission denied for database "${db}"`), `${n.instance} -> ${db}`);
                    }
                    for (const other of instances) {
                        if (other.instance === n.instance) continue;
                        assert.match(await refused(pg(), cred, other.database), /permission denied for database/, `${n.instance} -> ${other.database}`);
                    }
                }
                for (const cred of creds.values()) await revoke(cred);
            });

            it("what one credential creates belongs to the instance's role and stays fully usable by the next credential", async () => {
                for (const n of instances) {
                    const first = await issue(n);
                    await withClient(connect(pg(), first), async (c) => {
                        assert.equal((await c.query("SELECT current_user AS u")).rows[0].u, n.ownerRole, "credentials act as the instance's role from login on");
                        await c.query("CREATE TABLE contract_lasting (id serial PRIMARY KEY, v text)");
                        await c.query("INSERT INTO contract_lasting (v) VALUES ('first')");
                    });
                    await revoke(first); // the lease ends: the user is gone
                    const next = await issue(n);
                    await withClient(connect(pg(), next), async (c) => {
                        const owner = (await c.query("SELECT tableowner FROM pg_tables WHERE tablename = 'contract_lasting'")).rows[0].tableowner;
                        assert.equal(owner, n.ownerRole, `${n.instance}: the table belongs to the lasting role`);
                        await c.query("INSERT INTO contract_lasting (v) VALUES ('next')");
                        await c.query("ALTER TABLE contract_lasting ADD COLUMN w int");
                        await c.query("UPDATE contract_lasting SET w = 1");
                        assert.deepEqual((await c.query("SELECT v FROM contract_lasting ORDER BY id")).rows, [{ v: "first" }, { v: "next" }]);
                        await c.query("DROP TABLE contract_lasting");
                    });
                    await revoke(next);
                }
            });

            it("revocation succeeds for a credential that owns objects and privileges, and again when the user is already gone", async () => {
                for (const n of instances) {
                    const cred = await issue(n);
                    await withClient(connect(pg(), cred), async (c) => {
                        // Back to the login user itself (RESET ROLE would return to its default, the
                        // instance's role): what it creates now is its own.
                        await c.query("SET ROLE NONE");
                        assert.equal((await c.query("SELECT current_user AS u")).rows[0].u, cred.username);
                        await c.query("CREATE TABLE contract_own (id int)");
                        await c.query("INSERT INTO contract_own VALUES (42)");
                        await c.query(`GRANT SELECT ON contract_own TO ${quoteIdent(n.ownerRole)}`);
                    });
                    await revoke(cred);
                    // Vault retries a revocation that failed, running the statements again for a user that may
                    // be gone. OpenBao runs them once per lease (a second revoke of the lease is a no-op), and a
                    // failure cannot be made to happen between the statements here: so the second run is
                    // pg-applier.ts's emulation of the plugin, with the plan's statements, as vault_admin.
                    await applied.revoke({ username: cred.username, password: cred.password, database: cred.database, role: cred.role });
                    await withClient(pg().superuser(n.database), async (c) => {
                        assert.equal((await c.query("SELECT count(*)::int AS n FROM pg_roles WHERE rolname = $1", [cred.username])).rows[0].n, 0, "the user is gone");
                        const t = (await c.query("SELECT tableowner FROM pg_tables WHERE tablename = 'contract_own'")).rows;
                        assert.deepEqual(t, [{ tableowner: n.ownerRole }], `${n.instance}: its table was reassigned, not lost`);
                        assert.deepEqual((await c.query("SELECT id FROM contract_own")).rows, [{ id: 42 }]);
                        await c.query("DROP TABLE contract_own");
                    });
                }
            });

            it("the former revocation (DROP ROLE alone) fails as soon as the user owns something: why it reassigns and drops owned first", async () => {
                const n = instances[0];
                const cred = await issue(n);
                await withClient(connect(pg(), cred), async (c) => {
                    await c.query("SET ROLE NONE");
                    await c.query("CREATE TABLE contract_orphan (id int)");
                });
                // The server revokes with the role's statements as they are when the lease is revoked.
                await writeRole(n.databaseSecretsRole, { revocation_statements: ['DROP ROLE IF EXISTS "{{name}}";'] });
                try {
                    await assert.rejects(revoke(cred), /role \\?"[^"\\]+\\?" cannot be dropped because some objects depend on it/);
                } finally {
                    await writeRole(n.databaseSecretsRole, {});
                }
                await revoke(cred);
                await withClient(pg().superuser(n.database), (c) => c.query("DROP TABLE contract_orphan"));
            });

            it("a credential cannot open its database to anyone, alter or drop a database, or SET ROLE to another role", async () => {
                for (const n of instances) {
                    const cred = await issue(n);
                    const sibling = instances.find((o) => o.instance !== n.instance)!;
                    await withClient(connect(pg(), cred), async (c) => {
                        // Not the owner and no grant option: PostgreSQL grants nothing (a warning, or an error).
                        await c.query(`GRANT CONNECT ON DATABASE ${quoteIdent(n.database)} TO PUBLIC`).catch(() => undefined);
                        await c.query(`GRANT CONNECT ON DATABASE ${quoteIdent(n.database)} TO ${quoteIdent(sibling.ownerRole)}`).catch(() => undefined);
                        const acl = (await c.query("SELECT datacl::text[] AS acl FROM pg_database WHERE datname = $1", [n.database])).rows[0].acl as string[];
                        assert.deepEqual(acl.filter((a) => a.startsWith("=") || a.startsWith(`${sibling.ownerRole}=`)), [], `${n.instance}: its database ACL is unchanged (${acl.join(" ")})`);
                        assert.match(await fails(c, `ALTER DATABASE ${quoteIdent(n.database)} CONNECTION LIMIT -1`), /must be owner of database/);
                        assert.match(await fails(c, `ALTER DATABASE ${quoteIdent(n.database)} OWNER TO ${quoteIdent(n.ownerRole)}`), /must be owner of database/);
                        assert.match(await fails(c, `DROP DATABASE ${quoteIdent(sibling.database)}`), /must be owner of database/);
                        assert.match(await fails(c, `DROP DATABASE postgres`), /must be owner of database/);
                        for (const role of [sibling.ownerRole, sibling.databaseOwnerRole, n.databaseOwnerRole, shared.vaultPostgresRole, SUPERUSER]) {
                            assert.match(await fails(c, `SET ROLE ${quoteIdent(role)}`), /permission denied to set role/, `${n.instance} -> SET ROLE ${role}`);
                        }
                        assert.match(await fails(c, `CREATE ROLE contract_intruder LOGIN PASSWORD 'x'`), /permission denied to create role/);
                        assert.match(await fails(c, `GRANT ${quoteIdent(n.ownerRole)} TO ${quoteIdent(sibling.ownerRole)}`), /permission denied to grant role/);
                        assert.match(await fails(c, `ALTER ROLE ${quoteIdent(n.ownerRole)} LOGIN`), /permission denied to alter role/);
                    });
                    // The sibling is still refused.
                    const other = await issue(sibling);
                    assert.match(await refused(pg(), other, n.database), /permission denied for database/);
                    await revoke(other);
                    await revoke(cred);
                }
            });

            it("no role logs in but Vault's own login and its live users; Vault's login is no superuser and holds just what it needs", async () => {
                const cred = await issue(instances[0]);
                await withClient(pg().superuser(), async (c) => {
                    // The bootstrap superuser is the server's administrator (metal's postgres.env), not the program's.
                    const logins = (await c.query("SELECT rolname FROM pg_roles WHERE rolcanlogin AND rolname <> $1 ORDER BY 1", [SUPERUSER])).rows.map((r) => r.rolname);
                    assert.deepEqual(logins, [cred.username, shared.vaultPostgresRole].sort());
                    const vault = (await c.query("SELECT rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls FROM pg_roles WHERE rolname = $1", [shared.vaultPostgresRole])).rows[0];
                    assert.deepEqual(vault, { rolsuper: false, rolcreaterole: true, rolcreatedb: false, rolreplication: false, rolbypassrls: false });
                    // ADMIN OPTION on each instance's role, and nothing else granted to it by the program.
                    const memberships = (await c.query(`SELECT r.rolname AS role, m.admin_option AS admin FROM pg_auth_members m
                        JOIN pg_roles r ON r.oid = m.roleid JOIN pg_roles u ON u.oid = m.member
                        WHERE u.rolname = $1 AND r.rolname NOT LIKE 'v-%' ORDER BY 1`, [shared.vaultPostgresRole])).rows;
                    assert.deepEqual(memberships, instances.map((n) => ({ role: n.ownerRole, admin: true })).sort((a, b) => (a.role < b.role ? -1 : 1)));
                    // What each instance's roles can do.
                    for (const n of instances) {
                        const r = (await c.query("SELECT rolname, rolcanlogin, rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = ANY($1) ORDER BY 1", [[n.ownerRole, n.databaseOwnerRole]])).rows;
                        assert.deepEqual(r.map((x) => [x.rolname, x.rolcanlogin, x.rolsuper, x.rolcreaterole, x.rolcreatedb]),
                            [[n.databaseOwnerRole, false, false, false, false], [n.ownerRole, false, false, false, false]].sort());
                    }
                });
                await revoke(cred);
            });

            it("on PostgreSQL 17.7 CREATEROLE alone does not let Vault's login issue a user: it needs ADMIN OPTION on the instance's role", async () => {
                const n = instances[0];
                await withClient(pg().superuser(), (c) => c.query(`REVOKE ADMIN OPTION FOR ${quoteIdent(n.ownerRole)} FROM ${quoteIdent(shared.vaultPostgresRole)} CASCADE`));
                try {
                    await assert.rejects(issue(n), /permission denied to grant role \\?"[^"\\]+\\?"/);
                } finally {
                    await withClient(pg().superuser(), (c) => c.query(`GRANT ${quoteIdent(n.ownerRole)} TO ${quoteIdent(shared.vaultPostgresRole)} WITH ADMIN OPTION`));
                }
                const cred = await issue(n);
                await revoke(cred);
            });

            it("on PostgreSQL 17.7 revocation needs createrole_self_grant: without it Vault's login may not reassign what its user owns", async () => {
                const n = instances[0];
                const current = applied.vaultRoles.get(n.databaseSecretsRole)!.creationStatements;
                const without = current.filter((st) => !/createrole_self_grant/.test(st));
                assert.equal(without.length, current.length - 1);
                await writeRole(n.databaseSecretsRole, { creation_statements: without });
                let cred: IssuedCredential;
                try {
                    cred = await issue(n);
                } finally {
                    await writeRole(n.databaseSecretsRole, {});
                }
                await withClient(connect(pg(), cred), async (c) => {
                    await c.query("SET ROLE NONE");
                    await c.query("CREATE TABLE contract_selfgrant (id int)");
                });
                await assert.rejects(revoke(cred), /permission denied to reassign objects/);
                await withClient(pg().superuser(n.database), async (c) => {
                    await c.query(`REASSIGN OWNED BY ${quoteIdent(cred.username)} TO ${quoteIdent(n.ownerRole)}`);
                    await c.query(`DROP OWNED BY ${quoteIdent(cred.username)}`);
                    await c.query(`DROP ROLE ${quoteIdent(cred.username)}`);
                    await c.query("DROP TABLE contract_selfgrant");
                });
                await revoke(cred); // the lease ends now that the user is gone (IF EXISTS)
            });

            it("each instance's database has the connection limit of its app in the catalogue (default " + DEFAULT_CONNECTION_LIMIT + "), enforced", async () => {
                await withClient(pg().superuser(), async (c) => {
                    for (const n of instances) {
                        const lim = (await c.query("SELECT datconnlimit FROM pg_database WHERE datname = $1", [n.database])).rows[0].datconnlimit;
                        assert.equal(lim, cs.limits[n.app] ?? DEFAULT_CONNECTION_LIMIT, n.instance);
                    }
                });
                const n = instances.find((x) => cs.limits[x.app] !== undefined) ?? instances[0];
                const limit = cs.limits[n.app] ?? DEFAULT_CONNECTION_LIMIT;
                const cred = await issue(n);
                // Vault's own pooled connections to the database (as vault_admin, max_open_connections 2)
                // count against the limit too: the credential gets what they leave.
                const vaultHeld = await withClient(pg().superuser(), async (c) =>
                    (await c.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND usename = $2", [n.database, shared.vaultPostgresRole])).rows[0].n as number);
                assert.ok(vaultHeld >= 1 && vaultHeld <= 2, `Vault holds ${vaultHeld} connection(s) to ${n.database}`);
                const open: Client[] = [];
                try {
                    for (let i = 0; i < limit - vaultHeld; i++) open.push(await connect(pg(), cred));
                    assert.match(await refused(pg(), cred, n.database), /too many connections for database/);
                } finally {
                    for (const c of open) await c.end();
                }
                await revoke(cred);
            });
        });
    }

    after(async () => {
        // Leave the shared server as it was for any later suite of the run.
        try {
            await resetServer(pg());
        } catch {
            // the server did not start: nothing to reset
        }
    });
});
