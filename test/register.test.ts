// tools/register.js: the TypeScript hook of every tool and test. Stack traces people read stay
// mapped to the .ts source; the two captures of @pulumi/pulumi no one reads skip the mapping
// (issue 20: a quarter of the offline plan's time).
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const ROOT = path.join(__dirname, "..");
// eslint-disable-next-line @typescript-eslint/no-var-requires
const { unreadCapture } = require("../tools/register.js") as { unreadCapture(stack: unknown[], env?: NodeJS.ProcessEnv): string | undefined };

const frame = (fn: string | null, file: string) => ({ getFunctionName: () => fn, getFileName: () => file, toString: () => `${fn} (${file}:1:1)` });
const SDK = path.join(ROOT, "node_modules", "@pulumi", "pulumi");

describe("register.js: stack traces mapped where people read them, cheap where no one does", () => {
    it("a thrown error's stack names the TypeScript file, line and column", function () {
        this.timeout(30_000);
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lab-register-"));
        const file = path.join(dir, "thrower.ts");
        // types and blank lines above the throw: transpiled, its line would differ without the source map
        fs.writeFileSync(file, "interface A {\n    a: number;\n}\n\nconst x: A = { a: 1 };\n\n\nfunction boom(): never {\n    throw new Error(`boom ${x.a}`);\n}\nboom();\n");
        try {
            const r = spawnSync(process.execPath, ["-r", path.join(ROOT, "tools", "register.js"), file], { encoding: "utf8", timeout: 30_000 });
            assert.notEqual(r.status, 0);
            assert.match(r.stderr, new RegExp(`at boom \\(${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:9:11\\)`));
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("only @pulumi/pulumi's debuggablePromise and Resource.callsites are unread captures", () => {
        assert.equal(unreadCapture([frame("debuggablePromise", path.join(SDK, "runtime", "debuggable.js"))], {}), "promise");
        assert.equal(unreadCapture([frame("callsites", path.join(SDK, "resource.js"))], {}), "callsites");
        // someone reads the promises' stacks when debugging leaks
        assert.equal(unreadCapture([frame("debuggablePromise", path.join(SDK, "runtime", "debuggable.js"))], { PULUMI_DEBUG_PROMISE_LEAKS: "1" }), undefined);
        // the same names elsewhere, other SDK functions, an empty stack: mapped as before
        assert.equal(unreadCapture([frame("callsites", path.join(ROOT, "components", "x.ts"))], {}), undefined);
        assert.equal(unreadCapture([frame("registerResource", path.join(SDK, "runtime", "resource.js"))], {}), undefined);
        assert.equal(unreadCapture([frame(null, path.join(SDK, "resource.js"))], {}), undefined);
        assert.equal(unreadCapture([], {}), undefined);
    });

    it("the SDK functions it relies on still capture their stack the way it expects (@pulumi/pulumi as installed)", () => {
        const debuggable = fs.readFileSync(path.join(SDK, "runtime", "debuggable.js"), "utf8");
        assert.match(debuggable, /function debuggablePromise\(p, ctx\) \{[\s\S]*?Object\.defineProperty\(p, "_debugStackTrace", \{ writable: true, value: new Error\(\)\.stack \}\);/);
        assert.equal(debuggable.match(/_debugStackTrace/g)!.length, 2, "stored once, read once (promiseDebugString)");
        assert.match(debuggable, /if \(exports\.debugPromiseLeaks\) \{\s*for \(const leak of leaked\) \{\s*console\.error\("Promise leak detected:"\);\s*console\.error\(promiseDebugString\(leak\)\);/);
        const resource = fs.readFileSync(path.join(SDK, "resource.js"), "utf8");
        assert.match(resource, /static callsites\(\) \{[\s\S]*?const stackTrace = new Error\(\)\.stack;/);
    });
});
