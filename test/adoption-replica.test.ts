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
import { planOf, ROOT } from "./helpers/plan";
import { migrationSteps } from "../components/migrations";
import { applyToReplica, ApplyReport, observe, ObservableState, ReplicaState, stateDiff, stepSubject } from "./helpers/adoption-apply";
import { usePostgres } from "./helpers/postgres-server";
import { OpenBaoUnavailable, baoPath } from "./helpers/openbao";
import { ProdFacts } from "../components/facts";
import { buildReplica, KUBE_SYSTEM_UID, Replica, ReplicaMapping, replicaSourceFacts } from "./helpers/prod-replica";

const PROD = YAML.parse(fs.readFileSync(path.join(ROOT, "Pulumi.prod.yaml"), "utf8")).config;
const CATALOGUE = YAML.parse(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8")).config.apps.value as Record<string, { public?: boolean }>;
/** Prod's adopted instances and public apps, from the committed stack files. */
const INSTANCES: string[] = PROD["homelab:existing"].instances;
const PUBLIC_APPS = INSTANCES.filter((a) => CATALOGUE[a]?.public);
const SOURCE = replicaSourceFacts(ROOT, INSTANCES, PUBLIC_APPS);

/** A copy of the project's stack files in a folder of its own, so discover may write there. */
function projectCopy(dir: string): string {
    const p = fs.mkdtempSync(path.join(dir, "project-"));
    for (const f of ["Pulumi.yaml", "Pulumi.prod.yaml"]) fs.copyFileSync(path.join(ROOT, f), path.join(p, f));
    return p;
}

/** The source facts as the replica holds them (its PostgreSQL address, its record ids and tunnel). */
function asReplicaHolds(f: ProdFacts, m: ReplicaMapping): ProdFacts {
    const out: ProdFacts = JSON.parse(JSON.stringify(f));
    for (const db of Object.values(out.vault.database)) for (const c of Object.values(db.connections)) c.connection_url = c.connection_url.split(m.postgres[0]).join(m.postgres[1]);
    for (const [app, r] of Object.entries(out.dnsRecords)) {
        r.id = m.recordIds[app];
        if (r.content.includes("REPLACE-ME")) r.content = m.tunnel;
    }
    return out;
}

/**
 * Where `got` does not hold `want`: every field of `want` must be in `got` with the same value
 * (Vault answers with more fields than the facts name: its defaults); the collections listed in
 * `exactKeys` must have exactly the same members.
 */
function missing(want: unknown, got: unknown, at: string, exactKeys: Set<string>, out: string[] = []): string[] {
    if (want && typeof want === "object" && !Array.isArray(want)) {
        if (!got || typeof got !== "object" || Array.isArray(got)) {
            out.push(`${at}: expected an object, got ${JSON.stringify(got)}`);
            return out;
        }
        const g = got as Record<string, unknown>;
        if (exactKeys.has(at)) {
            const a = Object.keys(want).sort().join(",");
            const b = Object.keys(g).sort().join(",");
            if (a !== b) out.push(`${at}: members ${b}, expected ${a}`);
        }
        for (const [k, v] of Object.entries(want)) missing(v, g[k], `${at}.${k}`, exactKeys, out);
    } else if (JSON.stringify(want) !== JSON.stringify(got)) {
        out.push(`${at}: ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`);
    }
    return out;
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
        replica = await buildReplica(pg(), SOURCE.facts);
    });
    after(async function () {
        this.timeout(60_000);
        await replica?.stop();
    });
    return () => replica!;
}

describe(`adoption replica: discover reads back the facts the replica was built from (${SOURCE.from})`, function () {
    this.timeout(180_000);
    const replica = useReplica();
    let project: string;
    let lines: string[];
    let result: Awaited<ReturnType<typeof runDiscover>>;
    let want: ProdFacts;
    let got: ProdFacts;

    before(async function () {
        const r = replica();
        project = projectCopy(r.dir);
        lines = [];
        result = await runDiscover({
            stack: "prod", projectDir: project, endpointsFile: r.endpointsFile, yes: true, timeoutSeconds: 10,
            env: r.env, out: (l) => lines.push(l), now: () => new Date("2026-12-05T00:00:00Z"),
        });
        want = asReplicaHolds(SOURCE.facts, r.mapping);
        if (result.exitCode === 0) got = readFacts(project);
    });

    it("records every fact and exits 0, with nothing but reads", () => {
        assert.strictEqual(result.exitCode, 0, lines.join("\n"));
        const r = replica();
        assert.ok(r.kube.requests.length > 0);
        for (const req of [...r.kube.requests, ...r.cloudflare.requests]) assert.match(req, /^GET /, "only reads");
        assert.strictEqual(got.source, "discover");
        assert.strictEqual(got.discoveredAt, "2026-12-05T00:00:00.000Z");
    });

    it("Helm releases: chart, version and the user-supplied values of the deployed revision, exactly", () => {
        assert.deepStrictEqual(got.helmReleases, want.helmReleases);
    });

    it("PostgreSQL: every database (owner, connection limit, encoding, ACL) and role (attributes, memberships), exactly", () => {
        const extraDbs = Object.keys(got.postgres.databases).filter((d) => !(d in want.postgres.databases));
        const extraRoles = Object.keys(got.postgres.roles).filter((d) => !(d in want.postgres.roles));
        assert.deepStrictEqual(extraDbs.sort(), ["postgres", "template1"].filter((d) => !(d in want.postgres.databases)));
        assert.deepStrictEqual(extraRoles, ["postgres"].filter((d) => !(d in want.postgres.roles)));
        for (const app of INSTANCES) assert.strictEqual(got.postgres.databases[app].owner, app.replace(/-/g, "_") + "_role", "postgres/iac: <app> owned by <app>_role");
        assert.deepStrictEqual(missing(want.postgres, got.postgres, "postgres", new Set()), []);
        for (const d of Object.keys(want.postgres.databases)) assert.deepStrictEqual(got.postgres.databases[d], want.postgres.databases[d]);
        for (const r of Object.keys(want.postgres.roles)) assert.deepStrictEqual(got.postgres.roles[r], want.postgres.roles[r]);
    });

    it("Vault: mounts, auth backends, Kubernetes auth config and roles, policies' text, connections (no password) and roles", () => {
        const exact = new Set(["vault.mounts", "vault.auth", "vault.kubernetesAuth", "vault.database", ...Object.keys(want.vault.kubernetesAuth).map((p) => `vault.kubernetesAuth.${p}.roles`),
            ...Object.keys(want.vault.database).flatMap((m) => [`vault.database.${m}.connections`, `vault.database.${m}.roles`])]);
        // verify_connection is a write-time option: OpenBao 2.7.2 does not return it on read (the
        // connection's read answers plugin_name, connection_details, allowed_roles, password_policy,
        // root_credentials_rotate_statements...), so discover cannot know it; the facts' own value stays.
        const readable = JSON.parse(JSON.stringify(want.vault));
        for (const db of Object.values(readable.database) as { connections: Record<string, Record<string, unknown>> }[]) {
            for (const c of Object.values(db.connections)) delete c.verify_connection;
        }
        assert.deepStrictEqual(missing(readable, got.vault, "vault", exact), []);
        assert.deepStrictEqual(got.vault.mounts, want.vault.mounts);
        assert.deepStrictEqual(Object.keys(got.vault.policies).filter((p) => !(p in want.vault.policies)), ["default"].filter((p) => !(p in want.vault.policies)));
        for (const db of Object.values(got.vault.database)) for (const c of Object.values(db.connections)) assert.ok(!("password" in c));
    });

    it("namespaces: each app's ServiceAccounts and VSO objects by name, with their specs, exactly", () => {
        assert.deepStrictEqual(got.namespaces, want.namespaces);
    });

    it("DNS: each public app's record (id, type, name, content, proxied, ttl), exactly", () => {
        assert.deepStrictEqual(Object.keys(got.dnsRecords).sort(), [...PUBLIC_APPS].sort());
        assert.deepStrictEqual(got.dnsRecords, want.dnsRecords);
    });

    it("no secret in either file or on the screen; the secrets map names what carries each", () => {
        const r = replica();
        const factsText = fs.readFileSync(path.join(project, "facts", "prod.json"), "utf8");
        const stack = fs.readFileSync(path.join(project, "Pulumi.prod.yaml"), "utf8");
        for (const secret of [r.pg.superuserPassword, r.vaultToken, r.cloudflare.token, ...r.passwords.values()]) {
            assert.ok(!factsText.includes(secret) && !stack.includes(secret), "a secret was written");
            assert.ok(!lines.join("\n").includes(secret), "a secret was printed");
        }
        const conn = Object.entries(got.vault.database).flatMap(([m, db]) => Object.keys(db.connections).map((c) => `vault.database.${m}.connections.${c}.password`));
        assert.ok(conn.length > 0);
        for (const k of conn) assert.ok(got.secrets[k], k);
    });

    it("Pulumi.prod.yaml: identities, host keys, zone id, record ids and tunnel recorded, comments kept, fingerprints printed before", async () => {
        const r = replica();
        const cfg = YAML.parse(fs.readFileSync(path.join(project, "Pulumi.prod.yaml"), "utf8")).config;
        const health = await r.vault.call("GET", "sys/health", undefined, null);
        const c = await r.pg.superuser("postgres");
        const sysid = (await c.query("SELECT system_identifier::text AS id FROM pg_control_system()")).rows[0].id;
        await c.end();
        assert.deepStrictEqual(cfg["homelab:identity"], { kubeSystemUid: KUBE_SYSTEM_UID, vaultClusterId: health.cluster_id, postgresSystemIdentifier: sysid });
        assert.deepStrictEqual(cfg["homelab:hosts"].map((h: { hostKey: string }) => h.hostKey), ["pi1", "pi2", "pi3"].map((p) => r.sshd[p].publicKey));
        assert.strictEqual(cfg["homelab:cloudflareZoneId"], r.mapping.zoneId);
        assert.strictEqual(cfg["homelab:tunnelHostname"], r.mapping.tunnel);
        assert.deepStrictEqual(cfg["homelab:existing"].dnsRecords, r.mapping.recordIds);
        const comments = (t: string) => t.split("\n").filter((l) => l.trim().startsWith("#"));
        assert.deepStrictEqual(comments(fs.readFileSync(path.join(project, "Pulumi.prod.yaml"), "utf8")), comments(fs.readFileSync(path.join(ROOT, "Pulumi.prod.yaml"), "utf8")));
        const text = lines.join("\n");
        for (const p of ["pi1", "pi2", "pi3"]) {
            const at = text.indexOf(sshFingerprint(r.sshd[p].publicKey));
            assert.ok(at >= 0 && at < text.indexOf("recorded:"), "fingerprint printed before recording");
        }
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
        fs.writeFileSync(stackFile, text.replace(r.sshd.pi2.publicKey, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"));
        const factsBefore = fs.readFileSync(path.join(project, "facts", "prod.json"), "utf8");
        const out2: string[] = [];
        try {
            const conflict = await runDiscover({ stack: "prod", projectDir: project, endpointsFile: r.endpointsFile, yes: true, timeoutSeconds: 10, env: r.env, out: (l) => out2.push(l), now: () => new Date("2030-01-01T00:00:00Z") });
            assert.strictEqual(conflict.exitCode, 1);
            assert.match(out2.join("\n"), /CONFLICT homelab:hosts\[1\]\.hostKey/);
            assert.strictEqual(fs.readFileSync(path.join(project, "facts", "prod.json"), "utf8"), factsBefore);
        } finally {
            fs.writeFileSync(stackFile, text);
        }
    });

    it("--dry-run prints the facts and writes nothing; an unconfirmed run records nothing", async () => {
        const r = replica();
        const dir = projectCopy(r.dir);
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
        const dir = projectCopy(r.dir);
        const endpoints = JSON.parse(fs.readFileSync(r.endpointsFile, "utf8"));
        const closed = await new Promise<number>((resolve) => {
            const srv = net.createServer().listen(0, "127.0.0.1", () => {
                const port = (srv.address() as net.AddressInfo).port;
                srv.close(() => resolve(port));
            });
        });
        endpoints.cloudflare = `http://127.0.0.1:${closed}/client/v4`;
        const file = path.join(dir, "endpoints.json");
        fs.writeFileSync(file, JSON.stringify(endpoints));
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

/**
 * Issue 16 item 4: prod's plan is the adoption baseline (no migration on: prod registers what exists
 * with the discovered inputs); applying it must leave the replica byte-identical.
 */
describe("adoption replica: prod's plan applied to the replica, its observable state before and after", function () {
    this.timeout(600_000);
    const replica = useReplica();
    let observedBefore: ObservableState;
    let after: ObservableState;
    let report: ApplyReport;
    let diff: string[];

    before(async function () {
        const r = replica();
        const plan = planOf("prod");
        observedBefore = await observe(r);
        report = await applyToReplica(r, plan);
        after = await observe(r);
        diff = stateDiff(observedBefore, after);
        const summary = [`applying prod's plan (${SOURCE.from}) to the replica: ${report.steps.length} PostgreSQL/Vault resources, ${report.errors.length} failed, ${diff.length} observable differences`];
        if (diff.length || report.errors.length) console.log([...summary, ...report.errors.map((e) => `  ${e}`), ...diff.map((d) => `  ${d}`)].join("\n"));
    });

    it("observing twice without applying anything gives the same state (the comparison is stable)", async () => {
        assert.deepStrictEqual(stateDiff(after, await observe(replica())), []);
    });

    it("the baseline leaves the replica byte-identical: PostgreSQL catalog and Vault reads, no failure", () => {
        assert.deepStrictEqual(report.errors, []);
        assert.deepStrictEqual(diff, []);
        for (const s of report.steps) assert.doesNotMatch(s, /: created$/, `the baseline creates nothing on prod: ${s}`);
    });
});

/** The resources a migration's golden diff (tools/migrations.ts) names, as "<type tail> <name>": added, and changed or removed. */
export function goldenSubjects(diff: string): { added: Set<string>; changed: Set<string> } {
    const out = { added: new Set<string>(), changed: new Set<string>() };
    for (const line of diff.split("\n")) {
        const added = /^\+ (\S+:\S+) (\S+) \(/.exec(line);
        if (added) out.added.add(`${added[1].replace(/^.*:/, "")} ${added[2]}`);
        const urn = /^[~-] (?:changed|removed) urn:pulumi:[^:]+::[^:]+::(?:.*\$)?([^$]+)::(.+)$/.exec(line);
        if (urn) out.changed.add(`${urn[1].replace(/^.*:/, "")} ${urn[2]}`);
    }
    return out;
}

// Each migration (issue 16 item 3), switched on one at a time in the runbook's order over the
// baseline, applied to the replica: what it does to the replica's PostgreSQL and Vault is exactly
// what its golden diff (test/golden/prod.migration-<name>.diff) names, nothing else; after
// database-contract, Vault issues each app's credentials through vault_admin and they work as the
// README's database contract says.
describe("adoption replica: each migration, applied alone in order, changes exactly what its golden diff says", function () {
    this.timeout(600_000);
    const replica = useReplica();
    const state: ReplicaState = new Map();

    before(async function () {
        const baseline = await applyToReplica(replica(), planOf("prod", { "homelab:migrations": [] }), state);
        assert.deepStrictEqual(baseline.errors, [], "the baseline applies");
    });

    for (const on of migrationSteps()) {
        const name = on[on.length - 1];
        it(`${name}: the resources it creates or updates on the replica are exactly the golden diff's`, async () => {
            const r = replica();
            const golden = goldenSubjects(fs.readFileSync(path.join(ROOT, "test", "golden", `prod.migration-${name}.diff`), "utf8"));
            const before = await observe(r);
            const rep = await applyToReplica(r, planOf("prod", { "homelab:migrations": on }), state);
            const diff = stateDiff(before, await observe(r));
            assert.deepStrictEqual(rep.errors, [], rep.errors.join("\n"));
            const acted = rep.steps.filter((st) => !/: unchanged/.test(st));
            for (const st of acted) {
                const subject = stepSubject(st);
                assert.ok(golden.added.has(subject) || golden.changed.has(subject), `${name} changed ${st}, which its golden diff does not name`);
            }
            // what it adds is created; what it changes may be a no-op for the provider (an input
            // going from its schema default to unset: the Diff after Read is empty)
            const pgOrVault = /^(Role|Database|Grant|GrantRole|Mount|AuthBackend|Policy|AuthBackendConfig|AuthBackendRole|SecretBackendConnection|SecretBackendRole) /;
            const added = [...golden.added].filter((g) => pgOrVault.test(g));
            for (const g of added) assert.ok(acted.some((st) => stepSubject(st) === g && /: created$/.test(st)), `${name}'s golden diff adds ${g}, which was not created on the replica`);
            if (acted.length === 0) assert.deepStrictEqual(diff, [], `${name} changes no PostgreSQL or Vault resource: the replica's PostgreSQL and Vault stay as they are`);
            else assert.ok(diff.length > 0, `${name} applied ${acted.length} changes and nothing observable changed`);
            if (name === "database-contract") await databaseContractHolds(r);
        });
    }
});

/** The README's database contract, on the replica after database-contract: Vault issues credentials through vault_admin; they own what they create as <app>_role; revoked, they are gone. */
async function databaseContractHolds(r: Replica): Promise<void> {
    for (const app of INSTANCES) {
        const cred = await r.vault.call("GET", `database/creds/${app}`, undefined, r.vaultToken);
        const { Client } = await import("pg");
        const c = new Client(r.pg.config(cred.data.username, cred.data.password, app));
        await c.connect();
        try {
            await c.query("CREATE TABLE contract_probe (id int)");
            const owner = (await c.query("SELECT pg_get_userbyid(relowner) AS o FROM pg_class WHERE relname = 'contract_probe'")).rows[0].o;
            assert.strictEqual(owner, app.replace(/-/g, "_") + "_role", `${app}: what a credential creates belongs to the lasting role`);
            await c.query("DROP TABLE contract_probe");
        } finally {
            await c.end();
        }
        await r.vault.call("PUT", "sys/leases/revoke", { lease_id: cred.lease_id }, r.vaultToken);
        const s = await r.pg.superuser("postgres");
        const left = (await s.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [cred.data.username])).rows.length;
        await s.end();
        assert.strictEqual(left, 0, `${app}: the revoked credential's role is dropped`);
    }
}
