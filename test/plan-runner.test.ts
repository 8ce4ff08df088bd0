import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as path from "path";
import { ROOT } from "./helpers/plan";

describe("the offline plan runner", () => {
    it("fails when a resource's input fails, instead of leaving the resource out", () => {
        const program = path.join(ROOT, "test", "fixtures", "plan", "failing-input.ts");
        const script = `require(${JSON.stringify(path.join(ROOT, "tools", "plan-runner.ts"))}).runPlan({ stack: "t", config: {}, program: ${JSON.stringify(program)} })
            .then((r) => { console.log("resources " + r.plan.resources.length); process.exit(0); }, (e) => { console.log("failed: " + e.message); process.exit(3); });`;
        const r = spawnSync(process.execPath, ["-r", path.join(ROOT, "tools", "register.js"), "-e", script], { cwd: ROOT, encoding: "utf8", timeout: 60000 });
        assert.equal(r.status, 3, r.stdout + r.stderr);
        assert.match(r.stdout, /failed: .*the input of the second namespace failed/);
    });
});

describe("the golden comparison", () => {
    it("sees a change of the stack's outputs, not only of its resources", () => {
        const { diffPlans } = require("../tools/plan-format") as typeof import("../tools/plan-format");
        const base = { stack: "prod", project: "homelab", resources: [], violations: [], outputs: { vaultAddress: "https://a" } };
        assert.deepEqual(diffPlans(base, base), []);
        assert.deepEqual(diffPlans(base, { ...base, outputs: { vaultAddress: "https://b", appliedCommit: "x" } }),
            ["~ outputs", "    appliedCommit: (none) -> \"x\"", "    vaultAddress: \"https://a\" -> \"https://b\""]);
    });
});
