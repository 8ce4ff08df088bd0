// `npm run gate -- prod`: the change classes between prod's appliedCommit and HEAD name the drills
// that must have passed on sandbox-vms for HEAD, which sandbox-vms must have applied from a clean
// tree. Over a temporary git repository with fixture evidence records: passing, missing drill,
// stale commit, dirty tree, docs-only change, and the cases around them.
import { strict as assert } from "assert";
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { gateMain } from "../tools/gate";
import { CHANGE_CLASSES, classesOf, requiredDrills, runGate } from "../tools/drill/gate";
import { DrillRecord, recordProblems } from "../tools/drill/evidence";
import { DRILL_NAMES } from "../tools/drill/model";
import { ROOT } from "./helpers/plan";

describe("gate: the path -> class -> drills table", () => {
    it("maps each class of the issue to its drills; docs and tests alone need none; an unclassified path needs every drill", () => {
        const need = (f: string) => [...requiredDrills([f]).keys()].sort();
        assert.deepEqual(need("components/metal/scripts/k3s-install.sh"), ["node-kill", "power-cut"]);
        assert.deepEqual(need("components/platform/vault-config.ts"), ["vault-seal"]);
        assert.deepEqual(need("components/platform/scripts/vault-init.sh"), ["vault-seal"]);
        assert.deepEqual(need("components/apps/app-instance.ts"), ["db-restore"]);
        assert.deepEqual(need("components/platform/postgres-access.ts"), ["db-restore"]);
        assert.deepEqual(need("components/edge/backups.ts"), ["node-kill", "volume-restore"]);
        // the data host's compose file is metal and Postgres at once
        assert.deepEqual(need("components/metal/scripts/data-compose.sh"), ["db-restore", "node-kill", "power-cut"]);
        for (const f of ["docs/runbooks/cold-start.md", "README.md", "components/metal/README.md", "test/gate.test.ts", "drills/evidence/sandbox-vms.jsonl", "tools/drill/gate.ts", "policy/index.ts"]) {
            assert.deepEqual(need(f), [], f);
        }
        assert.deepEqual(need("Pulumi.yaml"), [...DRILL_NAMES].sort());
        assert.deepEqual(need("components/guard/identity.ts"), [...DRILL_NAMES].sort());
        assert.deepEqual(classesOf("components/guard/identity.ts"), ["unclassified"]);
    });

    it("every class names drills that exist, and every path of the repository has a class or is knowingly unclassified", () => {
        for (const c of CHANGE_CLASSES) for (const d of c.drills) assert.ok(DRILL_NAMES.includes(d), `${c.name}: ${d}`);
        const files = execFileSync("git", ["ls-files"], { cwd: ROOT, encoding: "utf8" }).split("\n").filter(Boolean);
        const unclassified = files.filter((f) => classesOf(f).includes("unclassified"));
        // these need every drill on purpose (the guard, prod's adoption, shared helpers of the program)
        for (const f of unclassified) assert.match(f, /^components\/(guard\/|adoption|facts|fingerprint|offline|parity|stack-config|applied-commit|platform\/ingress)/, f);
    });
});

describe("gate: over a temporary git repository", () => {
    let dir: string;
    let base: string;
    const git = (...args: string[]) => execFileSync("git", ["-c", "user.email=t@t", "-c", "user.name=t", ...args], { cwd: dir, encoding: "utf8" }).trim();
    const write = (f: string, text: string) => {
        fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
        fs.writeFileSync(path.join(dir, f), text);
    };
    const commit = (msg: string) => {
        git("add", "-A");
        git("commit", "-qm", msg);
        return git("rev-parse", "HEAD");
    };
    const record = (drill: string, commitSha: string, o: Partial<DrillRecord> = {}): DrillRecord => ({
        schema: 1, drill, stack: "sandbox-vms", commit: commitSha, dirty: false,
        versions: { k3s: "v1.34.3+k3s1", charts: {} as never, images: {} as never },
        start: "2026-11-23T05:00:00.000Z", end: "2026-11-23T05:10:00.000Z",
        steps: [{ section: "verify", name: "verify passes after the recovery", outcome: "pass", seconds: 1, detail: "ok" }],
        verdict: "pass", leftState: "recovered: verify passes", ...o,
    });
    const evidence = (...records: DrillRecord[]) => {
        for (const r of records) assert.deepEqual(recordProblems(r), []);
        write("drills/evidence/sandbox-vms.jsonl", records.map((r) => JSON.stringify(r)).join("\n") + "\n");
    };
    const gate = (o: { sandboxApplied?: string; applied?: string } = {}) => runGate({ projectDir: dir, target: "prod", applied: o.applied ?? base, sandboxApplied: o.sandboxApplied ?? git("rev-parse", "HEAD") });

    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "gate-"));
        git("init", "-q");
        write("components/platform/vault-config.ts", "// v1\n");
        write("components/metal/hosts.ts", "// v1\n");
        write("docs/runbooks/cold-start.md", "# v1\n");
        base = commit("what prod runs");
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("passing: a Vault change applied to sandbox-vms at HEAD, vault-seal passed for HEAD (its record committed after)", async () => {
        write("components/platform/vault-config.ts", "// v2\n");
        const head = commit("vault change");
        evidence(record("vault-seal", head));
        commit("evidence"); // committing the record makes a new HEAD: it still counts
        const r = await gate({ sandboxApplied: head });
        assert.equal(r.exitCode, 0, r.lines.join("\n"));
        assert.ok(r.lines.includes("change classes: Vault, docs, tests, tools and evidence"), r.lines.join("\n"));
        assert.ok(r.lines.includes("PASS  vault-seal: passed on sandbox-vms for HEAD"));
        assert.equal(r.lines[r.lines.length - 1], "gate prod: PASS; next: pulumi preview -s prod --policy-pack ./policy");
    });

    it("missing drill: a metal change with node-kill passed but not power-cut; exit 1 naming it and the command", async () => {
        write("components/metal/hosts.ts", "// v2\n");
        const head = commit("metal change");
        evidence(record("node-kill", head));
        commit("evidence");
        const r = await gate({ sandboxApplied: head });
        assert.equal(r.exitCode, 1);
        assert.deepEqual(r.missing, ["drill power-cut: no passing record on sandbox-vms for HEAD (never run): npm run drill -- sandbox-vms power-cut"]);
    });

    it("stale commit: the drill passed for an earlier commit, not for HEAD; a failed latest run says so", async () => {
        write("components/platform/vault-config.ts", "// v2\n");
        const old = commit("vault change");
        write("components/platform/vault-config.ts", "// v3\n");
        const head = commit("another vault change");
        evidence(record("vault-seal", old));
        commit("evidence");
        let r = await gate({ sandboxApplied: head });
        assert.equal(r.exitCode, 1);
        assert.deepEqual(r.missing, [`drill vault-seal: no passing record on sandbox-vms for HEAD (latest pass is for ${old.slice(0, 12)}, not HEAD): npm run drill -- sandbox-vms vault-seal`]);
        evidence(record("vault-seal", old), record("vault-seal", head, { verdict: "fail", steps: [{ section: "recovery", name: "unseal", outcome: "fail", seconds: 1, detail: "x" }] }));
        commit("evidence 2");
        r = await gate({ sandboxApplied: head });
        assert.match(r.missing[0], /\(latest run failed \(2026-11-23T05:10:00.000Z\)\)/);
    });

    it("dirty tree: uncommitted changes fail the gate; a record made from a dirty tree does not count", async () => {
        write("components/platform/vault-config.ts", "// v2\n");
        const head = commit("vault change");
        evidence(record("vault-seal", head, { dirty: true }));
        commit("evidence");
        write("components/platform/vault-config.ts", "// v3 uncommitted\n");
        const r = await gate({ sandboxApplied: head });
        assert.equal(r.exitCode, 1);
        assert.match(r.missing[0], /^the working tree is not clean \(1 change\(s\), e\.g\. components\/platform\/vault-config\.ts\): commit first$/);
        assert.match(r.missing[1], /latest pass was from a dirty tree/);
    });

    it("docs only: no drill is required and the gate passes without a sandbox apply", async () => {
        write("docs/runbooks/cold-start.md", "# v2\n");
        write("README.md", "more\n");
        commit("docs");
        const r = await gate({ sandboxApplied: base });
        assert.equal(r.exitCode, 0, r.lines.join("\n"));
        assert.ok(r.lines.includes("required drills: none (docs, tests and tools only)"));
    });

    it("sandbox-vms not at HEAD, or applied from a dirty tree: missing", async () => {
        write("components/platform/vault-config.ts", "// v2\n");
        const head = commit("vault change");
        evidence(record("vault-seal", head));
        commit("evidence");
        let r = await gate({ sandboxApplied: base });
        assert.equal(r.exitCode, 1);
        assert.deepEqual(r.missing, [`sandbox-vms runs ${base.slice(0, 12)}, not HEAD: pulumi up -s sandbox-vms, then the drills`]);
        r = await gate({ sandboxApplied: `${head}-dirty` });
        assert.match(r.missing[0], /^sandbox-vms was applied from a dirty tree/);
    });

    it("prod applied from a dirty tree: every drill is required", async () => {
        write("docs/runbooks/cold-start.md", "# v2\n");
        commit("docs");
        const r = await gate({ applied: `${base}-dirty` });
        assert.equal(r.exitCode, 1);
        assert.equal(r.missing.length, DRILL_NAMES.length);
    });

    it("cannot run (exit 2): a target other than prod, an applied commit this clone lacks", async () => {
        assert.equal((await runGate({ projectDir: dir, target: "sandbox-vms" })).exitCode, 2);
        const r = await gate({ applied: "f".repeat(40) });
        assert.equal(r.exitCode, 2);
        assert.match(r.lines[0], /prod's applied commit f{40} is not in this repository/);
    });

    it("the command: --applied and --sandbox-applied stand in for pulumi stack output", async () => {
        write("components/platform/vault-config.ts", "// v2\n");
        const head = commit("vault change");
        const out: string[] = [];
        assert.equal(await gateMain(["prod", "--applied", base, "--sandbox-applied", head], dir, (l) => out.push(l)), 1);
        assert.ok(out.some((l) => l.startsWith("MISSING  drill vault-seal")));
        assert.equal(await gateMain(["prod", "--applied"], dir, () => undefined), 2);
        // without --applied it asks the Pulumi CLI (absent here: exit 2, saying so)
        const r = spawnSync(process.execPath, ["-r", path.join(ROOT, "tools/register.js"), path.join(ROOT, "tools/gate.ts"), "prod"], {
            encoding: "utf8", env: { ...process.env, PATH: path.dirname(process.execPath) + ":/usr/bin:/bin" }, timeout: 60_000,
        });
        assert.equal(r.status, 2, r.stdout + r.stderr);
        assert.match(r.stdout, /cannot read prod's appliedCommit \(pulumi stack output appliedCommit -s prod\)/);
    });
});
