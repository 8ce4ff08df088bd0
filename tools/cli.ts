// The one command-line parser of every tool (`npm run lab -- <command>`, `npm run <command> -- ...`).
// Built on node:util's parseArgs in strict mode (https://nodejs.org/api/util.html#utilparseargsconfig):
// unknown options, a missing option value and a boolean given a value are usage errors.
//
// The contract, the same for every tool:
//   -h/--help            usage on stdout, exit 0 (before anything else runs)
//   a usage error        message and usage on stderr, exit 2
//   a configuration error (an error with isConfigError === true, or of a class in spec.configErrors)
//                        its message on stderr, exit 2, never a stack trace
//   main's number        the exit code (0 ok, 1 a failed check, others declared in spec.exits)
//   anything else        a bug: the stack trace on stderr, exit 1
// This module loads nothing but node:util, so `--help` stays instant.
import { parseArgs } from "node:util";

export const EXIT = { ok: 0, failed: 1, usage: 2 } as const; // usage AND configuration errors: 2

/** A mistake in the command line: usage on stderr, exit 2. */
export class UsageError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "UsageError";
    }
}

/** A mistake in what the user gave (a file, a value) that is not the command line: its message, exit 2. */
export class ConfigurationError extends Error {
    readonly isConfigError = true;
    constructor(message: string) {
        super(message);
        this.name = "ConfigurationError";
    }
}

export interface OptionSpec {
    type: "boolean" | "string";
    short?: string;
    multiple?: boolean;
    description: string;
    /** For the help text of a string option: what its value is (default "value"). */
    valueName?: string;
}

export interface CommandSpec {
    name: string;
    summary: string;
    /** e.g. "<stack> <instance> [--list]"; several forms on separate lines. */
    usage: string;
    options?: Record<string, OptionSpec>;
    positionals?: { min: number; max: number };
    /** Tool-specific codes beyond 0/1/2, for the README table. */
    exits?: Record<number, string>;
    /** Error classes reported like configuration errors (message on stderr, exit 2, no stack trace). */
    configErrors?: (abstract new (...args: never[]) => Error)[];
    /** Extra help text printed after the options (e.g. the list of drills). */
    epilog?: string | (() => string);
}

export interface ParsedArgs {
    values: Record<string, string | boolean | string[] | undefined>;
    positionals: string[];
}

/** The codes every tool shares. */
export const COMMON_EXITS: Record<number, string> = {
    [EXIT.ok]: "success",
    [EXIT.failed]: "a check failed (what failed is printed)",
    [EXIT.usage]: "usage or configuration error (the message says what to fix)",
};

/** Every exit code of a command: the common ones, then its own. */
export function exitCodes(spec: CommandSpec): Record<number, string> {
    for (const code of Object.keys(spec.exits ?? {}).map(Number)) {
        if (code in COMMON_EXITS) throw new Error(`${spec.name}: exit ${code} is common to every tool; declare only codes beyond 0/1/2`);
    }
    return { ...COMMON_EXITS, ...spec.exits };
}

export function isConfigError(e: unknown, spec?: CommandSpec): boolean {
    if (!e || typeof e !== "object") return false;
    if ((e as { isConfigError?: unknown }).isConfigError === true) return true;
    return (spec?.configErrors ?? []).some((c) => e instanceof c);
}

const HELP: OptionSpec = { type: "boolean", short: "h", description: "print this help and exit" };

function optionLabel(name: string, o: OptionSpec): string {
    const long = `--${name}${o.type === "string" ? ` <${o.valueName ?? "value"}>` : ""}`;
    return o.short ? `-${o.short}, ${long}` : `    ${long}`;
}

/** The usage lines alone (what a usage error prints). */
export function formatUsage(spec: CommandSpec): string {
    const forms = spec.usage.split("\n").map((l) => l.trim()).filter((l) => l.length > 0);
    if (forms.length === 0) forms.push("");
    return forms.map((f, i) => `${i === 0 ? "usage: " : "       "}lab ${spec.name}${f ? ` ${f}` : ""}`).join("\n");
}

/** The whole help text: summary, usage, options, exit codes. */
export function formatHelp(spec: CommandSpec): string {
    const options: [string, OptionSpec][] = [...Object.entries(spec.options ?? {}), ["help", HELP]];
    const labels = options.map(([n, o]) => optionLabel(n, o));
    const w = Math.max(...labels.map((l) => l.length));
    const codes = exitCodes(spec);
    const epilog = typeof spec.epilog === "function" ? spec.epilog() : spec.epilog;
    return [
        `lab ${spec.name}: ${spec.summary}`,
        "",
        formatUsage(spec),
        `       (also: npm run lab -- ${spec.name} ...)`,
        "",
        "options:",
        ...options.map(([, o], i) => `  ${labels[i].padEnd(w)}  ${o.description}${o.multiple ? " (repeatable)" : ""}`),
        "",
        "exit codes:",
        ...Object.entries(codes).map(([c, d]) => `  ${c}  ${d}`),
        ...(epilog ? ["", epilog] : []),
    ].join("\n");
}

/** True when -h/--help stands before any `--`. */
export function wantsHelp(argv: string[]): boolean {
    for (const a of argv) {
        if (a === "--") return false;
        if (a === "--help" || a === "-h") return true;
    }
    return false;
}

/** Parses argv against the spec (strict); throws UsageError. Does not handle --help (see wantsHelp). */
export function parseCommand(spec: CommandSpec, argv: string[]): ParsedArgs {
    const options: Record<string, { type: "boolean" | "string"; short?: string; multiple?: boolean }> = {};
    for (const [name, o] of Object.entries(spec.options ?? {})) {
        options[name] = { type: o.type, ...(o.short ? { short: o.short } : {}), ...(o.multiple ? { multiple: true } : {}) };
    }
    let parsed: { values: Record<string, unknown>; positionals: string[] };
    try {
        parsed = parseArgs({ args: argv, options, strict: true, allowPositionals: true });
    } catch (e) {
        const code = (e as { code?: string }).code ?? "";
        if (code.startsWith("ERR_PARSE_ARGS")) throw new UsageError((e as Error).message);
        throw e;
    }
    const values: ParsedArgs["values"] = {};
    for (const [k, v] of Object.entries(parsed.values)) values[k] = v as string | boolean | string[] | undefined;
    const positionals = parsed.positionals;
    const { min, max } = spec.positionals ?? { min: 0, max: 0 };
    if (positionals.length < min) {
        throw new UsageError(min === 1 && positionals.length === 0 ? "an argument is missing" : `expected at least ${min} arguments, got ${positionals.length}`);
    }
    if (positionals.length > max) throw new UsageError(`unexpected argument "${positionals[max]}"`);
    return { values, positionals };
}

export interface CliIo {
    out: (text: string) => void;
    err: (text: string) => void;
}

const processIo: CliIo = {
    out: (t) => process.stdout.write(t),
    err: (t) => process.stderr.write(t),
};

/** What runCli does, without exiting: returns the exit code (for tests and the `lab` dispatcher). */
export async function runCommand(
    spec: CommandSpec,
    argv: string[],
    main: (args: ParsedArgs) => Promise<number> | number,
    io: CliIo = processIo,
): Promise<number> {
    const usageError = (e: Error): number => {
        io.err(`lab ${spec.name}: ${e.message}\n${formatUsage(spec)}\n(lab ${spec.name} --help for more)\n`);
        return EXIT.usage;
    };
    if (wantsHelp(argv)) {
        io.out(`${formatHelp(spec)}\n`);
        return EXIT.ok;
    }
    let args: ParsedArgs;
    try {
        args = parseCommand(spec, argv);
    } catch (e) {
        if (e instanceof UsageError) return usageError(e);
        throw e;
    }
    try {
        const code = await main(args);
        if (!Number.isInteger(code) || code < 0 || code > 255) throw new Error(`${spec.name} returned ${String(code)}, not an exit code`);
        return code;
    } catch (e) {
        if (e instanceof UsageError) return usageError(e);
        if (isConfigError(e, spec)) {
            io.err(`error: ${(e as Error).message}\n`);
            return EXIT.usage;
        }
        io.err(`lab ${spec.name}: failed unexpectedly (a bug, not your mistake): ${(e as Error)?.stack ?? String(e)}\n`);
        return EXIT.failed;
    }
}

/** Exits once stdout and stderr are flushed: a large output written to a pipe must not be cut short. */
export function exitAfterFlush(code: number): void {
    process.stdout.write("", () => process.stderr.write("", () => process.exit(code)));
}

/**
 * Parses argv with node:util parseArgs; -h/--help prints usage to stdout, exit 0; a usage error
 * prints usage to stderr, exit 2; a configuration error (isConfigError) prints its message, exit 2;
 * main's number is the exit code; never a stack trace for a user's mistake.
 */
export function runCli(spec: CommandSpec, argv: string[], main: (args: ParsedArgs) => Promise<number> | number): void {
    runCommand(spec, argv, main).then(exitAfterFlush, (e) => {
        process.stderr.write(`lab ${spec.name}: ${(e as Error)?.stack ?? String(e)}\n`);
        exitAfterFlush(EXIT.failed);
    });
}

/** A string option's value (the last one if given several times), or undefined. */
export function stringOption(args: ParsedArgs, name: string): string | undefined {
    const v = args.values[name];
    if (Array.isArray(v)) return v[v.length - 1];
    return typeof v === "string" ? v : undefined;
}

/** A boolean option: true when given. */
export function flag(args: ParsedArgs, name: string): boolean {
    return args.values[name] === true;
}
