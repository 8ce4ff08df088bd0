// A sandbox's local commands run without the operator's settings that reach another lab.
//
// command.local.Command cannot unset a variable: it starts from os.Environ() and appends its
// `environment` (pulumi/pulumi-command v1.2.1 provider/pkg/provider/local/commandOutputs.go, run:
// `cmd.Env = os.Environ()` then `append(cmd.Env, k=v)`). So a sandbox's local commands run through
// a wrapper interpreter: bash removes KUBECONFIG, VAULT_*, PG*, GOOGLE_*, CLOUDSDK_*, CLOUDFLARE_*,
// DOCKER_HOST (unless a unix socket: the local engine) and DOCKER_CONTEXT (unless a local
// engine's context name) from the environment, except the ones the command sets itself (listed
// in LAB_KEEP_ENV by the transformation below), then runs the script. Bash 3.2 compatible.
import * as pulumi from "@pulumi/pulumi";

/** The variables a sandbox's local command never inherits (glob patterns, bash `case` syntax). */
export const SCRUBBED_ENV = ["KUBECONFIG", "VAULT_*", "PG*", "GOOGLE_*", "CLOUDSDK_*", "CLOUDFLARE_*", "DOCKER_HOST", "DOCKER_CONTEXT"];
/** Docker contexts that name the engine on the operator's machine. */
export const LOCAL_DOCKER_CONTEXTS = ["default", "desktop-linux", "colima", "orbstack", "rancher-desktop"];

export const SCRUB_PRELUDE = [
    `keep=" \${LAB_KEEP_ENV:-} "`,
    "for v in $(compgen -e); do",
    "  case \"$v\" in",
    "    DOCKER_HOST) case \"$DOCKER_HOST\" in unix://*) continue ;; esac ;;",
    `    DOCKER_CONTEXT) case "$DOCKER_CONTEXT" in ${LOCAL_DOCKER_CONTEXTS.join("|")}) continue ;; esac ;;`,
    `    ${SCRUBBED_ENV.filter((p) => !p.startsWith("DOCKER_")).join("|")}) ;;`,
    "    *) continue ;;",
    "  esac",
    "  case \"$keep\" in *\" $v \"*) continue ;; esac",
    "  unset \"$v\"",
    "done",
    "unset LAB_KEEP_ENV keep v",
    "exec bash -c \"$1\"",
].join("\n");

/** The interpreter of a sandbox's local commands: the scrubbing prelude, then the script ($1). */
export const SCRUBBING_INTERPRETER = ["/usr/bin/env", "bash", "-c", SCRUB_PRELUDE, "lab-sandbox-env"];

/**
 * Registers the stack transformation that puts every local command of this (sandbox) program
 * behind the scrubbing interpreter, keeping the variables the command sets itself.
 */
export function scrubLocalCommandEnvironment(): void {
    pulumi.runtime.registerStackTransformation((args) => {
        if (args.type !== "command:local:Command") return undefined;
        const props = { ...args.props };
        const env = props.environment ?? {};
        // A plain map keeps its values as they are (a secret value stays a secret value, not the whole map).
        props.environment = pulumi.Output.isInstance(env)
            ? (env as pulumi.Output<Record<string, string>>).apply((e) => ({ ...(e ?? {}), LAB_KEEP_ENV: Object.keys(e ?? {}).sort().join(" ") }))
            : { ...env, LAB_KEEP_ENV: Object.keys(env).sort().join(" ") };
        props.interpreter = SCRUBBING_INTERPRETER;
        return { props, opts: args.opts };
    });
}
