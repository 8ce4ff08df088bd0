// Runs TypeScript entry points without a build step (types are checked by `npm run build`).
// swc transpiles much faster than TypeScript; fall back to TypeScript where its binary is missing.
let swc = false;
try {
    require("@swc/core");
    swc = true;
} catch {
    swc = false;
}
require("ts-node").register({ transpileOnly: true, swc, project: require("path").join(__dirname, "..", "tsconfig.json") });
