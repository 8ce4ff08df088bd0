// npm run verify -- <stack> [--outputs <file>] [--json] [--timeout <seconds per check>]   (also: npm run lab -- verify ...)
// Read-only and live: proves a brought-up stack works (see tools/verify/checks.ts for the checks).
// Exit 0: every check holds; 1: one fails; 2: verify cannot run (why is printed).
import { findProjectDir } from "../components/fingerprint";
import { CommandSpec, flag, ParsedArgs, runCli, stringOption, UsageError } from "./cli";
import { runVerify } from "./verify/run";

export const spec: CommandSpec = {
    name: "verify",
    summary: "read-only live checks that a brought-up stack works",
    usage: "<stack> [--outputs <file>] [--json] [--timeout <seconds per check>]",
    options: {
        outputs: { type: "string", valueName: "file", description: "the stack's outputs from this file (pulumi stack output --json --show-secrets) instead of the Pulumi CLI" },
        json: { type: "boolean", description: "one JSON document on stdout" },
        timeout: { type: "string", valueName: "seconds", description: "seconds each check may take (default 60)" },
    },
    positionals: { min: 1, max: 1 },
    exits: {},
    outcomes: { 0: "every check holds", 1: "a check failed (its line says why)", 2: "usage or configuration error, or verify cannot run (no outputs, no Pulumi CLI)" },
};

/** Exit 0: every check holds; 1: one fails; 2: verify cannot run (the report says why). */
export async function run(a: ParsedArgs): Promise<number> {
    const t = stringOption(a, "timeout");
    const timeout = t === undefined ? undefined : Number(t);
    if (timeout !== undefined && !(timeout > 0)) throw new UsageError(`--timeout is "${t}"; expected a number of seconds above 0`);
    const report = await runVerify({
        stack: a.positionals[0], projectDir: findProjectDir(__dirname), outputsFile: stringOption(a, "outputs"), json: flag(a, "json"), checkTimeoutSeconds: timeout,
    });
    return report.exitCode;
}

if (require.main === module) runCli(spec, process.argv.slice(2), run);
