// Test harness for the metal layer's scripts: a sandbox with fake multipass, k3d, docker,
// curl, k3s, systemctl and uname first on PATH (they record their calls in a log and keep
// their state in folders), and only a fixed set of real base utilities after them, so the
// machine's own docker or curl can never be reached.
// Other layers reuse it with their own fakes and scripts folders (SandboxOptions); the
// defaults are the metal layer's. A sandbox runs its scripts with the shell of the running
// describeInShells block (test/helpers/shells.ts), its shims (awk -> original-awk for bash 3.2)
// first on PATH.
import { spawnSync } from "child_process";
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { SCRIPTS_DIR } from "../components/metal/scripts";
import { currentShell, Shell } from "./helpers/shells";

export const FAKES_DIR = path.join(__dirname, "fakes", "metal");
/** What every fake sources: call recording and failure injection. */
const COMMON_FAKE = path.join(__dirname, "fakes", "_common.sh");
export const FAKE_TOOLS = ["multipass", "k3d", "docker", "curl", "systemctl", "uname"];

/**
 * Real utilities the scripts and the fakes use (and nothing else from the machine): all of them
 * exist on macOS too (BSD versions), so the harness itself needs no GNU-only tool.
 */
const BASE_TOOLS = [
    "bash", "sh", "env", "cat", "awk", "sed", "grep", "sort", "tail", "head", "tr", "od", "mktemp",
    "rm", "mv", "cp", "chmod", "mkdir", "sleep", "dirname", "basename", "wc", "cut",
    "touch", "find", "id", "ls", "cksum",
];
/**
 * Linked only where the machine has them: sha256sum is what the hosts (Linux) verify k3s
 * downloads with (k3s-install.sh runs there, never on the laptop); macOS has no sha256sum.
 */
const OPTIONAL_BASE_TOOLS = ["sha256sum"];

function which(tool: string): string {
    for (const dir of ["/usr/bin", "/bin", "/usr/sbin", "/sbin"]) {
        const p = path.join(dir, tool);
        if (fs.existsSync(p)) return p;
    }
    throw new Error(`test harness: base utility ${tool} not found on this machine`);
}

export interface RunResult {
    status: number | null;
    stdout: string;
    stderr: string;
    /** The calls the fakes recorded during this run, one "tool arg..." line each. */
    calls: string[];
}

export interface SandboxOptions {
    /** The folder of fake executables put first on PATH (default: test/fakes/metal). */
    fakesDir?: string;
    /** The folder run() reads its scripts from (default: components/metal/scripts). */
    scriptsDir?: string;
    /** More real utilities to expose after the fakes, linked only when the machine has them. */
    extraBaseTools?: string[];
    /** The prefix of the sandbox's temporary folder (default: metal-test-). */
    prefix?: string;
    /** The shell the scripts run with (default: the running describeInShells block's, see test/helpers/shells.ts). */
    shell?: Shell;
}

function whichOptional(tool: string): string | undefined {
    try {
        return which(tool);
    } catch {
        return undefined;
    }
}

export class Sandbox {
    readonly dir: string;
    readonly bin: string;
    readonly base: string;
    readonly state: string;
    readonly home: string;
    readonly log: string;
    readonly fakesDir: string;
    readonly scriptsDir: string;
    readonly shell: Shell;
    /** Tools of the shell (awk -> original-awk under bash-3.2), first on PATH. */
    readonly shim: string;

    constructor(opts: SandboxOptions = {}) {
        this.shell = opts.shell ?? currentShell();
        this.fakesDir = opts.fakesDir ?? FAKES_DIR;
        this.scriptsDir = opts.scriptsDir ?? SCRIPTS_DIR;
        this.dir = fs.mkdtempSync(path.join(os.tmpdir(), opts.prefix ?? "metal-test-"));
        this.bin = path.join(this.dir, "fakebin");
        this.base = path.join(this.dir, "basebin");
        this.state = path.join(this.dir, "state");
        this.home = path.join(this.dir, "home");
        this.log = path.join(this.dir, "calls.log");
        this.shim = path.join(this.dir, "shim");
        for (const d of [this.bin, this.base, this.shim, this.state, path.join(this.state, "bin"), this.home]) fs.mkdirSync(d, { recursive: true });
        for (const [tool, real] of Object.entries(this.shell.shims)) fs.symlinkSync(real, path.join(this.shim, tool));
        // Every fake sources the shared _common.sh from its own folder.
        const fakes = [COMMON_FAKE, ...fs.readdirSync(this.fakesDir).map((f) => path.join(this.fakesDir, f))];
        for (const f of fakes) {
            fs.copyFileSync(f, path.join(this.bin, path.basename(f)));
            fs.chmodSync(path.join(this.bin, path.basename(f)), 0o755);
        }
        for (const t of BASE_TOOLS) fs.symlinkSync(which(t), path.join(this.base, t));
        for (const t of [...OPTIONAL_BASE_TOOLS, ...(opts.extraBaseTools ?? [])]) {
            const real = whichOptional(t);
            if (real && !BASE_TOOLS.includes(t) && !fs.existsSync(path.join(this.base, t))) fs.symlinkSync(real, path.join(this.base, t));
        }
        fs.writeFileSync(this.log, "");
    }

    /** Removes a fake tool, or an extra real utility, from PATH (a machine without it). */
    removeTool(tool: string): void {
        fs.rmSync(path.join(this.bin, tool), { force: true });
        fs.rmSync(path.join(this.state, "bin", tool), { force: true });
        if (!BASE_TOOLS.includes(tool)) fs.rmSync(path.join(this.base, tool), { force: true });
    }

    /** Whether a tool is on the sandbox's PATH. */
    hasTool(tool: string): boolean {
        return [this.bin, path.join(this.state, "bin"), this.base].some((d) => fs.existsSync(path.join(d, tool)));
    }

    /** Installs a fake k3s binary of a version, as a host that already runs k3s has. */
    installK3s(version: string): void {
        const tmpl = fs.readFileSync(path.join(this.fakesDir, "k3s-binary.tmpl"), "utf8");
        const file = path.join(this.state, "bin", "k3s");
        fs.writeFileSync(file, tmpl.replace("__VERSION__", version));
        fs.chmodSync(file, 0o755);
    }

    /** Marks a systemd unit active. */
    activate(unit: string): void {
        fs.mkdirSync(path.join(this.state, "systemd"), { recursive: true });
        fs.writeFileSync(path.join(this.state, "systemd", unit), "");
    }

    path(...parts: string[]): string {
        return path.join(this.dir, ...parts);
    }

    /** Runs a script of the scripts folder the way the command provider does: bash -c <content>, with the sandbox's shell. */
    run(script: string, env: Record<string, string> = {}, input?: string): RunResult {
        const content = fs.readFileSync(path.join(this.scriptsDir, script), "utf8");
        const before = fs.readFileSync(this.log, "utf8").length;
        const r = spawnSync(this.shell.bash, ["-c", content, script], {
            env: {
                PATH: `${this.shim}:${this.bin}:${path.join(this.state, "bin")}:${this.base}`,
                HOME: this.home,
                FAKE_STATE: this.state,
                FAKE_LOG: this.log,
                FAKE_BIN: this.bin,
                ...env,
            },
            input: input ?? "",
            encoding: "utf8",
            timeout: 30_000,
        });
        // EPIPE: the script exited before reading all of its stdin (e.g. failing early on a
        // missing tool); its exit status and output are still there.
        const epipe = (r.error as NodeJS.ErrnoException | undefined)?.code === "EPIPE" && r.status !== null;
        if (r.error && !epipe) throw r.error;
        const calls = fs.readFileSync(this.log, "utf8").slice(before).split("\n").filter((l) => l.length > 0);
        return { status: r.status, stdout: r.stdout, stderr: r.stderr, calls };
    }

    cleanup(): void {
        fs.rmSync(this.dir, { recursive: true, force: true });
    }
}

/** A readable failure message for an unexpected exit. */
/** Asserts a script run succeeded, showing its output and calls when it did not. */
export function ok(r: RunResult): RunResult {
    assert.equal(r.status, 0, explain(r));
    return r;
}

/** Asserts a script run failed with these messages on stderr. */
export function fails(r: RunResult, ...messages: (string | RegExp)[]): RunResult {
    assert.notEqual(r.status, 0, `expected a failure\n${explain(r)}`);
    for (const m of messages) {
        if (typeof m === "string") assert.ok(r.stderr.includes(m), `stderr lacks ${JSON.stringify(m)}\n${explain(r)}`);
        else assert.match(r.stderr, m, explain(r));
    }
    return r;
}

export function explain(r: RunResult): string {
    return `exit ${r.status}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}\n--- calls\n${r.calls.join("\n")}`;
}
