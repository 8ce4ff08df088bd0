// npm run drill -- <stack> <drill> | [<stack>] --list | --report  (tools/drill/cli.ts)
import { findProjectDir } from "../components/fingerprint";
import { drillMain } from "./drill/cli";

drillMain(process.argv.slice(2), { projectDir: findProjectDir(__dirname) }).then((code) => process.exit(code), (e) => {
    console.error(`drill: cannot run: ${(e as Error).stack ?? e}`);
    process.exit(2);
});
