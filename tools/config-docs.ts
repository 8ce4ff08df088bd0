// npm run config:docs [-- --check]: writes what is generated from the configuration schema
// (README.md's configuration table, components/config/project.schema.json); --check only compares.
import * as path from "path";
import { generate } from "../components/config/docs";
import { CommandSpec, EXIT, flag, ParsedArgs, runCli } from "./cli";

export const spec: CommandSpec = {
    name: "config-docs",
    summary: "write (or --check) what is generated from the configuration schema: the README's table, the project schema, the validators",
    usage: "[--check]",
    positionals: { min: 0, max: 0 },
    options: {
        check: { type: "boolean", description: "only compare; write nothing" },
    },
    outcomes: {
        0: "written, or (--check) up to date",
        1: "(--check) out of date with the schema",
        2: "usage error",
    },
};

export function run(args: ParsedArgs): number {
    const check = flag(args, "check");
    const differ = generate(path.resolve(__dirname, ".."), check);
    if (check && differ.length) {
        process.stdout.write(`out of date with components/config/homelab-config.schema.json: ${differ.join(", ")} (run npm run config:docs)\n`);
        return EXIT.failed;
    }
    process.stdout.write(differ.length ? `wrote ${differ.join(", ")}\n` : "up to date\n");
    return EXIT.ok;
}

if (require.main === module) runCli(spec, process.argv.slice(2), run);
