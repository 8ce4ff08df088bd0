// npm run plan -- <stack> [--config-file <path>] [--json] [--check]
// npm run plan:update -- <stack>
import * as fs from "fs";
import * as path from "path";
import { isConfigError, parseConfig } from "../components/config";
import { describeParity, Facts, factsOf, parityDifferences } from "../components/parity";
import { readStackConfig, StackFileError } from "../components/stack-config";
import { PROJECT_DIR, runPlan } from "./plan-runner";
import { PlanDocument } from "./plan-types";
import { diffPlans, renderTree, stringifyPlan } from "./plan-format";

const USAGE = "usage: npm run plan -- <stack> [--config-file <path>] [--json] [--check]\n       npm run plan:update -- <stack>";

interface Args {
    stack: string;
    configFile?: string;
    json: boolean;
    check: boolean;
    update: boolean;
}

class UsageError extends Error {}

function parseArgs(argv: string[]): Args {
    const args: Partial<Args> = { json: false, check: false, update: false };
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        if (a === "--json") args.json = true;
        else if (a === "--check") args.check = true;
        else if (a === "--update") args.update = true;
        else if (a === "--config-file") {
            const f = argv[++i];
            if (!f) throw new UsageError("--config-file needs a path");
            args.configFile = path.resolve(f);
        } else if (a.startsWith("-")) throw new UsageError(`unknown option ${a}`);
        else if (!args.stack) args.stack = a;
        else throw new UsageError(`unexpected argument ${a}`);
    }
    if (!args.stack) throw new UsageError("which stack? e.g. prod, sandbox-k3d, sandbox-vms");
    return args as Args;
}

export function goldenPath(stack: string): string {
    return path.join(PROJECT_DIR, "test", "golden", `${stack}.plan.json`);
}

/** Fills `violations` with the policy pack's verdicts, when the pack is there. */
function evaluate(plan: PlanDocument): PlanDocument {
    let evaluatePolicies: ((r: PlanDocument["resources"]) => PlanDocument["violations"]) | undefined;
    try {
        evaluatePolicies = require("../policy/evaluate").evaluatePolicies;
    } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "MODULE_NOT_FOUND") throw e;
    }
    return evaluatePolicies ? { ...plan, violations: evaluatePolicies(plan.resources) } : plan;
}

/** The committed stacks (Pulumi.<stack>.yaml beside Pulumi.yaml). */
export function committedStacks(): string[] {
    return fs.readdirSync(PROJECT_DIR).map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1]).filter((s): s is string => !!s).sort();
}

/** One line on parity: this stack's effective versions and catalogue against the other stacks'. */
function parityLine(stack: string, config: Record<string, string>): string {
    const stacks = [...new Set([...committedStacks(), stack])].sort();
    const facts: Record<string, Facts> = {};
    for (const s of stacks) {
        try {
            facts[s] = factsOf(parseConfig(s, s === stack ? config : readStackConfig(PROJECT_DIR, s)));
        } catch (e) {
            return `parity: not checked, stack ${s} does not load: ${(e as Error).message}`;
        }
    }
    return describeParity(parityDifferences(facts), stacks);
}

async function main(): Promise<number> {
    let args: Args;
    try {
        args = parseArgs(process.argv.slice(2));
    } catch (e) {
        process.stderr.write(`${(e as Error).message}\n${USAGE}\n`);
        return 2;
    }
    const started = Date.now();
    const config = readStackConfig(PROJECT_DIR, args.stack, args.configFile);
    const plan = evaluate(await runPlan({ stack: args.stack, config }));
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
    if (args.json) process.stdout.write(text);
    else process.stdout.write(`${renderTree(plan, Date.now() - started)}${parityLine(args.stack, config)}\n`);
    return mandatory ? 1 : 0;
}

/** Exits once stdout is flushed: a large plan written to a pipe must not be cut short. */
function exitAfterFlush(code: number): void {
    process.stdout.write("", () => process.exit(code));
}

main().then(
    (code) => exitAfterFlush(code),
    (e) => {
        if (isConfigError(e) || e instanceof StackFileError) {
            process.stderr.write(`error: ${(e as Error).message}\n`);
        } else {
            process.stderr.write(`error: the program failed: ${(e as Error)?.stack ?? String(e)}\n`);
        }
        exitAfterFlush(2);
    },
);
