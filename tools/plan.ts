// npm run plan -- <stack> [--config-file <path>] [--json] [--check]   (also: npm run lab -- plan ...)
// npm run plan:update -- <stack>
import * as fs from "fs";
import * as path from "path";
import { isConfigError, parseConfig, PROD_STACK } from "../components/config";
import { CommandSpec, EXIT, flag, ParsedArgs, runCli, stringOption } from "./cli";
import { describeParity, Facts, factsOf, parityDifferences } from "../components/parity";
import { listStacks, readStackConfig, StackFileError } from "../components/stack-config";
import { PlanRun, PROJECT_DIR, runPlan } from "./plan-runner";
import { PlanDocument, SECRET_PLACEHOLDER } from "./plan-types";
import { evaluatePolicies } from "../policy/evaluate";
import { diffPlans, renderTree, stringifyPlan } from "./plan-format";

export const spec: CommandSpec = {
    name: "plan",
    summary: "the offline plan of a stack: every resource the program registers, judged by the policy pack",
    usage: "<stack> [--config-file <path>] [--json] [--check]\n<stack> --update",
    options: {
        "config-file": { type: "string", valueName: "path", description: "the stack's configuration from this file instead of Pulumi.<stack>.yaml" },
        json: { type: "boolean", description: "one JSON document on stdout (sorted, byte-identical between runs)" },
        check: { type: "boolean", description: "compare with test/golden/<stack>.plan.json; exit 1 on a difference" },
        update: { type: "boolean", description: "write test/golden/<stack>.plan.json (npm run plan:update -- <stack>)" },
    },
    positionals: { min: 1, max: 1 },
    exits: {},
    outcomes: { 0: "no mandatory policy violation", 1: "a mandatory policy violation, or (--check) a difference from the golden plan", 2: "usage or configuration error, or the program failed" },
    configErrors: [StackFileError],
};

interface Args {
    stack: string;
    configFile?: string;
    json: boolean;
    check: boolean;
    update: boolean;
}

function argsOf(a: ParsedArgs): Args {
    const configFile = stringOption(a, "config-file");
    return {
        stack: a.positionals[0],
        configFile: configFile === undefined ? undefined : path.resolve(configFile),
        json: flag(a, "json"),
        check: flag(a, "check"),
        update: flag(a, "update"),
    };
}

export function goldenPath(stack: string): string {
    return path.join(PROJECT_DIR, "test", "golden", `${stack}.plan.json`);
}

/** The plain-text values of a resource's secret inputs (where the printed plan says "[secret]"). */
function secretValues(printed: unknown, revealed: unknown, out: string[] = []): string[] {
    if (printed === SECRET_PLACEHOLDER && revealed !== SECRET_PLACEHOLDER) {
        const collect = (v: unknown): void => {
            if (typeof v === "string") out.push(v.replace(/\s+/g, " ").trim());
            else if (v && typeof v === "object") Object.values(v as object).forEach(collect);
        };
        collect(revealed);
    } else if (printed && typeof printed === "object" && revealed && typeof revealed === "object") {
        for (const k of Object.keys(printed as object)) {
            secretValues((printed as Record<string, unknown>)[k], (revealed as Record<string, unknown>)[k], out);
        }
    }
    return out;
}

/**
 * The policy pack judges the plain values (as under the real CLI, where a prod address inside a
 * secret kubeconfig must still be caught), but what it quotes of a secret is never printed.
 */
function evaluate({ plan, revealed }: PlanRun, config: Record<string, string>): PlanDocument {
    const printed = new Map(plan.resources.map((r) => [r.urn, r]));
    const secretsOf = new Map(revealed.map((r) => [r.urn, secretValues(printed.get(r.urn)?.inputs, r.inputs).filter((v) => v.length >= 4)]));
    // judged with the configuration the plan ran with (a --config-file's migrations too)
    const violations = evaluatePolicies(revealed, { stackConfig: { stack: plan.stack, raw: config } }).map((v) => {
        const secrets = (v.urn && secretsOf.get(v.urn)) || [];
        if (secrets.length === 0) return v;
        const message = v.message.replace(/"([^"]*)"/g, (quoted, inner: string) => {
            const bare = inner.replace(/^…|…$/g, "");
            return bare.length > 0 && secrets.some((s) => s.includes(bare)) ? `"${SECRET_PLACEHOLDER}"` : quoted;
        });
        return { ...v, message };
    });
    return { ...plan, violations };
}

/**
 * Parity: this stack's effective versions and catalogue against the other stacks' (a line), and
 * whether this stack, a sandbox, drifts from prod beyond the declared exceptions (components/parity.ts).
 * The PRD's parity manifest: same k3s, charts, app list, three nodes; drift = fail.
 */
function parity(stack: string, config: Record<string, string>): { line: string; drift?: string } {
    const stacks = [...new Set([...listStacks(PROJECT_DIR), stack])].sort();
    const facts: Record<string, Facts> = {};
    for (const s of stacks) {
        try {
            facts[s] = factsOf(parseConfig(s, s === stack ? config : readStackConfig(PROJECT_DIR, s)));
        } catch (e) {
            return { line: `parity: not checked, stack ${s} does not load: ${(e as Error).message}` };
        }
    }
    const line = describeParity(parityDifferences(facts), stacks);
    if (stack === PROD_STACK || !facts[PROD_STACK]) return { line };
    const drift = parityDifferences({ [PROD_STACK]: facts[PROD_STACK], [stack]: facts[stack] });
    if (drift.length === 0) return { line };
    return {
        line,
        drift: `parity: stack ${stack} drifts from prod without a declared exception, which fails the plan:\n` +
            drift.map((d) => `  ${d.fact}: prod=${d.values[PROD_STACK]}, ${stack}=${d.values[stack]}`).join("\n") +
            "\n  (make it run what prod runs, or declare the difference with its reason in components/parity.ts)",
    };
}

/** The plan's main: exit 0 no mandatory violation, 1 one (or a golden difference), 2 a program or configuration error. */
export async function run(parsed: ParsedArgs): Promise<number> {
    const args = argsOf(parsed);
    try {
        return await plan(args);
    } catch (e) {
        if (isConfigError(e) || e instanceof StackFileError) throw e;
        // the program itself failed (e.g. an apply that throws): its stack is what to read
        process.stderr.write(`error: the program failed: ${(e as Error)?.stack ?? String(e)}\n`);
        return EXIT.usage;
    }
}

async function plan(args: Args): Promise<number> {
    const started = Date.now();
    const config = readStackConfig(PROJECT_DIR, args.stack, args.configFile);
    // Validated here first, where it is known which file holds each key (the program validates again).
    parseConfig(args.stack, config);
    const plan = evaluate(await runPlan({ stack: args.stack, config, stackFile: args.configFile }), config);
    const text = stringifyPlan(plan);
    const mandatory = plan.violations.filter((v) => v.enforcement === "mandatory").length;

    if (args.update) {
        fs.writeFileSync(goldenPath(args.stack), text);
        process.stderr.write(`wrote ${path.relative(PROJECT_DIR, goldenPath(args.stack))} (${plan.resources.length} resources)\n`);
        return mandatory ? 1 : 0;
    }
    if (args.check) {
        const golden = goldenPath(args.stack);
        if (!fs.existsSync(golden)) {
            process.stderr.write(`no golden plan ${path.relative(PROJECT_DIR, golden)}: create it with npm run plan:update -- ${args.stack}\n`);
            return 1;
        }
        const expected = JSON.parse(fs.readFileSync(golden, "utf8")) as PlanDocument;
        const diff = diffPlans(expected, plan);
        if (diff.length) {
            process.stdout.write(`the ${args.stack} plan differs from ${path.relative(PROJECT_DIR, golden)}:\n${diff.join("\n")}\n` +
                `if the change to ${args.stack} is meant, run: npm run plan:update -- ${args.stack}\n`);
            return 1;
        }
        process.stdout.write(`the ${args.stack} plan matches its golden file (${plan.resources.length} resources)\n`);
        return mandatory ? 1 : 0;
    }
    const { line, drift } = parity(args.stack, config);
    if (args.json) process.stdout.write(text);
    else process.stdout.write(`${renderTree(plan, Date.now() - started)}${line}\n`);
    if (drift) process.stderr.write(`${drift}\n`);
    return mandatory || drift ? 1 : 0;
}

if (require.main === module) runCli(spec, process.argv.slice(2), run);
