// Every stack's plan backs up what it holds, each to that stack's own target: Longhorn's recurring
// jobs of the default group (longhorn/longhorn v1.10.1, enhancements/20210624-label-driven-recurring-job.md:
// a job whose groups include "default" applies to every volume without a recurring-job label), the
// data host's backup job, and the freshness output. The installer script runs here against fake
// rclone, systemctl, crontab and docker (test/fakes/backup).
import { strict as assert } from "assert";
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { cronIntervalHours, parseConfig } from "../components/config";
import { readStackConfig } from "../components/stack-config";
import { guardStack } from "../components/guard";
import { spawnSync } from "child_process";
import { BACKUP_SCRIPT_NAMES, BACKUP_SCRIPTS_DIR } from "../components/backup/scripts";
import { DataHost, LocalRunner, SshRunner, longhornListing, formatListing, globalsFor, idTime, parseDatabaseAcl, databaseSetupSql, restoreDatabaseName, RestoreError } from "../components/backup/restore";
import { dataHostOf, KubectlWorkloads, main as restoreMain, parseRestoreArgs, pinnedHostKey } from "../tools/restore";
import { UsageError } from "../tools/cli";
import { instanceNames } from "../components/naming";
import { byType, programPlanOf as planOf, ROOT, STACKS } from "./helpers/plan";
// The program's definitions: prod with every migration on (programPlanOf); the baseline is test/adoption.test.ts.
import { evaluatePolicies } from "../policy/evaluate";
import { explain, fails, ok, Sandbox } from "./metal-harness";

const PROD_BUCKET = "arcodange-tf";
const RECURRING = "kubernetes:longhorn.io/v1beta2:RecurringJob";
const install = (stack: string) => planOf(stack).resources.find((r) => r.urn.endsWith("::data-backup-install"))!;
const installEnv = (stack: string): Record<string, string> => {
    const r = install(stack);
    if (r.type === "command:local:Command") return r.inputs.environment as Record<string, string>;
    const create = String(r.inputs.create);
    const env: Record<string, string> = {};
    for (const m of create.matchAll(/([A-Z_]+)='((?:[^']|'\\'')*)'/g)) env[m[1]] = m[2].replace(/'\\''/g, "'");
    return env;
};

describe("backups in every stack's plan", function () {
    it("Longhorn stacks have a backup and a snapshot job of the default group, from the schedule", () => {
        for (const stack of ["prod", "sandbox-vms"]) {
            const jobs = byType(planOf(stack), RECURRING);
            const byTask = Object.fromEntries(jobs.map((j) => [(j.inputs.spec as any).task, j.inputs]));
            assert.deepEqual(Object.keys(byTask).sort(), ["backup", "snapshot"], stack);
            assert.deepEqual(byTask.backup.spec.groups, ["default"]);
            assert.equal(byTask.backup.spec.cron, "0 3 * * *");
            assert.equal(byTask.backup.spec.retain, 14);
            assert.equal(byTask.snapshot.spec.retain, 8);
            assert.equal(byTask.backup.metadata.namespace, "longhorn-system");
            for (const j of jobs) assert.ok(j.dependsOn.some((d) => d.endsWith("::platform-longhorn")), `${stack}: the job waits for Longhorn (its CRDs)`);
        }
        assert.equal(byType(planOf("sandbox-k3d"), RECURRING).length, 0, "k3d has no Longhorn (a declared parity exception)");
    });

    it("every stack installs its data-host backup job, pointed at its own target", () => {
        const prod = installEnv("prod");
        assert.equal(prod.TARGET, `target:${PROD_BUCKET}/prod`);
        assert.equal(prod.TARGET_PROVIDER, "GCS");
        assert.equal(prod.INSTALL, "systemd");
        assert.equal(prod.CREATE_BUCKET, "0");
        for (const stack of ["sandbox-k3d", "sandbox-vms"]) {
            const env = installEnv(stack);
            assert.equal(env.TARGET, `target:homelab-backups-${stack}/${stack}`);
            assert.equal(env.TARGET_PROVIDER, "Minio");
            assert.equal(env.CREATE_BUCKET, "1");
            assert.ok(!JSON.stringify(planOf(stack)).includes(PROD_BUCKET), `${stack}'s plan never names prod's bucket`);
        }
        assert.equal(installEnv("sandbox-k3d").INSTALL, "cron");
        assert.match(String(install("sandbox-k3d").inputs.delete), /crontab/, "a destroyed k3d sandbox removes its crontab line");
        assert.equal(install("prod").inputs.delete, undefined, "prod's job is never uninstalled by a destroy");
        assert.equal(installEnv("sandbox-k3d").TARGET_ENDPOINT, "http://127.0.0.1:19000");
        assert.equal(installEnv("sandbox-vms").INSTALL, "systemd");
        assert.equal(installEnv("sandbox-vms").SECRET_ENV_FILE, "/opt/homelab/data/minio.env");
    });

    it("the upload secrets reach the installer on stdin only, never its command line", () => {
        for (const stack of STACKS) {
            const r = install(stack);
            assert.equal(r.inputs.stdin, "[secret]", stack);
            const keys = Object.keys(installEnv(stack)).filter((k) => /SECRET|PASSWORD|ACCESS_KEY/.test(k) && k !== "SECRET_ENV_FILE");
            assert.deepEqual(keys, [], `${stack}: no credential in the installer's environment or command line`);
            assert.ok(!String(r.inputs.create).includes("[secret]"), `${stack}: no secret value in the command`);
        }
    });

    it("sandbox-vms runs MinIO in the data host's compose project; k3d beside the cluster; prod none", () => {
        const vmsData = planOf("sandbox-vms").resources.find((r) => r.urn.endsWith("::metal-vms-hosts-data"))!;
        assert.match(String(vmsData.inputs.create), /SERVICE_PORTS='5432 3000 2222 9000'/);
        const k3dMinio = planOf("sandbox-k3d").resources.find((r) => r.urn.endsWith("::metal-k3d-minio"))!;
        assert.equal((k3dMinio.inputs.environment as any).CONTAINER_ARGS, "server /data");
        assert.match((k3dMinio.inputs.environment as any).IMAGE, /^quay\.io\/minio\/minio:RELEASE\./);
        // prod's data host exists (homelab:existing.dataHost): no compose command at all
        assert.equal(planOf("prod").resources.find((r) => r.urn.endsWith("::metal-hosts-data")), undefined);
        assert.ok(!JSON.stringify(planOf("prod")).includes("minio/minio"), "prod runs no MinIO");
    });

    it("the freshness of each kind is a stack output: schedule, and stale after twice it", () => {
        for (const stack of STACKS) {
            const out = (planOf(stack) as any).outputs.backupFreshness;
            const kinds = stack === "sandbox-k3d" ? ["gitea", "postgres"] : ["gitea", "longhorn", "postgres"];
            assert.deepEqual(Object.keys(out).sort(), kinds, stack);
            assert.equal(out.postgres.staleAfterHours, 48);
            assert.ok(!String(out.postgres.where).includes(stack === "prod" ? "homelab-backups" : PROD_BUCKET));
        }
    });

    it("the policy pack denies a sandbox's backup job or Longhorn pointed at prod's bucket", () => {
        const plan = JSON.parse(JSON.stringify(planOf("sandbox-vms"))) as ReturnType<typeof planOf>;
        const job = plan.resources.find((r) => r.urn.endsWith("::data-backup-install"))!;
        job.inputs.create = String(job.inputs.create).replace("TARGET='target:homelab-backups-sandbox-vms/sandbox-vms'", `TARGET='target:${PROD_BUCKET}/sandbox-vms'`);
        const longhorn = plan.resources.find((r) => r.urn.endsWith("::platform-longhorn"))!;
        (longhorn.inputs.values as any).defaultBackupStore.backupTarget = `s3://${PROD_BUCKET}@europe-west1/`;
        const vs = evaluatePolicies(plan.resources, { env: {}, stack: "sandbox-vms" }).filter((v) => v.policy === "no-prod-references");
        assert.deepEqual(vs.map((v) => (v.urn ?? "").split("::").pop()).sort(), ["data-backup-install", "platform-longhorn"]);
        assert.ok(vs.every((v) => v.enforcement === "mandatory"));
        assert.deepEqual(evaluatePolicies(planOf("sandbox-vms").resources, { env: {}, stack: "sandbox-vms" }).filter((v) => v.policy === "no-prod-references"), [],
            "the real plan names nothing of prod");
    });

    it("the guard keeps a sandbox off prod's bucket", () => {
        const raw = readStackConfig(ROOT, "sandbox-vms");
        raw["homelab:backup"] = JSON.stringify({ bucket: PROD_BUCKET });
        assert.throws(() => guardStack("sandbox-vms", raw), /arcodange-tf is the prod backup bucket/);
    });
});

describe("backupSchedule configuration", () => {
    const base = () => readStackConfig(ROOT, "sandbox-vms");
    it("reads the project defaults", () => {
        const s = parseConfig("sandbox-vms", base()).backupSchedule;
        assert.deepEqual(s.dataHost, { schedule: "daily", retain: 14 });
        assert.equal(s.longhorn.concurrency, 1);
    });
    it("rejects a cron whose interval the freshness check cannot read, and a bad schedule", () => {
        const raw = base();
        const v = JSON.parse(raw["homelab:backupSchedule"]);
        v.longhorn.backup.cron = "0 3 1-5 * *";
        raw["homelab:backupSchedule"] = JSON.stringify(v);
        assert.throws(() => parseConfig("sandbox-vms", raw), /homelab:backupSchedule\.longhorn\.backup\.cron" is "0 3 1-5 \* \*"; expected a cron of a simple shape/);
        v.longhorn.backup.cron = "0 3 * * *";
        v.dataHost.schedule = "monthly";
        raw["homelab:backupSchedule"] = JSON.stringify(v);
        assert.throws(() => parseConfig("sandbox-vms", raw), /backupSchedule\.dataHost\.schedule" is "monthly"; expected one of hourly, daily, weekly/);
    });
    it("knows the interval of the simple cron shapes", () => {
        assert.equal(cronIntervalHours("0 3 * * *"), 24);
        assert.equal(cronIntervalHours("0 */6 * * *"), 6);
        assert.equal(cronIntervalHours("15 * * * *"), 1);
        assert.equal(cronIntervalHours("0 3 * * 0"), 168);
        assert.equal(cronIntervalHours("0 3 * 1 *"), undefined);
    });
});

describe("restore logic, pure parts", () => {
    it("reads a database ACL and rebuilds it on a fresh database", () => {
        assert.deepEqual(parseDatabaseAcl("{=Tc/postgres,erp_role=c/erp_db_owner,\"we\"\"ird=C*\"=CTc/x}"), [
            { grantee: "", privileges: ["TEMPORARY", "CONNECT"] },
            { grantee: "erp_role", privileges: ["CONNECT"] },
            { grantee: 'we"ird=C*', privileges: ["CREATE", "TEMPORARY", "CONNECT"] },
        ]);
        const sql = databaseSetupSql("erp_restore_x", { owner: "erp_db_owner", acl: "{erp_db_owner=CTc/erp_db_owner,erp_role=c/erp_db_owner}", connectionLimit: 20, tables: {}, dump: { file: "erp.dump", bytes: 1, sha256: "" } });
        assert.deepEqual(sql, [
            'CREATE DATABASE "erp_restore_x" OWNER "erp_db_owner" TEMPLATE template0 CONNECTION LIMIT 20',
            'REVOKE ALL ON DATABASE "erp_restore_x" FROM PUBLIC',
            'REVOKE ALL ON DATABASE "erp_restore_x" FROM "erp_db_owner"',
            'GRANT CREATE, TEMPORARY, CONNECT ON DATABASE "erp_restore_x" TO "erp_db_owner"',
            'GRANT CONNECT ON DATABASE "erp_restore_x" TO "erp_role"',
        ]);
    });
    it("takes only the missing roles from the globals, never resetting an existing one", () => {
        const globals = [
            "CREATE ROLE erp_role;", "ALTER ROLE erp_role WITH NOSUPERUSER INHERIT NOCREATEROLE NOCREATEDB NOLOGIN;",
            "CREATE ROLE vault_admin;", "ALTER ROLE vault_admin WITH LOGIN PASSWORD 'SCRAM-SHA-256$x';",
            'CREATE ROLE "v-erp-1";', 'GRANT erp_role TO "v-erp-1" GRANTED BY postgres;', "GRANT erp_role TO vault_admin WITH ADMIN OPTION GRANTED BY postgres;",
        ].join("\n");
        assert.deepEqual(globalsFor(globals, ["erp_role"], new Set(["postgres", "vault_admin"])), [
            "CREATE ROLE erp_role", "ALTER ROLE erp_role WITH NOSUPERUSER INHERIT NOCREATEROLE NOCREATEDB NOLOGIN",
            "GRANT erp_role TO vault_admin WITH ADMIN OPTION GRANTED BY postgres",
        ]);
    });
    it("names fresh databases within PostgreSQL's 63 bytes, or says to use --into", () => {
        assert.equal(restoreDatabaseName("erp", "20261123T051000Z"), "erp_restore_20261123t051000z");
        assert.throws(() => restoreDatabaseName("x".repeat(40), "20261123T051000Z"), (e: Error) => e instanceof RestoreError && /--into/.test(e.message));
        assert.equal(idTime("20261123T051000Z").toISOString(), "2026-11-23T05:10:00.000Z");
    });
    it("--list output says STALE when the newest complete backup is older than twice the schedule", () => {
        const text = formatListing("prod", [
            { kind: "postgres", stale: true, newestAgeHours: 50, staleAfterHours: 48, backups: [{ kind: "postgres", id: "20261121T030000Z", complete: true, ageHours: 50 }] },
            { kind: "gitea", stale: true, staleAfterHours: 48, backups: [{ kind: "gitea", id: "20261123T030000Z", complete: false, ageHours: 2 }] },
        ]);
        assert.match(text, /prod postgres: STALE: the newest complete backup is 50\.0 h old \(stale after 48 h\)/);
        assert.match(text, /prod gitea: STALE: no complete backup/);
        assert.match(text, /20261123T030000Z +2\.0 h ago  INCOMPLETE/);
    });
});

describe("npm run restore --list: Longhorn's backups", () => {
    const now = new Date("2026-11-23T12:00:00Z");
    const item = (name: string, volume: string, at: string, state = "Completed") => ({ metadata: { name }, status: { volumeName: volume, state, backupCreatedAt: at } });
    it("takes the newest completed backup per volume; stale when one volume's is older than twice the schedule", () => {
        const fresh = longhornListing([
            item("b1", "pvc-vault", "2026-11-23T03:00:00Z"), item("b0", "pvc-vault", "2026-11-22T03:00:00Z"),
            item("b2", "pvc-erp", "2026-11-23T03:01:00Z"), item("b3", "pvc-erp", "2026-11-23T11:00:00Z", "Error"),
        ], 24, now);
        assert.deepEqual(fresh.backups.map((b) => b.id), ["pvc-erp/b2", "pvc-vault/b1"]);
        assert.equal(fresh.stale, false);
        const stale = longhornListing([item("b1", "pvc-vault", "2026-11-23T03:00:00Z"), item("b9", "pvc-old", "2026-11-20T03:00:00Z")], 24, now);
        assert.equal(stale.stale, true);
        assert.match(formatListing("sandbox-vms", [stale]), /sandbox-vms longhorn: STALE: the oldest of the volumes' newest backups is 81\.0 h old \(stale after 48 h\)/);
        assert.equal(longhornListing([], 24, now).stale, true, "no backup at all is stale");
    });
});

describe("npm run restore: arguments", () => {
    it("parses the stack, the instance and the options", () => {
        assert.deepEqual(parseRestoreArgs(["prod", "erp", "--backup", "20261123T051000Z", "--yes-replace-prod"]),
            { stack: "prod", instance: "erp", backup: "20261123T051000Z", list: false, confirmProd: true });
        assert.deepEqual(parseRestoreArgs(["sandbox-vms", "--list"]), { stack: "sandbox-vms", list: true, confirmProd: false });
        assert.deepEqual(parseRestoreArgs(["sandbox-vms", "erp-sandbox", "--into", "erp_scratch"]),
            { stack: "sandbox-vms", instance: "erp-sandbox", into: "erp_scratch", list: false, confirmProd: false });
    });
    it("on prod, says what it would replace and does nothing without --yes-replace-prod", async () => {
        const lines: string[] = [];
        const orig = console.error;
        console.error = (...a: unknown[]) => { lines.push(a.join(" ")); };
        try {
            assert.equal(await restoreMain(["prod", "erp"]), 2);
        } finally {
            console.error = orig;
        }
        assert.match(lines.join("\n"), /PROD: this replaces the live database erp of instance erp/);
        assert.match(lines.join("\n"), /Nothing done\. Run again with --yes-replace-prod/);
    });
    it("opens SSH trusting only the host key of the stack file (a fake ssh on PATH: nothing connects)", async () => {
        const dir = fs.mkdtempSync(path.join(require("os").tmpdir(), "fake-ssh-"));
        const log = path.join(dir, "args");
        fs.writeFileSync(path.join(dir, "ssh"), `#!/bin/bash\nprintf '%s\\n' "$@" > ${JSON.stringify(log)}\nfor a in "$@"; do case "$a" in UserKnownHostsFile=*) cat "\${a#UserKnownHostsFile=}" >> ${JSON.stringify(log)};; esac; done\necho ok\n`, { mode: 0o755 });
        const path0 = process.env.PATH;
        process.env.PATH = `${dir}:${path0}`;
        try {
            const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAC pi2";
            assert.equal((await new SshRunner("pi", "127.0.0.2", key, true, 10_000).run("true")).trim(), "ok");
            const args = fs.readFileSync(log, "utf8");
            assert.match(args, /StrictHostKeyChecking=yes/);
            assert.match(args, /GlobalKnownHostsFile=\/dev\/null/);
            assert.match(args, /^127\.0\.0\.2 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAC$/m, "known_hosts holds the pinned key only");
            const file = /UserKnownHostsFile=(\S+)/.exec(args)![1];
            assert.equal(fs.existsSync(file), false, "the known_hosts file is removed after the run");
        } finally {
            process.env.PATH = path0;
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
    it("refuses an instance the stack does not have", async () => {
        await assert.rejects(restoreMain(["sandbox-vms", "nope"]), /stack sandbox-vms has no instance nope \(it has: webapp, erp/);
    });

    const prodCfg = () => parseConfig("prod", readStackConfig(ROOT, "prod"));
    /** Prod's configuration once discover has recorded the keys and the compose project. */
    const recordedProd = () => {
        const cfg = prodCfg();
        cfg.hosts = cfg.hosts!.map((h) => ({ ...h, hostKey: h.hostKey.replace(/ REPLACE-ME.*$/, ` ${h.name}`) }));
        cfg.existing = { ...cfg.existing!, dataHost: { composeProject: "homelab" } };
        return cfg;
    };

    it("on prod, stops before any connection while pi2's host key is a placeholder, saying which key and how to record it", async () => {
        const dir = fs.mkdtempSync(path.join(require("os").tmpdir(), "restore-nossh-"));
        const saved = process.env.PATH;
        const origError = console.error;
        try {
            // an ssh that would record any attempt
            fs.writeFileSync(path.join(dir, "ssh"), `#!/bin/sh\necho "ssh $*" >>${dir}/calls\nexit 255\n`, { mode: 0o755 });
            process.env.PATH = `${dir}:${saved}`;
            console.error = () => undefined;
            for (const argv of [["prod", "--list"], ["prod", "erp", "--yes-replace-prod"]]) {
                await assert.rejects(restoreMain(argv), (e: Error) => e instanceof RestoreError
                    && /key "homelab:hosts\[1\]\.hostKey" \(pi2\) is still the placeholder/.test(e.message)
                    && e.message.includes("npm run discover -- prod") && /Nothing was contacted/.test(e.message));
            }
            assert.ok(!fs.existsSync(path.join(dir, "calls")), "ssh was never started");
        } finally {
            console.error = origError;
            process.env.PATH = saved;
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("on prod, finds the containers by homelab:existing.dataHost.composeProject (as the backup job), and refuses its placeholder", () => {
        const host = dataHostOf(recordedProd());
        assert.equal(host.o.composeProject, "homelab");
        assert.equal(host.o.pgContainer, "postgres");
        const cfg = recordedProd();
        cfg.existing = { ...cfg.existing!, dataHost: { composeProject: "REPLACE-ME-compose-project-name" } };
        assert.throws(() => dataHostOf(cfg), /key "homelab:existing\.dataHost\.composeProject" is "REPLACE-ME-compose-project-name".*npm run discover -- prod/s);
    });

    it("opens SSH only with the pinned key: a known-hosts file of that one key and StrictHostKeyChecking=yes", () => {
        const runner = dataHostOf(recordedProd()).runner as SshRunner;
        assert.ok(runner instanceof SshRunner);
        const args = runner.sshArgs("/tmp/kh", "true").join(" ");
        for (const want of ["StrictHostKeyChecking=yes", "UserKnownHostsFile=/tmp/kh", "GlobalKnownHostsFile=/dev/null", "BatchMode=yes"]) assert.ok(args.includes(want), `${want} in ${args}`);
        const pi2 = recordedProd().hosts!.find((h) => h.name === "pi2")!;
        assert.equal(runner.knownHostsLine(), `${pi2.address} ${pi2.hostKey.split(" ").slice(0, 2).join(" ")}\n`);
        assert.throws(() => new SshRunner("pi", "127.0.0.1", "not a key", true), /not an OpenSSH public key line/);
        // sandbox-vms: the VM's key comes through multipass, never from the network
        const vms = parseConfig("sandbox-vms", readStackConfig(ROOT, "sandbox-vms"));
        assert.equal(pinnedHostKey(vms, "pi2", (vm) => `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAC ${vm}`).endsWith(" pi2"), true);
    });

    it("creates the fresh database from template0, as the provider does", () => {
        const [create] = databaseSetupSql("erp_restore_x", { owner: "erp_db_owner", acl: "", connectionLimit: 20, tables: {}, dump: { file: "erp.dump", bytes: 1, sha256: "" } });
        assert.match(create, /^CREATE DATABASE "erp_restore_x" OWNER "erp_db_owner" TEMPLATE template0 CONNECTION LIMIT 20$/);
    });

    it("explains a missing instance or an unknown option", () => {
        assert.throws(() => parseRestoreArgs(["prod"]), (e: Error) => e instanceof UsageError && /missing <instance> \(or --list\)/.test(e.message));
        assert.throws(() => parseRestoreArgs(["prod", "erp", "--force"]), (e: Error) => e instanceof UsageError && /Unknown option '--force'/.test(e.message));
        assert.throws(() => parseRestoreArgs(["prod", "erp", "--backup"]), /argument missing/);
        assert.throws(() => parseRestoreArgs(["prod", "--list", "--into", "x"]), /--list takes only a stack/);
        assert.throws(() => parseRestoreArgs([]), /missing <stack>/);
    });

    it("the command: --help exits 0 with the usage and exit 3 on stdout; a user's mistake exits 2 with a message, no stack trace", function () {
        this.timeout(60_000);
        const cli = (args: string[]) => spawnSync(process.execPath, ["-r", path.join(ROOT, "tools", "register.js"), path.join(ROOT, "tools", "restore.ts"), ...args], {
            cwd: ROOT, encoding: "utf8", env: { ...process.env, PATH: "/nonexistent" }, timeout: 60_000,
        });
        let r = cli(["--help"]);
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.stdout, /usage: lab restore <stack> <instance>/);
        assert.match(r.stdout, /\n {2}3 {2}--list: a kind of backup is stale/);
        for (const [args, message] of [[["nosuch", "--list"], /no stack file .*Pulumi\.nosuch\.yaml/], [["sandbox-vms", "nope"], /stack sandbox-vms has no instance nope/], [["prod"], /missing <instance>/]] as [string[], RegExp][]) {
            r = cli(args);
            assert.equal(r.status, 2, args.join(" ") + r.stderr);
            assert.match(r.stderr, message);
            assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
        }
    });
});

describe("backup-install.sh against fakes", function () {
    let sb: Sandbox;
    const script = fs.readFileSync(path.join(BACKUP_SCRIPTS_DIR, "data-backup.sh"), "utf8");
    const env = (extra: Record<string, string> = {}) => ({
        STACK: "sandbox-vms", BACKUP_SCRIPT: script, TARGET: "target:homelab-backups-sandbox-vms/sandbox-vms",
        TARGET_PROVIDER: "Minio", TARGET_ENDPOINT: "http://127.0.0.1:9000", TARGET_REGION: "us-east-1",
        CREATE_BUCKET: "1", COMPOSE_PROJECT: "homelab-data", PG_CONTAINER: "postgres", GITEA_CONTAINER: "gitea",
        SCHEDULE: "daily", RETAIN: "14", INSTALL: "systemd",
        RCLONE_VERSION: "1.73.5", RCLONE_SHA256: "0".repeat(64), RCLONE_MIN_VERSION: "1.63.0",
        PREFIX: sb.path("lib"), CONFIG_DIR: sb.path("etc"), UNIT_DIR: sb.path("units"), FAKE_STORE: sb.path("store"),
        ...extra,
    });
    beforeEach(() => {
        sb = new Sandbox({ fakesDir: path.join(__dirname, "fakes", "backup"), scriptsDir: BACKUP_SCRIPTS_DIR, extraBaseTools: ["date", "unzip"], prefix: "backup-install-" });
        fs.mkdirSync(sb.path("units"));
        fs.mkdirSync(sb.path("store"));
    });
    afterEach(() => sb.cleanup());

    it("installs the job with a systemd timer, credentials in a file of mode 600, the MinIO key back on stdout", () => {
        fs.writeFileSync(sb.path("minio.env"), "MINIO_ROOT_PASSWORD=minio-secret-1\n", { mode: 0o600 });
        const r = ok(sb.run("backup-install.sh", env({ SECRET_ENV_FILE: sb.path("minio.env") }), "TARGET_ACCESS_KEY_ID=homelab-backup\n"));
        assert.equal(r.stdout, "minio-secret-1\n");
        assert.ok(!r.stderr.includes("minio-secret-1"), "the secret is never printed to the log");
        const creds = sb.path("etc", "target.env");
        assert.equal(fs.statSync(creds).mode & 0o777, 0o600);
        assert.match(fs.readFileSync(creds, "utf8"), /RCLONE_CONFIG_TARGET_SECRET_ACCESS_KEY=minio-secret-1/);
        assert.equal(fs.readFileSync(sb.path("lib", "data-backup.sh"), "utf8"), `${script}\n`);
        const timer = fs.readFileSync(sb.path("units", "homelab-backup.timer"), "utf8");
        assert.match(timer, /OnCalendar=daily/);
        assert.match(timer, /Persistent=true/);
        const service = fs.readFileSync(sb.path("units", "homelab-backup.service"), "utf8");
        assert.match(service, new RegExp(`EnvironmentFile=${sb.path("etc", "target.env")}`));
        assert.ok(r.calls.includes("rclone mkdir target:homelab-backups-sandbox-vms"), explain(r));
        assert.ok(r.calls.includes("systemctl daemon-reload"));
        assert.ok(r.calls.includes("systemctl enable --now homelab-backup.timer"));
        // the credentials never appear on any command line
        assert.ok(!r.calls.some((c) => c.includes("minio-secret-1")), explain(r));
    });

    it("prod's GCS key comes on stdin; no bucket is created and nothing is printed", () => {
        const r = ok(sb.run("backup-install.sh", env({ TARGET_PROVIDER: "GCS", CREATE_BUCKET: "0" }), "TARGET_ACCESS_KEY_ID=GOOG1E\nTARGET_SECRET_ACCESS_KEY=gcs-secret\n"));
        assert.equal(r.stdout, "");
        assert.ok(!r.calls.some((c) => c.startsWith("rclone mkdir")));
        const creds = fs.readFileSync(sb.path("etc", "target.env"), "utf8");
        assert.match(creds, /PROVIDER=GCS\n[\s\S]*SECRET_ACCESS_KEY=gcs-secret/);
        assert.match(creds, /^RCLONE_CONFIG_TARGET_NO_CHECK_BUCKET=true$/m, "the HMAC key may not create or inspect the bucket");
    });

    it("on the laptop (k3d), installs one crontab line and replaces it on a re-run", () => {
        const e = env({ INSTALL: "cron", STACK: "sandbox-k3d", CONFIG_DIR: sb.path("cfg") });
        ok(sb.run("backup-install.sh", e, "TARGET_ACCESS_KEY_ID=a\nTARGET_SECRET_ACCESS_KEY=b\n"));
        ok(sb.run("backup-install.sh", { ...e, SCHEDULE: "hourly" }, "TARGET_ACCESS_KEY_ID=a\nTARGET_SECRET_ACCESS_KEY=b\n"));
        const lines = fs.readFileSync(sb.path("state", "crontab"), "utf8").trim().split("\n");
        assert.equal(lines.length, 1, lines.join("\n"));
        assert.match(lines[0], /^17 \* \* \* \* .*# homelab-backup sandbox-k3d$/);
        assert.ok(!lines[0].includes("=b"), "the crontab line reads the credentials from the env file");
    });

    it("the laptop's job is removed with the stack: its crontab line (others kept) and its folder", () => {
        const e = env({ INSTALL: "cron", STACK: "sandbox-k3d", CONFIG_DIR: sb.path("cfg") });
        fs.writeFileSync(sb.path("state", "crontab"), "0 9 * * * echo mine\n");
        ok(sb.run("backup-install.sh", e, "TARGET_ACCESS_KEY_ID=a\nTARGET_SECRET_ACCESS_KEY=b\n"));
        assert.ok(fs.existsSync(sb.path("cfg", "target.env")));
        const r = ok(sb.run("backup-uninstall.sh", { STACK: "sandbox-k3d", CONFIG_DIR: sb.path("cfg") }));
        assert.equal(fs.readFileSync(sb.path("state", "crontab"), "utf8"), "0 9 * * * echo mine\n");
        assert.ok(!fs.existsSync(sb.path("cfg")));
        assert.match(r.stderr, /done: removed/);
        ok(sb.run("backup-uninstall.sh", { STACK: "sandbox-k3d", CONFIG_DIR: sb.path("cfg") }), );
    });

    it("installs rclone with apt-get where it is missing (prod's Pi, the VMs), and says what to do on a Mac", () => {
        // the fake apt-get "installs" the fake rclone
        fs.copyFileSync(sb.path("fakebin", "rclone"), sb.path("rclone.pkg"));
        sb.removeTool("rclone");
        fs.writeFileSync(sb.path("state", "bin", "apt-get"), `#!/bin/sh\necho "apt-get $*" >>"$FAKE_LOG"\ncp ${sb.path("rclone.pkg")} ${sb.path("fakebin", "rclone")}\n`);
        fs.chmodSync(sb.path("state", "bin", "apt-get"), 0o755);
        const r = ok(sb.run("backup-install.sh", env(), "TARGET_ACCESS_KEY_ID=a\nTARGET_SECRET_ACCESS_KEY=b\n"));
        assert.ok(r.calls.includes("apt-get install -y -qq rclone"), explain(r));
        sb.removeTool("rclone");
        fs.rmSync(sb.path("state", "bin", "apt-get"));
        fails(sb.run("backup-install.sh", env({ INSTALL: "cron", CONFIG_DIR: sb.path("cfg") }), "TARGET_ACCESS_KEY_ID=a\nTARGET_SECRET_ACCESS_KEY=b\n"),
            "required tool 'rclone' is not installed (macOS: brew install rclone");
    });

    /** The release zip as downloads.rclone.org lays it out, holding an rclone of the pinned version (the fake). */
    function releaseZip(): string {
        const dir = sb.path("release", "rclone-v1.73.5-linux-arm64");
        fs.mkdirSync(dir, { recursive: true });
        fs.writeFileSync(path.join(dir, "rclone"), `#!/bin/sh\nFAKE_RCLONE_VERSION=1.73.5 exec ${sb.path("fakebin", "rclone")} "$@"\n`, { mode: 0o755 });
        const zip = sb.path("release", "rclone-v1.73.5-linux-arm64.zip");
        const z = spawnSync("zip", ["-q", "-r", zip, "rclone-v1.73.5-linux-arm64"], { cwd: sb.path("release") });
        if (z.status !== 0) throw new Error(`zip failed: ${z.stderr}`);
        // a Pi (arm64), and a curl that serves the zip (nothing leaves this machine)
        fs.writeFileSync(sb.path("state", "bin", "uname"), "#!/bin/sh\necho aarch64\n", { mode: 0o755 });
        fs.writeFileSync(sb.path("state", "bin", "curl"), `#!/bin/sh\necho "curl $*" >>"$FAKE_LOG"\nwhile [ $# -gt 0 ]; do case "$1" in -o) out="$2"; shift 2 ;; *) shift ;; esac; done\ncp ${zip} "$out"\n`, { mode: 0o755 });
        return createHash("sha256").update(fs.readFileSync(zip)).digest("hex");
    }
    const gcs = { TARGET_PROVIDER: "GCS", CREATE_BUCKET: "0", FAKE_RCLONE_VERSION: "1.60.1" };
    const creds = "TARGET_ACCESS_KEY_ID=GOOG1E\nTARGET_SECRET_ACCESS_KEY=gcs-secret\n";

    it("replaces an rclone older than 1.63.0 (Debian's 1.60.1, which cannot read GCS back) with the manifest's release, checksum verified", () => {
        const sha = releaseZip();
        const r = ok(sb.run("backup-install.sh", env({ ...gcs, RCLONE_SHA256: sha }), creds));
        assert.match(r.stderr, /rclone at .* is v1\.60\.1, older than v1\.63\.0/);
        assert.ok(r.calls.some((c) => c.startsWith("curl ") && c.includes("https://downloads.rclone.org/v1.73.5/rclone-v1.73.5-linux-arm64.zip")), explain(r));
        assert.match(r.stderr, new RegExp(`using rclone v1\\.73\\.5 \\(${sb.path("lib", "bin", "rclone").replace(/[.]/g, "\\.")}\\)`));
        assert.match(fs.readFileSync(sb.path("etc", "job.env"), "utf8"), new RegExp(`^RCLONE_BIN=${sb.path("lib", "bin", "rclone")}$`, "m"));
        // a re-run keeps the installed release and downloads nothing
        const again = ok(sb.run("backup-install.sh", env({ ...gcs, RCLONE_SHA256: sha }), creds));
        assert.ok(!again.calls.some((c) => c.startsWith("curl ")), explain(again));
    });

    it("refuses to report success with an old rclone when the checksum differs, is a placeholder, or on the laptop", () => {
        releaseZip();
        let r = fails(sb.run("backup-install.sh", env({ ...gcs, RCLONE_SHA256: "1".repeat(64) }), creds), "the manifest says 1111");
        assert.ok(!r.stderr.includes("done:") && !fs.existsSync(sb.path("lib", "bin", "rclone")), explain(r));
        r = fails(sb.run("backup-install.sh", env({ ...gcs, RCLONE_SHA256: "REPLACE-ME: sha256 of rclone-v1.73.5-linux-arm64.zip" }), creds),
            "record the line of rclone-v1.73.5-linux-arm64.zip from https://downloads.rclone.org/v1.73.5/SHA256SUMS");
        assert.ok(!r.calls.some((c) => c.startsWith("curl ")), "nothing is downloaded without a checksum");
        fails(sb.run("backup-install.sh", env({ ...gcs, INSTALL: "cron", STACK: "sandbox-k3d", CONFIG_DIR: sb.path("cfg") }), creds), "macOS: brew upgrade rclone");
    });

    it("the backup job refuses an old rclone, and fails when its upload does not read back", () => {
        const job = {
            STACK: "prod", TARGET: "target:b/prod", KINDS: "gitea", GITEA_CONTAINER: "abc123",
            WORK_DIR: sb.path("work"), RCLONE_CONFIG_TARGET_TYPE: "s3", RCLONE_CONFIG_TARGET_PROVIDER: "GCS", RCLONE_CONFIG_TARGET_SECRET_ACCESS_KEY: "k", FAKE_STORE: sb.path("store"),
            FAKE_GITEA_CONTAINER: "abc123", FAKE_RCLONE_VERSION: "1.60.1",
        };
        fails(sb.run("data-backup.sh", job), "rclone is v1.60.1, older than v1.63.0");
        // even past the version check, the read-back catches a backup GCS will not give back
        fails(sb.run("data-backup.sh", { ...job, RCLONE_MIN_VERSION: "1.0.0" }), "the uploaded manifest does not read back");
        ok(sb.run("data-backup.sh", { ...job, FAKE_RCLONE_VERSION: "1.73.5" }));
    });

    it("npm run restore refuses an old rclone before reading, and reads with the job's RCLONE_BIN", async () => {
        fs.mkdirSync(sb.path("etc"), { recursive: true });
        fs.writeFileSync(sb.path("etc", "target.env"), "RCLONE_CONFIG_TARGET_TYPE=s3\nRCLONE_CONFIG_TARGET_PROVIDER=GCS\nRCLONE_CONFIG_TARGET_SECRET_ACCESS_KEY=k\n");
        fs.writeFileSync(sb.path("etc", "job.env"), `RCLONE_BIN=${sb.path("fakebin", "rclone")}\n`);
        const runnerEnv = { PATH: `${sb.bin}:${sb.base}`, FAKE_STATE: sb.state, FAKE_LOG: sb.log, FAKE_STORE: sb.path("store") };
        const host = (version: string) => new DataHost(new LocalRunner({ ...runnerEnv, FAKE_RCLONE_VERSION: version }), {
            pgContainer: "postgres", target: "target:b/prod", envFile: sb.path("etc", "target.env"), jobEnvFile: sb.path("etc", "job.env"),
        });
        await assert.rejects(host("1.60.1").listBackups("postgres"), /\(.*fakebin\/rclone\) is v1\.60\.1, older than v1\.63\.0: it cannot read GCS back/);
        assert.deepEqual(await host("1.73.5").listBackups("postgres"), []);
    });

    it("fails clearly without credentials, with a bad schedule, or when systemd refuses", () => {
        fails(sb.run("backup-install.sh", env(), ""), "no TARGET_ACCESS_KEY_ID on stdin");
        fails(sb.run("backup-install.sh", env({ SCHEDULE: "monthly" }), "TARGET_ACCESS_KEY_ID=a\nTARGET_SECRET_ACCESS_KEY=b\n"), "SCHEDULE must be hourly, daily or weekly");
        fails(sb.run("backup-install.sh", env({ FAKE_FAIL: "systemctl:enable" }), "TARGET_ACCESS_KEY_ID=a\nTARGET_SECRET_ACCESS_KEY=b\n"), "'systemctl enable --now homelab-backup.timer' failed");
    });

    it("the backup job finds its containers by their compose labels, and says which is missing", () => {
        const r = fails(sb.run("data-backup.sh", {
            STACK: "sandbox-vms", TARGET: "target:b/sandbox-vms", COMPOSE_PROJECT: "homelab-data", PG_CONTAINER: "postgres", GITEA_CONTAINER: "gitea",
            WORK_DIR: sb.path("work"), RCLONE_CONFIG_TARGET_TYPE: "s3", RCLONE_CONFIG_TARGET_SECRET_ACCESS_KEY: "k", FAKE_STORE: sb.path("store"),
        }), "no running container of service postgres in compose project homelab-data");
        assert.ok(r.calls.some((c) => c.includes("--filter label=com.docker.compose.service=postgres")));
    });

    it("backs Gitea up with gitea dump as the git user, and uploads it under <stack>/gitea/<id>/", () => {
        fs.mkdirSync(sb.path("state", "compose", "homelab-data"), { recursive: true });
        fs.writeFileSync(sb.path("state", "compose", "homelab-data", "gitea"), "abc123\n");
        const r = ok(sb.run("data-backup.sh", {
            STACK: "sandbox-vms", TARGET: "target:b/sandbox-vms", COMPOSE_PROJECT: "homelab-data", GITEA_CONTAINER: "gitea", KINDS: "gitea",
            WORK_DIR: sb.path("work"), RCLONE_CONFIG_TARGET_TYPE: "s3", RCLONE_CONFIG_TARGET_SECRET_ACCESS_KEY: "k", FAKE_STORE: sb.path("store"),
            FAKE_GITEA_CONTAINER: "abc123",
        }));
        const ids = fs.readdirSync(sb.path("store", "b", "sandbox-vms", "gitea"));
        assert.equal(ids.length, 1);
        const m = JSON.parse(fs.readFileSync(sb.path("store", "b", "sandbox-vms", "gitea", ids[0], "manifest.json"), "utf8"));
        assert.equal(m.kind, "gitea");
        assert.equal(m.files[0].file, "gitea-dump.tar.gz");
        assert.ok(r.calls.some((c) => c.startsWith("docker exec -u git -w /tmp abc123 gitea dump")), explain(r));
        assert.ok(r.calls.some((c) => /^docker exec abc123 rm -f \/tmp\/homelab-gitea-dump-/.test(c)), "the dump is removed from the container");
    });

    it("an unexpected failure (an unwritable staging folder) still says which step failed", () => {
        fs.writeFileSync(sb.path("work"), "a file where the staging folder should be");
        fs.mkdirSync(sb.path("state", "compose", "homelab-data"), { recursive: true });
        fs.writeFileSync(sb.path("state", "compose", "homelab-data", "gitea"), "abc123\n");
        fails(sb.run("data-backup.sh", {
            STACK: "sandbox-vms", TARGET: "target:b/sandbox-vms", COMPOSE_PROJECT: "homelab-data", GITEA_CONTAINER: "gitea", KINDS: "gitea",
            WORK_DIR: sb.path("work"), RCLONE_CONFIG_TARGET_TYPE: "s3", RCLONE_CONFIG_TARGET_SECRET_ACCESS_KEY: "k", FAKE_STORE: sb.path("store"),
            FAKE_GITEA_CONTAINER: "abc123",
        }), /backup FAILED: the step "mkdir -p .*" \(line \d+\) failed/);
    });

    it("a failed gitea dump exits non-zero naming it", () => {
        fs.mkdirSync(sb.path("state", "compose", "homelab-data"), { recursive: true });
        fs.writeFileSync(sb.path("state", "compose", "homelab-data", "gitea"), "abc123\n");
        fails(sb.run("data-backup.sh", {
            STACK: "sandbox-vms", TARGET: "target:b/sandbox-vms", COMPOSE_PROJECT: "homelab-data", GITEA_CONTAINER: "gitea", KINDS: "gitea",
            WORK_DIR: sb.path("work"), RCLONE_CONFIG_TARGET_TYPE: "s3", RCLONE_CONFIG_TARGET_SECRET_ACCESS_KEY: "k", FAKE_STORE: sb.path("store"),
            FAKE_GITEA_CONTAINER: "abc123", FAKE_FAIL: "docker:gitea",
        }), /FAILED: gitea:dump/);
    });
});

describe("data-compose.sh with a sandbox's MinIO (metal fakes)", function () {
    let sb: Sandbox;
    beforeEach(() => { sb = new Sandbox(); });
    afterEach(() => sb.cleanup());
    const compose = "services:\n  minio:\n    env_file:\n      - minio.env\n";
    const env = () => ({ NODE_NAME: "pi2", DATA_DIR: sb.path("data"), READY_TIMEOUT: "5" });

    it("generates MinIO's root password once, mode 600, and still prints only Postgres's", () => {
        const r = ok(sb.run("data-compose.sh", env(), compose));
        const minio = fs.readFileSync(sb.path("data", "minio.env"), "utf8");
        assert.match(minio, /^MINIO_ROOT_PASSWORD=[0-9a-f]{48}\n$/);
        assert.equal(fs.statSync(sb.path("data", "minio.env")).mode & 0o777, 0o600);
        assert.ok(!r.stdout.includes(minio.split("=")[1].trim()), "stdout is Postgres's password only");
        ok(sb.run("data-compose.sh", env(), compose));
        assert.equal(fs.readFileSync(sb.path("data", "minio.env"), "utf8"), minio, "kept on a re-run");
    });

    it("writes no minio.env for a compose file without MinIO (prod)", () => {
        ok(sb.run("data-compose.sh", env(), "services:\n  postgres:\n    image: x\n"));
        assert.ok(!fs.existsSync(sb.path("data", "minio.env")));
    });
});

describe("the backup scripts and their fakes pass shellcheck", () => {
    const files = [
        ...BACKUP_SCRIPT_NAMES.map((n) => path.join(BACKUP_SCRIPTS_DIR, n)),
        ...["docker", "rclone", "systemctl", "crontab"].map((n) => path.join(__dirname, "fakes", "backup", n)),
        path.join(__dirname, "fakes", "restore", "kubectl"),
    ];
    it("lists every script of the folder", () => {
        assert.deepEqual(fs.readdirSync(BACKUP_SCRIPTS_DIR).sort(), [...BACKUP_SCRIPT_NAMES].sort());
    });
    for (const file of files) {
        it(`shellcheck: ${path.relative(ROOT, file)}`, function () {
            if (spawnSync("sh", ["-c", "command -v shellcheck"]).status !== 0) {
                if (process.env.CI === "true") throw new Error("shellcheck is not installed");
                console.log("      (skipped: 'shellcheck' is not installed; apt-get install shellcheck)");
                this.skip();
            }
            const text = fs.readFileSync(file, "utf8");
            assert.ok(text.startsWith("#!/usr/bin/env bash\n"));
            assert.match(text, /^set -euo pipefail$/m);
            const r = spawnSync("shellcheck", ["-x", "--shell=bash", "--severity=style", file], { encoding: "utf8", cwd: path.dirname(file) });
            assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
        });
    }
});

describe("npm run restore: Argo CD sync and workloads around the swap (fake kubectl)", function () {
    let sb: Sandbox;
    const saved = { PATH: process.env.PATH, FAKE_STATE: process.env.FAKE_STATE, FAKE_LOG: process.env.FAKE_LOG };
    const k = (...p: string[]) => sb.path("state", "k8s", ...p);
    beforeEach(() => {
        sb = new Sandbox({ fakesDir: path.join(__dirname, "fakes", "restore"), prefix: "restore-kubectl-" });
        for (const [kind, name, replicas] of [["Deployment", "web", "2"], ["StatefulSet", "worker", "1"], ["Deployment", "idle", "0"]]) {
            fs.mkdirSync(k("erp", kind), { recursive: true });
            fs.writeFileSync(k("erp", kind, name), `${replicas}\n`);
        }
        fs.writeFileSync(k("automated"), '{"prune":true,"selfHeal":true}');
        process.env.PATH = `${sb.bin}:${sb.base}`;
        process.env.FAKE_STATE = sb.state;
        process.env.FAKE_LOG = sb.log;
    });
    afterEach(() => {
        for (const [key, v] of Object.entries(saved)) {
            if (v === undefined) delete process.env[key];
            else process.env[key] = v;
        }
        sb.cleanup();
    });

    it("turns auto-sync off and scales to zero, then puts back exactly what was there", async () => {
        const logs: string[] = [];
        const w = new KubectlWorkloads("/dev/null", instanceNames("erp", "prod"), (l) => logs.push(l), 10);
        await w.pause();
        assert.ok(!fs.existsSync(k("automated")), "auto-sync is off during the swap");
        assert.equal(fs.readFileSync(k("erp", "Deployment", "web"), "utf8").trim(), "0");
        assert.equal(fs.readFileSync(k("erp", "StatefulSet", "worker"), "utf8").trim(), "0");
        await w.resume();
        assert.equal(fs.readFileSync(k("erp", "Deployment", "web"), "utf8").trim(), "2");
        assert.equal(fs.readFileSync(k("erp", "StatefulSet", "worker"), "utf8").trim(), "1");
        assert.equal(fs.readFileSync(k("erp", "Deployment", "idle"), "utf8").trim(), "0");
        assert.deepEqual(JSON.parse(fs.readFileSync(k("automated"), "utf8")), { prune: true, selfHeal: true });
        const calls = fs.readFileSync(sb.log, "utf8").split("\n").filter((c) => / scale /.test(c));
        assert.ok(!calls.some((c) => c.includes("deployment/idle")), "a workload already at zero is left alone");
        assert.ok(logs.some((l) => /auto-sync of erp off/.test(l)) && logs.some((l) => /auto-sync of erp back on/.test(l)), logs.join("\n"));
    });

    it("leaves a manual-sync Application manual", async () => {
        fs.rmSync(k("automated"));
        const w = new KubectlWorkloads("/dev/null", instanceNames("erp", "prod"), () => undefined, 10);
        await w.pause();
        await w.resume();
        assert.ok(!fs.existsSync(k("automated")));
    });

    it("fails clearly when the cluster answers no", async () => {
        process.env.FAKE_FAIL = "kubectl:get";
        try {
            const w = new KubectlWorkloads("/dev/null", instanceNames("erp", "prod"), () => undefined, 10);
            await assert.rejects(w.pause(), (e: Error) => e instanceof RestoreError && /kubectl -n argocd get application erp -o json failed/.test(e.message));
        } finally {
            delete process.env.FAKE_FAIL;
        }
    });
});
