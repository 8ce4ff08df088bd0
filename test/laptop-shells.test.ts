// The shells laptop-side script tests run under (test/helpers/shells.ts) are what they claim:
// bash-3.2 rejects what only bash 4+ allows, and its runs see original-awk as `awk`.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { fails, ok, Sandbox } from "./metal-harness";
import { describeInShells, laptopShells, MACHINE_BASH, macosBash } from "./helpers/shells";

describe("laptop shells", () => {
    it("are the machine's bash and macOS's bash 3.2", () => {
        assert.deepEqual(laptopShells().map((s) => s.name), ["bash", "bash-3.2"]);
    });

    it("say why bash 3.2 cannot run where ../shared/tools is absent (its block then skips, or fails under CI=true)", () => {
        const s = macosBash("/nonexistent/shared/tools");
        assert.match(s.missing ?? "", /\/nonexistent\/shared\/tools\/bash-3\.2 is absent .*LAB_SHARED_DIR/);
    });
});

describeInShells("a laptop shell", function (shell) {
    let dir: string;
    let sb: Sandbox;
    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "shells-test-"));
        fs.writeFileSync(path.join(dir, "version.sh"), "set -euo pipefail\nprintf '%s\\n' \"$BASH_VERSION\"\n{ awk -version 2>&1 || true; } | head -n 1\n");
        // Three things bash 4+ allows and macOS's /bin/bash rejects.
        fs.writeFileSync(path.join(dir, "assoc.sh"), "set -euo pipefail\ndeclare -A m\nm[a]=1\necho ok\n");
        fs.writeFileSync(path.join(dir, "lower.sh"), "set -euo pipefail\nx=ABC\necho \"${x,,}\"\n");
        fs.writeFileSync(path.join(dir, "empty-array.sh"), "set -euo pipefail\na=()\necho \"${a[@]}\" done\n");
        sb = new Sandbox({ scriptsDir: dir, prefix: "shells-test-" });
    });
    afterEach(() => {
        sb.cleanup();
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it("runs the scripts with its bash and its awk", () => {
        const [version, awk] = ok(sb.run("version.sh")).stdout.split("\n");
        if (shell.name === "bash-3.2") {
            assert.match(version, /^3\.2\./);
            assert.match(awk, /^awk version \d{8}/, "original-awk (the one true awk) stands in for awk");
        } else {
            assert.equal(shell, MACHINE_BASH);
            assert.doesNotMatch(version, /^3\./);
        }
    });

    it("accepts bash 4+ only features only where the bash is 4+", () => {
        for (const script of ["assoc.sh", "lower.sh", "empty-array.sh"]) {
            if (shell.name === "bash-3.2") fails(sb.run(script));
            else ok(sb.run(script));
        }
    });
});
