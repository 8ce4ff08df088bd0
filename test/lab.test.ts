// `npm run lab -- <command>` (also `npx lab`): one entry point over the registry tools/commands.ts;
// every command answers --help and usage errors the same way (tools/cli.ts), its npm script stays,
// and the README's exit-code table is the specs'.
import { strict as assert } from "assert";
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { CliIo, runCommand } from "../tools/cli";
import { availableCommands, COMMANDS, moduleFile } from "../tools/commands";
import { allSpecs, dispatch, exitCodeTable, loadCommand } from "../tools/lab";
import { ROOT } from "./helpers/plan";

const EXPECTED = ["plan", "policy", "verify", "restore", "drill", "gate", "bench"];

function capture(): CliIo & { stdout: () => string; stderr: () => string } {
    let out = "";
    let err = "";
    return { out: (t) => (out += t), err: (t) => (err += t), stdout: () => out, stderr: () => err };
}

interface Run { code: number | null; stdout: string; stderr: string }

function node(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
    return new Promise((resolve) => {
        const c = spawn(process.execPath, ["-r", path.join(ROOT, "tools", "register.js"), ...args], { cwd: ROOT, env: { ...process.env, ...env } });
        let stdout = "";
        let stderr = "";
        c.stdout.on("data", (d) => (stdout += d));
        c.stderr.on("data", (d) => (stderr += d));
        c.on("close", (code) => resolve({ code, stdout, stderr }));
    });
}

/** Two at a time: the machine is shared. */
async function inPairs<T, R>(items: T[], f: (x: T) => Promise<R>): Promise<R[]> {
    const out: R[] = [];
    for (let i = 0; i < items.length; i += 2) out.push(...(await Promise.all(items.slice(i, i + 2).map(f))));
    return out;
}

describe("lab: one entry point, one command-line contract", function () {
    this.timeout(120_000);

    it("the registry: every tool is there, each module exports spec and run, and the listing's line is the spec's summary", () => {
        assert.deepEqual(availableCommands().map((c) => c.name).filter((n) => EXPECTED.includes(n)), EXPECTED);
        assert.equal(new Set(COMMANDS.map((c) => c.name)).size, COMMANDS.length, "names are unique");
        for (const entry of availableCommands()) {
            const loaded = loadCommand(entry);
            assert.ok(loaded, `${entry.name} exports spec and run`);
            assert.equal(loaded.spec.name, entry.name);
            assert.equal(loaded.spec.summary, entry.summary, `tools/commands.ts's line for ${entry.name} is its spec's summary`);
        }
    });

    it("a command whose module is not there yet (discover, doctor) is left out; its file is enough to add it", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lab-commands-"));
        try {
            const discover = COMMANDS.find((c) => c.name === "discover")!;
            assert.ok(discover && COMMANDS.find((c) => c.name === "doctor"));
            assert.equal(moduleFile(discover, dir), undefined);
            assert.ok(!availableCommands(dir).some((c) => c.name === "discover"));
            fs.writeFileSync(path.join(dir, "discover.ts"), "");
            assert.equal(moduleFile(discover, dir), path.join(dir, "discover.ts"));
            assert.deepEqual(availableCommands(dir).map((c) => c.name), ["discover"]);
            assert.throws(() => loadCommand(discover, undefined, dir), /tools\/discover\.ts exports no spec and run/);
            // a module that names its main `main` is run the same way
            fs.writeFileSync(path.join(dir, "doctor.ts"), 'export const spec = { name: "doctor", summary: "s", usage: "" };\nexport function main(): number { return 7; }\n');
            const doctor = loadCommand(COMMANDS.find((c) => c.name === "doctor")!, undefined, dir);
            assert.equal(doctor?.spec.name, "doctor");
            assert.equal(doctor?.run({ values: {}, positionals: [] }), 7);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("lab, lab --help and lab help list the commands with a line each on stdout, exit 0", () => {
        for (const argv of [[], ["--help"], ["-h"], ["help"]]) {
            const io = capture();
            assert.equal(dispatch(argv, io), 0, argv.join(" "));
            assert.equal(io.stderr(), "");
            for (const c of availableCommands()) assert.ok(new RegExp(`\\n  ${c.name} +${c.summary.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\n`).test(io.stdout()), c.name);
        }
    });

    it("an unknown command: exit 2, a suggestion and the listing on stderr", () => {
        const io = capture();
        assert.equal(dispatch(["plann", "prod"], io), 2);
        assert.match(io.stderr(), /^lab: no command "plann"; did you mean plan\?\nusage: lab <command>/);
        assert.equal(io.stdout(), "");
        assert.deepEqual(dispatch(["restore", "prod", "--list"], capture()), { entry: COMMANDS.find((c) => c.name === "restore"), args: ["prod", "--list"] });
    });

    it("every command: --help is its usage, options and exit codes on stdout, exit 0, main not run; an unknown option is a usage error, exit 2", async () => {
        for (const spec of allSpecs()) {
            let ran = false;
            const main = () => ((ran = true), 0);
            let io = capture();
            assert.equal(await runCommand(spec, ["--help"], main, io), 0, spec.name);
            assert.match(io.stdout(), new RegExp(`^lab ${spec.name}: .+\\n\\nusage: lab ${spec.name}.*\\n[\\s\\S]*\\noptions:\\n[\\s\\S]*-h, --help[\\s\\S]*\\nexit codes:\\n  0  `));
            io = capture();
            assert.equal(await runCommand(spec, ["--no-such-option"], main, io), 2, spec.name);
            assert.match(io.stderr(), /Unknown option '--no-such-option'[\s\S]*\nusage: lab /);
            assert.equal(ran, false);
        }
    });

    it("each tool's own entry (its npm script) answers --help on stdout with exit 0; bench --help does not start a run", async () => {
        const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));
        for (const name of EXPECTED) assert.ok(pkg.scripts[name], `npm run ${name} stays`);
        const names = availableCommands().map((c) => c.name);
        for (const c of availableCommands()) {
            if (pkg.scripts[c.name]) assert.equal(pkg.scripts[c.name], `node -r ./tools/register.js tools/${c.module}.ts`, `npm run ${c.name} is an alias`);
        }
        assert.equal(pkg.scripts.lab, "node -r ./tools/register.js tools/lab.ts");
        const runs = await inPairs(availableCommands(), (c) => node([moduleFile(c)!, "--help"]));
        runs.forEach((r, i) => {
            assert.equal(r.code, 0, `${names[i]}: ${r.stderr}`);
            assert.match(r.stdout, new RegExp(`^lab ${names[i]}: `));
            assert.equal(r.stderr, "", names[i]);
        });
        assert.doesNotMatch(runs[names.indexOf("bench")].stdout, /offline plan, wall time|floor \(node/, "the bench did not start");
    });

    it("npx lab: package.json's bin runs the same entry point (the hook, then tools/lab.ts)", async () => {
        const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));
        assert.deepEqual(pkg.bin, { lab: "tools/lab-bin.js" });
        const bin = path.join(ROOT, "tools", "lab-bin.js");
        assert.match(fs.readFileSync(bin, "utf8"), /^#!\/usr\/bin\/env node\n/);
        assert.ok(fs.statSync(bin).mode & 0o100, "executable");
        const r = await new Promise<Run>((resolve) => {
            const c = spawn(process.execPath, [bin], { cwd: os.tmpdir() });
            let stdout = "";
            let stderr = "";
            c.stdout.on("data", (d) => (stdout += d));
            c.stderr.on("data", (d) => (stderr += d));
            c.on("close", (code) => resolve({ code, stdout, stderr }));
        });
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /^usage: lab <command>[\s\S]*\n {2}plan {5}/);
    });

    it("through lab: a configuration mistake exits 2 with its message and no stack trace; a usage error exits 2 with the usage", async () => {
        const [unknownStack, unknownInstance, usage] = await inPairs([
            ["restore", "nosuch", "--list"], ["restore", "sandbox-vms", "nope"], ["plan", "prod", "--jsn"],
        ], (args) => node([path.join(ROOT, "tools", "lab.ts"), ...args], { PATH: "/nonexistent" }));
        assert.equal(unknownStack.code, 2, unknownStack.stderr);
        assert.match(unknownStack.stderr, /^error: no stack file .*Pulumi\.nosuch\.yaml \(stacks here: prod, sandbox-k3d, sandbox-vms\)\n$/);
        assert.equal(unknownInstance.code, 2, unknownInstance.stderr);
        assert.match(unknownInstance.stderr, /^error: stack sandbox-vms has no instance nope \(it has: /);
        assert.equal(usage.code, 2);
        assert.match(usage.stderr, /^lab plan: Unknown option '--jsn'[\s\S]*\nusage: lab plan <stack>/);
        for (const r of [unknownStack, unknownInstance, usage]) {
            assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
            assert.equal(r.stdout, "");
        }
    });

    it("the README's exit-code table is the specs' (regenerate: npm run lab -- --exit-codes)", () => {
        const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
        const m = /<!-- exit-codes:begin -->\n([\s\S]*?)\n<!-- exit-codes:end -->/.exec(readme);
        assert.ok(m, "README.md has the exit-codes block");
        const table = exitCodeTable(allSpecs());
        assert.equal(m[1], table, `README.md's exit-code table differs; replace it with:\n${table}`);
        for (const name of EXPECTED) assert.match(table, new RegExp(`\\n\\| \`${name}\` \\|`));
        assert.match(table, /\| `restore` \|.*\| 3: --list: a kind of backup is stale/);
    });
});
