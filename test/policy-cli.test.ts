// `npm run policy -- --resources <plan.json> [--stack <name>]`, as a reviewer runs it: every
// hand-made fixture with a violation exits 1 and reports it; its near-miss twin exits 0.
import * as assert from "assert";
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Violation } from "../tools/plan-types";
import { fixtures, ROOT } from "./fixtures/policy/harness";

const ENV = { ...process.env };
delete ENV.LAB_I_MEAN_PROD;

function policyCli(args: string[], env: NodeJS.ProcessEnv = ENV) {
    const r = spawnSync(process.execPath, ["-r", "./tools/register.js", "tools/policy.ts", ...args], { cwd: ROOT, env, encoding: "utf8" });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

type Run = { code: number | null; stdout: string; stderr: string };

/** The same, asynchronously: the fixtures run side by side. */
function policyCliAsync(args: string[], env: NodeJS.ProcessEnv = ENV): Promise<Run> {
    return new Promise((resolve) => {
        const c = spawn(process.execPath, ["-r", "./tools/register.js", "tools/policy.ts", ...args], { cwd: ROOT, env });
        let stdout = "";
        let stderr = "";
        c.stdout.on("data", (d) => (stdout += d));
        c.stderr.on("data", (d) => (stderr += d));
        c.on("close", (code) => resolve({ code, stdout, stderr }));
    });
}

async function inParallel<T, R>(items: T[], limit: number, f: (x: T) => Promise<R>): Promise<R[]> {
    const out: R[] = new Array(items.length);
    let next = 0;
    await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
        while (next < items.length) {
            const i = next++;
            out[i] = await f(items[i]);
        }
    }));
    return out;
}

function violations(stdout: string): Violation[] {
    const doc = JSON.parse(stdout) as { violations: Violation[] };
    assert.deepStrictEqual(Object.keys(doc), ["violations"], "one JSON document: {violations}");
    return doc.violations;
}

describe("tools/policy.ts (npm run policy)", function () {
    this.timeout(120000);

    const all = fixtures();
    const runs = new Map<string, Run>();
    before(async () => {
        const results = await inParallel(all, Math.max(2, os.cpus().length), (f) => policyCliAsync(["--resources", path.relative(ROOT, f.file)]));
        all.forEach((f, i) => runs.set(f.file, results[i]));
    });

    for (const f of all) {
        const name = path.relative(ROOT, f.file);
        const bad = f.expect.length > 0;
        it(`${name}: exit ${bad ? 1 : 0}${bad ? `, reports ${f.expect.map((e) => e.policy).filter((p, i, a) => a.indexOf(p) === i).join(", ")}` : ""}`, () => {
            const r = runs.get(f.file)!;
            assert.strictEqual(r.code, bad ? 1 : 0, r.stderr + r.stdout);
            assert.strictEqual(r.stderr, "");
            const vs = violations(r.stdout);
            if (!bad) {
                assert.deepStrictEqual(vs, []);
                return;
            }
            for (const e of f.expect) {
                const hit = vs.find((v) => v.policy === e.policy && v.urn === e.urn && v.enforcement === e.enforcement
                    && (!e.path || v.message.includes(` ${e.path}`) || v.message.includes(`"${e.path}"`)));
                assert.ok(hit, `expected ${JSON.stringify(e)} in ${JSON.stringify(vs, null, 2)}`);
            }
            assert.strictEqual(vs.length, f.expect.length, JSON.stringify(vs, null, 2));
        });
    }

    it("LAB_I_MEAN_PROD=true: the prod references are reported as advisory, exit 0", () => {
        const r = policyCli(["--resources", "test/fixtures/policy/prod-ref-kubeconfig.json"], { ...ENV, LAB_I_MEAN_PROD: "true" });
        assert.strictEqual(r.code, 0, r.stderr);
        const vs = violations(r.stdout);
        assert.strictEqual(vs.length, 1);
        assert.strictEqual(vs[0].enforcement, "advisory");
        assert.match(vs[0].message, /kubeconfig>clusters\[0\]\.cluster\.server/);
    });

    it("--stack overrides the stack of the urns", () => {
        // prod's unprotected state is fine in a sandbox; a sandbox's prod reference is prod's own business on prod.
        const asSandbox = violations(policyCli(["--resources", "test/fixtures/policy/prod-state-protected.json", "--stack", "sandbox-k3d"]).stdout);
        assert.deepStrictEqual(asSandbox.filter((v) => v.policy === "prod-state-protected"), []);
        assert.ok(asSandbox.some((v) => v.policy === "no-prod-references" && /arcodange-tf is the prod backup bucket/.test(v.message)));
        assert.strictEqual(policyCli(["--resources", "test/fixtures/policy/prod-ref-address.json", "--stack=prod"]).code, 0);
        const r = policyCli(["--stack", "sandbox-k3d", "--resources", "test/fixtures/policy/prod-ref-address.json"]);
        assert.strictEqual(r.code, 1);
        assert.match(violations(r.stdout)[0].urn!, /^urn:pulumi:sandbox-k3d::/);
    });

    it("reads a bare list of resources too", () => {
        const tmp = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "policy-cli-")), "list.json");
        fs.writeFileSync(tmp, JSON.stringify(fixtures().find((f) => f.file.endsWith("prod-ref-cidr.json"))!.resources));
        assert.strictEqual(policyCli(["--resources", tmp]).code, 1);
        fs.rmSync(path.dirname(tmp), { recursive: true });
    });

    it("--help: the usage on stdout, exit 0, nothing evaluated", () => {
        const r = policyCli(["--help"]);
        assert.strictEqual(r.code, 0, r.stderr);
        assert.match(r.stdout, /^lab policy: .*\n\nusage: lab policy --resources <plan\.json> \[--stack <name>\]\n/);
        assert.strictEqual(r.stderr, "");
    });

    describe("exit 2, a message on stderr, no stack trace", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "policy-cli-"));
        const file = (name: string, text: string) => {
            fs.writeFileSync(path.join(dir, name), text);
            return path.join(dir, name);
        };
        after(() => fs.rmSync(dir, { recursive: true, force: true }));
        const cases: [string, () => string[], RegExp][] = [
            ["no arguments", () => [], /which plan\? --resources <plan\.json>/],
            ["an unknown option", () => ["--resources", "x.json", "--verbose"], /Unknown option '--verbose'[\s\S]*\nusage: lab policy --resources <plan\.json>/],
            ["--resources without a value", () => ["--resources"], /Option '--resources <value>' argument missing/],
            ["an argument", () => ["--resources", "x.json", "extra"], /unexpected argument "extra"/],
            ["a missing file", () => ["--resources", path.join(dir, "nope.json")], /cannot read .*nope\.json/],
            ["not JSON", () => ["--resources", file("bad.json", "{resources: [")], /bad\.json is not JSON/],
            ["no resources list", () => ["--resources", file("empty.json", "{}")], /has no "resources" list/],
            ["a resource without a urn", () => ["--resources", file("nourn.json", JSON.stringify({ resources: [{ type: "t", name: "n" }] }))], /resources\[0\] has no "urn" string/],
            ["a malformed urn", () => ["--resources", file("badurn.json", JSON.stringify({ resources: [{ urn: "erp", type: "t", name: "n" }] }))], /"erp" is not a Pulumi urn/],
            ["a bad stack name", () => ["--resources", "x.json", "--stack", "a b"], /not a stack name/],
        ];
        for (const [what, args, message] of cases) {
            it(what, () => {
                const r = policyCli(args());
                assert.strictEqual(r.code, 2, r.stdout + r.stderr);
                assert.match(r.stderr, message);
                assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
                assert.strictEqual(r.stdout, "");
            });
        }
    });
});
