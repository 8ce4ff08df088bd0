// The data host's backup and `npm run restore`, proven on a real PostgreSQL: Debian's
// `postgresql` package (installed by .ci/run), started here on loopback as an unprivileged user.
// Two instances (erp and its sibling erp-sandbox) get the database contract's roles, grants and
// data; the real backup script (components/backup/scripts/data-backup.sh) dumps them with the
// real pg_dump/pg_dumpall (a fake `docker exec` runs this machine's tools, as the container's own
// would run) into a folder standing in for the object store (a fake rclone); the database is
// dropped; the restore module (the command's own code) brings it back. Then rows, ownership and
// grants are checked, and a credential of the instance works while its sibling's does not.
import { strict as assert } from "assert";
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { DataHost, LocalRunner, listBackups, PostgresManifest, restoreInstance, RestoreError, Workloads } from "../components/backup/restore";
import { BACKUP_SCRIPTS_DIR } from "../components/backup/scripts";
import { explain, fails, ok, RunResult, Sandbox } from "./metal-harness";
import { findPgBin, RealPostgres } from "./helpers/real-postgres";

const FAKES_DIR = path.join(__dirname, "fakes", "backup");
const PG_CONTAINER = "homelab-data-postgres-1";
const GITEA_CONTAINER = "homelab-data-gitea-1";
const TARGET = "target:homelab-sandbox-vms/sandbox-vms";

/** The database contract of one instance (ARCHITECTURE.md), as the program sets it up. */
function instanceSql(db: string, prefix: string, user: string, password: string): string {
    return `
CREATE ROLE ${prefix}_db_owner NOLOGIN;
CREATE ROLE ${prefix}_role NOLOGIN;
CREATE DATABASE "${db}" OWNER ${prefix}_db_owner CONNECTION LIMIT 20;
REVOKE ALL ON DATABASE "${db}" FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE "${db}" TO ${prefix}_role;
CREATE ROLE "${user}" LOGIN PASSWORD '${password}' IN ROLE ${prefix}_role;
`;
}

function dataSql(prefix: string, rows: number): string {
    return `
GRANT USAGE, CREATE ON SCHEMA public TO ${prefix}_role;
SET ROLE ${prefix}_role;
CREATE TABLE items (id serial PRIMARY KEY, name text NOT NULL);
CREATE TABLE ledger (id bigserial PRIMARY KEY, item int REFERENCES items(id), note text);
INSERT INTO items (name) SELECT 'item ' || g FROM generate_series(1, ${rows}) g;
INSERT INTO ledger (item, note) VALUES (1, E'multi\\nline'), (2, 'tab\\there'), (1, NULL);
RESET ROLE;
`;
}

describe("data-host backup and restore on a real PostgreSQL", function () {
    this.timeout(180_000);
    let pg: RealPostgres;
    let sb: Sandbox;
    let store: string;
    let env: Record<string, string>;
    const erpUser = { name: "v-erp-token-1", password: "erp-secret-1" };
    const siblingUser = { name: "v-erp-sandbox-token-1", password: "sibling-secret-1" };

    before(async function () {
        const bin = findPgBin();
        if (!bin) {
            const why = "PostgreSQL's server tools are not installed (apt-get install postgresql-common postgresql)";
            if (process.env.CI === "true") throw new Error(why);
            console.log(`      (skipped: ${why})`);
            this.skip();
        }
        pg = new RealPostgres(bin!);
        await pg.start();
        pg.sql("postgres", instanceSql("erp", "erp", erpUser.name, erpUser.password));
        pg.sql("postgres", instanceSql("erp-sandbox", "erp_sandbox", siblingUser.name, siblingUser.password));
        pg.sql("erp", dataSql("erp", 5));
        pg.sql("erp-sandbox", dataSql("erp_sandbox", 2));

        sb = new Sandbox({ fakesDir: FAKES_DIR, scriptsDir: BACKUP_SCRIPTS_DIR, extraBaseTools: ["date"], prefix: "backup-test-" });
        // the data host's compose project runs the Postgres container (the restore finds it by its labels)
        fs.mkdirSync(sb.path("state", "compose", "homelab-data"), { recursive: true });
        fs.writeFileSync(sb.path("state", "compose", "homelab-data", "postgres"), `${PG_CONTAINER}\n`);
        store = sb.path("store");
        fs.mkdirSync(store);
        env = {
            STACK: "sandbox-vms",
            TARGET,
            PG_CONTAINER,
            GITEA_CONTAINER,
            WORK_DIR: sb.path("work"),
            FAKE_STORE: store,
            FAKE_PG_CONTAINER: PG_CONTAINER,
            FAKE_GITEA_CONTAINER: GITEA_CONTAINER,
            FAKE_PG_BIN: bin!,
            RCLONE_CONFIG_TARGET_TYPE: "s3",
            RCLONE_CONFIG_TARGET_SECRET_ACCESS_KEY: "not-a-real-key",
            ...pg.env(),
        };
    });

    after(function () {
        pg?.stop();
        sb?.cleanup();
    });

    const backup = (extra: Record<string, string> = {}): RunResult => sb.run("data-backup.sh", { ...env, ...extra });
    const manifests = (kind: string) => fs.existsSync(path.join(store, "homelab-sandbox-vms/sandbox-vms", kind))
        ? fs.readdirSync(path.join(store, "homelab-sandbox-vms/sandbox-vms", kind)).sort()
        : [];
    const manifestOf = (id: string): PostgresManifest =>
        JSON.parse(fs.readFileSync(path.join(store, "homelab-sandbox-vms/sandbox-vms/postgres", id, "manifest.json"), "utf8"));
    /** The data host as `npm run restore` sees prod's and sandbox-vms's: the compose service postgres. */
    const host = () => new DataHost(new LocalRunner({ ...env, PATH: `${sb.bin}:${sb.base}`, FAKE_STATE: sb.state, FAKE_LOG: sb.log }), {
        pgContainer: "postgres", composeProject: "homelab-data", target: TARGET,
    });
    const recorder = () => {
        const calls: string[] = [];
        const w: Workloads = { pause: async () => { calls.push("pause"); }, resume: async () => { calls.push("resume"); } };
        return { calls, w };
    };
    /** Waits a second, so that the next backup gets a new id (ids are UTC seconds). */
    const tick = () => new Promise((r) => setTimeout(r, 1100));

    let first: string;

    it("backs up every instance database and the globals with the server's own tools, manifest last", function () {
        const r = ok(backup());
        const ids = manifests("postgres");
        assert.equal(ids.length, 1, explain(r));
        first = ids[0];
        const m = manifestOf(first);
        assert.equal(m.stack, "sandbox-vms");
        assert.deepEqual(Object.keys(m.databases).sort(), ["erp", "erp-sandbox"]);
        assert.deepEqual(m.databases.erp.tables, { "public.items": 5, "public.ledger": 3 });
        assert.deepEqual(m.databases["erp-sandbox"].tables, { "public.items": 2, "public.ledger": 3 });
        assert.equal(m.databases.erp.owner, "erp_db_owner");
        assert.equal(m.databases.erp.connectionLimit, 20);
        assert.match(m.databases.erp.acl, /erp_role=Tc\/erp_db_owner/);
        const dir = path.join(store, "homelab-sandbox-vms/sandbox-vms/postgres", first);
        for (const f of [m.databases.erp.dump, m.globals]) {
            const bytes = fs.readFileSync(path.join(dir, f.file));
            assert.equal(bytes.length, f.bytes);
            assert.equal(createHash("sha256").update(bytes).digest("hex"), f.sha256);
        }
        assert.match(fs.readFileSync(path.join(dir, "globals.sql"), "utf8"), /CREATE ROLE erp_role;/);
        // the manifest is uploaded after the dumps
        const uploads = r.calls.filter((c) => /^rclone copy/.test(c) && c.includes("/postgres/"));
        assert.ok(/^rclone copy --exclude manifest.json /.test(uploads[0]) && /manifest.json$/.test(uploads[uploads.length - 1]), uploads.join("\n"));
        // every Postgres tool ran inside the Postgres container
        assert.ok(r.calls.some((c) => c.startsWith(`docker exec -i ${PG_CONTAINER} pg_dump -U postgres -Fc -d erp`)), r.calls.join("\n"));
        assert.ok(r.calls.some((c) => c.startsWith(`docker exec -i ${PG_CONTAINER} pg_dumpall -U postgres --globals-only`)));
        // and Gitea dumped itself as its own user
        assert.ok(r.calls.some((c) => c.startsWith(`docker exec -u git -w /tmp ${GITEA_CONTAINER} gitea dump -c /data/gitea/conf/app.ini`)));
        assert.deepEqual(manifests("gitea").length, 1);
    });

    it("restores a dropped database: rows, ownership and grants back; its credential works, its sibling's does not", async function () {
        pg.sql("postgres", 'DROP DATABASE "erp" WITH (FORCE)');
        // something an operator added to template1 must not reach the restore (it is created from template0)
        pg.sql("template1", "CREATE TABLE template1_marker (x int)");
        const { calls, w } = recorder();
        let res;
        try {
            res = await restoreInstance({ host: host(), database: "erp", workloads: w });
        } finally {
            pg.sql("template1", "DROP TABLE template1_marker");
        }
        assert.equal(pg.sql("erp", "SELECT count(*) FROM pg_tables WHERE tablename = 'template1_marker'"), "0", "created from template0");
        assert.equal(res.backup, first);
        assert.equal(res.previousKeptAs, undefined);
        assert.deepEqual(calls, ["pause", "resume"]);
        assert.equal(pg.sql("erp", "SELECT count(*) FROM items"), "5");
        assert.equal(pg.sql("erp", "SELECT note FROM ledger WHERE id = 1"), "multi\nline");
        assert.equal(pg.sql("postgres", "SELECT pg_get_userbyid(datdba) || ' ' || datconnlimit FROM pg_database WHERE datname = 'erp'"), "erp_db_owner 20");
        assert.equal(pg.sql("erp", "SELECT string_agg(tableowner, ',' ORDER BY tablename) FROM pg_tables WHERE schemaname = 'public'"), "erp_role,erp_role");
        assert.equal(pg.sql("postgres", "SELECT has_database_privilege('erp_role', 'erp', 'CONNECT')::text || has_database_privilege('erp_sandbox_role', 'erp', 'CONNECT')::text || has_database_privilege('public', 'erp', 'CONNECT')::text"), "truefalsefalse");
        // the instance's credential reads and writes its tables (sequence included)...
        const mine = pg.psql("erp", "INSERT INTO items (name) VALUES ('after restore'); SELECT count(*) FROM items;", erpUser.name, erpUser.password);
        assert.equal(mine.status, 0, mine.stderr);
        assert.equal(mine.stdout, "6");
        // ...and the sibling's is refused at the door
        const sibling = pg.psql("erp", "SELECT count(*) FROM items", siblingUser.name, siblingUser.password);
        assert.notEqual(sibling.status, 0);
        assert.match(sibling.stderr, /permission denied for database "erp"/);
        // the sibling still has its own
        assert.equal(pg.psql("erp-sandbox", "SELECT count(*) FROM items", siblingUser.name, siblingUser.password).stdout, "2");
    });

    it("swaps a restore in over a live database, keeping the replaced one aside, paused around the swap", async function () {
        // erp now has 6 items (the row inserted above)
        const { calls, w } = recorder();
        const logs: string[] = [];
        const res = await restoreInstance({ host: host(), database: "erp", backup: first, workloads: w, log: (l) => logs.push(l) });
        assert.deepEqual(calls, ["pause", "resume"]);
        assert.equal(pg.sql("erp", "SELECT count(*) FROM items"), "5");
        assert.equal(res.previousKeptAs, `erp_replaced_${first.toLowerCase()}`);
        assert.equal(pg.sql("postgres", `SELECT datallowconn FROM pg_database WHERE datname = '${res.previousKeptAs}'`), "f");
        pg.sql("postgres", `ALTER DATABASE "${res.previousKeptAs}" ALLOW_CONNECTIONS true`);
        assert.equal(pg.sql(res.previousKeptAs!, "SELECT count(*) FROM items"), "6");
        assert.ok(logs.some((l) => l.includes(`kept as ${res.previousKeptAs}`)), logs.join("\n"));
        pg.sql("postgres", `DROP DATABASE "${res.previousKeptAs}"`);
    });

    it("--into restores into a scratch database and leaves the instance alone (no pause)", async function () {
        pg.sql("erp", "DELETE FROM ledger");
        const { calls, w } = recorder();
        const res = await restoreInstance({ host: host(), database: "erp", into: "erp_scratch", workloads: w });
        assert.equal(res.restoredInto, "erp_scratch");
        assert.deepEqual(calls, []);
        assert.equal(pg.sql("erp_scratch", "SELECT count(*) FROM ledger"), "3");
        assert.equal(pg.sql("erp", "SELECT count(*) FROM ledger"), "0");
        pg.sql("postgres", 'DROP DATABASE "erp_scratch"');
    });

    it("refuses to swap when the row counts differ from the manifest, leaving the restore for inspection", async function () {
        const file = path.join(store, "homelab-sandbox-vms/sandbox-vms/postgres", first, "manifest.json");
        const original = fs.readFileSync(file, "utf8");
        const m = JSON.parse(original) as PostgresManifest;
        m.databases.erp.tables["public.items"] = 99;
        fs.writeFileSync(file, JSON.stringify(m));
        try {
            const { calls, w } = recorder();
            await assert.rejects(restoreInstance({ host: host(), database: "erp", workloads: w }),
                (e: Error) => e instanceof RestoreError && /public\.items: 5 rows, the manifest says 99/.test(e.message) && /nothing was swapped/.test(e.message));
            assert.deepEqual(calls, []);
            assert.equal(pg.sql("erp", "SELECT count(*) FROM ledger"), "0", "the live database is untouched");
        } finally {
            fs.writeFileSync(file, original);
            pg.sql("postgres", `DROP DATABASE IF EXISTS "erp_restore_${first.toLowerCase()}"`);
        }
    });

    it("recreates a missing role from the backup's globals, and only that one", async function () {
        pg.sql("postgres", 'DROP DATABASE "erp-sandbox" WITH (FORCE)');
        pg.sql("postgres", `DROP ROLE "${siblingUser.name}"; DROP ROLE erp_sandbox_role; DROP ROLE erp_sandbox_db_owner;`);
        const { w } = recorder();
        await restoreInstance({ host: host(), database: "erp-sandbox", workloads: w });
        assert.equal(pg.sql("erp-sandbox", "SELECT count(*) FROM items"), "2");
        assert.equal(pg.sql("postgres", "SELECT string_agg(rolname || ':' || rolcanlogin, ',' ORDER BY rolname) FROM pg_roles WHERE rolname LIKE 'erp_sandbox%'"),
            "erp_sandbox_db_owner:false,erp_sandbox_role:false");
        // a credential Vault issues anew (a member of the instance role) uses it
        pg.sql("postgres", `CREATE ROLE "v-erp-sandbox-token-2" LOGIN PASSWORD 'sibling-secret-2' IN ROLE erp_sandbox_role`);
        const r = pg.psql("erp-sandbox", "SELECT count(*) FROM ledger", "v-erp-sandbox-token-2", "sibling-secret-2");
        assert.equal(r.stdout, "3", r.stderr);
    });

    it("a failed dump exits non-zero naming the database, uploads nothing and keeps the previous backup", async function () {
        await tick();
        const r = fails(backup({ FAKE_FAIL: "docker:pg_dump", KINDS: "postgres" }), /backup \d{8}T\d{6}Z FAILED: postgres:erp postgres:erp-sandbox/);
        assert.deepEqual(manifests("postgres"), [first], explain(r));
    });

    it("a failed upload exits non-zero and never runs retention", async function () {
        await tick();
        const r = fails(backup({ FAKE_FAIL: "rclone:copyto", KINDS: "postgres", RETAIN: "1" }), /FAILED: postgres:upload/);
        assert.ok(!r.calls.some((c) => c.startsWith("rclone purge")), explain(r));
        const complete = manifests("postgres").filter((id) => fs.existsSync(path.join(store, "homelab-sandbox-vms/sandbox-vms/postgres", id, "manifest.json")));
        assert.deepEqual(complete, [first]);
    });

    it("retention keeps the newest RETAIN complete backups and removes older ones", async function () {
        await tick();
        ok(backup({ KINDS: "postgres", RETAIN: "1" }));
        const left = manifests("postgres");
        assert.equal(left.length, 1);
        assert.ok(left[0] > first);
        // --list sees it, fresh; a day-old view of the same backup is stale for a 6-hour schedule
        const listing = await listBackups(host(), { postgres: 24, gitea: 24 });
        assert.equal(listing[0].kind, "postgres");
        assert.equal(listing[0].stale, false);
        const later = await listBackups(host(), { postgres: 6, gitea: 6 }, new Date(Date.now() + 13 * 3_600_000));
        assert.equal(later[0].stale, true);
    });
});
