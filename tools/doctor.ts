// npm run doctor -- <stack>: checks this machine has what <stack> needs before `pulumi up`
// (read-only, offline). Exit 0 when every check holds, 1 otherwise, 2 on a usage or configuration
// error; never a stack trace.
import * as path from "path";
import { isConfigError, parseConfig } from "../components/config";
import { readStackConfig } from "../components/stack-config";
import { doctorChecks, formatDoctor, realSystem } from "./doctor/checks";

const USAGE = "usage: npm run doctor -- <stack>   (prod, sandbox-k3d or sandbox-vms)";

/** The one argv parse of this tool (tools/cli.ts's runCli can take its place). */
export function parseDoctorArgs(argv: string[]): { stack: string } | { help: true } {
    if (argv.includes("-h") || argv.includes("--help")) return { help: true };
    const opts = argv.filter((a) => a.startsWith("-"));
    if (opts.length > 0) throw new UsageError(`unknown option ${opts[0]}`);
    if (argv.length !== 1) throw new UsageError("one stack expected");
    return { stack: argv[0] };
}

export class UsageError extends Error {}

export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
    try {
        const args = parseDoctorArgs(argv);
        if ("help" in args) {
            console.log(USAGE);
            return 0;
        }
        const cfg = parseConfig(args.stack, readStackConfig(path.resolve(__dirname, ".."), args.stack));
        const results = await doctorChecks(cfg, realSystem(env));
        console.log(formatDoctor(args.stack, results));
        return results.every((r) => r.ok) ? 0 : 1;
    } catch (e) {
        if (e instanceof UsageError) console.error(`${e.message}\n${USAGE}`);
        else if (isConfigError(e)) console.error((e as Error).message);
        else console.error(`doctor could not run: ${(e as Error).message ?? String(e)}`);
        return 2;
    }
}

if (require.main === module) {
    main(process.argv.slice(2)).then((code) => process.exit(code));
}
