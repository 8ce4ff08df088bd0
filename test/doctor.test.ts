// npm run doctor -- <stack>: read-only, offline; one line per check with its fix; exit 0/1, 2 on a
// usage or configuration error, never a stack trace.
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseConfig } from "../components/config";
import { readStackConfig } from "../components/stack-config";
import { doctorChecks, DoctorSystem, sizeBytes } from "../tools/doctor/checks";
import { ROOT } from "./helpers/plan";

const VERSIONS: Record<string, string> = {
    pulumi: "v3.210.0", kubectl: "Client Version: v1.34.2", jq: "jq-1.7.1", curl: "curl 8.7.1 (x86_64-apple-darwin23.0)", vault: "Vault v1.21.1",
    psql: "psql (PostgreSQL) 17.7", rclone: "rclone v1.73.5", "ssh-add": "256 SHA256:abc me@laptop (ED25519)",
};

describe("npm run doctor", function () {
    this.timeout(60_000);
    let dir: string;
    before(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "doctor-"));
        for (const [tool, out] of Object.entries(VERSIONS)) fs.writeFileSync(path.join(dir, tool), `#!/bin/sh\necho '${out}'\n`, { mode: 0o755 });
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("sandbox-k3d on a machine without Docker or k3d: lists what is missing with the fixes, exit 1, no stack trace", () => {
        const r = spawnSync(process.execPath, ["-r", "./tools/register.js", "tools/doctor.ts", "sandbox-k3d"], {
            cwd: ROOT, encoding: "utf8", timeout: 60_000, env: { PATH: dir, HOME: dir },
        });
        assert.equal(r.status, 1, r.stdout + r.stderr);
        const lines = r.stdout.trim().split("\n");
        const line = (re: RegExp) => lines.find((l) => re.test(l)) ?? assert.fail(`no line ${re} in\n${r.stdout}`);
        assert.match(line(/Docker running/), /^MISSING .*docker is not on PATH -> fix: brew install --cask docker/);
        assert.match(line(/^MISSING k3d/), /not found on PATH .* -> fix: brew install k3d$/);
        assert.match(line(/Pulumi CLI/), /^ok .*version 3\.210\.0/);
        assert.match(line(/rclone/), /^ok .*version 1\.73\.5/);
        assert.match(line(/port 6550 free/), /^(ok|MISSING) /);
        assert.match(lines[lines.length - 1], /^sandbox-k3d: \d+ of \d+ checks fail/);
        assert.ok(!/\n\s+at /.test(r.stdout + r.stderr), "no stack trace");
    });

    it("a usage error or an unknown stack exits 2 with the reason, no stack trace", () => {
        for (const argv of [[], ["sandbox-k3d", "--fast"], ["nope"]]) {
            const r = spawnSync(process.execPath, ["-r", "./tools/register.js", "tools/doctor.ts", ...argv], { cwd: ROOT, encoding: "utf8", timeout: 60_000, env: { PATH: dir, HOME: dir } });
            assert.equal(r.status, 2, r.stdout + r.stderr);
            assert.ok(!/\n\s+at /.test(r.stderr), r.stderr);
        }
    });

    const system = (over: Partial<DoctorSystem> = {}): DoctorSystem => ({
        env: {}, nodeVersion: "22.20.0", cpus: 8, memoryBytes: 16 * 1024 ** 3, freeDiskBytes: () => 200 * 1024 ** 3,
        run: (cmd) => (cmd in VERSIONS ? { status: 0, out: VERSIONS[cmd] } : cmd === "multipass" ? { status: 0, out: "multipass   1.13.1+mac" } : undefined),
        portFree: async () => true, ...over,
    });

    it("sandbox-vms: multipass 1.14+ (stop --force), CPU, memory and disk for the VMs", async () => {
        const cfg = parseConfig("sandbox-vms", readStackConfig(ROOT, "sandbox-vms"));
        let res = await doctorChecks(cfg, system());
        assert.match(res.find((r) => r.name.startsWith("multipass"))!.detail, /version 1\.13\.1, needs 1\.14\.0 or later/);
        assert.ok(res.filter((r) => !r.ok).every((r) => r.name.startsWith("multipass")), JSON.stringify(res.filter((r) => !r.ok)));
        res = await doctorChecks(cfg, system({ memoryBytes: 8 * 1024 ** 3, freeDiskBytes: () => 10 * 1024 ** 3, cpus: 1 }));
        for (const n of ["CPU for the VMs", "memory for the VMs", "disk for the VMs"]) assert.equal(res.find((r) => r.name === n)!.ok, false, n);
        assert.equal(sizeBytes("4G"), 4 * 1024 ** 3);
    });

    it("prod: the providers' credentials are set, read from the environment only (nothing contacted)", async () => {
        const cfg = parseConfig("prod", readStackConfig(ROOT, "prod"));
        const calls: string[] = [];
        const sys = system({ run: (cmd, args) => { calls.push(`${cmd} ${args.join(" ")}`); return cmd in VERSIONS ? { status: 0, out: VERSIONS[cmd] } : undefined; } });
        let res = await doctorChecks(cfg, sys);
        const cred = res.filter((r) => /VAULT_TOKEN|CLOUDFLARE_API_TOKEN|Google credentials|PGPASSWORD/.test(r.name));
        assert.equal(cred.length, 4);
        assert.ok(cred.filter((r) => !/PGPASSWORD/.test(r.name)).every((r) => !r.ok && r.fix.length > 0), JSON.stringify(cred));
        res = await doctorChecks(cfg, { ...sys, env: { VAULT_TOKEN: "t", CLOUDFLARE_API_TOKEN: "c", GOOGLE_CREDENTIALS: "{}", PGPASSWORD: "p", HOME: "/nonexistent" } });
        assert.ok(res.every((r) => r.ok), JSON.stringify(res.filter((r) => !r.ok)));
        assert.ok(calls.every((c) => /^(pulumi|kubectl|jq|curl|vault|psql|rclone|ssh-add) /.test(c)), calls.join("\n"));
    });
});
