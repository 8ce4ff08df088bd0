// npm run policy -- --resources <plan.json> [--stack <name>]
//
// Evaluates the policy pack over the `resources` of a plan JSON file (what `npm run plan -- <stack>
// --json` prints, or a hand-made one) and prints {"violations": [...]} on stdout.
// Exit 0: no mandatory violation; 1: at least one; 2: bad arguments, unreadable file, or a policy
// that could not run (message on stderr).
// --stack evaluates the resources as that stack's (the stack part of every urn is replaced).
import * as fs from "fs";
import { evaluatePolicies } from "../policy/evaluate";
import { PlanResource } from "./plan-types";

const USAGE = "usage: npm run policy -- --resources <plan.json> [--stack <name>]";

class UsageError extends Error {}

interface Args {
    resources: string;
    stack?: string;
}

function parseArgs(argv: string[]): Args {
    const out: Partial<Args> = {};
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        const value = (flag: string): string => {
            const eq = a.indexOf("=");
            if (eq >= 0) return a.slice(eq + 1);
            const v = argv[++i];
            if (v === undefined || v.startsWith("--")) throw new UsageError(`${flag} needs a value`);
            return v;
        };
        if (a === "--resources" || a.startsWith("--resources=")) out.resources = value("--resources");
        else if (a === "--stack" || a.startsWith("--stack=")) out.stack = value("--stack");
        else throw new UsageError(`unexpected argument ${a}`);
    }
    if (!out.resources) throw new UsageError("which plan? --resources <plan.json>");
    if (out.stack !== undefined && !/^[A-Za-z0-9_.-]+$/.test(out.stack)) throw new UsageError(`not a stack name: ${out.stack}`);
    return out as Args;
}

/** The resources of a plan document ({resources: [...]}) or a bare list, checked for the fields policies read. */
function readResources(file: string): PlanResource[] {
    let text: string;
    try {
        text = fs.readFileSync(file, "utf8");
    } catch (e) {
        throw new UsageError(`cannot read ${file}: ${(e as Error).message}`);
    }
    let doc: unknown;
    try {
        doc = JSON.parse(text);
    } catch (e) {
        throw new UsageError(`${file} is not JSON: ${(e as Error).message}`);
    }
    const list = Array.isArray(doc) ? doc : (doc as { resources?: unknown } | null)?.resources;
    if (!Array.isArray(list)) throw new UsageError(`${file} has no "resources" list`);
    list.forEach((r, i) => {
        const at = `${file}: resources[${i}]`;
        if (!r || typeof r !== "object") throw new UsageError(`${at} is not an object`);
        const o = r as Record<string, unknown>;
        for (const k of ["urn", "type", "name"]) {
            if (typeof o[k] !== "string" || !(o[k] as string)) throw new UsageError(`${at} has no "${k}" string`);
        }
        if (!/^urn:pulumi:[^:]*::[^:]*::.+::.*$/.test(o.urn as string)) throw new UsageError(`${at}: "${o.urn}" is not a Pulumi urn`);
        if (o.inputs !== undefined && (o.inputs === null || typeof o.inputs !== "object" || Array.isArray(o.inputs))) {
            throw new UsageError(`${at}: "inputs" is not an object`);
        }
    });
    return list as PlanResource[];
}

function main(): number {
    let args: Args;
    let resources: PlanResource[];
    try {
        args = parseArgs(process.argv.slice(2));
        resources = readResources(args.resources);
    } catch (e) {
        process.stderr.write(`error: ${(e as Error).message}\n${USAGE}\n`);
        return 2;
    }
    let violations;
    try {
        violations = evaluatePolicies(resources, { stack: args.stack });
    } catch (e) {
        process.stderr.write(`error: ${(e as Error).message}\n`);
        return 2;
    }
    process.stdout.write(`${JSON.stringify({ violations }, null, 2)}\n`);
    return violations.some((v) => v.enforcement === "mandatory") ? 1 : 0;
}

const code = main();
process.stdout.write("", () => process.exit(code));
