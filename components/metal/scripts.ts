// The metal layer's shell scripts live in ./scripts (so that shellcheck and the tests read
// exactly what runs). This module reads them at program time and builds the command
// strings that run them: locally through bash (command.local.Command's interpreter), or
// over SSH as `[sudo -n] env K=V... bash -c '<script>' <name>` (command.remote.Command has
// no interpreter, and SSH servers drop most environment variables).
// Parameters go through the environment; secrets never: they go through stdin.
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";

export const SCRIPTS_DIR = path.join(__dirname, "scripts");

/** The script files of the metal layer, by name. */
export const SCRIPT_NAMES = [
    "k3d-cluster-create.sh",
    "k3d-cluster-delete.sh",
    "k3d-kubeconfig.sh",
    "k3d-container-create.sh",
    "k3d-container-delete.sh",
    "multipass-vm-create.sh",
    "multipass-vm-delete.sh",
    "k3s-install.sh",
    "k3s-kubeconfig.sh",
    "data-compose.sh",
] as const;
export type ScriptName = (typeof SCRIPT_NAMES)[number];

/** Local commands run their script with bash (`bash -c <script>`); the scripts stay bash 3.2 compatible for macOS. */
export const LOCAL_INTERPRETER = ["/usr/bin/env", "bash", "-c"];

const cache = new Map<string, string>();

/** The content of one script file. */
export function readScript(name: ScriptName): string {
    let text = cache.get(name);
    if (text === undefined) {
        const file = path.join(SCRIPTS_DIR, name);
        try {
            text = fs.readFileSync(file, "utf8");
        } catch (e) {
            throw new Error(`metal: cannot read the script ${file}: ${(e as Error).message}`);
        }
        cache.set(name, text);
    }
    return text;
}

/** Single-quotes a string for a POSIX shell. */
export function shellQuote(s: string): string {
    return `'${s.replace(/'/g, `'\\''`)}'`;
}

const ENV_NAME = /^[A-Z_][A-Z0-9_]*$/;

/**
 * The command line that runs a script on a remote host: `[sudo -n] env K='v'... bash -c '<script>' <name>`.
 * Values must not be secrets (the command line is logged by the provider on failure and visible in `ps`).
 */
export function remoteScriptCommand(
    name: ScriptName,
    env: Record<string, pulumi.Input<string>>,
    opts: { sudo: boolean },
): pulumi.Output<string> {
    for (const k of Object.keys(env)) {
        if (!ENV_NAME.test(k)) throw new Error(`metal: environment variable name ${JSON.stringify(k)} is not valid`);
    }
    return pulumi.all(env).apply((values) => {
        const assignments = Object.keys(values).sort().map((k) => `${k}=${shellQuote(values[k])}`);
        const prefix = opts.sudo ? "sudo -n " : "";
        return `${prefix}env ${assignments.join(" ")} bash -c ${shellQuote(readScript(name))} ${name}`;
    });
}
