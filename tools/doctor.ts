// npm run doctor -- <stack>: checks this machine has what <stack> needs before `pulumi up`
// (read-only, offline). Exit 0 when every check holds, 1 otherwise, 2 on a usage or configuration
// error; never a stack trace. (Also: npm run lab -- doctor <stack>.)
import * as path from "path";
import { parseConfig } from "../components/config";
import { readStackConfig, StackFileError } from "../components/stack-config";
import { CommandSpec, EXIT, ParsedArgs, runCli, runCommand } from "./cli";
import { doctorChecks, formatDoctor, realSystem } from "./doctor/checks";

export const spec: CommandSpec = {
    name: "doctor",
    summary: "read-only, offline: what this machine lacks for a stack, with the fix for each",
    usage: "<stack>   (prod, sandbox-k3d or sandbox-vms)",
    positionals: { min: 1, max: 1 },
    outcomes: {
        0: "every check holds",
        1: "something is missing (each line says how to fix it)",
        2: "usage or configuration error, or the checks could not run",
    },
    configErrors: [StackFileError],
};

export async function run(a: ParsedArgs, env: NodeJS.ProcessEnv = process.env): Promise<number> {
    const stack = a.positionals[0];
    const cfg = parseConfig(stack, readStackConfig(path.resolve(__dirname, ".."), stack));
    try {
        const results = await doctorChecks(cfg, realSystem(env));
        console.log(formatDoctor(stack, results));
        return results.every((r) => r.ok) ? EXIT.ok : EXIT.failed;
    } catch (e) {
        console.error(`doctor could not run: ${(e as Error).message ?? String(e)}`);
        return EXIT.usage;
    }
}

/** The doctor from a command line, without exiting (the same contract as runCli). */
export function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
    return runCommand(spec, argv, (a) => run(a, env));
}

if (require.main === module) runCli(spec, process.argv.slice(2), run);
