// The in-program guard: a sandbox stack file that names prod stops before anything is registered.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { ConfigError, isConfigError } from "../components/config";
import { loadFingerprint } from "../components/fingerprint";
import { escapeHatchSet, guardStack } from "../components/guard";
import { readStackConfig } from "../components/stack-config";
import { ROOT, removeProject, tempProject } from "./fixtures/policy/harness";

const fp = loadFingerprint(ROOT);
const NO_HATCH: NodeJS.ProcessEnv = {};
const HATCH: NodeJS.ProcessEnv = { LAB_I_MEAN_PROD: "true" };

/** The guard's verdict on a sandbox stack file (YAML text), in a copy of the project. */
function guardFile(yaml: string, env: NodeJS.ProcessEnv = NO_HATCH, stack = "sandbox-test"): string[] {
    const dir = tempProject({ stacks: { [stack]: yaml } });
    try {
        return guardStack(stack, readStackConfig(dir, stack), fp, env);
    } finally {
        removeProject(dir);
    }
}

function stopped(yaml: string, env: NodeJS.ProcessEnv = NO_HATCH): ConfigError {
    try {
        guardFile(yaml, env);
    } catch (e) {
        assert.ok(isConfigError(e), `a ConfigError (printed without a stack trace), got ${e}`);
        return e as ConfigError;
    }
    assert.fail("the guard did not stop the stack");
}

const HOSTS = (address: string, hostname?: string, name = "node1") => `config:
  homelab:mode: hosts
  homelab:hosts:
    - name: ${name}
${hostname ? `      hostname: ${hostname}\n` : ""}      address: ${address}
      role: server
  homelab:dataHost: ${name}
`;
const K3D = (extra: string) => `config:\n  homelab:mode: k3d\n${extra}`;

describe("guard: the in-program guard", () => {
    describe("the committed stacks", () => {
        for (const stack of ["sandbox-k3d", "sandbox-vms"]) {
            it(`${stack} passes (sandbox-vms names its VMs pi1..pi3 and its dataHost pi2: its own machines)`, () => {
                assert.deepStrictEqual(guardStack(stack, readStackConfig(ROOT, stack), fp, NO_HATCH), []);
            });
        }

        it("prod is not guarded against itself", () => {
            assert.deepStrictEqual(guardStack("prod", readStackConfig(ROOT, "prod"), fp, NO_HATCH), []);
        });

        it("no committed stack file carries the escape hatch, in any casing or spelling", () => {
            const hatch = /i[\s_.-]*mean[\s_.-]*prod/i;
            for (const probe of ["LAB_I_MEAN_PROD: true", "lab_i_mean_prod", "i_mean_prod", "I-Mean-Prod", "iMeanProd", "homelab:iMeanProd"]) {
                assert.match(probe, hatch);
            }
            const files = fs.readdirSync(ROOT).filter((f) => /^Pulumi(\..+)?\.ya?ml$/.test(f));
            assert.ok(files.includes("Pulumi.prod.yaml") && files.includes("Pulumi.sandbox-vms.yaml"));
            for (const f of files) {
                const text = fs.readFileSync(path.join(ROOT, f), "utf8");
                assert.doesNotMatch(text, hatch, `${f} carries the escape hatch: it is per invocation only (an environment variable)`);
            }
        });
    });

    describe("stops a sandbox that names prod anywhere the configuration accepts it, naming the key", () => {
        const cases: [string, string, string, RegExp][] = [
            ["hosts[].address", HOSTS("192.168.1.201"), "hosts[0].address", /key "homelab:hosts\[0\]\.address" is "192\.168\.1\.201", which names prod: 192\.168\.1\.201 is the address of prod host pi1/],
            ["hosts[].hostname", HOSTS("10.0.0.11", "pi2.arcodange.lab"), "hosts[0].hostname", /key "homelab:hosts\[0\]\.hostname" is "pi2\.arcodange\.lab", which names prod: pi2\.arcodange\.lab is the DNS name of prod host pi2/],
            ["hosts[].hostname, a bare prod host name", HOSTS("10.0.0.11", "pi1"), "hosts[0].hostname", /key "homelab:hosts\[0\]\.hostname" is "pi1", which names prod: pi1 \(used as an address\) is the name of prod host pi1/],
            ["vaultAddress", K3D("  homelab:vaultAddress: https://vault.arcodange.lab:8200\n"), "vaultAddress", /key "homelab:vaultAddress" is "https:\/\/vault\.arcodange\.lab:8200", which names prod: vault\.arcodange\.lab is the prod Vault/],
            ["vaultAddress by address", K3D("  homelab:vaultAddress: http://192.168.1.203:8200\n"), "vaultAddress", /192\.168\.1\.203 is the address of prod host pi3/],
            ["backup.bucket", K3D("  homelab:backup:\n    bucket: arcodange-tf\n"), "backup.bucket", /key "homelab:backup\.bucket" is "arcodange-tf", which names prod: arcodange-tf is the prod backup bucket/],
            ["backup.project", K3D("  homelab:backup:\n    bucket: sandbox-backups\n    project: REPLACE-ME-gcp-project\n"), "backup.project", /REPLACE-ME-gcp-project is the GCP project of the prod backup bucket/],
            ["zone", K3D("  homelab:zone: arcodange.fr\n"), "zone", /key "homelab:zone" is "arcodange\.fr", which names prod: arcodange\.fr is the prod DNS zone/],
            ["zone, a subdomain", K3D("  homelab:zone: sandbox.arcodange.fr\n"), "zone", /sandbox\.arcodange\.fr is in the prod DNS zone arcodange\.fr/],
            ["cloudflareZoneId", K3D("  homelab:cloudflareZoneId: REPLACE-ME-cloudflare-zone-id\n"), "cloudflareZoneId", /the Cloudflare id of the prod DNS zone/],
            ["a provider's own key", K3D("  vault:address: https://pi1:8200\n"), "vault:address", /key "vault:address" is "https:\/\/pi1:8200", which names prod: pi1 \(the host of a URL\) is the name of prod host pi1/],
            ["a kubeconfig in a provider's key", K3D("  kubernetes:kubeconfig: |\n    apiVersion: v1\n    clusters:\n    - cluster:\n        server: https://192.168.1.201:6443\n      name: x\n"),
                "kubernetes:kubeconfig>clusters[0].cluster.server", /key "kubernetes:kubeconfig>clusters\[0\]\.cluster\.server" is "https:\/\/192\.168\.1\.201:6443"/],
        ];
        for (const [what, yaml, key, message] of cases) {
            it(what, () => {
                const e = stopped(yaml);
                assert.strictEqual(e.key, key);
                assert.strictEqual(e.stack, "sandbox-test");
                assert.match(e.message, /^configuration error in stack "sandbox-test": stack "sandbox-test" is not prod, yet its configuration names prod/);
                assert.match(e.message, message);
                assert.match(e.message, /\(prod declares it in Pulumi\.prod\.yaml homelab:/);
                assert.match(e.message, /Fix Pulumi\.sandbox-test\.yaml .* set LAB_I_MEAN_PROD=true in the environment; never in a stack file\./s);
            });
        }

        it("lists every key that names prod, in one error", () => {
            const e = stopped(HOSTS("192.168.1.202", "pi2.arcodange.lab") + "  homelab:vaultAddress: https://vault.arcodange.lab\n");
            const lines = e.message.split("\n").filter((l) => l.startsWith("  - key "));
            assert.deepStrictEqual(lines.map((l) => /key "([^"]+)"/.exec(l)![1]),
                ["homelab:hosts[0].hostname", "homelab:hosts[0].address", "homelab:vaultAddress"]);
        });

        it("does not print a secret value", () => {
            const dir = tempProject({ stacks: { "sandbox-test": K3D("  kubernetes:kubeconfig: \"server: https://192.168.1.201:6443\\ntoken: s3cr3t-token\\n\"\n") } });
            try {
                const env = { PULUMI_CONFIG_SECRET_KEYS: JSON.stringify(["kubernetes:kubeconfig"]) };
                assert.throws(() => guardStack("sandbox-test", readStackConfig(dir, "sandbox-test"), fp, env), (e: Error) => {
                    assert.match(e.message, /key "kubernetes:kubeconfig>server" is a secret value, which names prod/);
                    assert.doesNotMatch(e.message, /s3cr3t-token/);
                    return true;
                });
            } finally {
                removeProject(dir);
            }
        });
    });

    describe("near misses pass", () => {
        const cases: [string, string][] = [
            ["an address next to prod's", HOSTS("192.168.1.20")],
            ["an address that starts like prod's", HOSTS("192.168.1.210")],
            ["a host named like a prod host, with its own address", HOSTS("10.0.0.11", undefined, "pi1")],
            ["a hostname outside the zone", HOSTS("10.0.0.11", "pi1.lab.notarcodange.fr")],
            ["a Vault elsewhere", K3D("  homelab:vaultAddress: https://vault.notarcodange.fr\n")],
            ["a bucket that only starts like prod's", K3D("  homelab:backup:\n    bucket: arcodange-tf-sandbox\n")],
            ["a VM mirror of prod", "config:\n  homelab:mode: multipass\n  homelab:vms:\n    - {name: pi1, role: server, cpus: 2, memory: 4G, disk: 20G}\n    - {name: pi2, role: agent, cpus: 2, memory: 4G, disk: 20G}\n  homelab:dataHost: pi2\n"],
        ];
        for (const [what, yaml] of cases) {
            it(what, () => assert.deepStrictEqual(guardFile(yaml), []));
        }
    });

    describe("the escape hatch, per invocation", () => {
        it("LAB_I_MEAN_PROD=true turns the stop into one loud warning per key", () => {
            const warnings = guardFile(HOSTS("192.168.1.201") + "  homelab:vaultAddress: https://vault.arcodange.lab\n", HATCH);
            assert.strictEqual(warnings.length, 2);
            assert.match(warnings[0], /^LAB_I_MEAN_PROD=true: stack "sandbox-test" is allowed to name prod for this run only: key "homelab:hosts\[0\]\.address" is "192\.168\.1\.201"/);
            assert.match(warnings[1], /key "homelab:vaultAddress"/);
        });

        it("only the value true opens it", () => {
            assert.ok(escapeHatchSet({ LAB_I_MEAN_PROD: "true" }));
            assert.ok(escapeHatchSet({ LAB_I_MEAN_PROD: "TRUE" }));
            for (const v of [undefined, "", "1", "yes", "false", "truee"]) assert.ok(!escapeHatchSet({ LAB_I_MEAN_PROD: v }), String(v));
            assert.ok(!escapeHatchSet({ lab_i_mean_prod: "true" }));
            stopped(HOSTS("192.168.1.201"), { LAB_I_MEAN_PROD: "1" });
        });

        it("a stack file cannot set it: config is not the environment", () => {
            stopped(HOSTS("192.168.1.201") + "  homelab:LAB_I_MEAN_PROD: \"true\"\n");
        });
    });
});
