// npm run k8s-validate -- <stack> [--config-file <path>]
// Plans the stack offline and validates every core Kubernetes object of it against the Kubernetes
// version the manifest's k3s ships (versions.k3s v1.34.3+k3s1 -> 1.34.3), with the object as the API
// server would receive it (secrets in plain text, never printed). Exit 0 valid, 1 problems,
// 2 usage, configuration or validator missing.
import * as path from "path";
import { isConfigError, parseConfig } from "../components/config";
import { readStackConfig, StackFileError } from "../components/stack-config";
import { findValidator, validateCoreObjects } from "./k8s-schema";
import { PROJECT_DIR, runPlan } from "./plan-runner";

const USAGE = "usage: npm run k8s-validate -- <stack> [--config-file <path>]";

function parseArgs(argv: string[]): { stack: string; configFile?: string } | string {
    let stack: string | undefined;
    let configFile: string | undefined;
    for (let i = 0; i < argv.length; i++) {
        if (argv[i] === "--config-file") {
            configFile = argv[++i];
            if (!configFile) return "--config-file needs a path";
            configFile = path.resolve(configFile);
        } else if (argv[i].startsWith("-")) return `unknown option ${argv[i]}`;
        else if (!stack) stack = argv[i];
        else return `unexpected argument ${argv[i]}`;
    }
    return stack ? { stack, configFile } : "which stack? e.g. prod, sandbox-k3d, sandbox-vms";
}

async function main(): Promise<number> {
    const args = parseArgs(process.argv.slice(2));
    if (typeof args === "string") {
        process.stderr.write(`${args}\n${USAGE}\n`);
        return 2;
    }
    const { python, reason } = findValidator();
    if (!python) {
        process.stderr.write(`error: ${reason}\n`);
        return 2;
    }
    const config = readStackConfig(PROJECT_DIR, args.stack, args.configFile);
    const k3s = parseConfig(args.stack, config).versions.k3s;
    const version = /^v(\d+\.\d+\.\d+)\+k3s\d+$/.exec(k3s)![1];
    const { plan, revealed } = await runPlan({ stack: args.stack, config });
    const result = validateCoreObjects(python, version, revealed, plan.resources);
    process.stdout.write(`${JSON.stringify({ stack: args.stack, kubernetes: version, ...result }, null, 2)}\n`);
    return result.problems.length ? 1 : 0;
}

main().then(
    (code) => process.stdout.write("", () => process.exit(code)),
    (e) => {
        process.stderr.write(isConfigError(e) || e instanceof StackFileError ? `error: ${(e as Error).message}\n` : `error: ${(e as Error)?.stack ?? e}\n`);
        process.exit(2);
    },
);
