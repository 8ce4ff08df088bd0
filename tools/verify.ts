// npm run verify -- <stack> [--outputs <file>] [--json] [--timeout <seconds per check>]
// Read-only and live: proves a brought-up stack works (see tools/verify/checks.ts for the checks).
// Exit 0: every check holds; 1: one fails; 2: verify cannot run (why is printed).
import { findProjectDir } from "../components/fingerprint";
import { runVerify } from "./verify/run";

const USAGE = "usage: npm run verify -- <stack> [--outputs <file>] [--json] [--timeout <seconds per check>]";

async function main(argv: string[]): Promise<number> {
    let stack: string | undefined;
    let outputsFile: string | undefined;
    let json = false;
    let timeout: number | undefined;
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        if (a === "--json") json = true;
        else if (a === "--outputs") outputsFile = argv[++i];
        else if (a === "--timeout") timeout = Number(argv[++i]);
        else if (a === "-h" || a === "--help") {
            console.log(USAGE);
            return 0;
        } else if (!a.startsWith("-") && !stack) stack = a;
        else {
            console.error(`verify: unknown argument ${a}\n${USAGE}`);
            return 2;
        }
    }
    if (!stack || (outputsFile === undefined && argv.includes("--outputs")) || (timeout !== undefined && !(timeout > 0))) {
        console.error(USAGE);
        return 2;
    }
    const report = await runVerify({ stack, projectDir: findProjectDir(__dirname), outputsFile, json, checkTimeoutSeconds: timeout });
    return report.exitCode;
}

main(process.argv.slice(2)).then((code) => process.exit(code), (e) => {
    console.error(`verify: cannot run: ${(e as Error).stack ?? e}`);
    process.exit(2);
});
