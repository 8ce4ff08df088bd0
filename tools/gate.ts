// npm run gate -- prod [--applied <commit>] [--sandbox-applied <commit>]
// Exit 0: prod may be previewed and applied; 1: what is missing is listed; 2: the gate cannot run.
import { findProjectDir } from "../components/fingerprint";
import { runGate } from "./drill/gate";

const USAGE = "usage: npm run gate -- prod [--applied <prod's appliedCommit>] [--sandbox-applied <sandbox-vms's appliedCommit>]";

export async function gateMain(argv: string[], projectDir: string, out = (l: string) => console.log(l)): Promise<number> {
    let target: string | undefined;
    let applied: string | undefined;
    let sandboxApplied: string | undefined;
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        if (a === "--applied") applied = argv[++i];
        else if (a === "--sandbox-applied") sandboxApplied = argv[++i];
        else if (!a.startsWith("-") && target === undefined) target = a;
        else {
            out(USAGE);
            return 2;
        }
    }
    if (!target || (argv.includes("--applied") && !applied) || (argv.includes("--sandbox-applied") && !sandboxApplied)) {
        out(USAGE);
        return 2;
    }
    const r = await runGate({ projectDir, target, applied, sandboxApplied });
    for (const l of r.lines) out(l);
    return r.exitCode;
}

if (require.main === module) {
    gateMain(process.argv.slice(2), findProjectDir(__dirname)).then((code) => process.exit(code), (e) => {
        console.error(`gate: cannot run: ${(e as Error).stack ?? e}`);
        process.exit(2);
    });
}
