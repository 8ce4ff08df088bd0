// The commands of `npm run lab -- <command>` (also `npx lab <command>`): one line each.
// A command is a module tools/<name>.ts that exports `spec` (a CommandSpec, tools/cli.ts) and
// `run` (its main), and ends with `if (require.main === module) runCli(spec, process.argv.slice(2), run);`
// so that `node -r ./tools/register.js tools/<name>.ts` (its npm script) runs it too.
// A line whose module is not there (yet) is left out of the listing: adding a tool is adding its file.
// The summary is shown by `lab` without loading the module (a test checks it equals the spec's).
import * as fs from "fs";
import * as path from "path";

export interface CommandEntry {
    name: string;
    /** The module, relative to tools/, without its extension. */
    module: string;
    summary: string;
}

export const COMMANDS: readonly CommandEntry[] = [
    { name: "plan", module: "plan", summary: "the offline plan of a stack: every resource the program registers, judged by the policy pack" },
    { name: "policy", module: "policy", summary: "the policy pack over a plan JSON file (a plan --json, or a hand-made one)" },
    { name: "verify", module: "verify", summary: "read-only live checks that a brought-up stack works" },
    { name: "restore", module: "restore", summary: "restore an app instance's database from a backup, or list a stack's backups" },
    { name: "drill", module: "drill", summary: "a failure drill on a sandbox (never prod), recorded as evidence for the gate" },
    { name: "gate", module: "gate", summary: "may prod be previewed and applied: the drills its changes need passed on sandbox-vms" },
    { name: "bench", module: "bench", summary: "the offline plan's speed per stack and on synthetic catalogues, as multiples of a floor (about 100 s)" },
    { name: "discover", module: "discover", summary: "read-only: what prod must adopt, read from the live lab into facts/prod.json" },
    { name: "doctor", module: "doctor", summary: "read-only, offline: what this machine lacks for a stack, with the fix for each" },
    { name: "k8s-validate", module: "k8s-validate", summary: "every core Kubernetes object of a stack's offline plan against Kubernetes 1.34's OpenAPI schema" },
    { name: "config-docs", module: "config-docs", summary: "write (or --check) what is generated from the configuration schema: the README's table, the project schema, the validators" },
];

export const TOOLS_DIR = __dirname;

/** The module's file, or undefined when it is not there. */
export function moduleFile(entry: CommandEntry, dir = TOOLS_DIR): string | undefined {
    for (const ext of [".ts", ".js"]) {
        const f = path.join(dir, `${entry.module}${ext}`);
        if (fs.existsSync(f)) return f;
    }
    return undefined;
}

/** The commands whose module exists, in the registry's order. */
export function availableCommands(dir = TOOLS_DIR): CommandEntry[] {
    return COMMANDS.filter((c) => moduleFile(c, dir) !== undefined);
}
