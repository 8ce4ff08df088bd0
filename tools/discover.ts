// npm run discover -- prod [--dry-run] [--yes] [--live] [--kubeconfig <file>] [--endpoints <file>] [--timeout <seconds>]
// Reads, read-only, what prod must adopt and records it (tools/discover/run.ts). Credentials come
// from the environment only: VAULT_TOKEN, PGPASSWORD (PGUSER, default postgres), CLOUDFLARE_API_TOKEN.
import { CommandSpec, ConfigurationError, flag, ParsedArgs, runCli, stringOption, UsageError } from "./cli";

export const spec: CommandSpec = {
    name: "discover",
    summary: "read-only: what prod must adopt, read from the live lab into facts/prod.json",
    usage: "prod [--dry-run] [--yes] [--live] [--kubeconfig <file>] [--endpoints <file>] [--timeout <seconds>]",
    positionals: { min: 1, max: 1 },
    outcomes: {
        0: "recorded (or, with --dry-run, printed)",
        1: "a service could not be read, a recorded value differs from the lab's, or the recording was not confirmed (nothing written)",
        2: "usage or configuration error, or a non-loopback endpoint without --live (nothing contacted)",
    },
    options: {
        "dry-run": { type: "boolean", description: "print what would be recorded; write nothing" },
        yes: { type: "boolean", description: "record without asking (after comparing the printed fingerprints)" },
        live: { type: "boolean", description: "allow connections to non-loopback endpoints (the live lab; the operator, on its network)" },
        kubeconfig: { type: "string", valueName: "file", description: "prod's kubeconfig (default $KUBECONFIG, then ~/.kube/config)" },
        endpoints: { type: "string", valueName: "file", description: "JSON of endpoint overrides {kubeconfig, vault, postgres, cloudflare, ssh: {<host>: host:port}} (tests: loopback)" },
        timeout: { type: "string", valueName: "seconds", description: "at most this long per call (default 15, 1-300)" },
    },
    epilog: "Credentials, from the environment only: VAULT_TOKEN, PGPASSWORD (PGUSER, default postgres), CLOUDFLARE_API_TOKEN.\n" +
        "Exit 1 also when a service cannot be read, a recorded value differs from the lab's, or the recording is not confirmed.",
};

/** main of the CLI (tests call it through runCommand). */
export async function run(args: ParsedArgs): Promise<number> {
    const t = stringOption(args, "timeout");
    const timeout = t === undefined ? undefined : Number(t);
    if (timeout !== undefined && !(timeout >= 1 && timeout <= 300)) throw new UsageError(`--timeout ${t}: seconds, 1-300`);
    // loaded here so that --help stays instant
    const { findProjectDir } = await import("../components/fingerprint");
    const { runDiscover } = await import("./discover/run");
    const r = await runDiscover({
        stack: args.positionals[0], projectDir: findProjectDir(__dirname),
        dryRun: flag(args, "dry-run"), yes: flag(args, "yes"), live: flag(args, "live"),
        kubeconfig: stringOption(args, "kubeconfig"), endpointsFile: stringOption(args, "endpoints"), timeoutSeconds: timeout,
        err: (l) => process.stderr.write(`${l}\n`),
    });
    if (r.exitCode === 2) throw new ConfigurationError(r.errors.join("\n"));
    return r.exitCode;
}

if (require.main === module) runCli(spec, process.argv.slice(2), run);
