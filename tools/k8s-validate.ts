// npm run k8s-validate -- <stack> [--config-file <path>]
// Plans the stack offline and validates every core Kubernetes object of it against the Kubernetes
// version the manifest's k3s ships (versions.k3s v1.34.3+k3s1 -> 1.34.3), with the object as the API
// server would receive it (secrets in plain text, never printed). Exit 0 valid, 1 problems,
// 2 usage, configuration or validator missing.
import * as path from "path";
import { parseConfig } from "../components/config";
import { readStackConfig, StackFileError } from "../components/stack-config";
import { CommandSpec, ConfigurationError, EXIT, ParsedArgs, runCli, stringOption } from "./cli";
import { findValidator, validateCoreObjects } from "./k8s-schema";
import { PROJECT_DIR, runPlan } from "./plan-runner";

export const spec: CommandSpec = {
    name: "k8s-validate",
    summary: "every core Kubernetes object of a stack's offline plan against Kubernetes 1.34's OpenAPI schema",
    usage: "<stack> [--config-file <path>]",
    positionals: { min: 1, max: 1 },
    options: {
        "config-file": { type: "string", valueName: "path", description: "the stack file to read instead of Pulumi.<stack>.yaml" },
    },
    outcomes: {
        0: "every core object is valid",
        1: "a core object is not (the JSON on stdout lists each problem)",
        2: "usage or configuration error, or no validator (kubernetes-validate; .ci/run installs it)",
    },
    configErrors: [StackFileError],
};

export async function run(args: ParsedArgs): Promise<number> {
    const { python, reason } = findValidator();
    if (!python) throw new ConfigurationError(reason ?? "no kubernetes-validate");
    const stack = args.positionals[0];
    const file = stringOption(args, "config-file");
    const configFile = file === undefined ? undefined : path.resolve(file);
    const config = readStackConfig(PROJECT_DIR, stack, configFile);
    const k3s = parseConfig(stack, config).versions.k3s;
    const version = /^v(\d+\.\d+\.\d+)\+k3s\d+$/.exec(k3s)![1];
    const { plan, revealed } = await runPlan({ stack, config, stackFile: configFile });
    const result = validateCoreObjects(python, version, revealed, plan.resources);
    process.stdout.write(`${JSON.stringify({ stack, kubernetes: version, ...result }, null, 2)}\n`);
    return result.problems.length ? EXIT.failed : EXIT.ok;
}

if (require.main === module) runCli(spec, process.argv.slice(2), run);
