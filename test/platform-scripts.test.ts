// The platform layer's scripts run here against a fake kubectl (test/fakes/platform/kubectl)
// through the metal layer's harness: a sandbox with the fake first on PATH and only a fixed
// set of real base utilities after it (plus the real jq and base64), so the machine's own
// kubectl, and any cluster it can reach, is never used. The fake keeps a standalone Vault's
// state (pod phase, initialized, sealed, its keys) and the cluster's Secrets in the sandbox.
// jq and shellcheck are real (CI installs them: apt-get install jq shellcheck); a test that
// needs one skips, naming it, on a machine without it.
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { scriptPath } from "../components/platform/vault-bootstrap";
import { explain, fails, ok, RunResult, Sandbox } from "./metal-harness";
import { describeInShells } from "./helpers/shells";
import { customTokenIdError } from "./helpers/vault";

const SCRIPTS_DIR = path.dirname(scriptPath("vault-init.sh"));
const FAKES_DIR = path.join(__dirname, "fakes", "platform");
const SCRIPTS = ["gitea-admin.sh", "gitea-bootstrap.sh", "gitea-seed.sh", "vault-dev-token.sh", "vault-init.sh", "vault-status.sh", "vault-wait.sh"];
const VAULT_ADDR = "http://192.168.64.11:30820";
const KUBECONFIG = "apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    server: https://192.168.64.10:6443\n  name: sandbox-vms\n";

function has(binary: string): boolean {
    return spawnSync("sh", ["-c", `command -v ${binary}`], { encoding: "utf8" }).status === 0;
}
function requireBinary(ctx: Mocha.Context, binary: string, pkg: string): void {
    if (!has(binary)) {
        console.log(`      (skipped: '${binary}' is not installed; apt-get install ${pkg})`);
        ctx.skip();
    }
}

const called = (r: RunResult, pattern: RegExp) => r.calls.filter((c) => pattern.test(c));
const lines = (s: string) => s.split("\n").filter((l) => l.length > 0);

const INIT = / -- vault operator init -key-shares=1 -key-threshold=1 -format=json$/;
// Secrets travel on stdin: the Secret's manifest to `kubectl create -f -`, the key to `vault write ... -`.
const CREATE_SECRET = / create -f -$/;
const UNSEAL = / -- vault (operator unseal|write .*sys\/unseal)/;
const UNSEAL_ON_STDIN = / exec -i vault-0 -- vault write -format=json sys\/unseal -$/;
const GET_POD = / get pod vault-0 -o jsonpath=\{\.status\.phase\}$/;
const STATUS = / -- vault status -format=json$/;

/** A sandbox whose fake kubectl holds one standalone Vault in the namespace vault. */
class VaultSandbox {
    readonly sb: Sandbox;
    readonly tmp: string;
    /** Kubeconfigs the fake kubectl has been given so far: path, mode, sha256. */
    private seen = 0;

    constructor() {
        this.sb = new Sandbox({ fakesDir: FAKES_DIR, scriptsDir: SCRIPTS_DIR, extraBaseTools: ["jq", "base64", "date"], prefix: "platform-test-" });
        this.tmp = this.sb.path("tmp");
        fs.mkdirSync(this.tmp);
    }

    /** Sets a fact of the fake Vault (see the header of test/fakes/platform/kubectl). */
    set(key: string, value: string): void {
        fs.mkdirSync(this.sb.path("state", "vault"), { recursive: true });
        fs.writeFileSync(this.sb.path("state", "vault", key), value);
    }

    get(key: string): string | undefined {
        const f = this.sb.path("state", "vault", key);
        return fs.existsSync(f) ? fs.readFileSync(f, "utf8") : undefined;
    }

    /** The decoded values of a Secret of the fake cluster, or undefined. */
    secret(name: string, ns = "vault"): Record<string, string> | undefined {
        const dir = this.sb.path("state", "secrets", ns, name);
        if (!fs.existsSync(dir)) return undefined;
        return Object.fromEntries(fs.readdirSync(dir).map((k) => [k, fs.readFileSync(path.join(dir, k), "utf8")]));
    }

    putSecret(name: string, data: Record<string, string>, ns = "vault"): void {
        const dir = this.sb.path("state", "secrets", ns, name);
        fs.mkdirSync(dir, { recursive: true });
        for (const [k, v] of Object.entries(data)) fs.writeFileSync(path.join(dir, k), v);
    }

    /** The kubeconfigs recorded by the fake kubectl since the last call. */
    newKubeconfigs(): { file: string; mode: string; sha256: string }[] {
        const f = this.sb.path("state", "kubeconfigs");
        const all = fs.existsSync(f) ? lines(fs.readFileSync(f, "utf8")) : [];
        const fresh = all.slice(this.seen);
        this.seen = all.length;
        return fresh.map((l) => {
            const [file, mode, sha256] = l.split(" ");
            return { file, mode, sha256 };
        });
    }

    /**
     * Runs vault-init.sh as the command provider does, with a short poll, and checks what
     * every run must do: the kubeconfig it was given, written mode 600 in TMPDIR, and removed.
     */
    init(env: Record<string, string | undefined> = {}): RunResult {
        const full: Record<string, string> = {};
        for (const [k, v] of Object.entries({ KUBECONFIG_DATA: KUBECONFIG, TMPDIR: this.tmp, POLL_SECONDS: "0.05", WAIT_SECONDS: "10", ...env })) {
            if (v !== undefined) full[k] = v;
        }
        const r = this.sb.run("vault-init.sh", full);
        assert.deepEqual(fs.readdirSync(this.tmp), [], `vault-init.sh left files in TMPDIR\n${explain(r)}`);
        const expected = createHash("sha256").update(`${full.KUBECONFIG_DATA}\n`).digest("hex");
        for (const k of this.newKubeconfigs()) {
            assert.ok(k.file.startsWith(this.tmp + path.sep), `kubeconfig ${k.file} is not in TMPDIR`);
            assert.equal(k.mode, "600", `kubeconfig ${k.file} had mode ${k.mode}`);
            assert.equal(k.sha256, expected, "the kubeconfig kubectl read is not KUBECONFIG_DATA");
        }
        for (const c of called(r, /^kubectl /)) {
            assert.ok(c.startsWith(`kubectl --kubeconfig ${this.tmp}${path.sep}`), `kubectl called without the private kubeconfig: ${c}`);
        }
        this.noSecretsInArgv(r);
        return r;
    }

    /**
     * No secret of the fake Vault (nor of its kept Secret) in the arguments of any process the fakes
     * saw: those are visible in `ps` on the laptop and sent in the exec request.
     */
    noSecretsInArgv(r: RunResult): void {
        const kept = this.secret("vault-init-keys") ?? {};
        const secrets = [this.get("unseal_key"), this.get("unseal_key_hex"), this.get("root_token"), kept.unsealKey, kept.rootToken]
            .filter((x): x is string => !!x && x.length >= 4);
        for (const c of r.calls) {
            for (const s of secrets) assert.ok(!c.includes(s), `a secret on a command line: ${c}`);
        }
    }

    /** Runs a script that talks to Vault's HTTP API (the fake curl), at VAULT_ADDR. */
    http(script: string, env: Record<string, string | undefined> = {}): RunResult {
        const full: Record<string, string> = {};
        for (const [k, v] of Object.entries({ VAULT_ADDR, POLL_SECONDS: "0.05", WAIT_SECONDS: "10", ...env })) {
            if (v !== undefined) full[k] = v;
        }
        return this.sb.run(script, full);
    }

    cleanup(): void {
        this.sb.cleanup();
    }
}

/** stdout is exactly one JSON document {rootToken, unsealKey}. */
function output(r: RunResult): { rootToken: string; unsealKey: string } {
    assert.equal(lines(r.stdout).length, 1, `stdout is not one line\n${explain(r)}`);
    assert.ok(r.stdout.endsWith("}\n"), explain(r));
    const doc = JSON.parse(r.stdout) as { rootToken: string; unsealKey: string };
    assert.deepEqual(Object.keys(doc).sort(), ["rootToken", "unsealKey"]);
    return doc;
}

/** No secret of the fake Vault on stderr. */
function noSecretsOnStderr(r: RunResult, v: VaultSandbox): void {
    for (const key of ["unseal_key", "unseal_key_hex", "root_token"]) {
        const value = v.get(key);
        if (value) assert.ok(!r.stderr.includes(value), `stderr shows the ${key}\n${explain(r)}`);
    }
}

describeInShells("platform scripts (fake kubectl)", function () { // laptop-side: under every laptop shell (test/helpers/shells.ts)
    this.timeout(60_000);
    let v: VaultSandbox;
    beforeEach(() => {
        v = new VaultSandbox();
    });
    afterEach(() => v.cleanup());

    describe("vault-init.sh", () => {
        describe("with jq", () => {
            before(function () {
                requireBinary(this, "jq", "jq");
            });

            it("initializes a fresh Vault once, keeps its keys in a Secret, unseals it, and prints them as one JSON document", () => {
                const r = ok(v.init());
                const doc = output(r);
                const rootToken = v.get("root_token")!;
                const unsealKey = v.get("unseal_key")!;
                assert.match(rootToken, /^hvs\./);
                assert.deepEqual(doc, { rootToken, unsealKey });

                assert.equal(called(r, INIT).length, 1, explain(r));
                // the keys reach the Secret through stdin, never as --from-literal arguments
                assert.deepEqual(called(r, / create /).map((c) => c.replace(/^.* -n vault /, "")), ["create -f -"]);
                assert.deepEqual(v.secret("vault-init-keys"), { unsealKey, rootToken });
                assert.deepEqual(called(r, UNSEAL).map((c) => c.replace(/^.* exec /, "exec ")), ["exec -i vault-0 -- vault write -format=json sys/unseal -"]);
                assert.equal(v.get("initialized"), "true");
                assert.equal(v.get("sealed"), "false");
                for (const c of called(r, /^kubectl /)) assert.match(c, / -n vault /);

                const progress = lines(r.stderr);
                const steps = [
                    /^vault-init: waiting for pod vault\/vault-0 to run/,
                    /^vault-init: vault is not initialized: initializing \(1 key share\)$/,
                    /^vault-init: keeping the unseal key and root token in secret vault\/vault-init-keys$/,
                    /^vault-init: vault is sealed: unsealing$/,
                    /^vault-init: done \(initialized\)$/,
                ];
                assert.equal(progress.length, steps.length, `one progress line per step\n${explain(r)}`);
                steps.forEach((s, i) => assert.match(progress[i], s));
                noSecretsOnStderr(r, v);
            });

            it("is idempotent: a second run makes no init, no Secret and no unseal, prints the same JSON, and says unchanged", () => {
                const first = output(ok(v.init()));
                const r = ok(v.init());
                assert.deepEqual(output(r), first);
                assert.deepEqual(called(r, INIT), []);
                assert.deepEqual(called(r, CREATE_SECRET), []);
                assert.deepEqual(called(r, UNSEAL), []);
                assert.deepEqual(lines(r.stderr).map((l) => l.replace(/ \(up to .*$/, "")), [
                    "vault-init: waiting for pod vault/vault-0 to run and Vault to answer",
                    "vault-init: vault is already initialized: reading the kept keys",
                    "vault-init: vault is unsealed",
                    "vault-init: done (unchanged)",
                ]);
                noSecretsOnStderr(r, v);
            });

            it("unseals with the kept key when the pod restarted sealed, without initializing again", () => {
                const first = output(ok(v.init()));
                v.set("sealed", "true");
                const r = ok(v.init());
                assert.deepEqual(output(r), first);
                assert.deepEqual(called(r, INIT), []);
                assert.deepEqual(called(r, CREATE_SECRET), []);
                assert.equal(called(r, UNSEAL_ON_STDIN).length, 1, explain(r));
                assert.equal(called(r, UNSEAL).length, 1, explain(r));
                assert.equal(v.get("sealed"), "false");
                assert.match(r.stderr, /^vault-init: vault is sealed: unsealing$/m);
                assert.match(r.stderr, /^vault-init: done \(unsealed\)$/m);
                noSecretsOnStderr(r, v);
            });

            it("waits for the pod to run, then for Vault to listen", () => {
                v.set("pending_polls", "2");
                v.set("deaf_polls", "2");
                const r = ok(v.init());
                assert.equal(called(r, GET_POD).length, 5, explain(r));
                assert.equal(called(r, INIT).length, 1);
                assert.match(r.stderr, /done \(initialized\)/);
            });

            it("uses the namespace, pod and Secret it is given", () => {
                v.set("namespace", "vault-sbx");
                v.set("pod", "vault-sbx-0");
                const env = { VAULT_NAMESPACE: "vault-sbx", VAULT_POD: "vault-sbx-0", KEYS_SECRET: "sbx-keys" };
                const doc = output(ok(v.init(env)));
                assert.deepEqual(v.secret("sbx-keys", "vault-sbx"), doc);
                const r = ok(v.init(env));
                assert.deepEqual(output(r), doc);
                for (const c of called(r, /^kubectl /)) assert.match(c, / -n vault-sbx (get pod vault-sbx-0|exec vault-sbx-0|get secret sbx-keys) /);
            });

            it("fails clearly when the pod never runs, after WAIT_SECONDS, polling every POLL_SECONDS", () => {
                v.set("phase", "Pending");
                const t0 = Date.now();
                // bash's SECONDS counts whole seconds: a 1 s budget can end right after the first poll
                const r = fails(v.init({ WAIT_SECONDS: "2", POLL_SECONDS: "0.2" }), "vault-init: pod vault/vault-0 is not running after 2s (phase Pending)");
                assert.ok(Date.now() - t0 < 10_000, "the wait took too long");
                assert.ok(called(r, GET_POD).length >= 2, `polled once only\n${explain(r)}`);
                assert.deepEqual(called(r, / exec /), []);
                assert.equal(r.stdout, "");
            });

            it("fails clearly when the pod does not exist, with kubectl's answer", () => {
                v.set("phase", "absent");
                fails(v.init({ WAIT_SECONDS: "1" }), "vault-init: pod vault/vault-0 is not running after 1s", 'pods "vault-0" not found');
            });

            it("fails clearly when kubectl fails (cluster unreachable), with kubectl's error", () => {
                const r = fails(v.init({ WAIT_SECONDS: "1", FAKE_FAIL: "kubectl:any" }),
                    "vault-init: pod vault/vault-0 is not running after 1s", "The connection to the server 127.0.0.1:6443 was refused");
                assert.deepEqual(called(r, / exec /), []);
                assert.equal(r.stdout, "");
            });

            it("fails clearly when Vault never answers vault status, and initializes nothing", () => {
                const r = fails(v.init({ WAIT_SECONDS: "1", FAKE_FAIL: "kubectl:status" }),
                    "vault-init: could not read vault status from vault/vault-0 after 1s", "connection refused");
                assert.ok(called(r, STATUS).length >= 1);
                assert.deepEqual(called(r, INIT), []);
            });

            it("fails clearly when vault operator init fails, and creates no Secret", () => {
                const r = fails(v.init({ FAKE_FAIL: "kubectl:init" }), "vault-init: 'vault operator init' failed");
                assert.deepEqual(called(r, CREATE_SECRET), []);
                assert.equal(v.secret("vault-init-keys"), undefined);
                assert.equal(r.stdout, "");
            });

            it("refuses to initialize while a Secret of an earlier Vault exists (its keys would be lost)", () => {
                v.putSecret("vault-init-keys", { unsealKey: "b2xkLWtleQ==", rootToken: "hvs.old" });
                const r = fails(v.init(), "vault is not initialized but secret vault/vault-init-keys exists",
                    "kubectl -n vault delete secret vault-init-keys");
                assert.deepEqual(called(r, INIT), []);
                assert.equal(v.get("initialized"), undefined);
                assert.equal(r.stdout, "");
            });

            it("retries keeping the keys, then says they are lost, without showing them", () => {
                const r = fails(v.init({ FAKE_FAIL: "kubectl:create-secret" }),
                    "vault-init: vault is initialized but its keys could not be kept in secret vault/vault-init-keys");
                assert.equal(called(r, INIT).length, 1);
                assert.equal(called(r, CREATE_SECRET).length, 3);
                assert.deepEqual(called(r, UNSEAL), []);
                assert.equal(r.stdout, "");
                noSecretsOnStderr(r, v);
            });

            it("fails clearly when Vault is initialized but the kept Secret is missing or incomplete", () => {
                v.set("initialized", "true");
                v.set("unseal_key", "a2V5");
                let r = fails(v.init(), "vault-init: could not read the kept keys (unsealKey, rootToken) of secret vault/vault-init-keys");
                assert.deepEqual(called(r, UNSEAL), []);
                assert.deepEqual(called(r, INIT), []);
                v.putSecret("vault-init-keys", { unsealKey: "a2V5" });
                r = fails(v.init(), "vault-init: could not read the kept keys (unsealKey, rootToken)");
                assert.deepEqual(called(r, UNSEAL), []);
                assert.equal(r.stdout, "");
            });

            it("fails clearly when the kept key does not unseal this Vault, without showing it", () => {
                ok(v.init());
                v.set("sealed", "true");
                v.putSecret("vault-init-keys", { unsealKey: "d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXktd3Jvbmc=" });
                const r = fails(v.init(), "vault-init: unsealing failed", "cipher: message authentication failed");
                assert.ok(!r.stderr.includes("d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXktd3Jvbmc="), explain(r));
                assert.equal(v.get("sealed"), "true");
                assert.equal(r.stdout, "");
                noSecretsOnStderr(r, v);
            });

            it("writes the kubeconfig mode 600 in TMPDIR and removes it, on success and on failure", () => {
                ok(v.init());
                const ok1 = v.sb.path("state", "kubeconfigs");
                assert.ok(lines(fs.readFileSync(ok1, "utf8")).length > 0, "the fake kubectl recorded no kubeconfig");
                // init() asserted mode, content and removal; same on a failing run.
                fails(v.init({ FAKE_FAIL: "kubectl:any", WAIT_SECONDS: "0" }));
                assert.deepEqual(fs.readdirSync(v.tmp), []);
            });

            it("refuses a malformed WAIT_SECONDS or POLL_SECONDS before calling kubectl", () => {
                let r = fails(v.init({ WAIT_SECONDS: "5m" }), "WAIT_SECONDS must be a whole number of seconds");
                assert.deepEqual(r.calls, []);
                r = fails(v.init({ POLL_SECONDS: "soon" }), "POLL_SECONDS must be a number of seconds");
                assert.deepEqual(r.calls, []);
            });
        });

        it("fails clearly without kubectl", () => {
            v.sb.removeTool("kubectl");
            const r = fails(v.init(), "vault-init: required tool 'kubectl' is not installed or not on PATH (install kubectl: brew install kubectl)");
            assert.equal(r.stdout, "");
        });

        it("fails clearly without jq, before calling kubectl", () => {
            v.sb.removeTool("jq");
            const r = fails(v.init(), "vault-init: required tool 'jq' is not installed or not on PATH (install jq: brew install jq)");
            assert.deepEqual(r.calls, []);
        });

        it("needs only the tools the README lists for sandbox-vms, and says how to install each", () => {
            const text = fs.readFileSync(scriptPath("vault-init.sh"), "utf8");
            const needs = [...text.matchAll(/^need (\S+) "([^"]+)"$/gm)].map((m) => [m[1], m[2]]);
            assert.deepEqual(needs.map(([t]) => t), ["kubectl", "jq"]);
            for (const [tool, hint] of needs) assert.equal(hint, `install ${tool}: brew install ${tool}`);
            const readme = fs.readFileSync(path.join(__dirname, "..", "README.md"), "utf8");
            const row = readme.split("\n").find((l) => l.startsWith("| needs "));
            assert.ok(row, "README's sandboxes table has a needs row");
            const vmsCell = row.split("|")[3];
            for (const [tool] of needs) assert.ok(vmsCell.includes(`\`${tool}\``), `README: sandbox-vms needs ${tool}`);
        });

        it("fails clearly without KUBECONFIG_DATA, before calling kubectl", () => {
            let r = fails(v.init({ KUBECONFIG_DATA: undefined }), "KUBECONFIG_DATA (the cluster kubeconfig) is required");
            assert.deepEqual(r.calls, []);
            r = fails(v.init({ KUBECONFIG_DATA: "" }), "KUBECONFIG_DATA (the cluster kubeconfig) is required");
            assert.deepEqual(r.calls, []);
        });
    });

    describe("vault-dev-token.sh", () => {
        it("prints a root token id Vault's token store accepts (no '.', no hvs. or s. prefix) and only its progress line on stderr", () => {
            const r = ok(v.sb.run("vault-dev-token.sh"));
            assert.match(r.stdout, /^devroot-[0-9a-f]{32}$/);
            assert.equal(customTokenIdError(r.stdout), undefined, `Vault would refuse ${r.stdout}`);
            assert.equal(r.stderr, "vault-dev-token: generating a dev root token\n");
            assert.deepEqual(r.calls, []);
        });

        it("Vault's rule, as encoded here, refuses the earlier format hvs.dev-<hex> and what Vault refuses", () => {
            // hashicorp/vault, vault/token_store.go, TokenStore.create (see test/helpers/vault.ts)
            assert.equal(customTokenIdError("hvs.dev-0123456789abcdef0123456789abcdef"), "custom token ID cannot have the 'hvs.' prefix");
            assert.equal(customTokenIdError("s.abc"), "custom token ID cannot have the 's.' prefix");
            assert.equal(customTokenIdError("dev.root"), "custom token ID cannot have a '.' in the value");
            assert.equal(customTokenIdError("root"), undefined, "the chart's default, accepted");
        });

        it("prints a new token each run", () => {
            const a = ok(v.sb.run("vault-dev-token.sh")).stdout;
            const b = ok(v.sb.run("vault-dev-token.sh")).stdout;
            assert.notEqual(a, b);
        });

        it("fails clearly without od", () => {
            fs.rmSync(path.join(v.sb.base, "od"));
            const r = fails(v.sb.run("vault-dev-token.sh"), "vault-dev-token: od is required but not installed");
            assert.equal(r.stdout, "");
        });
    });

    describe("vault-status.sh (the probe whose line triggers the bring-up)", () => {
        const HEALTH = `curl -s -o /dev/null -w %{http_code} --connect-timeout 3 --max-time 5 ${VAULT_ADDR}/v1/sys/health`;

        it("says ready, the same line every time, while Vault answers initialized and unsealed; reads only", () => {
            v.set("initialized", "true");
            v.set("sealed", "false");
            const a = ok(v.http("vault-status.sh"));
            const b = ok(v.http("vault-status.sh"));
            assert.equal(a.stdout, "ready\n");
            assert.equal(b.stdout, a.stdout);
            assert.deepEqual(a.calls, [HEALTH], "one health request, nothing else (no kubectl, no secret)");
            assert.equal(a.stderr, `vault-status: Vault at ${VAULT_ADDR} is ready\n`);
        });

        it("says bring-up with a line that never repeats while Vault is sealed (after a reboot), so the bring-up runs again each time", () => {
            v.set("initialized", "true");
            v.set("sealed", "true");
            const a = ok(v.http("vault-status.sh")).stdout;
            const b = ok(v.http("vault-status.sh")).stdout;
            assert.match(a, /^bring-up sealed \d+-\d+-\d+\n$/);
            assert.match(b, /^bring-up sealed /);
            assert.notEqual(a, b);
        });

        it("says bring-up, and succeeds, when Vault is not initialized or does not answer at all", () => {
            assert.match(ok(v.http("vault-status.sh")).stdout, /^bring-up uninitialized /);
            v.set("http", "down");
            const r = ok(v.http("vault-status.sh"));
            assert.match(r.stdout, /^bring-up unreachable /);
            assert.match(r.stderr, /is unreachable$/m);
        });

        it("fails clearly without VAULT_ADDR or without curl", () => {
            fails(v.http("vault-status.sh", { VAULT_ADDR: undefined }), "VAULT_ADDR (the address of the Vault) is required");
            v.sb.removeTool("curl");
            fails(v.http("vault-status.sh"), "vault-status: required tool 'curl' is not installed or not on PATH");
        });
    });

    describe("vault-wait.sh", () => {
        it("returns as soon as Vault answers initialized and unsealed at the provider's address", () => {
            v.set("initialized", "true");
            v.set("sealed", "false");
            const r = ok(v.http("vault-wait.sh"));
            assert.equal(r.stdout, "");
            assert.deepEqual(lines(r.stderr), [
                `vault-wait: waiting for Vault at ${VAULT_ADDR} to answer initialized and unsealed (up to 10s)`,
                `vault-wait: Vault at ${VAULT_ADDR} answers: initialized and unsealed`,
            ]);
            assert.equal(r.calls.length, 1);
        });

        it("waits while nothing listens yet (the dev pod starting), with one progress line per change", () => {
            v.set("initialized", "true");
            v.set("sealed", "false");
            v.set("http_deaf_polls", "3");
            const r = ok(v.http("vault-wait.sh"));
            assert.equal(r.calls.length, 4, explain(r));
            assert.deepEqual(lines(r.stderr).slice(1), [
                `vault-wait: Vault at ${VAULT_ADDR}: no answer (connection refused or timed out); still waiting`,
                `vault-wait: Vault at ${VAULT_ADDR} answers: initialized and unsealed`,
            ]);
        });

        it("fails clearly after WAIT_SECONDS, naming the last answer and where to look", () => {
            v.set("initialized", "true");
            v.set("sealed", "true");
            const t0 = Date.now();
            const r = fails(v.http("vault-wait.sh", { WAIT_SECONDS: "2", POLL_SECONDS: "0.2" }),
                `vault-wait: Vault at ${VAULT_ADDR} is not ready after 2s (last answer: sealed (HTTP 503)); see kubectl -n vault get pod vault-0 and kubectl -n vault logs vault-0`);
            assert.ok(Date.now() - t0 < 10_000, "the wait took too long");
            assert.ok(r.calls.length >= 2, `polled once only\n${explain(r)}`);
            assert.equal(lines(r.stderr).filter((l) => l.includes("still waiting")).length, 1, "one line per change, not per poll");
        });

        it("refuses a malformed WAIT_SECONDS or POLL_SECONDS, or a missing curl, before any request", () => {
            assert.deepEqual(fails(v.http("vault-wait.sh", { WAIT_SECONDS: "5m" }), "WAIT_SECONDS must be a whole number of seconds").calls, []);
            assert.deepEqual(fails(v.http("vault-wait.sh", { POLL_SECONDS: "soon" }), "POLL_SECONDS must be a number of seconds").calls, []);
            v.sb.removeTool("curl");
            fails(v.http("vault-wait.sh"), "vault-wait: required tool 'curl' is not installed or not on PATH");
        });
    });

    describe("the fake kubectl knows what the vault CLI refuses", () => {
        it("`vault operator unseal` without a key asks a terminal, and there is none under kubectl exec", function () {
            requireBinary(this, "jq", "jq");
            // hashicorp/vault command/operator_unseal.go reads the key with go-secure-stdlib
            // password.Read, which refuses a stdin that is not a terminal (password/password_unix.go)
            ok(v.init());
            v.set("sealed", "true");
            const kc = v.sb.path("kubeconfig");
            fs.writeFileSync(kc, KUBECONFIG);
            const direct = spawnSync(path.join(v.sb.bin, "kubectl"), ["--kubeconfig", kc, "-n", "vault", "exec", "-i", "vault-0", "--", "vault", "operator", "unseal"], {
                env: { PATH: `${v.sb.bin}:${v.sb.base}`, FAKE_STATE: v.sb.state, FAKE_LOG: v.sb.log },
                input: `${v.get("unseal_key")}\n`,
                encoding: "utf8",
            });
            assert.notEqual(direct.status, 0);
            assert.match(direct.stderr, /not a terminal/);
            assert.equal(v.get("sealed"), "true");
        });
    });

    describe("shellcheck", () => {
        for (const script of SCRIPTS) {
            it(`shellcheck: ${script}`, function () {
                requireBinary(this, "shellcheck", "shellcheck");
                const file = scriptPath(script);
                const text = fs.readFileSync(file, "utf8");
                assert.ok(text.startsWith("#!/usr/bin/env bash\n"), `${script} must start with #!/usr/bin/env bash`);
                assert.match(text, /^set -euo pipefail$/m, `${script} must set -euo pipefail`);
                const r = spawnSync("shellcheck", ["--shell=bash", "--severity=style", file], { encoding: "utf8" });
                assert.equal(r.status, 0, `shellcheck ${script}:\n${r.stdout}${r.stderr}`);
            });
        }

        it("the scripts folder holds exactly these scripts", () => {
            assert.deepEqual(fs.readdirSync(SCRIPTS_DIR).filter((f) => f.endsWith(".sh")).sort(), [...SCRIPTS].sort());
        });
    });
});
