// npm run config:docs [-- --check]: writes what is generated from the configuration schema
// (README.md's configuration table, components/config/project.schema.json); --check only compares.
import * as path from "path";
import { generate } from "../components/config/docs";

function main(argv: string[]): number {
    const check = argv.includes("--check");
    const unknown = argv.filter((a) => a !== "--check");
    if (unknown.length) {
        process.stderr.write(`unknown argument ${unknown[0]}\nusage: npm run config:docs [-- --check]\n`);
        return 2;
    }
    const differ = generate(path.resolve(__dirname, ".."), check);
    if (check && differ.length) {
        process.stdout.write(`out of date with components/config/homelab-config.schema.json: ${differ.join(", ")} (run npm run config:docs)\n`);
        return 1;
    }
    process.stdout.write(differ.length ? `wrote ${differ.join(", ")}\n` : "up to date\n");
    return 0;
}

process.exitCode = main(process.argv.slice(2));
