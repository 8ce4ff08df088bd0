// discover: the parts that need no replica. The guard (prod's configuration here stops before any
// connection, proven in a child process whose every socket, DNS lookup and spawn is recorded), Helm's
// release encoding, the stack-file update that keeps comments, the host-key reading with OpenSSH's
// own ssh-keyscan against a loopback fake, and what never enters the facts.
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { ROOT } from "./helpers/plan";
import { FakeSshd } from "./helpers/fake-sshd";
import { currentRelease, encodeRelease, decodeRelease, helmSecretName, HELM_SECRET_TYPE } from "../tools/discover/helm";
import { applyUpdates, planUpdates } from "../tools/discover/record";
import { isLoopbackHost } from "../tools/discover/endpoints";
import { keyscan, sshFingerprint } from "../tools/discover/ssh";
import { redactValues } from "../tools/discover/run";
import { spec as DISCOVER_SPEC } from "../tools/discover";
import { parseCommand } from "../tools/cli";

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "discover-"));

/** A kubeconfig shaped like prod's (k3s-kubeconfig.sh rewrites the server to pi1's address). */
function prodKubeconfig(dir: string): string {
    const f = path.join(dir, "prod.kubeconfig");
    fs.writeFileSync(f, [
        "apiVersion: v1", "kind: Config", "current-context: default",
        "clusters:", "- name: default", "  cluster:", "    server: https://192.168.1.201:6443", "    certificate-authority-data: AAAA",
        "contexts:", "- name: default", "  context:", "    cluster: default", "    user: default",
        "users:", "- name: default", "  user:", "    token: not-a-real-token", "",
    ].join("\n"));
    return f;
}

/** `npm run discover` as a child process with the network refused and recorded. */
function discoverNoNetwork(args: string[], env: Record<string, string>) {
    const log = path.join(tmp(), "network.log");
    fs.writeFileSync(log, "");
    const r = spawnSync(process.execPath, ["-r", path.join(ROOT, "tools", "register.js"), "-r", path.join(ROOT, "test", "helpers", "no-network.js"), path.join(ROOT, "tools", "discover.ts"), ...args], {
        cwd: ROOT, encoding: "utf8", timeout: 60_000,
        env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: tmp(), NO_NETWORK_LOG: log, ...env },
    });
    return { status: r.status, out: `${r.stdout}${r.stderr}`, network: fs.readFileSync(log, "utf8") };
}

describe("discover: reading prod from here stops before any connection", function () {
    this.timeout(90_000);
    const creds = { VAULT_TOKEN: "t", PGPASSWORD: "p", CLOUDFLARE_API_TOKEN: "c" };

    it("on prod's configuration, with credentials and --yes, it names every non-loopback endpoint, exits 2 and opens nothing", () => {
        const dir = tmp();
        const before = fs.readFileSync(path.join(ROOT, "Pulumi.prod.yaml"), "utf8");
        const r = discoverNoNetwork(["prod", "--yes"], { ...creds, KUBECONFIG: prodKubeconfig(dir) });
        assert.strictEqual(r.status, 2, r.out);
        assert.match(r.out, /stopped before connecting/);
        for (const target of ["https://192.168.1.201:6443", "https://vault.arcodange.lab", "192.168.1.202:5432", "https://api.cloudflare.com/client/v4", "192.168.1.201:22", "192.168.1.202:22", "192.168.1.203:22"]) {
            assert.ok(r.out.includes(target), `${target} missing from:\n${r.out}`);
        }
        assert.match(r.out, /--live/);
        assert.strictEqual(r.network, "", `network attempts:\n${r.network}`);
        assert.strictEqual(fs.readFileSync(path.join(ROOT, "Pulumi.prod.yaml"), "utf8"), before);
        assert.ok(!r.out.includes("not-a-real-token") && !/\bat .*\.ts:\d+/.test(r.out), "no token, no stack trace");
    });

    it("one endpoint left at prod's address (pi3's SSH) is enough to stop it", () => {
        const dir = tmp();
        const endpoints = path.join(dir, "endpoints.json");
        fs.writeFileSync(endpoints, JSON.stringify({ vault: "http://127.0.0.1:1", postgres: "127.0.0.1:2", cloudflare: "http://127.0.0.1:3", ssh: { pi1: "127.0.0.1:4", pi2: "127.0.0.1:5" } }));
        const kc = path.join(dir, "loop.kubeconfig");
        fs.writeFileSync(kc, fs.readFileSync(prodKubeconfig(dir), "utf8").replace("https://192.168.1.201:6443", "https://127.0.0.1:6"));
        const r = discoverNoNetwork(["prod", "--dry-run", "--endpoints", endpoints, "--kubeconfig", kc], creds);
        assert.strictEqual(r.status, 2, r.out);
        assert.match(r.out, /SSH host key of pi3: 192\.168\.1\.203:22/);
        assert.ok(!r.out.includes("pi1: 127"), r.out);
        assert.strictEqual(r.network, "");
    });

    it("missing credentials are named before anything else happens (never taken from the command line)", () => {
        const r = discoverNoNetwork(["prod"], { KUBECONFIG: prodKubeconfig(tmp()) });
        assert.strictEqual(r.status, 2, r.out);
        for (const v of ["VAULT_TOKEN", "PGPASSWORD", "CLOUDFLARE_API_TOKEN"]) assert.ok(r.out.includes(v), r.out);
        assert.strictEqual(r.network, "");
    });

    it("a sandbox stack, an unknown flag, or two stacks are usage errors (exit 2)", () => {
        assert.strictEqual(discoverNoNetwork(["sandbox-k3d"], creds).status, 2);
        assert.throws(() => parseCommand(DISCOVER_SPEC, ["prod", "--token", "x"]), /Unknown option/);
        assert.throws(() => parseCommand(DISCOVER_SPEC, ["prod", "prod"]), /unexpected argument/);
        const t = discoverNoNetwork(["prod", "--timeout", "0"], creds);
        assert.strictEqual(t.status, 2);
        assert.match(t.out, /1-300/);
    });

    it("only literal loopback addresses count as loopback (a name is never resolved to decide)", () => {
        for (const h of ["127.0.0.1", "127.3.2.1", "::1", "[::1]", "localhost"]) assert.ok(isLoopbackHost(h), h);
        for (const h of ["192.168.1.201", "10.0.0.1", "vault.arcodange.lab", "localhost.arcodange.lab", "0.0.0.0", "::", "api.cloudflare.com", "127.0.0.1.nip.io"]) assert.ok(!isLoopbackHost(h), h);
    });
});

describe("discover: Helm's release Secret (helm/helm v3.19.0 pkg/storage/driver/secrets.go, util.go)", () => {
    /** A Secret as the Kubernetes API returns it: data base64 of Helm's base64(gzip(json)). */
    const helmSecret = (name: string, version: number, status: string, chartVersion: string, config: Record<string, unknown>, gzip = true) => {
        const rls = { name, namespace: "tools", version, info: { status }, chart: { metadata: { name: "vault-secrets-operator", version: chartVersion } }, config, manifest: "---" };
        const encoded = gzip ? encodeRelease(rls) : Buffer.from(JSON.stringify(rls)).toString("base64");
        return {
            metadata: { name: helmSecretName(name, version), namespace: "tools", labels: { name, owner: "helm", status, version: String(version) } },
            type: HELM_SECRET_TYPE, data: { release: Buffer.from(encoded).toString("base64") },
        };
    };

    it("the key is sh.helm.release.v1.<name>.v<N>; the payload is gzip (magic 1f 8b 08) under base64", () => {
        assert.strictEqual(helmSecretName("longhorn", 3), "sh.helm.release.v1.longhorn.v3");
        const enc = encodeRelease({ name: "x" });
        assert.deepStrictEqual([...Buffer.from(enc, "base64").subarray(0, 3)], [0x1f, 0x8b, 0x08]);
        assert.deepStrictEqual(decodeRelease(enc), { name: "x" });
        assert.deepStrictEqual(decodeRelease(Buffer.from('{"name":"old"}').toString("base64")), { name: "old" }, "pre-compression releases are plain JSON");
    });

    it("the current release is the highest deployed revision; its user-supplied values, chart and version", () => {
        const secrets = [
            helmSecret("vault-secrets-operator", 1, "superseded", "0.9.0", { a: 1 }),
            helmSecret("vault-secrets-operator", 2, "deployed", "0.10.0", { defaultVaultConnection: { enabled: true } }, false),
            helmSecret("vault-secrets-operator", 3, "failed", "1.0.0", { broken: true }),
            helmSecret("other", 9, "deployed", "9.9.9", {}),
        ];
        const r = currentRelease(secrets, "tools", "vault-secrets-operator");
        assert.deepStrictEqual(r, { chart: "vault-secrets-operator", version: "0.10.0", values: { defaultVaultConnection: { enabled: true } }, revision: 2 });
        assert.throws(() => currentRelease(secrets.slice(2, 3), "tools", "vault-secrets-operator"), /no deployed revision \(v3 failed\)/);
        assert.throws(() => currentRelease([], "tools", "vault-secrets-operator"), /no Secret sh\.helm\.release\.v1\.vault-secrets-operator\.v<N> in namespace tools/);
    });

    it("a value under a secret-looking key never enters the facts; the secrets map names it instead", () => {
        const secrets: Record<string, string> = {};
        const v = redactValues({ defaultSettings: { backupTarget: "s3://x", backupTargetCredentialSecret: "gcs-creds" }, s3: { accessKey: "AKIA", secretKey: "shh" }, list: [{ password: "p" }] }, "helmReleases.longhorn-system/longhorn.values", secrets);
        assert.deepStrictEqual(v, { defaultSettings: { backupTarget: "s3://x", backupTargetCredentialSecret: "gcs-creds" }, s3: { accessKey: "[secret]", secretKey: "[secret]" }, list: [{ password: "[secret]" }] });
        assert.deepStrictEqual(Object.keys(secrets).sort(), [
            "helmReleases.longhorn-system/longhorn.values.list[0].password",
            "helmReleases.longhorn-system/longhorn.values.s3.accessKey",
            "helmReleases.longhorn-system/longhorn.values.s3.secretKey",
        ]);
    });
});

describe("discover: recording into Pulumi.prod.yaml keeps every comment and replaces only placeholders", () => {
    const text = fs.readFileSync(path.join(ROOT, "Pulumi.prod.yaml"), "utf8");
    const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPgmA8arik0XCMz5cWgFWarrjkF34f2vDq+rEHQD5yA/";
    const updates = [
        { key: "homelab:hosts[0].hostKey", path: ["homelab:hosts", 0, "hostKey"], value: key },
        { key: "homelab:identity.postgresSystemIdentifier", path: ["homelab:identity", "postgresSystemIdentifier"], value: "7412345678901234567" },
        { key: "homelab:existing.dnsRecords.cms", path: ["homelab:existing", "dnsRecords", "cms"], value: "023e105f4ecef8ad9ca31a8372d0c353" },
        { key: "homelab:sshUser", path: ["homelab:sshUser"], value: "pi" },
    ];

    it("placeholders are replaced, equal values left, every comment line kept, numbers stay strings", () => {
        const plan = planUpdates(text, updates);
        assert.deepStrictEqual(plan.replace.map((u) => u.key), updates.slice(0, 3).map((u) => u.key));
        assert.deepStrictEqual(plan.same.map((u) => u.key), ["homelab:sshUser"]);
        const after = applyUpdates(text, plan.replace);
        const comments = (t: string) => t.split("\n").filter((l) => l.trim().startsWith("#"));
        assert.deepStrictEqual(comments(after), comments(text));
        const cfg = YAML.parse(after).config;
        assert.strictEqual(cfg["homelab:hosts"][0].hostKey, key);
        assert.strictEqual(cfg["homelab:identity"].postgresSystemIdentifier, "7412345678901234567");
        assert.strictEqual(cfg["homelab:existing"].dnsRecords.cms, "023e105f4ecef8ad9ca31a8372d0c353");
        assert.ok(cfg["homelab:hosts"][1].hostKey.includes("REPLACE-ME"), "other placeholders untouched");
        const changed = after.split("\n").filter((l, i) => l !== text.split("\n")[i]);
        assert.strictEqual(changed.length, 3, changed.join("\n"));
    });

    it("a recorded real value that differs (a changed host key) is a conflict, never overwritten", () => {
        const recorded = applyUpdates(text, [updates[0]]);
        const other = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB";
        const plan = planUpdates(recorded, [{ ...updates[0], value: other }]);
        assert.deepStrictEqual(plan.conflicts.map((c) => [c.key, c.old]), [["homelab:hosts[0].hostKey", key]]);
        assert.strictEqual(plan.replace.length, 0);
    });
});

describe("discover: SSH host keys through OpenSSH's ssh-keyscan, against a loopback sshd-like fake", function () {
    this.timeout(30_000);
    const sshd = new FakeSshd();
    before(async function () {
        if (spawnSync("ssh-keyscan", ["-h"], { encoding: "utf8" }).error) {
            if (process.env.CI === "true") throw new Error("ssh-keyscan is missing (.ci/run installs openssh-client)");
            console.log("    skipped: ssh-keyscan is not installed");
            this.skip();
        }
        await sshd.start();
    });
    after(() => sshd.stop());

    it("reads the ed25519 key and its SHA256 fingerprint as ssh-keygen -lf prints it", async () => {
        const k = await keyscan("127.0.0.1", sshd.port, 5000);
        assert.strictEqual(k.key, sshd.publicKey);
        const dir = tmp();
        fs.writeFileSync(path.join(dir, "k.pub"), `${k.key}\n`);
        const lf = spawnSync("ssh-keygen", ["-lf", path.join(dir, "k.pub")], { encoding: "utf8" });
        assert.strictEqual(lf.status, 0, lf.stderr);
        assert.strictEqual(lf.stdout.split(/\s+/)[1], k.fingerprint);
        assert.strictEqual(sshFingerprint(k.key), k.fingerprint);
    });

    it("a port with nothing listening fails within its bound, naming host and port", async () => {
        const start = Date.now();
        await assert.rejects(keyscan("127.0.0.1", 1, 2000), /SSH at 127\.0\.0\.1:1: no ed25519 host key within 2s/);
        assert.ok(Date.now() - start < 6000);
    });
});
