#!/usr/bin/env node
// `npx lab <command>` (package.json "bin"): the TypeScript hook, then the entry point tools/lab.ts.
// Not named lab.js: `require("./lab")` would resolve to it before lab.ts.
require("./register.js");
require("./lab.ts").labMain(process.argv.slice(2));
