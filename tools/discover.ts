// npm run discover -- prod [--dry-run] [--yes] [--live] [--kubeconfig <file>] [--endpoints <file>] [--timeout <seconds>]
// Reads, read-only, what prod must adopt and records it (tools/discover/run.ts). Credentials come
// from the environment only: VAULT_TOKEN, PGPASSWORD (PGUSER, default postgres), CLOUDFLARE_API_TOKEN.
// Exit 0: recorded (or a dry run); 1: a service could not be read, a conflict, or not confirmed;
// 2: a usage or configuration error, before any connection.
import { findProjectDir } from "../components/fingerprint";
import { runDiscover } from "./discover/run";

export const USAGE = "usage: npm run discover -- prod [--dry-run] [--yes] [--live] [--kubeconfig <file>] [--endpoints <file>] [--timeout <seconds>]";

export interface DiscoverArgs {
    stack: string;
    dryRun: boolean;
    yes: boolean;
    live: boolean;
    kubeconfig?: string;
    endpoints?: string;
    timeout?: number;
}

/** The one argv function (to swap for tools/cli.ts's runCli when it lands). Throws a usage message. */
export function parseDiscoverArgs(argv: string[]): DiscoverArgs | "help" {
    const { parseArgs } = require("node:util") as typeof import("node:util");
    let parsed;
    try {
        parsed = parseArgs({
            args: argv, allowPositionals: true, strict: true,
            options: {
                "dry-run": { type: "boolean" }, yes: { type: "boolean" }, live: { type: "boolean" }, help: { type: "boolean", short: "h" },
                kubeconfig: { type: "string" }, endpoints: { type: "string" }, timeout: { type: "string" },
            },
        });
    } catch (e) {
        throw new Error((e as Error).message);
    }
    const v = parsed.values;
    if (v.help) return "help";
    if (parsed.positionals.length !== 1) throw new Error("one stack expected (prod)");
    const timeout = v.timeout === undefined ? undefined : Number(v.timeout);
    if (timeout !== undefined && !(timeout > 0 && timeout <= 300)) throw new Error(`--timeout ${v.timeout}: seconds, 1-300`);
    return {
        stack: parsed.positionals[0], dryRun: !!v["dry-run"], yes: !!v.yes, live: !!v.live,
        kubeconfig: v.kubeconfig as string | undefined, endpoints: v.endpoints as string | undefined, timeout,
    };
}

async function main(argv: string[]): Promise<number> {
    let args: DiscoverArgs | "help";
    try {
        args = parseDiscoverArgs(argv);
    } catch (e) {
        console.error(`discover: ${(e as Error).message}\n${USAGE}`);
        return 2;
    }
    if (args === "help") {
        console.log(USAGE);
        return 0;
    }
    const r = await runDiscover({
        stack: args.stack, projectDir: findProjectDir(__dirname), dryRun: args.dryRun, yes: args.yes, live: args.live,
        kubeconfig: args.kubeconfig, endpointsFile: args.endpoints, timeoutSeconds: args.timeout,
    });
    return r.exitCode;
}

if (require.main === module) {
    main(process.argv.slice(2)).then((code) => process.exit(code), (e) => {
        console.error(`discover: cannot run: ${(e as Error).stack ?? e}`);
        process.exit(1);
    });
}
