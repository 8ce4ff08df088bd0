import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as path from "path";
import * as fs from "fs";
import * as YAML from "yaml";
import { parseConfig } from "../components/config";
import { FLOOR_SCRIPT, syntheticStackDoc, TARGETS, verdicts } from "../tools/bench-lib";
import { ROOT, runPlanCli } from "./helpers/plan";

describe("npm run bench: targets as ratios", () => {
    const per = (a: number, b: number) => [{ instances: 50, msPerResource: a }, { instances: 500, msPerResource: b }];

    it("judges the prod plan against the floor measured in the same run, not in milliseconds", () => {
        const fast = verdicts({ floorMs: 500, prodMs: 900, perResource: per(2, 2) });
        const slow = verdicts({ floorMs: 2000, prodMs: 3600, perResource: per(8, 8) });
        assert.deepEqual(fast.map((v) => v.met), [true, true]);
        assert.deepEqual(slow.map((v) => v.met), [true, true], "a machine four times slower meets the same targets");
        const missed = verdicts({ floorMs: 500, prodMs: 1750, perResource: per(2, 3.2) });
        assert.equal(missed[0].met, false);
        assert.match(missed[0].line, /^MISSED prod plan \/ floor \(1750 ms \/ 500 ms\): 3\.50x \(target <= 2x\)/);
        assert.equal(missed[1].met, false);
        assert.match(missed[1].line, /MISSED time per resource at 500 instances \/ at 50: 1\.60x/);
        assert.equal(TARGETS.prodOverFloor, 2);
        assert.equal(TARGETS.growth, 1.5);
    });

    it("has a floor that loads every SDK the program uses", () => {
        const r = spawnSync(process.execPath, ["-r", path.join(ROOT, "tools", "register.js"), "-e", FLOOR_SCRIPT], { cwd: ROOT, encoding: "utf8", timeout: 60000 });
        assert.equal(r.status, 0, r.stderr);
        for (const m of ["kubernetes", "vault", "postgresql", "cloudflare", "gcp", "command"]) assert.ok(FLOOR_SCRIPT.includes(`@pulumi/${m}`), m);
    });

    it("builds synthetic catalogues that prod's configuration loader accepts, and the plan runs", () => {
        const doc = syntheticStackDoc(YAML.parse(fs.readFileSync(path.join(ROOT, "Pulumi.prod.yaml"), "utf8")), 50);
        const raw: Record<string, string> = {};
        for (const [k, v] of Object.entries(YAML.parse(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8")).config as Record<string, { value: unknown }>)) {
            raw[k.includes(":") ? k : `homelab:${k}`] = typeof v.value === "string" ? v.value : JSON.stringify(v.value);
        }
        for (const [k, v] of Object.entries(doc.config)) raw[k] = typeof v === "string" ? v : JSON.stringify(v);
        assert.equal(parseConfig("prod", raw).apps.length, 25);
        const file = path.join(fs.mkdtempSync(path.join(require("os").tmpdir(), "bench-test-")), "Pulumi.prod.yaml");
        fs.writeFileSync(file, YAML.stringify(doc));
        const r = runPlanCli(["prod", "--json", "--config-file", file]);
        assert.equal(r.status, 0, r.stderr);
    });
});
