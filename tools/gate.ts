// npm run gate -- prod [--applied <commit>] [--sandbox-applied <commit>]   (also: npm run lab -- gate ...)
// Exit 0: prod may be previewed and applied; 1: what is missing is listed; 2: the gate cannot run.
import { findProjectDir } from "../components/fingerprint";
import { CommandSpec, ParsedArgs, runCli, runCommand, stringOption } from "./cli";
import { runGate } from "./drill/gate";

export const spec: CommandSpec = {
    name: "gate",
    summary: "may prod be previewed and applied: the drills its changes need passed on sandbox-vms",
    usage: "prod [--applied <commit>] [--sandbox-applied <commit>]",
    options: {
        applied: { type: "string", valueName: "commit", description: "prod's appliedCommit (default: pulumi stack output appliedCommit -s prod)" },
        "sandbox-applied": { type: "string", valueName: "commit", description: "sandbox-vms's appliedCommit (default: from the Pulumi CLI)" },
    },
    positionals: { min: 1, max: 1 },
    exits: {},
    outcomes: { 0: "prod may be previewed and applied", 1: "drills missing: what is missing is listed", 2: "usage error, or the gate cannot run (why is printed)" },
};

async function gate(a: ParsedArgs, projectDir: string, out: (l: string) => void): Promise<number> {
    const r = await runGate({ projectDir, target: a.positionals[0], applied: stringOption(a, "applied"), sandboxApplied: stringOption(a, "sandbox-applied") });
    for (const l of r.lines) out(l);
    return r.exitCode;
}

/** Exit 0: prod may go; 1: what is missing is listed; 2: a usage error or the gate cannot run. */
export function run(a: ParsedArgs): Promise<number> {
    return gate(a, findProjectDir(__dirname), (l) => console.log(l));
}

/** The gate over a given project (tests): the usage, help and lines all go to `out`. */
export function gateMain(argv: string[], projectDir: string, out = (l: string) => console.log(l)): Promise<number> {
    const lines = (t: string) => t.replace(/\n$/, "").split("\n").forEach((l) => out(l));
    return runCommand(spec, argv, (a) => gate(a, projectDir, out), { out: lines, err: lines });
}

if (require.main === module) runCli(spec, process.argv.slice(2), run);
