// npm run policy -- --resources <plan.json> [--stack <name>]   (also: npm run lab -- policy ...)
//
// Evaluates the policy pack over the `resources` of a plan JSON file (what `npm run plan -- <stack>
// --json` prints, or a hand-made one) and prints {"violations": [...]} on stdout.
// Exit 0: no mandatory violation; 1: at least one; 2: bad arguments, unreadable file, or a policy
// that could not run (message on stderr).
// --stack evaluates the resources as that stack's (the stack part of every urn is replaced).
import * as fs from "fs";
import { evaluatePolicies } from "../policy/evaluate";
import { PlanResource } from "./plan-types";
import { CommandSpec, ConfigurationError, EXIT, ParsedArgs, runCli, stringOption, UsageError } from "./cli";

export const spec: CommandSpec = {
    name: "policy",
    summary: "the policy pack over a plan JSON file (a plan --json, or a hand-made one)",
    usage: "--resources <plan.json> [--stack <name>]",
    options: {
        resources: { type: "string", valueName: "plan.json", description: "the plan document ({resources: [...]}) or a bare list of resources" },
        stack: { type: "string", valueName: "name", description: "evaluate the resources as that stack's (the stack part of every urn is replaced)" },
    },
    positionals: { min: 0, max: 0 },
    exits: {},
    outcomes: { 0: "no mandatory violation", 1: "a mandatory violation", 2: "usage error, an unreadable or malformed plan file, or a policy that could not run" },
};

interface Args {
    resources: string;
    stack?: string;
}

function argsOf(a: ParsedArgs): Args {
    const resources = stringOption(a, "resources");
    const stack = stringOption(a, "stack");
    if (!resources) throw new UsageError("which plan? --resources <plan.json>");
    if (stack !== undefined && !/^[A-Za-z0-9_.-]+$/.test(stack)) throw new UsageError(`not a stack name: ${stack}`);
    return { resources, stack };
}

/** The resources of a plan document ({resources: [...]}) or a bare list, checked for the fields policies read. */
function readResources(file: string): PlanResource[] {
    let text: string;
    try {
        text = fs.readFileSync(file, "utf8");
    } catch (e) {
        throw new ConfigurationError(`cannot read ${file}: ${(e as Error).message}`);
    }
    let doc: unknown;
    try {
        doc = JSON.parse(text);
    } catch (e) {
        throw new ConfigurationError(`${file} is not JSON: ${(e as Error).message}`);
    }
    const list = Array.isArray(doc) ? doc : (doc as { resources?: unknown } | null)?.resources;
    if (!Array.isArray(list)) throw new ConfigurationError(`${file} has no "resources" list`);
    list.forEach((r, i) => {
        const at = `${file}: resources[${i}]`;
        if (!r || typeof r !== "object") throw new ConfigurationError(`${at} is not an object`);
        const o = r as Record<string, unknown>;
        for (const k of ["urn", "type", "name"]) {
            if (typeof o[k] !== "string" || !(o[k] as string)) throw new ConfigurationError(`${at} has no "${k}" string`);
        }
        if (!/^urn:pulumi:[^:]*::[^:]*::.+::.*$/.test(o.urn as string)) throw new ConfigurationError(`${at}: "${o.urn}" is not a Pulumi urn`);
        if (o.inputs !== undefined && (o.inputs === null || typeof o.inputs !== "object" || Array.isArray(o.inputs))) {
            throw new ConfigurationError(`${at}: "inputs" is not an object`);
        }
    });
    return list as PlanResource[];
}

/** Exit 0: no mandatory violation; 1: at least one; 2: bad arguments or file, or a policy that could not run. */
export function run(parsed: ParsedArgs): number {
    const args = argsOf(parsed);
    const resources = readResources(args.resources);
    let violations;
    try {
        violations = evaluatePolicies(resources, { stack: args.stack });
    } catch (e) {
        throw new ConfigurationError(`a policy could not run: ${(e as Error).message}`);
    }
    process.stdout.write(`${JSON.stringify({ violations }, null, 2)}\n`);
    return violations.some((v) => v.enforcement === "mandatory") ? EXIT.failed : EXIT.ok;
}

if (require.main === module) runCli(spec, process.argv.slice(2), run);
