// The offline evaluator against the real thing: the pack served by @pulumi/pulumi's policy-pack
// runner (what `pulumi preview --policy-pack ./policy` starts), driven over its gRPC Analyzer
// service with every hand-made fixture. Both must report the same violations.
import * as assert from "assert";
import { evaluatePolicies } from "../policy/evaluate";
import { Analyzer, fixtures, sorted, startAnalyzer } from "./fixtures/policy/harness";

describe("policy pack: the offline evaluator matches the real analyzer", function () {
    this.timeout(180000);
    let analyzer: Analyzer | undefined;
    let hatched: Analyzer | undefined;
    const env = { ...process.env };
    delete env.LAB_I_MEAN_PROD;
    const hatchEnv = { ...env, LAB_I_MEAN_PROD: "true" };

    before(async () => {
        [analyzer, hatched] = await Promise.all([startAnalyzer(env), startAnalyzer(hatchEnv)]);
    });
    after(() => {
        analyzer?.stop();
        hatched?.stop();
    });

    for (const f of fixtures()) {
        const name = f.file.split("/").pop();
        it(`${name}: same violations`, async () => {
            const real = sorted(await analyzer!.analyze(f.resources));
            assert.deepStrictEqual(sorted(evaluatePolicies(f.resources, { env })), real);
            assert.strictEqual(real.length > 0, f.expect.length > 0, "the real analyzer sees what the fixture expects");
        });
    }

    it("with LAB_I_MEAN_PROD=true in the pack's environment, no-prod-references is advisory in both", async () => {
        const f = fixtures().find((x) => x.file.endsWith("prod-ref-kubeconfig.json"))!;
        const real = sorted(await hatched!.analyze(f.resources));
        assert.ok(real.length > 0);
        assert.ok(real.every((v) => v.policy === "no-prod-references" && v.enforcement === "advisory"));
        assert.deepStrictEqual(sorted(evaluatePolicies(f.resources, { env: hatchEnv })), real);
    });
});
