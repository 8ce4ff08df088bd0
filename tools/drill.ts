// npm run drill -- <stack> <drill> | [<stack>] --list | --report  (tools/drill/cli.ts; also: npm run lab -- drill ...)
import { findProjectDir } from "../components/fingerprint";
import { ParsedArgs, runCli } from "./cli";
import { drill, spec } from "./drill/cli";

export { spec };

export function run(a: ParsedArgs): Promise<number> {
    return drill(a, { projectDir: findProjectDir(__dirname) });
}

if (require.main === module) runCli(spec, process.argv.slice(2), run);
