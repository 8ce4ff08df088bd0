// tools/cli.ts: the one command-line contract of every tool (help on stdout exit 0, usage errors
// on stderr exit 2, configuration errors exit 2 without a stack trace, main's number as exit code).
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as path from "path";
import { CommandSpec, ConfigurationError, exitCodes, formatHelp, ParsedArgs, parseCommand, runCommand, UsageError } from "../tools/cli";

const SPEC: CommandSpec = {
    name: "demo",
    summary: "a command for the tests",
    usage: "<stack> [<instance>] [--json] [--config-file <path>]\n--list",
    options: {
        json: { type: "boolean", description: "JSON on stdout" },
        "config-file": { type: "string", short: "c", description: "another stack file", valueName: "path" },
        tag: { type: "string", multiple: true, description: "a tag" },
    },
    positionals: { min: 1, max: 2 },
    exits: { 3: "a backup is stale" },
};

class SpecialError extends Error {}

async function run(argv: string[], main: (a: ParsedArgs) => Promise<number> | number = () => 0, spec: CommandSpec = SPEC) {
    let out = "";
    let err = "";
    const code = await runCommand(spec, argv, main, { out: (t) => (out += t), err: (t) => (err += t) });
    return { code, out, err };
}

describe("cli: one command-line contract for every tool", () => {
    it("-h and --help print the usage, options and exit codes on stdout and exit 0 without running main", async () => {
        for (const h of ["-h", "--help", "prod --help", "--bogus -h"]) {
            let ran = false;
            const r = await run(h.split(" "), () => ((ran = true), 1));
            assert.equal(r.code, 0, h);
            assert.equal(r.err, "", h);
            assert.equal(ran, false, h);
            assert.match(r.out, /^lab demo: a command for the tests\n/);
            assert.match(r.out, /usage: lab demo <stack> \[<instance>\]/);
            assert.match(r.out, /\n {7}lab demo --list\n/);
            assert.match(r.out, /-c, --config-file <path> +another stack file/);
            assert.match(r.out, /-h, --help +print this help/);
            assert.match(r.out, /\n {2}3 {2}a backup is stale/);
            assert.match(r.out, /\n {2}2 {2}usage or configuration error/);
        }
    });

    it("a --help after -- is an argument, not a request for help", async () => {
        const r = await run(["--", "--help"], (a) => (a.positionals[0] === "--help" ? 0 : 1));
        assert.equal(r.code, 0);
        assert.equal(r.out, "");
    });

    it("parses options strictly: values, shorts, repeated and --name=value forms", () => {
        const a = parseCommand(SPEC, ["prod", "-c", "x.yaml", "--json", "--tag", "a", "--tag=b", "app-dev"]);
        assert.deepEqual(a.positionals, ["prod", "app-dev"]);
        assert.equal(a.values.json, true);
        assert.equal(a.values["config-file"], "x.yaml");
        assert.deepEqual(a.values.tag, ["a", "b"]);
        assert.deepEqual(parseCommand(SPEC, ["prod", "--config-file=y.yaml"]).values["config-file"], "y.yaml");
    });

    it("usage errors print the message and the usage on stderr, exit 2, never run main", async () => {
        const cases: [string[], RegExp][] = [
            [["prod", "--bogus"], /Unknown option '--bogus'/],
            [["prod", "--config-file"], /argument missing/],
            [["prod", "--config-file", "--json"], /ambiguous/],
            [["prod", "--json=yes"], /does not take an argument/],
            [[], /an argument is missing/],
            [["prod", "a", "b"], /unexpected argument "b"/],
        ];
        for (const [argv, message] of cases) {
            let ran = false;
            const r = await run(argv, () => ((ran = true), 0));
            assert.equal(r.code, 2, argv.join(" "));
            assert.equal(r.out, "", argv.join(" "));
            assert.equal(ran, false);
            assert.match(r.err, message, argv.join(" "));
            assert.match(r.err, /\nusage: lab demo /);
            assert.doesNotMatch(r.err, /\n\s+at /, "no stack trace");
        }
    });

    it("a UsageError thrown by main is a usage error too (exit 2, usage on stderr)", async () => {
        const r = await run(["prod"], () => {
            throw new UsageError("--list and an instance do not go together");
        });
        assert.equal(r.code, 2);
        assert.match(r.err, /^lab demo: --list and an instance do not go together\nusage: lab demo/);
    });

    it("a configuration error prints its message, exit 2, no stack trace: isConfigError, ConfigurationError, or a declared class", async () => {
        const flagged = Object.assign(new Error('configuration error in stack "nosuch": no file Pulumi.nosuch.yaml'), { isConfigError: true });
        for (const [e, spec] of [[flagged, SPEC], [new ConfigurationError("bad file x.json"), SPEC], [new SpecialError("refused: prod"), { ...SPEC, configErrors: [SpecialError] }]] as [Error, CommandSpec][]) {
            const r = await run(["prod"], async () => {
                throw e;
            }, spec);
            assert.equal(r.code, 2, e.message);
            assert.equal(r.err, `error: ${e.message}\n`);
            assert.equal(r.out, "");
        }
    });

    it("main's number is the exit code; an unexpected error is a bug: stack trace, exit 1", async () => {
        assert.equal((await run(["prod"], () => 3)).code, 3);
        assert.equal((await run(["prod"], async () => 1)).code, 1);
        const r = await run(["prod"], () => {
            throw new SpecialError("boom");
        });
        assert.equal(r.code, 1);
        assert.match(r.err, /a bug, not your mistake.*boom\n\s+at /s);
        assert.equal((await run(["prod"], () => 1.5)).code, 1, "not an exit code");
    });

    it("lists the common exit codes and the tool's own; redefining 0/1/2 is refused", () => {
        assert.deepEqual(Object.keys(exitCodes(SPEC)), ["0", "1", "2", "3"]);
        assert.throws(() => exitCodes({ ...SPEC, exits: { 2: "mine" } }), /common to every tool/);
        assert.match(formatHelp({ name: "x", summary: "s", usage: "" }), /usage: lab x\n/);
    });

    it("runCli exits with main's code after flushing stdout, and a usage error goes to stderr (a real process)", function () {
        this.timeout(30_000);
        const script = `const c = require("./tools/cli");
            c.runCli({ name: "t", summary: "s", usage: "<n>", positionals: { min: 1, max: 1 } }, process.argv.slice(1), (a) => { process.stdout.write("x".repeat(200000)); return Number(a.positionals[0]); });`;
        const root = path.join(__dirname, "..");
        const node = (args: string[]) => spawnSync(process.execPath, ["-r", "./tools/register.js", "-e", script, ...args], { cwd: root, encoding: "utf8" });
        const ok = node(["4"]);
        assert.equal(ok.status, 4, ok.stderr);
        assert.equal(ok.stdout.length, 200000);
        const bad = node([]);
        assert.equal(bad.status, 2);
        assert.match(bad.stderr, /usage: lab t <n>/);
    });
});
