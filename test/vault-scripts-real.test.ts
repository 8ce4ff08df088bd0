// The program's Vault scripts, the vault-seal drill's Vault calls and `npm run verify`'s Vault checks
// against a real Vault API server with its storage on disk (OpenBao, test/helpers/openbao.ts): init,
// unseal with the key on stdin, a second run that changes nothing, re-unseal after sys/seal.
//
// The seam: vault-wait.sh and vault-status.sh ask VAULT_ADDR with curl: the real curl asks the real
// server. vault-init.sh reaches Vault only through `kubectl exec <pod> -- vault ...` and keeps the keys
// in a Secret: the pod and the Secrets stay fake (test/fakes/platform/kubectl, no cluster here), and
// the fake runs the real CLI against the real server in the pod's place (FAKE_VAULT_ADDR,
// FAKE_VAULT_BIN). Then each fake's Vault answers are compared with the real server's, state by
// state (the last describe), so the fakes the other tests use stay true.
//
// Relies on OpenBao behaving as Vault 1.21.1 for: sys/health codes (200/429/501/503) and body fields,
// sys/seal-status, `status -format=json` and its exit codes, `operator init -format=json`, PUT
// sys/unseal, PUT sys/seal, the token store's custom-id rules (docs/architecture.md, "Testing against
// a real Vault API"); and on OpenBao's raft storage where Vault's standalone uses file: after an
// unseal it answers 429 (standby) until it leads, so the tests wait for 200.
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseConfig } from "../components/config";
import { scriptPath } from "../components/platform/vault-bootstrap";
import { readStackConfig } from "../components/stack-config";
import { CliLab } from "../tools/drill/lab";
import { checksFor, VerifyContext } from "../tools/verify/checks";
import { baoPath, OpenBaoPersistent, useOpenBao, useOpenBaoPersistent } from "./helpers/openbao";
import { ROOT } from "./helpers/plan";
import { customTokenIdError } from "./helpers/vault";

const FAKES = path.join(__dirname, "fakes");

interface Run {
    status: number;
    stdout: string;
    stderr: string;
}

/** A sandbox with the platform's fake kubectl on PATH, wired to a real server. */
class Sandbox {
    readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), "vault-scripts-real-"));
    readonly state = path.join(this.dir, "state");
    readonly log = path.join(this.dir, "calls.log");
    constructor(readonly vaultAddr: string) {
        const bin = path.join(this.dir, "bin");
        fs.mkdirSync(bin);
        fs.mkdirSync(this.state);
        fs.symlinkSync(path.join(FAKES, "platform", "kubectl"), path.join(bin, "kubectl"));
        fs.symlinkSync(path.join(FAKES, "_common.sh"), path.join(bin, "_common.sh"));
    }
    env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
        return {
            PATH: `${path.join(this.dir, "bin")}:${process.env.PATH}`, HOME: this.dir, LANG: "C",
            FAKE_STATE: this.state, FAKE_LOG: this.log, FAKE_VAULT_ADDR: this.vaultAddr, FAKE_VAULT_BIN: baoPath(),
            KUBECONFIG_DATA: "apiVersion: v1\nkind: Config\n", VAULT_ADDR: this.vaultAddr, POLL_SECONDS: "0.2", ...extra,
        };
    }
    run(script: string, extra: NodeJS.ProcessEnv = {}, timeoutMs = 90_000): Run {
        const r = spawnSync("bash", [scriptPath(script)], { encoding: "utf8", env: this.env(extra), timeout: timeoutMs, input: "" });
        if (r.error) throw r.error;
        return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
    }
    /** The keys vault-init.sh kept in the fake Secret vault/vault-init-keys. */
    kept(): { unsealKey: string; rootToken: string } | undefined {
        const d = path.join(this.state, "secrets", "vault", "vault-init-keys");
        if (!fs.existsSync(d)) return undefined;
        return { unsealKey: fs.readFileSync(path.join(d, "unsealKey"), "utf8"), rootToken: fs.readFileSync(path.join(d, "rootToken"), "utf8") };
    }
    calls(): string {
        return fs.existsSync(this.log) ? fs.readFileSync(this.log, "utf8") : "";
    }
    close(): void {
        fs.rmSync(this.dir, { recursive: true, force: true });
    }
}

/** sys/health until it answers `code` (raft elects its leader a moment after an unseal). */
async function healthBecomes(s: OpenBaoPersistent, code: number, withinMs = 30_000): Promise<any> {
    const deadline = Date.now() + withinMs;
    for (;;) {
        const h = await s.request("GET", "sys/health", undefined, null);
        if (h.status === code) return h.body;
        if (Date.now() > deadline) assert.fail(`sys/health answered ${h.status}, not ${code}, within ${withinMs / 1000}s: ${JSON.stringify(h.body)}`);
        await new Promise((r) => setTimeout(r, 200));
    }
}

/** Only the Vault checks of `npm run verify`, against the server (nothing else is asked). */
async function verifyVaultChecks(addr: string): Promise<Record<string, { ok: boolean; detail: string }>> {
    const cfg = parseConfig("sandbox-vms", readStackConfig(ROOT, "sandbox-vms"));
    const ctx = {
        stack: "sandbox-vms", cfg, fetch, timeoutMs: 10_000,
        outputs: { vaultAddress: addr } as unknown as VerifyContext["outputs"],
        kube: new Proxy({}, { get: () => { throw new Error("the Vault checks do not read Kubernetes"); } }) as VerifyContext["kube"],
    } as VerifyContext;
    const out: Record<string, { ok: boolean; detail: string }> = {};
    for (const c of checksFor(ctx, {}).filter((x) => /Vault/.test(x.name) && !/release/.test(x.name))) {
        try {
            out[c.name] = { ok: true, detail: await c.run() };
        } catch (e) {
            out[c.name] = { ok: false, detail: (e as Error).message };
        }
    }
    return out;
}

describe("the Vault scripts against a real Vault API server with storage on disk (OpenBao)", function () {
    this.timeout(240_000);
    const bao = useOpenBaoPersistent();
    let sb: Sandbox;
    let first: { rootToken: string; unsealKey: string };
    before(() => {
        sb = new Sandbox(bao().addr);
    });
    after(() => sb?.close());

    it("before init: vault-status.sh says bring-up uninitialized, vault-wait.sh waits and gives up with the answer, verify fails", async () => {
        const st = sb.run("vault-status.sh");
        assert.equal(st.status, 0, st.stderr);
        assert.match(st.stdout, /^bring-up uninitialized \S+\n$/);
        const w = sb.run("vault-wait.sh", { WAIT_SECONDS: "1" });
        assert.equal(w.status, 1);
        assert.match(w.stderr, /not initialized \(HTTP 501\)/);
        const v = await verifyVaultChecks(bao().addr);
        assert.deepEqual(v["Vault reachable and unsealed"], { ok: false, detail: `Vault at ${bao().addr} is not initialised (HTTP 501)` });
        assert.equal(v["identity: Vault (cluster_id)"].ok, false);
        assert.match(v["identity: Vault (cluster_id)"].detail, /without a cluster_id/);
    });

    it("vault-init.sh initializes (1 key share), keeps the keys in the Secret, unseals with the key on stdin", async () => {
        const r = sb.run("vault-init.sh");
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.stderr, /vault is not initialized: initializing \(1 key share\)/);
        assert.match(r.stderr, /vault is sealed: unsealing/);
        assert.match(r.stderr, /done \(initialized\)/);
        first = JSON.parse(r.stdout);
        assert.deepEqual(sb.kept(), first, "the Secret holds what it printed");
        const h = await healthBecomes(bao(), 200);
        assert.equal(h.initialized, true);
        assert.equal(h.sealed, false);
        // the root token it kept is the server's
        const self = await bao().call("GET", "auth/token/lookup-self", undefined, first.rootToken);
        assert.deepEqual(self.data.policies, ["root"]);
        // no secret ever on a command line (the fake kubectl records every call's arguments)
        const calls = sb.calls();
        assert.ok(!calls.includes(first.unsealKey) && !calls.includes(first.rootToken), "no secret on a command line");
        assert.match(calls, /exec -i vault-0 -- vault write -format=json sys\/unseal -/);
    });

    it("then vault-wait.sh returns at once, vault-status.sh says ready, verify's Vault checks pass with the server's cluster_id", async () => {
        const w = sb.run("vault-wait.sh", { WAIT_SECONDS: "30" });
        assert.equal(w.status, 0, w.stderr);
        assert.match(w.stderr, /answers: initialized and unsealed/);
        assert.equal(sb.run("vault-status.sh").stdout, "ready\n");
        const v = await verifyVaultChecks(bao().addr);
        assert.equal(v["Vault reachable and unsealed"].ok, true, v["Vault reachable and unsealed"].detail);
        assert.match(v["Vault reachable and unsealed"].detail, /unsealed, active, version \d/);
        const id = (await bao().request("GET", "sys/health", undefined, null)).body.cluster_id;
        assert.match(id, /^[0-9a-f-]{36}$/);
        assert.deepEqual(v["identity: Vault (cluster_id)"], { ok: true, detail: id });
    });

    it("a second vault-init.sh changes nothing and prints the same keys", () => {
        const r = sb.run("vault-init.sh");
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.stderr, /already initialized: reading the kept keys/);
        assert.match(r.stderr, /vault is unsealed/);
        assert.match(r.stderr, /done \(unchanged\)/);
        assert.deepEqual(JSON.parse(r.stdout), first);
    });

    it("after sys/seal: status says bring-up sealed, verify fails sealed (503), vault-init.sh unseals again with the kept key", async () => {
        const sealed = await bao().request("PUT", "sys/seal", undefined, first.rootToken);
        assert.equal(sealed.status, 204);
        assert.match(sb.run("vault-status.sh").stdout, /^bring-up sealed \S+\n$/);
        const v = await verifyVaultChecks(bao().addr);
        assert.deepEqual(v["Vault reachable and unsealed"], { ok: false, detail: `Vault at ${bao().addr} is sealed (HTTP 503)` });
        const r = sb.run("vault-init.sh");
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.stderr, /done \(unsealed\)/);
        assert.deepEqual(JSON.parse(r.stdout), first);
        await healthBecomes(bao(), 200);
    });

    it("vault-init.sh refuses a wrong kept key and says where it came from", async () => {
        assert.equal((await bao().request("PUT", "sys/seal", undefined, first.rootToken)).status, 204);
        const keyFile = path.join(sb.state, "secrets", "vault", "vault-init-keys", "unsealKey");
        fs.writeFileSync(keyFile, Buffer.alloc(32, 7).toString("base64"));
        try {
            const r = sb.run("vault-init.sh");
            assert.equal(r.status, 1);
            assert.match(r.stderr, /unsealing failed \(is the key in secret vault\/vault-init-keys the one of this Vault\?\)/);
        } finally {
            fs.writeFileSync(keyFile, first.unsealKey);
        }
        assert.equal(sb.run("vault-init.sh").status, 0);
        await healthBecomes(bao(), 200);
    });

    it("the vault-seal drill's Vault calls (CliLab): status, seal, the sealed refusal of a login, the program's unseal", async () => {
        const cfg = parseConfig("sandbox-vms", readStackConfig(ROOT, "sandbox-vms"));
        const lab = new CliLab(cfg, {
            kubeconfig: "apiVersion: v1\nkind: Config\n", nodes: [], vaultAddress: bao().addr, vaultRootToken: first.rootToken,
            postgresEndpoint: "127.0.0.1:1", postgresAdminUser: "postgres", postgresAdminPassword: "x", giteaUrl: "http://127.0.0.1:1",
        }, { projectDir: ROOT, env: sb.env() });
        try {
            assert.deepEqual(await lab.vaultStatus(), { initialized: true, sealed: false });
            assert.equal((await lab.vaultLogin()).sealedRefusal, false);
            await lab.vaultSeal();
            assert.deepEqual(await lab.vaultStatus(), { initialized: true, sealed: true });
            const login = await lab.vaultLogin();
            assert.equal(login.sealedRefusal, true, login.detail);
            assert.match(login.detail, /^HTTP 503 .*Vault is sealed/);
            assert.equal(await lab.vaultUnseal(), "vault-init.sh: unsealed with the kept key");
            assert.deepEqual(await lab.vaultStatus(), { initialized: true, sealed: false });
            await healthBecomes(bao(), 200);
        } finally {
            lab.close();
        }
    });
});

describe("vault-dev-token.sh's token against a real Vault API server (OpenBao dev mode)", function () {
    this.timeout(60_000);
    const bao = useOpenBao();

    it("is accepted as a custom token id, the way dev mode creates its root token; the refused ids are refused by the server too", async () => {
        // Dev mode creates the root token from VAULT_DEV_ROOT_TOKEN_ID through the token store
        // (POST auth/token/create with {"id": ...}; hashicorp/vault command/server.go enableDev;
        // OpenBao alike): the same call here, with the script's token.
        const r = spawnSync("bash", [scriptPath("vault-dev-token.sh")], { encoding: "utf8", timeout: 10_000 });
        assert.equal(r.status, 0, r.stderr);
        const id = r.stdout;
        assert.equal(customTokenIdError(id), undefined);
        const made = await bao().request("POST", "auth/token/create", { id, policies: ["default"], ttl: "60s" });
        assert.equal(made.status, 200, JSON.stringify(made.body));
        assert.equal(made.body.auth.client_token, id);
        assert.equal((await bao().request("GET", "auth/token/lookup-self", undefined, id)).status, 200);
        // test/helpers/vault.ts's rule, which the fakes use, is the server's
        for (const bad of ["hvs.abc", "s.abc", "devroot.abc"]) {
            const res = await bao().request("POST", "auth/token/create", { id: bad, ttl: "60s" });
            assert.equal(res.status, 400, bad);
            assert.deepEqual(res.body.errors, [customTokenIdError(bad)], bad);
        }
    });
});

describe("the Vault fakes answer as the real server does (OpenBao), state by state", function () {
    this.timeout(120_000);
    const bao = useOpenBaoPersistent();

    /** The fakes as the tests install them: beside _common.sh, in a folder of their own. */
    function fakeBin(dir: string): string {
        const bin = path.join(dir, "bin");
        fs.mkdirSync(bin);
        for (const f of ["curl", "kubectl"]) fs.symlinkSync(path.join(FAKES, "platform", f), path.join(bin, f));
        fs.symlinkSync(path.join(FAKES, "_common.sh"), path.join(bin, "_common.sh"));
        return bin;
    }
    /** The fake curl's answer to GET /v1/sys/health for a state. */
    function fakeHealth(state: { initialized: boolean; sealed: boolean }): { code: number; body: any } {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fake-health-"));
        try {
            fs.mkdirSync(path.join(dir, "vault"));
            fs.writeFileSync(path.join(dir, "vault", "initialized"), String(state.initialized));
            fs.writeFileSync(path.join(dir, "vault", "sealed"), String(state.sealed));
            const body = path.join(dir, "body");
            const r = spawnSync("bash", [path.join(fakeBin(dir), "curl"), "-s", "-o", body, "-w", "%{http_code}", "http://127.0.0.1:8200/v1/sys/health"],
                { encoding: "utf8", env: { PATH: process.env.PATH, FAKE_STATE: dir, FAKE_LOG: path.join(dir, "log") } });
            return { code: Number(r.stdout), body: JSON.parse(fs.readFileSync(body, "utf8")) };
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    }
    /** The fake kubectl's `vault status -format=json` for a state: its JSON and exit code. */
    function fakeStatus(state: { initialized: boolean; sealed: boolean }): { status: number; json: any } {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fake-status-"));
        try {
            fs.mkdirSync(path.join(dir, "vault"));
            fs.writeFileSync(path.join(dir, "vault", "initialized"), String(state.initialized));
            fs.writeFileSync(path.join(dir, "vault", "sealed"), String(state.sealed));
            fs.writeFileSync(path.join(dir, "kubeconfig"), "");
            const r = spawnSync("bash", [path.join(fakeBin(dir), "kubectl"), "--kubeconfig", path.join(dir, "kubeconfig"), "-n", "vault", "exec", "vault-0", "--", "vault", "status", "-format=json"],
                { encoding: "utf8", env: { PATH: process.env.PATH, FAKE_STATE: dir, FAKE_LOG: path.join(dir, "log") } });
            return { status: r.status ?? -1, json: JSON.parse(r.stdout) };
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    }
    /** The fake kubectl's `vault operator init -key-shares=1 -key-threshold=1 -format=json`. */
    function fakeInit(): any {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fake-init-"));
        try {
            fs.writeFileSync(path.join(dir, "kubeconfig"), "");
            const r = spawnSync("bash", [path.join(fakeBin(dir), "kubectl"), "--kubeconfig", path.join(dir, "kubeconfig"), "-n", "vault", "exec", "vault-0", "--", "vault", "operator", "init", "-key-shares=1", "-key-threshold=1", "-format=json"],
                { encoding: "utf8", env: { PATH: process.env.PATH, FAKE_STATE: dir, FAKE_LOG: path.join(dir, "log") } });
            assert.equal(r.status, 0, r.stderr);
            return JSON.parse(r.stdout);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    }
    const realStatus = () => {
        const r = bao().bao(["status", "-format=json"], { token: "" });
        return { status: r.status, json: JSON.parse(r.stdout) };
    };
    /** What the scripts and tools read of each answer: the code, and the fields they use. */
    const healthView = (code: number, body: any) => ({ code, initialized: body.initialized, sealed: body.sealed, hasVersion: typeof body.version === "string" });
    const statusView = (s: { status: number; json: any }) => ({ exit: s.status, initialized: s.json.initialized, sealed: s.json.sealed, type: s.json.type, t: s.json.t, n: s.json.n });

    it("not initialized, sealed, unsealed: the fake curl's sys/health codes and the fake kubectl's `vault status` match the server's", async () => {
        const compare = async (state: { initialized: boolean; sealed: boolean }) => {
            const real = await bao().request("GET", "sys/health", undefined, null);
            assert.deepEqual(healthView(fakeHealth(state).code, fakeHealth(state).body), healthView(real.status, real.body), `sys/health ${JSON.stringify(state)}`);
            assert.deepEqual(statusView(fakeStatus(state)), statusView(realStatus()), `vault status ${JSON.stringify(state)}`);
        };
        await compare({ initialized: false, sealed: true });
        // `operator init -format=json`, as vault-init.sh runs it: the real CLI's fields and the fake's
        const init = bao().bao(["operator", "init", "-key-shares=1", "-key-threshold=1", "-format=json"], { token: "" });
        assert.equal(init.status, 0, init.stderr);
        const real = JSON.parse(init.stdout);
        const fake = fakeInit();
        assert.deepEqual(Object.keys(fake).sort(), Object.keys(real).sort());
        assert.equal(real.unseal_keys_b64.length, 1);
        assert.equal(typeof real.root_token, "string");
        await compare({ initialized: true, sealed: true });
        const wrong = await bao().request("PUT", "sys/unseal", { key: Buffer.alloc(32, 7).toString("base64") }, null);
        assert.equal(wrong.status, 400, "a wrong key: 400, as the fake answers");
        assert.equal((await bao().request("PUT", "sys/unseal", { key: real.unseal_keys_b64[0] }, null)).status, 200);
        await healthBecomes(bao(), 200);
        await compare({ initialized: true, sealed: false });
    });
});
