// `npm run drill`: the five drills as data, run against a simulated sandbox (test/helpers/fake-lab.ts):
// each drill's steps in order, progress lines with elapsed time, deadlines (scaled down), the
// failure path (safe recovery, the state left), the refusal of prod whatever the environment, the
// evidence record (schema and content) and --report. CliLab's multipass and Vault-unseal calls run
// against the fakes on PATH (test/fakes/metal/multipass, test/fakes/platform/kubectl) and the
// program's own vault-init.sh.
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseConfig } from "../components/config";
import { readStackConfig } from "../components/stack-config";
import { DRILLS, findDrill } from "../tools/drill/catalogue";
import { drillMain, formatList } from "../tools/drill/cli";
import { DrillRecord, readRecords, recordProblems } from "../tools/drill/evidence";
import * as http from "http";
import { AddressInfo } from "net";
import { CliLab } from "../tools/drill/lab";
import { DRILL_NAMES, SECTIONS } from "../tools/drill/model";
import { DrillRefused, runDrill } from "../tools/drill/run";
import { FakeLab } from "./helpers/fake-lab";
import { ROOT } from "./helpers/plan";

const SCALE = 0.001; // a 600 s deadline becomes 0.6 s
/** Through real processes (the fakes on PATH): a 120 s deadline becomes 6 s. */
const PROCESS_SCALE = 0.05;
const COMMIT = "0123456789abcdef0123456789abcdef01234567";
const versions = () => parseConfig("sandbox-vms", readStackConfig(ROOT, "sandbox-vms")).versions;

async function drill(name: string, lab: FakeLab) {
    const lines: string[] = [];
    const record = await runDrill({ drill: findDrill(name)!, lab, commit: COMMIT, dirty: false, versions: versions(), out: (l) => lines.push(l), timeScale: SCALE });
    return { record, lines };
}

/** The calls of a lab without the repeated reads of waits. */
function actions(lab: FakeLab): string[] {
    return lab.calls.filter((c) => /^(vm(Stop|Start)|vault(Seal|Unseal)|dropDatabase|restoreDatabase|createTestVolume|backupTestVolume|deleteTestVolume|restoreTestVolume|removeTestVolume)/.test(c));
}

describe("drills: declared as data", () => {
    it("five drills, each with preconditions, a fault, observations, a recovery and a verify, in that order, every step with a deadline", () => {
        assert.deepEqual(DRILLS.map((d) => d.name), [...DRILL_NAMES]);
        for (const d of DRILLS) {
            const sections = d.steps.map((s) => SECTIONS.indexOf(s.section));
            assert.deepEqual(sections, [...sections].sort((a, b) => a - b), d.name);
            assert.equal(d.steps[0].name, "verify passes before the fault", d.name);
            assert.equal(d.steps[d.steps.length - 1].name, "verify passes after the recovery", d.name);
            assert.ok(d.steps.every((s) => s.timeoutSeconds > 0), d.name);
            assert.ok(!d.stacks.includes("prod"));
            assert.ok(fs.existsSync(path.join(ROOT, "docs", "runbooks", d.runbook)), `runbook ${d.runbook} of ${d.name}`);
        }
        assert.deepEqual(findDrill("vault-seal")!.stacks.sort(), ["sandbox-k3d", "sandbox-vms"]);
        assert.deepEqual(findDrill("node-kill")!.stacks, ["sandbox-vms"]);
    });

    it("--list shows the five on sandbox-vms with what each proves, two on sandbox-k3d", async () => {
        const out: string[] = [];
        assert.equal(await drillMain(["sandbox-vms", "--list"], { projectDir: ROOT, out: (l) => out.push(l) }), 0);
        const lines = out.join("\n").split("\n");
        assert.equal(lines.length, 5);
        for (const d of DRILL_NAMES) assert.ok(lines.some((l) => l.startsWith(d) && l.includes("docs/runbooks/")), d);
        assert.ok(lines.find((l) => l.startsWith("node-kill"))!.includes("Longhorn degraded, not faulted"));
        assert.equal(formatList("sandbox-k3d").split("\n").length, 2);
    });

    it("--help: usage, the drills and the exit codes on stdout, exit 0; a usage error: stderr, exit 2, nothing run", async () => {
        const out: string[] = [];
        const err: string[] = [];
        const o = { projectDir: "/nonexistent", out: (l: string) => out.push(l), err: (l: string) => err.push(l), makeLab: (): FakeLab => assert.fail("no lab") };
        assert.equal(await drillMain(["--help"], o), 0);
        assert.match(out.join("\n"), /usage: lab drill <stack> <drill> \[--outputs <file>\]\n {7}lab drill \[<stack>\] --list\n/);
        assert.match(out.join("\n"), /\n {2}130 {2}interrupted twice/);
        for (const d of DRILL_NAMES) assert.match(out.join("\n"), new RegExp(`\n  ${d} `));
        assert.deepEqual(err, []);
        for (const [argv, message] of [[["sandbox-vms"], /missing <drill>/], [[], /missing <stack> <drill>/], [["sandbox-vms", "--bogus"], /Unknown option '--bogus'/],
            [["sandbox-vms", "db-restore", "--outputs"], /argument missing/], [["a", "b", "c"], /unexpected argument "c"/], [["a", "b", "--list"], /--list takes at most a stack/]] as [string[], RegExp][]) {
            err.length = 0;
            assert.equal(await drillMain(argv, o), 2, argv.join(" "));
            assert.match(err.join("\n"), message);
            assert.match(err.join("\n"), /\nusage: lab drill /);
        }
    });
});

describe("drills: runs against a simulated sandbox", () => {
    it("node-kill: stops an agent that is not the data host, sees it NotReady and the volumes degraded, starts it, waits for full replicas, verifies", async () => {
        const lab = new FakeLab("sandbox-vms");
        lab.nodeLag = 2;
        const { record, lines } = await drill("node-kill", lab);
        assert.equal(record.verdict, "pass", lines.join("\n"));
        assert.deepEqual(actions(lab), ["vmStop pi3", "vmStart pi3"]);
        assert.equal(lab.calls[0], "verify");
        assert.equal(lab.calls[lab.calls.length - 1], "verify");
        // observed degraded between the stop and the start; healthy only after replicas rebuilt
        const stop = lab.calls.indexOf("vmStop pi3");
        const start = lab.calls.indexOf("vmStart pi3");
        assert.ok(lab.calls.slice(stop, start).includes("volumes"));
        assert.ok(lab.calls.slice(start).filter((c) => c === "volumes").length >= 3, "waited for the rebuild");
        assert.deepEqual(record.steps.map((s) => s.outcome), record.steps.map(() => "pass"));
        assert.match(lines.find((l) => l.includes("Longhorn volumes degraded"))!, /^\[node-kill sandbox-vms \+\d+\.\ds\] /);
        assert.ok(lines.some((l) => /ok {3}Longhorn volumes degraded, none faulted \(\d+\.\ds\): 1 degraded, 0 faulted/.test(l)), lines.join("\n"));
        assert.ok(lines.some((l) => /\.\.\. the node goes NotReady: still Ready \(\d+s of at most 180s\)/.test(l)), "a progress line per probe of a wait");
        assert.ok(record.recoverySeconds !== undefined && record.recoverySeconds >= 0);
        assert.equal(record.leftState, "recovered: verify passes");
    });

    it("vault-seal: seals, sees it sealed and a new login refused, the delivered Secrets unchanged, unseals with the program's path, verifies", async () => {
        const lab = new FakeLab("sandbox-k3d");
        const { record, lines } = await drill("vault-seal", lab);
        assert.equal(record.verdict, "pass", lines.join("\n"));
        assert.deepEqual(actions(lab), ["vaultSeal", "vaultUnseal"]);
        const i = (c: string) => lab.calls.indexOf(c);
        assert.ok(i("deliveredSecrets") < i("vaultSeal") && i("vaultSeal") < i("vaultLogin") && i("vaultLogin") < i("vaultUnseal"));
        assert.equal(lab.calls.filter((c) => c === "deliveredSecrets").length, 2);
        assert.match(record.steps.find((s) => s.name.startsWith("new logins"))!.detail, /503 Vault is sealed/);
    });

    it("db-restore: drops the first instance's database, sees its credentials fail, restores the newest backup, credentials work", async () => {
        const lab = new FakeLab("sandbox-vms");
        const { record } = await drill("db-restore", lab);
        assert.equal(record.verdict, "pass");
        assert.deepEqual(actions(lab), ["dropDatabase erp", "restoreDatabase erp"]);
        assert.ok(lab.calls.indexOf("newestBackup") < lab.calls.indexOf("dropDatabase erp"), "a complete backup is a precondition");
    });

    it("node-kill: an app whose pod ran on the stopped agent is left out of 'keep serving' (down for a reason), the others must serve", async () => {
        const lab = new FakeLab("sandbox-vms");
        lab.nodeLag = 2;
        lab.podsOn = { pi3: ["erp"] };
        const { record, lines } = await drill("node-kill", lab);
        assert.equal(record.verdict, "pass", lines.join("\n"));
        assert.ok(lab.calls.indexOf("appNamespacesOn pi3") < lab.calls.indexOf("vmStop pi3"), "recorded before the stop");
        assert.match(lines.join("\n"), /left out, on the stopped node: erp/);
    });

    it("volume-restore (kubectl): its own class reclaims (Delete); the volume counts as gone only without PVC, PV and Longhorn volume", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "drill-vol-"));
        try {
            // a kubectl that records, answers the PVC's volume, and still holds the PV (as Retain would leave it)
            fs.writeFileSync(path.join(dir, "kubectl"), `#!/bin/sh
echo "kubectl $*" >>${dir}/calls
input=$(cat)
case "$*" in
  *"apply -f -"*) printf '%s' "$input" >>${dir}/applied ;;
  *"get pvc drill-data -o json"*) echo '{"spec":{"volumeName":"pvc-123"}}' ;;
  *"get pv pvc-123"*) [ -f ${dir}/pv-deleted ] || echo persistentvolume/pvc-123 ;;
  *"delete pv pvc-123"*) touch ${dir}/pv-deleted ;;
esac
`, { mode: 0o755 });
            const cfg = parseConfig("sandbox-vms", readStackConfig(ROOT, "sandbox-vms"));
            const l = new CliLab(cfg, { kubeconfig: "apiVersion: v1\nkind: Config\n", nodes: [], vaultAddress: "http://127.0.0.1:1", vaultRootToken: "t",
                postgresEndpoint: "x:5432", postgresAdminUser: "postgres", postgresAdminPassword: "x", giteaUrl: "http://x" } as never,
            { projectDir: ROOT, env: { ...process.env, PATH: `${dir}:${process.env.PATH}` } });
            try {
                await l.createTestVolume("m1");
                const applied = JSON.parse(fs.readFileSync(path.join(dir, "applied"), "utf8"));
                const sc = applied.items.find((i: { kind: string }) => i.kind === "StorageClass");
                assert.equal(sc.reclaimPolicy, "Delete");
                assert.equal(applied.items.find((i: { kind: string }) => i.kind === "PersistentVolumeClaim").spec.storageClassName, sc.metadata.name);
                assert.equal(await l.testVolumeGone(), false, "a PV left behind is not a lost volume");
                await l.deleteTestVolume();
                const calls = fs.readFileSync(path.join(dir, "calls"), "utf8");
                assert.match(calls, /delete pv pvc-123 --ignore-not-found/);
                assert.match(calls, /-n longhorn-system delete volumes\.longhorn\.io pvc-123 --ignore-not-found/);
                assert.equal(await l.testVolumeGone(), true);
            } finally {
                l.close();
            }
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("volume-restore: writes a marker, backs it up, deletes the volume, restores it from the backup, reads the marker, removes the workload", async () => {
        const lab = new FakeLab("sandbox-vms");
        const { record } = await drill("volume-restore", lab);
        assert.equal(record.verdict, "pass");
        assert.deepEqual(actions(lab), ["createTestVolume", "backupTestVolume", "deleteTestVolume", "restoreTestVolume", "removeTestVolume"]);
    });

    it("power-cut: stops all VMs in one call, then the cold-start order: data host, its Postgres, server, agents, nodes, unseal; records the time to recovery", async () => {
        const lab = new FakeLab("sandbox-vms");
        const { record, lines } = await drill("power-cut", lab);
        assert.equal(record.verdict, "pass", lines.join("\n"));
        assert.deepEqual(actions(lab), ["vmStop pi2,pi1,pi3", "vmStart pi2", "vmStart pi1", "vmStart pi3", "vaultUnseal"]);
        assert.ok(lab.calls.indexOf("dataHostReady") < lab.calls.indexOf("vmStart pi1"), "Postgres answers before the server starts");
        assert.ok(typeof record.recoverySeconds === "number");
        assert.match(lines[lines.length - 1], /^\[power-cut sandbox-vms \+\d+\.\ds\] PASS power-cut on sandbox-vms in \d+\.\ds \(recovery \d+\.\ds\)/);
    });
});

describe("drills: deadlines and the failure path", () => {
    it("a wait past its deadline fails the drill; the safe recovery (start the VM) runs; the record says the state left", async () => {
        const lab = new FakeLab("sandbox-vms");
        lab.stopIgnored = true; // the VM never goes down: the node never goes NotReady
        const { record, lines } = await drill("node-kill", lab);
        assert.equal(record.verdict, "fail");
        const failed = record.steps.find((s) => s.outcome === "fail")!;
        assert.equal(failed.name, "the node goes NotReady");
        assert.match(failed.detail, /^not within 180s: still Ready$/);
        assert.ok(failed.seconds < 2, `scaled deadline honoured (${failed.seconds}s)`);
        // the steps after it are recorded as not run, then the safe ones after the failure
        assert.ok(record.steps.some((s) => s.name === "Longhorn volumes degraded, none faulted" && s.outcome === "not-run"));
        assert.deepEqual(record.steps.filter((s) => s.section === "after-failure").map((s) => s.name), ["start the agent VM", "every node Ready again", "verify"]);
        assert.ok(actions(lab).includes("vmStart pi3"));
        assert.equal(record.leftState, "recovered by the safe steps: verify passes");
        assert.ok(lines.some((l) => l.includes('stopped at "the node goes NotReady": running the 2 safe recovery step(s)')));
        assert.deepEqual(recordProblems(record), []);
    });

    it("an action that hangs is cut at its deadline; a recovery that fails leaves the sandbox named NOT recovered, with the runbook", async () => {
        const lab = new FakeLab("sandbox-vms");
        lab.hang.add("vaultUnseal");
        const { record } = await drill("vault-seal", lab);
        assert.equal(record.verdict, "fail");
        const failed = record.steps.find((s) => s.outcome === "fail")!;
        assert.equal(failed.name, "unseal with the program's own path (vault-init.sh; k3d: the dev key)");
        assert.equal(failed.detail, "did not finish within 360s");
        assert.match(record.leftState, /^NOT recovered: verify fails \(Vault sealed\); failed recovery: unseal with .*; continue by hand with docs\/runbooks\/drill-vault-seal\.md$/);
    });

    it("a faulted volume fails node-kill at once (no waiting out the deadline)", async () => {
        const lab = new FakeLab("sandbox-vms");
        const orig = lab.vmStop.bind(lab);
        lab.vmStop = async (names) => {
            await orig(names);
            lab.vms.pi1 = "Stopped"; // a second node lost with it: the replicas are gone
        };
        const { record } = await drill("node-kill", lab);
        const failed = record.steps.find((s) => s.outcome === "fail")!;
        assert.equal(failed.name, "Longhorn volumes degraded, none faulted");
        assert.match(failed.detail, /^volume\(s\) faulted: pvc-erp/);
        assert.equal(lab.calls.filter((c) => c === "volumes").length >= 1, true);
    });

    it("db-restore's restore is safe after a failure: a database that is still there is not replaced", async () => {
        const lab = new FakeLab("sandbox-vms");
        lab.dropDatabase = async (i) => void lab.calls.push(`dropDatabase ${i}`); // the drop does nothing
        const { record } = await drill("db-restore", lab);
        assert.equal(record.verdict, "fail");
        assert.equal(record.steps.find((s) => s.outcome === "fail")!.name, "the instance's credentials no longer reach its database");
        const after = record.steps.find((s) => s.section === "after-failure" && s.name.startsWith("npm run restore"))!;
        assert.equal(after.detail, "nothing to restore: may connect");
        assert.ok(!actions(lab).includes("restoreDatabase erp"));
    });

    it("Ctrl-C during a drill: the running step fails as interrupted, the safe recovery still runs", async () => {
        const lab = new FakeLab("sandbox-vms");
        const ctrl = new AbortController();
        const orig = lab.vmStop.bind(lab);
        lab.vmStop = async (names) => {
            await orig(names);
            ctrl.abort();
        };
        const record = await runDrill({ drill: findDrill("node-kill")!, lab, commit: COMMIT, dirty: false, versions: versions(), out: () => undefined, timeScale: SCALE, signal: ctrl.signal });
        const failed = record.steps.find((s) => s.outcome === "fail")!;
        // interrupted while the fault ran (it happened): the recovery is due
        assert.equal(failed.name, "stop an agent VM hard (multipass stop --force)");
        assert.equal(failed.detail, "interrupted by the operator (Ctrl-C)");
        assert.ok(actions(lab).includes("vmStart pi3"));
        assert.equal(record.leftState, "recovered by the safe steps: verify passes");
    });

    it("a failed precondition stops before any fault: nothing is done to the sandbox", async () => {
        const lab = new FakeLab("sandbox-vms");
        lab.sealed = true; // verify fails
        const { record } = await drill("power-cut", lab);
        assert.equal(record.verdict, "fail");
        assert.deepEqual(actions(lab), []);
        assert.match(record.leftState, /^untouched: the drill stopped at "verify passes before the fault" before any fault$/);
    });
});

describe("drills: never on prod", () => {
    it("npm run drill -- prod <any> exits 2, whatever the environment says, before reading anything", async () => {
        for (const argv of [["prod", "node-kill"], ["prod", "vault-seal"], ["prod", "no-such-drill"], ["prod", "--list"]]) {
            const err: string[] = [];
            let labMade = false;
            const code = await drillMain(argv, { projectDir: "/nonexistent", err: (l) => err.push(l), makeLab: () => { labMade = true; return new FakeLab("prod"); } });
            assert.equal(code, 2, argv.join(" "));
            assert.match(err.join("\n"), /drills never run on prod/);
            assert.equal(labMade, false);
        }
        await assert.rejects(runDrill({ drill: findDrill("db-restore")!, lab: new FakeLab("prod"), commit: COMMIT, dirty: false, versions: versions() }), DrillRefused);
    });

    it("the command itself: exit 2 on prod even with LAB_I_MEAN_PROD=true; a drill a stack lacks is refused too", () => {
        const run = (args: string[]) => spawnSync(process.execPath, ["-r", path.join(ROOT, "tools/register.js"), path.join(ROOT, "tools/drill.ts"), ...args], {
            encoding: "utf8", env: { ...process.env, LAB_I_MEAN_PROD: "true", PULUMI_STACK: "prod" }, timeout: 60_000,
        });
        let r = run(["prod", "power-cut"]);
        assert.equal(r.status, 2, r.stderr);
        assert.match(r.stderr, /drills never run on prod/);
        r = run(["sandbox-k3d", "node-kill"]);
        assert.equal(r.status, 2, r.stderr);
        assert.match(r.stderr, /drill node-kill runs on sandbox-vms, not on sandbox-k3d/);
        r = run(["sandbox-vms", "--list"]);
        assert.equal(r.status, 0, r.stderr);
        assert.equal(r.stdout.trim().split("\n").length, 5);
    });
});

describe("drills: evidence", () => {
    let dir: string;
    const git = (...args: string[]) => spawnSync("git", args, { cwd: dir, encoding: "utf8" });
    before(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "drill-evidence-"));
        for (const f of ["Pulumi.yaml", "Pulumi.sandbox-vms.yaml", "Pulumi.sandbox-k3d.yaml", "Pulumi.prod.yaml"]) fs.copyFileSync(path.join(ROOT, f), path.join(dir, f));
        git("init", "-q");
        git("-c", "user.email=t@t", "-c", "user.name=t", "add", ".");
        git("-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "fixture");
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("each run appends one record: drill, stack, commit, dirty, manifest versions, start/end, steps with outcome and duration, verdict", async () => {
        const head = git("rev-parse", "HEAD").stdout.trim();
        const out: string[] = [];
        const lab = new FakeLab("sandbox-vms");
        assert.equal(await drillMain(["sandbox-vms", "db-restore"], { projectDir: dir, out: (l) => out.push(l), makeLab: () => lab, timeScale: SCALE }), 0);
        lab.fail.add("restoreDatabase");
        assert.equal(await drillMain(["sandbox-vms", "db-restore"], { projectDir: dir, out: (l) => out.push(l), makeLab: () => lab, timeScale: SCALE }), 1);
        const lines = fs.readFileSync(path.join(dir, "drills", "evidence", "sandbox-vms.jsonl"), "utf8").trim().split("\n");
        assert.equal(lines.length, 2);
        const [ok, bad] = lines.map((l) => JSON.parse(l) as DrillRecord);
        assert.deepEqual(recordProblems(ok), []);
        assert.deepEqual(recordProblems(bad), []);
        assert.deepEqual(Object.keys(ok).sort(), ["commit", "dirty", "drill", "end", "leftState", "recoverySeconds", "schema", "stack", "start", "steps", "verdict", "versions"]);
        assert.equal(ok.drill, "db-restore");
        assert.equal(ok.commit, head);
        // the first run's record does not make the second run dirty
        assert.equal(ok.dirty, false);
        assert.equal(bad.dirty, false);
        assert.deepEqual(ok.versions, parseConfig("sandbox-vms", readStackConfig(dir, "sandbox-vms")).versions);
        assert.ok(Date.parse(ok.end) >= Date.parse(ok.start));
        for (const s of ok.steps) assert.deepEqual(Object.keys(s).sort(), ["detail", "name", "outcome", "seconds", "section"]);
        assert.equal(bad.verdict, "fail");
        assert.equal(bad.steps.find((s) => s.outcome === "fail")!.detail, "restoreDatabase failed (injected)");
        assert.deepEqual(readRecords(dir, "sandbox-vms").map((r) => r.verdict), ["pass", "fail"]);
        assert.ok(out.includes("evidence: appended to drills/evidence/sandbox-vms.jsonl (commit it: it is the evidence trail)"));
    });

    it("a dirty tree is recorded dirty", async () => {
        fs.writeFileSync(path.join(dir, "Pulumi.sandbox-vms.yaml"), `${fs.readFileSync(path.join(dir, "Pulumi.sandbox-vms.yaml"), "utf8")}# edited\n`);
        const err: string[] = [];
        assert.equal(await drillMain(["sandbox-vms", "vault-seal"], { projectDir: dir, out: () => undefined, err: (l) => err.push(l), makeLab: () => new FakeLab("sandbox-vms"), timeScale: SCALE }), 0);
        assert.equal(readRecords(dir, "sandbox-vms").pop()!.dirty, true);
        assert.match(err.join("\n"), /uncommitted changes/);
        git("checkout", "--", "Pulumi.sandbox-vms.yaml");
    });

    it("--report prints the latest verdict per drill and stack", async () => {
        const out: string[] = [];
        assert.equal(await drillMain(["--report"], { projectDir: dir, out: (l) => out.push(l) }), 0);
        const rows = out.join("\n").split("\n");
        assert.match(rows[0], /^stack +drill +verdict +commit +when +recovery$/);
        assert.match(rows.find((r) => r.includes("db-restore"))!, /^sandbox-vms +db-restore +FAIL /);
        assert.match(rows.find((r) => r.includes("vault-seal"))!, /^sandbox-vms +vault-seal +PASS +[0-9a-f]{12}-dirty /);
        assert.equal(rows.length, 3);
    });

    it("a malformed record is an error naming the file and line", () => {
        fs.appendFileSync(path.join(dir, "drills", "evidence", "sandbox-vms.jsonl"), '{"schema":1,"drill":"node-kill"}\n');
        assert.throws(() => readRecords(dir, "sandbox-vms"), /sandbox-vms\.jsonl:4: .*commit is not a 40-hex git commit/);
    });
});

describe("drills: CliLab through the fakes on PATH", () => {
    let dir: string;
    let env: NodeJS.ProcessEnv;
    const FAKES = path.join(__dirname, "fakes");
    before(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "drill-cli-"));
        const bin = path.join(dir, "bin");
        fs.mkdirSync(bin);
        fs.mkdirSync(path.join(dir, "state"));
        // kubectl: the drills' fake (nodes from the VMs, Longhorn volumes, workloads), which hands
        // everything else (Vault's pod, Secrets) to the platform's fake
        for (const [f, from, as] of [["multipass", "metal", "multipass"], ["kubectl", "drill", "kubectl"], ["kubectl", "platform", "kubectl-platform"]]) {
            fs.symlinkSync(path.join(FAKES, from, f), path.join(bin, as));
        }
        fs.symlinkSync(path.join(FAKES, "_common.sh"), path.join(bin, "_common.sh"));
        env = { ...process.env, PATH: `${bin}:${process.env.PATH}`, FAKE_STATE: path.join(dir, "state"), FAKE_LOG: path.join(dir, "calls.log"), POLL_SECONDS: "0" };
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    /** CliLab with the parts that need a live API server or Postgres read from the fakes' state. */
    class FakesLab extends CliLab {
        private vmsUp = () => ["pi1", "pi2", "pi3"].every((v) => fs.readFileSync(path.join(env.FAKE_STATE!, "multipass", v, "state"), "utf8").trim() === "Running");
        private sealed = () => fs.readFileSync(path.join(env.FAKE_STATE!, "vault", "sealed"), "utf8").trim() === "true";
        async verify() {
            const ok = this.vmsUp() && !this.sealed();
            return { ok, detail: ok ? "all checks pass" : "nodes or Vault not ready" };
        }
        async dataHostReady() {
            const up = fs.readFileSync(path.join(env.FAKE_STATE!, "multipass", "pi2", "state"), "utf8").trim() === "Running";
            return { ok: up, detail: up ? "Postgres answers" : "no route" };
        }
        async vaultStatus() {
            return { initialized: true, sealed: this.sealed() };
        }
    }

    function lab(): CliLab {
        const cfg = parseConfig("sandbox-vms", readStackConfig(ROOT, "sandbox-vms"));
        return new FakesLab(cfg, {
            kubeconfig: "apiVersion: v1\nkind: Config\n", nodes: [], vaultAddress: "http://127.0.0.1:1", postgresEndpoint: "x:5432",
            postgresAdminUser: "postgres", postgresAdminPassword: "x", giteaUrl: "http://x",
        }, { projectDir: ROOT, env });
    }

    it("the fakes are shellcheck-clean", function () {
        if (spawnSync("shellcheck", ["--version"]).status !== 0) {
            if (process.env.CI) assert.fail("shellcheck is missing in CI");
            this.skip();
        }
        for (const f of [path.join(FAKES, "drill", "kubectl"), path.join(FAKES, "metal", "multipass")]) {
            const r = spawnSync("shellcheck", ["--shell=bash", "--severity=style", f], { encoding: "utf8" });
            assert.equal(r.status, 0, r.stdout);
        }
    });

    it("stops VMs hard in one multipass call, reads their states, starts one", async () => {
        const l = lab();
        try {
            for (const vm of ["pi1", "pi2", "pi3"]) {
                spawnSync("multipass", ["launch", "24.04", "--name", vm], { env, input: "" });
            }
            await l.vmStop(["pi2", "pi1", "pi3"]);
            assert.deepEqual(await l.vmStates(), { pi1: "Stopped", pi2: "Stopped", pi3: "Stopped" });
            await l.vmStart("pi2");
            assert.equal((await l.vmStates()).pi2, "Running");
            const calls = fs.readFileSync(env.FAKE_LOG!, "utf8").split("\n");
            assert.ok(calls.includes("multipass stop --force pi2 pi1 pi3"), calls.join("\n"));
            assert.ok(calls.includes("multipass start pi2"));
        } finally {
            l.close();
        }
    });

    it("unseals a sealed Vault with the program's own vault-init.sh and the kept key", async () => {
        const vault = path.join(env.FAKE_STATE!, "vault");
        fs.mkdirSync(vault, { recursive: true });
        const key = Buffer.from("unseal-key-unseal-key-unseal-key").toString("base64");
        for (const [k, v] of Object.entries({ initialized: "true", sealed: "true", unseal_key: key, root_token: "hvs.root" })) fs.writeFileSync(path.join(vault, k), v);
        const secret = path.join(env.FAKE_STATE!, "secrets", "vault", "vault-init-keys");
        fs.mkdirSync(secret, { recursive: true });
        fs.writeFileSync(path.join(secret, "unsealKey"), key);
        fs.writeFileSync(path.join(secret, "rootToken"), "hvs.root");
        const l = lab();
        try {
            assert.match(await l.vaultUnseal(), /unsealed/);
            assert.equal(fs.readFileSync(path.join(vault, "sealed"), "utf8"), "false");
            const calls = fs.readFileSync(env.FAKE_LOG!, "utf8");
            assert.ok(!calls.includes(key) && !calls.includes("hvs.root"), "no secret on a command line");
        } finally {
            l.close();
        }
    });

    it("power-cut end to end through the fakes: multipass stops all, cold-start order, kubectl sees nodes and volumes, vault-init.sh unseals; a valid record", async () => {
        // the VMs (from the first test) running; Vault sealed after the cut, as a restarted Vault is
        for (const vm of ["pi1", "pi2", "pi3"]) fs.writeFileSync(path.join(env.FAKE_STATE!, "multipass", vm, "state"), "Running\n");
        fs.writeFileSync(env.FAKE_LOG!, "");
        const l = lab();
        const origStop = l.vmStop.bind(l);
        l.vmStop = async (names) => {
            await origStop(names);
            fs.writeFileSync(path.join(env.FAKE_STATE!, "vault", "sealed"), "true");
        };
        const lines: string[] = [];
        try {
            const record = await runDrill({ drill: findDrill("power-cut")!, lab: l, commit: COMMIT, dirty: false, versions: versions(), out: (x) => lines.push(x), timeScale: PROCESS_SCALE });
            assert.equal(record.verdict, "pass", lines.join("\n"));
            assert.deepEqual(recordProblems(record), []);
            const calls = fs.readFileSync(env.FAKE_LOG!, "utf8").split("\n").filter((c) => /^multipass (stop|start)/.test(c));
            assert.deepEqual(calls, ["multipass stop --force pi2 pi1 pi3", "multipass start pi2", "multipass start pi1", "multipass start pi3"]);
            assert.equal(fs.readFileSync(path.join(env.FAKE_STATE!, "vault", "sealed"), "utf8"), "false");
        } finally {
            l.close();
        }
    });

    it("node-kill end to end through the fakes: the agent that is not the data host, degraded then healthy", async () => {
        fs.writeFileSync(env.FAKE_LOG!, "");
        const l = lab();
        const lines: string[] = [];
        try {
            const record = await runDrill({ drill: findDrill("node-kill")!, lab: l, commit: COMMIT, dirty: false, versions: versions(), out: (x) => lines.push(x), timeScale: PROCESS_SCALE });
            assert.equal(record.verdict, "pass", lines.join("\n"));
            assert.equal(record.steps.find((s) => s.name === "Longhorn volumes degraded, none faulted")!.detail, "1 degraded, 0 faulted");
            const calls = fs.readFileSync(env.FAKE_LOG!, "utf8").split("\n");
            assert.deepEqual(calls.filter((c) => /^multipass (stop|start)/.test(c)), ["multipass stop --force pi3", "multipass start pi3"]);
            assert.ok(calls.some((c) => /^kubectl --kubeconfig \S+ --request-timeout=20s -n longhorn-system get volumes\.longhorn\.io -o json$/.test(c)), calls.join("\n"));
        } finally {
            l.close();
        }
    });

    it("Vault over its HTTP API: seal with the root token in a header, seal-status, a login refused with 503 while sealed; k3d's dev Vault unsealed with the key from its log", async () => {
        // A Vault answering as hashicorp/vault does: PUT sys/seal (token), GET sys/seal-status,
        // POST auth/kubernetes/login -> 503 "Vault is sealed" while sealed, PUT sys/unseal {key}.
        let sealed = false;
        const seen: string[] = [];
        const KEY = "ZGV2LXVuc2VhbC1rZXk=";
        const server = http.createServer((req, res) => {
            let body = "";
            req.on("data", (d) => (body += d));
            req.on("end", () => {
                seen.push(`${req.method} ${req.url} ${req.headers["x-vault-token"] ?? ""}`);
                const json = (code: number, o: unknown) => { res.writeHead(code, { "content-type": "application/json" }); res.end(JSON.stringify(o)); };
                if (req.url === "/v1/sys/seal" && req.method === "PUT") {
                    if (req.headers["x-vault-token"] !== "root-token") return json(403, { errors: ["permission denied"] });
                    sealed = true;
                    res.writeHead(204).end();
                } else if (req.url === "/v1/sys/seal-status") json(200, { initialized: true, sealed });
                else if (req.url === "/v1/auth/kubernetes/login") sealed ? json(503, { errors: ["Vault is sealed"] }) : json(400, { errors: ["invalid jwt"] });
                else if (req.url === "/v1/sys/unseal" && req.method === "PUT") {
                    if (JSON.parse(body).key !== KEY) return json(400, { errors: ["invalid key"] });
                    sealed = false;
                    json(200, { sealed: false });
                } else json(404, { errors: [] });
            });
        });
        await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
        const address = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
        fs.mkdirSync(path.join(env.FAKE_STATE!, "drill"), { recursive: true });
        fs.writeFileSync(path.join(env.FAKE_STATE!, "drill", "dev-unseal-key"), KEY);
        fs.writeFileSync(env.FAKE_LOG!, "");
        const cfg = parseConfig("sandbox-k3d", readStackConfig(ROOT, "sandbox-k3d"));
        const l = new CliLab(cfg, {
            kubeconfig: "apiVersion: v1\nkind: Config\n", nodes: [], vaultAddress: address, vaultRootToken: "root-token",
            postgresEndpoint: "x:5432", postgresAdminUser: "postgres", postgresAdminPassword: "x", giteaUrl: "http://x",
        }, { projectDir: ROOT, env });
        try {
            assert.deepEqual(await l.vaultStatus(), { initialized: true, sealed: false });
            assert.equal((await l.vaultLogin()).sealedRefusal, false);
            await l.vaultSeal();
            assert.deepEqual(await l.vaultStatus(), { initialized: true, sealed: true });
            const login = await l.vaultLogin();
            assert.equal(login.sealedRefusal, true);
            assert.match(login.detail, /^HTTP 503 .*Vault is sealed/);
            assert.equal(await l.vaultUnseal(), "dev Vault unsealed with the key it printed at start");
            assert.equal(sealed, false);
            assert.ok(seen.includes("PUT /v1/sys/seal root-token"));
            const calls = fs.readFileSync(env.FAKE_LOG!, "utf8");
            assert.match(calls, /kubectl --kubeconfig \S+ --request-timeout=20s -n vault logs vault-0/);
            assert.ok(!calls.includes(KEY) && !calls.includes("root-token"), "no secret on a command line");
        } finally {
            l.close();
            server.close();
        }
    });
});
