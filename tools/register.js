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

// Stack traces people read (an error, a failing test) stay mapped to the TypeScript source by
// ts-node's source-map-support (installed unconditionally: ts-node@10.9.2 dist/index.js, installSourceMapSupport). Two captures no one reads skip the mapping, which costs a
// source-map lookup per frame and was a quarter of the offline plan's time (issue 20):
//  - @pulumi/pulumi's debuggablePromise stores `new Error().stack` on every promise it makes; it is
//    read only in the promise-leak report with PULUMI_DEBUG_PROMISE_LEAKS set (then it is mapped
//    as before) (@pulumi/pulumi@3.270.0 runtime/debuggable.js: debuggablePromise, leakedPromises);
//  - Resource.callsites parses `new Error().stack` at each registration for the source position
//    the engine shows in a real deployment (@pulumi/pulumi@3.270.0 resource.js: Resource.callsites).
//    Under this hook no engine runs (the offline plan and the tests register with mocks, which
//    drop it): its frames stay, unmapped (the transpiled file's line and column).
const path = require("path");
const PULUMI_SDK = `${path.sep}@pulumi${path.sep}pulumi${path.sep}`;

/** Which unread capture this stack is: "promise", "callsites", or undefined (a stack someone may read). */
function unreadCapture(stack, env = process.env) {
    const top = stack[0];
    if (!top) return undefined;
    const fn = top.getFunctionName();
    if (fn !== "debuggablePromise" && fn !== "callsites") return undefined;
    const file = top.getFileName();
    if (typeof file !== "string" || !file.includes(PULUMI_SDK)) return undefined;
    if (fn === "callsites") return "callsites";
    return env.PULUMI_DEBUG_PROMISE_LEAKS ? undefined : "promise";
}

function header(error) {
    try {
        return Error.prototype.toString.call(error);
    } catch {
        return "Error";
    }
}

/** V8's own format (https://v8.dev/docs/stack-trace-api): the error's line, then a line per frame. */
function unmapped(error, stack) {
    let out = header(error);
    for (const frame of stack) out += `\n    at ${frame}`;
    return out;
}

const mapped = Error.prepareStackTrace;
if (typeof mapped === "function") {
    Error.prepareStackTrace = function prepareStackTrace(error, stack) {
        switch (unreadCapture(stack)) {
            case "promise":
                return `${header(error)}\n    (not captured: set PULUMI_DEBUG_PROMISE_LEAKS=1 to keep each promise's stack)`;
            case "callsites":
                return unmapped(error, stack);
            default:
                return mapped.call(this, error, stack);
        }
    };
}
module.exports = { unreadCapture, unmapped };
