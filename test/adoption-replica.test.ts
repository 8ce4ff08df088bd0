// Issue 16 item 4, the proof on real servers: a replica of prod as Ansible and OpenTofu built it
// (test/helpers/prod-replica.ts: PostgreSQL 17.7, a real OpenBao, the Kubernetes API with Helm's
// release Secrets and the VSO objects, Cloudflare, the Pis' SSH), `discover` run against it, then
// prod's plan applied to it and the replica's observable state compared before and after.
import * as assert from "assert";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import * as YAML from "yaml";
import { readFacts } from "../components/facts";
import { runDiscover } from "../tools/discover/run";
import { sshFingerprint } from "../tools/discover/ssh";
import { ROOT } from "./helpers/plan";
import { usePostgres } from "./helpers/postgres-server";
import { OpenBaoUnavailable, baoPath } from "./helpers/openbao";
import { buildReplica, KUBE_SYSTEM_UID, ownerRole, PUBLIC_APPS, Replica, REPLICA_RELEASES, replicaCreationStatements, replicaPolicy, TUNNEL, ZONE_ID } from "./helpers/prod-replica";

/** Prod's adopted instances, from the committed stack file (homelab:existing.instances). */
const INSTANCES: string[] = YAML.parse(fs.readFileSync(path.join(ROOT, "Pulumi.prod.yaml"), "utf8")).config["homelab:existing"].instances;

/** A copy of the project's stack files in a folder of its own, so discover may write there. */
function projectCopy(dir: string): string {
    const p = path.join(dir, "project");
    fs.mkdirSync(p);
    for (const f of ["Pulumi.yaml", "Pulumi.prod.yaml"]) fs.copyFileSync(path.join(ROOT, f), path.join(p, f));
    return p;
}

function useReplica(): () => Replica {
    const pg = usePostgres();
    let replica: Replica | undefined;
    before(async function () {
        this.timeout(180_000);
        try {
            baoPath();
        } catch (e) {
            if (e instanceof OpenBaoUnavailable && process.env.CI !== "true") {
                console.log(`    skipped: ${e.message}`);
                this.skip();
            }
            throw e;
        }
        replica = await buildReplica(pg(), INSTANCES);
    });
    after(async function () {
        this.timeout(60_000);
        await replica?.stop();
    });
    return () => replica!;
}

describe("adoption replica: discover reads prod's facts exactly as they were built", function () {
    this.timeout(180_000);
    const replica = useReplica();
    let project: string;
    let lines: string[];
    let result: Awaited<ReturnType<typeof runDiscover>>;

    before(async function () {
        const r = replica();
        project = projectCopy(r.dir);
        lines = [];
        result = await runDiscover({
            stack: "prod", projectDir: project, endpointsFile: r.endpointsFile, yes: true, timeoutSeconds: 10,
            env: r.env, out: (l) => lines.push(l), now: () => new Date("2026-12-05T00:00:00Z"),
        });
    });

    it("records every fact and exits 0, reading nothing but loopback", () => {
        assert.strictEqual(result.exitCode, 0, lines.join("\n"));
        const r = replica();
        for (const req of r.kube.requests) assert.match(req, /^GET /, "the Kubernetes API only sees reads");
        for (const req of r.cloudflare.requests) assert.match(req, /^GET /);
    });

    it("Helm releases: chart, version and the user-supplied values of the deployed revision", () => {
        const facts = readFacts(project);
        assert.strictEqual(facts.source, "discover");
        assert.strictEqual(facts.discoveredAt, "2026-12-05T00:00:00.000Z");
        const want = Object.fromEntries(Object.entries(REPLICA_RELEASES).map(([k, v]) => [k, { chart: v.chart, version: v.version, values: v.values }]));
        assert.deepStrictEqual(facts.helmReleases, want);
    });

    it("PostgreSQL: each app's database owned by <app>_role, its ACL, roles and their attributes", () => {
        const { postgres } = readFacts(project);
        for (const app of INSTANCES) {
            const db = postgres.databases[app];
            assert.ok(db, app);
            assert.strictEqual(db.owner, ownerRole(app));
            assert.strictEqual(db.connectionLimit, -1);
            assert.strictEqual(db.encoding, "UTF8");
            // no GRANT or REVOKE was ever run: the default ACL (PUBLIC connects; the owner has all)
            assert.deepStrictEqual(db.acl, [`=Tc/${ownerRole(app)}`, `${ownerRole(app)}=CTc/${ownerRole(app)}`].sort());
            assert.deepStrictEqual(postgres.roles[ownerRole(app)], {
                login: true, superuser: false, createdb: false, createrole: false, inherit: true, replication: false, bypassRls: false, connectionLimit: -1, memberOf: [],
            });
        }
        assert.deepStrictEqual(Object.keys(postgres.databases).sort(), ["postgres", "template1", ...INSTANCES].sort());
        assert.deepStrictEqual(Object.keys(postgres.roles).sort(), ["postgres", ...INSTANCES.map(ownerRole)].sort());
    });

    it("Vault: mounts, Kubernetes auth and roles, policies as text, database connections (no password) and roles", () => {
        const { vault } = readFacts(project);
        assert.deepStrictEqual(Object.keys(vault.mounts).sort(), ["apps", "database"]);
        assert.deepStrictEqual(vault.mounts.apps.options, { version: "2" });
        assert.deepStrictEqual(Object.keys(vault.auth), ["kubernetes"]);
        assert.strictEqual(vault.kubernetesAuth.kubernetes.config.kubernetes_host, "https://kubernetes.default.svc:443");
        for (const app of INSTANCES) {
            assert.strictEqual(vault.policies[app], replicaPolicy(app));
            const role = vault.kubernetesAuth.kubernetes.roles[app];
            assert.deepStrictEqual([role.bound_service_account_names, role.bound_service_account_namespaces, role.token_policies, role.token_ttl], [[app], [app], [app], 3600]);
            const c = vault.database.database.connections[app];
            assert.strictEqual(c.plugin_name, "postgresql-database-plugin");
            assert.strictEqual(c.username, "postgres");
            assert.deepStrictEqual(c.allowed_roles, [app]);
            assert.ok(!("password" in c));
            const dbRole = vault.database.database.roles[app];
            assert.deepStrictEqual([dbRole.db_name, dbRole.creation_statements, dbRole.default_ttl, dbRole.max_ttl], [app, replicaCreationStatements(app), 3600, 86400]);
        }
    });

    it("namespaces: each app's ServiceAccount and VSO objects by name, with their specs and no status", () => {
        const { namespaces } = readFacts(project);
        assert.deepStrictEqual(Object.keys(namespaces).sort(), [...INSTANCES].sort());
        for (const app of INSTANCES) {
            assert.deepStrictEqual(namespaces[app].map((o) => `${o.kind}/${o.name}`), ["ServiceAccount/" + app, "VaultAuth/default", `VaultDynamicSecret/${app}-db`]);
            assert.deepStrictEqual(namespaces[app][2].spec, { vaultAuthRef: "default", mount: "database", path: `creds/${app}`, destination: { name: `${app}-db-credentials`, create: true } });
            assert.ok(!JSON.stringify(namespaces[app]).includes("status"));
        }
    });

    it("DNS: each public app's record (id, type, name, content, proxied, ttl)", () => {
        const { dnsRecords } = readFacts(project);
        const r = replica();
        assert.deepStrictEqual(Object.keys(dnsRecords).sort(), [...PUBLIC_APPS].sort());
        for (const app of PUBLIC_APPS) assert.deepStrictEqual(dnsRecords[app], { id: r.dnsRecordIds[app], type: "CNAME", name: `${app}.arcodange.fr`, content: TUNNEL, proxied: true, ttl: 1 });
    });

    it("no secret in either file; the secrets map names what carries each", () => {
        const r = replica();
        const facts = fs.readFileSync(path.join(project, "facts", "prod.json"), "utf8");
        const stack = fs.readFileSync(path.join(project, "Pulumi.prod.yaml"), "utf8");
        for (const secret of [r.pg.superuserPassword, r.vaultToken, r.cloudflare.token]) {
            assert.ok(!facts.includes(secret) && !stack.includes(secret), "a secret was written");
            assert.ok(!lines.join("\n").includes(secret), "a secret was printed");
        }
        const { secrets } = readFacts(project);
        assert.match(secrets["vault.database.database.connections.erp.password"], /homelab:postgresAdminPassword/);
        assert.match(secrets["vault.kubernetesAuth.kubernetes.config.token_reviewer_jwt"], /never returns it/);
    });

    it("Pulumi.prod.yaml: identities, host keys, zone id, record ids and tunnel recorded; comments kept; fingerprints printed first", async () => {
        const r = replica();
        const cfg = YAML.parse(fs.readFileSync(path.join(project, "Pulumi.prod.yaml"), "utf8")).config;
        const health = await r.vault.call("GET", "sys/health", undefined, null);
        const c = await r.pg.superuser("postgres");
        const sysid = (await c.query("SELECT system_identifier::text AS id FROM pg_control_system()")).rows[0].id;
        await c.end();
        assert.deepStrictEqual(cfg["homelab:identity"], { kubeSystemUid: KUBE_SYSTEM_UID, vaultClusterId: health.cluster_id, postgresSystemIdentifier: sysid });
        assert.deepStrictEqual(cfg["homelab:hosts"].map((h: { hostKey: string }) => h.hostKey), ["pi1", "pi2", "pi3"].map((p) => r.sshd[p].publicKey));
        assert.strictEqual(cfg["homelab:cloudflareZoneId"], ZONE_ID);
        assert.strictEqual(cfg["homelab:tunnelHostname"], TUNNEL);
        assert.deepStrictEqual(cfg["homelab:existing"].dnsRecords, r.dnsRecordIds);
        const before = fs.readFileSync(path.join(ROOT, "Pulumi.prod.yaml"), "utf8");
        const comments = (t: string) => t.split("\n").filter((l) => l.trim().startsWith("#"));
        assert.deepStrictEqual(comments(fs.readFileSync(path.join(project, "Pulumi.prod.yaml"), "utf8")), comments(before));
        const text = lines.join("\n");
        for (const p of ["pi1", "pi2", "pi3"]) assert.ok(text.indexOf(sshFingerprint(r.sshd[p].publicKey)) < text.indexOf("recorded:"), "fingerprint printed before recording");
        assert.match(text, /still placeholders[^]*homelab:existing\.dataHost\.composeProject[^]*homelab:backup\.project/);
    });

    it("a second run finds everything unchanged; a changed host key is a conflict and nothing is written", async () => {
        const r = replica();
        const out: string[] = [];
        const again = await runDiscover({ stack: "prod", projectDir: project, endpointsFile: r.endpointsFile, yes: true, timeoutSeconds: 10, env: r.env, out: (l) => out.push(l) });
        assert.strictEqual(again.exitCode, 0, out.join("\n"));
        assert.strictEqual(again.updates!.replace.length, 0);
        const stackFile = path.join(project, "Pulumi.prod.yaml");
        const text = fs.readFileSync(stackFile, "utf8");
        const pi2 = r.sshd.pi2.publicKey;
        fs.writeFileSync(stackFile, text.replace(pi2, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"));
        const factsBefore = fs.readFileSync(path.join(project, "facts", "prod.json"), "utf8");
        const out2: string[] = [];
        const conflict = await runDiscover({ stack: "prod", projectDir: project, endpointsFile: r.endpointsFile, yes: true, timeoutSeconds: 10, env: r.env, out: (l) => out2.push(l), now: () => new Date("2030-01-01T00:00:00Z") });
        assert.strictEqual(conflict.exitCode, 1);
        assert.match(out2.join("\n"), /CONFLICT homelab:hosts\[1\]\.hostKey/);
        assert.strictEqual(fs.readFileSync(path.join(project, "facts", "prod.json"), "utf8"), factsBefore);
        fs.writeFileSync(stackFile, text);
    });

    it("--dry-run prints the facts and writes nothing; an unanswered confirmation records nothing", async () => {
        const r = replica();
        const dir = projectCopy(path.join(r.dir, "..", path.basename(r.dir)) === r.dir ? fs.mkdtempSync(path.join(r.dir, "dry-")) : r.dir);
        const before = fs.readFileSync(path.join(dir, "Pulumi.prod.yaml"), "utf8");
        const out: string[] = [];
        const dry = await runDiscover({ stack: "prod", projectDir: dir, endpointsFile: r.endpointsFile, dryRun: true, env: r.env, out: (l) => out.push(l) });
        assert.strictEqual(dry.exitCode, 0, out.join("\n"));
        assert.match(out.join("\n"), /--dry-run: would write[^]*"source": "discover"[^]*nothing written/);
        assert.ok(!fs.existsSync(path.join(dir, "facts")));
        assert.strictEqual(fs.readFileSync(path.join(dir, "Pulumi.prod.yaml"), "utf8"), before);
        const no = await runDiscover({ stack: "prod", projectDir: dir, endpointsFile: r.endpointsFile, env: r.env, out: () => undefined, confirm: async () => false });
        assert.strictEqual(no.exitCode, 1);
        assert.ok(!fs.existsSync(path.join(dir, "facts")));
    });

    it("an unreachable or hung service is named, bounded in time, and nothing is recorded", async () => {
        const r = replica();
        const dir = projectCopy(fs.mkdtempSync(path.join(r.dir, "down-")));
        const endpoints = JSON.parse(fs.readFileSync(r.endpointsFile, "utf8"));
        const closed = await new Promise<number>((resolve) => {
            const srv = net.createServer().listen(0, "127.0.0.1", () => {
                const port = (srv.address() as net.AddressInfo).port;
                srv.close(() => resolve(port));
            });
        });
        endpoints.cloudflare = `http://127.0.0.1:${closed}/client/v4`;
        const file = path.join(dir, "endpoints.json");
        fs.writeFileSync(file, JSON.stringify({ ...endpoints, kubeconfig: endpoints.kubeconfig }));
        r.kube.hang.add("/api/v1/namespaces/kube-system");
        const start = Date.now();
        const out: string[] = [];
        try {
            const res = await runDiscover({ stack: "prod", projectDir: dir, endpointsFile: file, yes: true, timeoutSeconds: 2, env: r.env, out: (l) => out.push(l) });
            assert.strictEqual(res.exitCode, 1);
            const text = out.join("\n");
            assert.match(text, /Kubernetes API \(http:\/\/127\.0\.0\.1:\d+\) could not be read: .*no answer within 2s/);
            assert.match(text, /Cloudflare API \(http:\/\/127\.0\.0\.1:\d+\/client\/v4\) could not be read: .*ECONNREFUSED/);
            assert.match(text, /nothing recorded/);
        } finally {
            r.kube.hang.clear();
        }
        assert.ok(Date.now() - start < 20_000);
        assert.ok(!fs.existsSync(path.join(dir, "facts")));
    });
});
