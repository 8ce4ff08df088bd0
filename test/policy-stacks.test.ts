// The three committed stacks have no mandatory violation: the offline plan (tools/plan.ts, which
// runs the real program under mocks and evaluates the pack) of each, and the pack run here over
// the plan's resources again. The prod plan evaluated as a sandbox shows the pack is not asleep.
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { evaluatePolicies } from "../policy/evaluate";
import { PlanDocument } from "../tools/plan-types";
import { ROOT } from "./fixtures/policy/harness";

const PLAN_TOOL = path.join(ROOT, "tools", "plan.ts");
const ENV = { ...process.env };
delete ENV.LAB_I_MEAN_PROD;

function plan(stack: string): PlanDocument {
    const r = spawnSync(process.execPath, ["-r", "./tools/register.js", "tools/plan.ts", stack, "--json"],
        { cwd: ROOT, env: ENV, encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
    assert.ok(r.status === 0 || r.status === 1, `npm run plan -- ${stack} --json failed (${r.status}): ${r.stderr}`);
    return JSON.parse(r.stdout) as PlanDocument;
}

describe("policy pack: the committed stacks", function () {
    this.timeout(300000);
    const plans = new Map<string, PlanDocument>();

    before(function () {
        if (!fs.existsSync(PLAN_TOOL)) this.skip(); // the plan tool is not there yet
        for (const s of ["prod", "sandbox-k3d", "sandbox-vms"]) plans.set(s, plan(s));
    });

    for (const stack of ["prod", "sandbox-k3d", "sandbox-vms"]) {
        it(`${stack}: no mandatory violation`, () => {
            const p = plans.get(stack)!;
            assert.strictEqual(p.stack, stack);
            assert.ok(p.resources.length > 0, "the plan has resources");
            const mandatory = (vs: PlanDocument["violations"]) => vs.filter((v) => v.enforcement === "mandatory");
            assert.deepStrictEqual(mandatory(p.violations), [], "the plan's own verdict");
            assert.deepStrictEqual(mandatory(evaluatePolicies(p.resources, { env: {} })), [], "the pack over the plan's resources");
        });
    }

    it("prod's plan, evaluated as a sandbox's, names prod: the pack sees the real resources", () => {
        const vs = evaluatePolicies(plans.get("prod")!.resources, { env: {}, stack: "sandbox-vms" });
        assert.ok(vs.some((v) => v.policy === "no-prod-references" && v.enforcement === "mandatory"), JSON.stringify(vs.slice(0, 3), null, 2));
    });
});
