// npm run lab -- <command> [args] (also npx lab <command>): the one entry point; lists the commands
// (tools/commands.ts) and runs one the way its own npm script does (tools/cli.ts's contract).
import * as path from "path";
import { availableCommands, CommandEntry, COMMANDS, moduleFile } from "./commands";
import { cliStarted, CliIo, CommandSpec, EXIT, exitAfterFlush, exitCodes, ParsedArgs, runCli } from "./cli";

export const LAB_USAGE = "usage: lab <command> [args]   (npm run lab -- <command> [args], npx lab <command> [args])";

/** `lab` and `lab --help`: what the project can do, a line each. */
export function formatCommands(entries: CommandEntry[] = availableCommands()): string {
    const w = Math.max(...entries.map((e) => e.name.length));
    return [
        LAB_USAGE,
        "",
        "commands:",
        ...entries.map((e) => `  ${e.name.padEnd(w)}  ${e.summary}`),
        "",
        "lab <command> --help shows a command's usage, options and exit codes;",
        "lab --exit-codes prints every command's exit codes (the README's table).",
        "Each command is also an npm script: npm run <command> -- [args].",
    ].join("\n");
}

/** A loaded command: its spec and main. */
export interface LoadedCommand {
    spec: CommandSpec;
    run: (args: ParsedArgs) => Promise<number> | number;
}

/** Loads a command's module; undefined when it ran itself (it called runCli on load). */
export function loadCommand(entry: CommandEntry, argv?: string[], dir?: string): LoadedCommand | undefined {
    const file = moduleFile(entry, dir);
    if (!file) throw new Error(`lab: no module tools/${entry.module}.ts for command ${entry.name}`);
    // as if started as `node tools/<module>.ts args`, for a module that reads process.argv on load
    if (argv) process.argv = [process.argv[0], file, ...argv];
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const m = require(file) as Partial<LoadedCommand> & { main?: LoadedCommand["run"] };
    // it called runCli itself on load (with the argv set above): it runs, nothing more to do
    if (argv && cliStarted()) return undefined;
    const run = m.run ?? m.main;
    if (m.spec && typeof run === "function") return { spec: m.spec, run };
    throw new Error(`lab: tools/${path.basename(file)} exports no spec and run (see tools/commands.ts)`);
}

/** The README's exit-code table: what each code means for each command (0, 1, 2 are common to all). */
export function exitCodeTable(specs: CommandSpec[]): string {
    const cell = (t: string) => t.replace(/\|/g, "\\|");
    const rows = specs.map((s) => {
        const codes = exitCodes(s);
        const other = Object.entries(codes).filter(([c]) => Number(c) > 2).map(([c, what]) => `${c}: ${cell(what)}`).join("; ");
        return `| \`${s.name}\` | ${cell(codes[0])} | ${cell(codes[1])} | ${cell(codes[2])} | ${other} |`;
    });
    return ["| command | 0 | 1 | 2 | other |", "| --- | --- | --- | --- | --- |", ...rows].join("\n");
}

/** Loads every available command's spec (for the exit-code table and the tests). */
export function allSpecs(): CommandSpec[] {
    return availableCommands().map((e) => {
        const loaded = loadCommand(e);
        if (!loaded) throw new Error(`lab: tools/${e.module} ran itself on load; it must export spec and run`);
        return loaded.spec;
    });
}

/** Did you mean: the command names closest to a mistyped one. */
function closest(name: string, names: string[]): string[] {
    const d = (a: string, b: string): number => {
        const m = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)] as number[]);
        for (let j = 1; j <= b.length; j++) m[0][j] = j;
        for (let i = 1; i <= a.length; i++) for (let j = 1; j <= b.length; j++) {
            m[i][j] = Math.min(m[i - 1][j] + 1, m[i][j - 1] + 1, m[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
        }
        return m[a.length][b.length];
    };
    return names.filter((n) => d(name, n) <= 2 || n.startsWith(name));
}

/** What `lab` does before a command runs: exit code when it is done, or the command to run. */
export function dispatch(argv: string[], io: CliIo): number | { entry: CommandEntry; args: string[] } {
    const [first, ...rest] = argv;
    const entries = availableCommands();
    if (first === undefined || first === "-h" || first === "--help") {
        io.out(`${formatCommands(entries)}\n`);
        return EXIT.ok;
    }
    if (first === "--exit-codes") {
        io.out(`${exitCodeTable(allSpecs())}\n`);
        return EXIT.ok;
    }
    if (first === "help") {
        if (rest.length === 0) {
            io.out(`${formatCommands(entries)}\n`);
            return EXIT.ok;
        }
        return dispatch([rest[0], "--help"], io);
    }
    const entry = entries.find((e) => e.name === first);
    if (!entry) {
        const known = COMMANDS.find((e) => e.name === first);
        const near = closest(first, entries.map((e) => e.name));
        io.err(`lab: ${known ? `command ${first} is not in this checkout (tools/${known.module}.ts is missing)` : `no command "${first}"`}` +
            `${near.length ? `; did you mean ${near.join(" or ")}?` : ""}\n${formatCommands(entries)}\n`);
        return EXIT.usage;
    }
    return { entry, args: rest };
}

/** The entry point: lists, or runs one command with the shared contract. */
export function labMain(argv: string[]): void {
    const io: CliIo = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) };
    let d: ReturnType<typeof dispatch>;
    try {
        d = dispatch(argv, io);
    } catch (e) {
        process.stderr.write(`lab: ${(e as Error)?.stack ?? String(e)}\n`);
        return exitAfterFlush(EXIT.failed);
    }
    if (typeof d === "number") return exitAfterFlush(d);
    let loaded: LoadedCommand | undefined;
    try {
        loaded = loadCommand(d.entry, d.args);
    } catch (e) {
        process.stderr.write(`lab: ${(e as Error)?.stack ?? String(e)}\n`);
        return exitAfterFlush(EXIT.failed);
    }
    if (loaded) runCli(loaded.spec, d.args, loaded.run);
}

if (require.main === module) labMain(process.argv.slice(2));
