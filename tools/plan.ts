// npm run plan -- <stack> [--config-file <path>] [--json] [--check]
// npm run plan:update -- <stack>
import * as fs from "fs";
import * as path from "path";
import { isConfigError, parseConfig } from "../components/config";
import { describeParity, Facts, factsOf, parityDifferences } from "../components/parity";
import { listStacks, readStackConfig, StackFileError } from "../components/stack-config";
import { PlanRun, PROJECT_DIR, runPlan } from "./plan-runner";
import { PlanDocument, SECRET_PLACEHOLDER } from "./plan-types";
import { evaluatePolicies } from "../policy/evaluate";
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
function evaluate({ plan, revealed }: PlanRun): PlanDocument {
    const printed = new Map(plan.resources.map((r) => [r.urn, r]));
    const secretsOf = new Map(revealed.map((r) => [r.urn, secretValues(printed.get(r.urn)?.inputs, r.inputs).filter((v) => v.length >= 4)]));
    const violations = evaluatePolicies(revealed).map((v) => {
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

/** One line on parity: this stack's effective versions and catalogue against the other stacks'. */
function parityLine(stack: string, config: Record<string, string>): string {
    const stacks = [...new Set([...listStacks(PROJECT_DIR), stack])].sort();
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
    const plan = evaluate(await runPlan({ stack: args.stack, config, stackFile: args.configFile }));
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
