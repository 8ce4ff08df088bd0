// Runs TypeScript entry points without a build step (types are checked by `npm run build`).
require("ts-node").register({ transpileOnly: true, project: require("path").join(__dirname, "..", "tsconfig.json") });
