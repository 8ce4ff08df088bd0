// The shells a laptop-side script's tests run under: the machine's bash, and the bash macOS runs
// as /bin/bash (3.2.57, ../shared/tools/bash-3.2) with the awk macOS descends from (Debian's
// original-awk, "the one true awk") as `awk`. A script test opts in with one line: its top-level
// `describe(title, fn)` becomes `describeInShells(title, fn)`; every Sandbox created inside then
// runs its scripts with that block's shell (test/metal-harness.ts reads currentShell()).
//
// A shell whose parts are missing: outside CI its block skips and says why; under CI=true it
// fails, naming what is missing (CI never skips: .ci/run installs original-awk).
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";

const ROOT = path.resolve(__dirname, "..", "..");

export interface Shell {
    /** Short name, shown in the test titles: "bash" (the machine's), "bash-3.2". */
    name: string;
    /** The bash binary the scripts run with (`<bash> -c <script>`, as the command provider does). */
    bash: string;
    /** Tools that stand in for the machine's ones on this shell's runs (name -> real binary): awk -> original-awk. */
    shims: Record<string, string>;
    /** Why this shell cannot run here, or undefined when it can. */
    missing?: string;
}

export const inCi = (): boolean => process.env.CI === "true";

function originSibling(): string | undefined {
    // A clone of a local worktree (the clean-clone CI check: git clone /work/<wt> /tmp/x) finds the
    // shared folder beside its origin, as the worktree itself does.
    const r = spawnSync("git", ["-C", ROOT, "config", "--get", "remote.origin.url"], { encoding: "utf8" });
    const url = (r.stdout ?? "").trim();
    return url.startsWith("/") ? path.resolve(url, "..", "shared") : undefined;
}

/** Where ../shared/tools is: $LAB_SHARED_DIR, else ../shared beside the project, else beside a local clone's origin. */
export function sharedToolsDir(): string | undefined {
    const candidates = [
        process.env.LAB_SHARED_DIR,
        path.resolve(ROOT, "..", "shared"),
        originSibling(),
    ].filter((d): d is string => !!d);
    for (const d of candidates) {
        if (fs.existsSync(path.join(d, "tools"))) return path.join(d, "tools");
    }
    return undefined;
}

function onPath(tool: string): string | undefined {
    for (const dir of ["/usr/bin", "/bin", "/usr/local/bin"]) {
        const p = path.join(dir, tool);
        if (fs.existsSync(p)) return p;
    }
    return undefined;
}

/** The machine's bash: what CI and Linux laptops run. */
export const MACHINE_BASH: Shell = { name: "bash", bash: "/bin/bash", shims: {} };

/** macOS's /bin/bash 3.2 with the BSD-lineage awk. */
export function macosBash(tools: string | undefined = sharedToolsDir()): Shell {
    const bash = tools ? path.join(tools, "bash-3.2") : "../shared/tools/bash-3.2";
    const awk = onPath("original-awk");
    const missing: string[] = [];
    if (!tools || !fs.existsSync(bash)) {
        missing.push(`${bash} is absent (the bash macOS runs as /bin/bash lives in ../shared/tools; set LAB_SHARED_DIR to the folder that holds tools/)`);
    }
    if (!awk) missing.push("original-awk is not installed (apt-get install original-awk: the awk macOS descends from)");
    return { name: "bash-3.2", bash, shims: awk ? { awk } : {}, missing: missing.length ? missing.join("; ") : undefined };
}

/** Every shell a laptop-side script must run under. */
export function laptopShells(): Shell[] {
    return [MACHINE_BASH, macosBash()];
}

let current: Shell = MACHINE_BASH;

/** The shell of the running describeInShells block (the machine's bash outside one). */
export function currentShell(): Shell {
    return current;
}

/**
 * `describe(title, fn)` once per laptop shell, as `<title> [<shell>]`. fn also gets the shell.
 * A shell that cannot run here skips its block with the reason (outside CI) or fails it (CI=true).
 */
export function describeInShells(title: string, fn: (this: Mocha.Suite, shell: Shell) => void): void {
    for (const shell of laptopShells()) {
        describe(`${title} [${shell.name}]`, function () {
            before(function () {
                if (shell.missing) {
                    if (inCi()) throw new Error(`CI=true: cannot run the ${shell.name} tests: ${shell.missing}`);
                    console.log(`      (skipped under ${shell.name}: ${shell.missing})`);
                    this.skip();
                }
                current = shell;
            });
            after(() => {
                current = MACHINE_BASH;
            });
            fn.call(this, shell);
        });
    }
}
