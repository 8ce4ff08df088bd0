import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as path from "path";
import { FLOOR_SCRIPT, TARGETS, verdicts } from "../tools/bench-lib";
import { ROOT } from "./helpers/plan";

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
});
