// Providers fail closed, and a sandbox's local commands inherit nothing that reaches another lab.
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as pulumi from "@pulumi/pulumi";
import { credentialProblem, kubeconfigProblem, requireCredential } from "../components/guard/credentials";
import { SCRUB_PRELUDE, SCRUBBING_INTERPRETER } from "../components/guard/local-env";
import { OFFLINE_KUBECONFIG } from "../tools/plan-runner";
import { byType, planOf, runPlanCli, writeStackFile } from "./helpers/plan";

const settle = <T>(o: pulumi.Output<T>): Promise<T> => (o as any).promise() as Promise<T>;

describe("guard: providers fail closed", function () {
    this.timeout(120_000);

    it("a credential that is empty, missing or a placeholder is refused, naming the provider and the key", async () => {
        for (const [v, why] of [["", "empty"], ["  ", "empty"], [undefined, "missing"], ["REPLACE-ME-token", "a REPLACE-ME placeholder"], ["[secret]", "a placeholder of the offline plan"]] as const) {
            assert.strictEqual(credentialProblem(v as string | undefined), why);
        }
        await assert.rejects(settle(requireCredential("kubernetes", "kubeconfig", "", kubeconfigProblem)),
            (e: Error) => e.name === "CredentialError" && /the kubernetes provider's kubeconfig is empty/.test(e.message));
        await assert.rejects(settle(requireCredential("vault", "token", "")), /the vault provider's token is empty/);
        assert.strictEqual(kubeconfigProblem("apiVersion: v1\nkind: Config\n"), "not a kubeconfig with a cluster and its server");
        assert.strictEqual(kubeconfigProblem(OFFLINE_KUBECONFIG), undefined);
        assert.strictEqual(await settle(requireCredential("postgresql", "password", "s3cret")), "s3cret");
    });

    for (const stack of ["sandbox-k3d", "sandbox-vms"]) {
        it(`${stack}: no GCP or Cloudflare provider; the providers' own settings are explicit`, () => {
            const plan = planOf(stack);
            const providers = plan.resources.filter((r) => r.type.startsWith("pulumi:providers:")).map((r) => r.type).sort();
            assert.deepStrictEqual(providers, ["pulumi:providers:command", "pulumi:providers:kubernetes", "pulumi:providers:postgresql", "pulumi:providers:random", "pulumi:providers:vault"]);
            const [pg] = byType(plan, "pulumi:providers:postgresql");
            for (const k of ["host", "port", "username", "password", "database", "sslmode"]) assert.ok(pg.inputs[k] !== undefined, `postgresql ${k}`);
            const [v] = byType(plan, "pulumi:providers:vault");
            for (const k of ["address", "token"]) assert.strictEqual(v.inputs[k], "[secret]", `vault ${k}`);
            const [k8s] = byType(plan, "pulumi:providers:kubernetes");
            assert.strictEqual(k8s.inputs.kubeconfig, "[secret]");
        });

        it(`${stack}: every local command runs behind the scrubbing interpreter, keeping only what it sets itself`, () => {
            const locals = byType(planOf(stack), "command:local:Command");
            assert.ok(locals.length > 3);
            for (const r of locals) {
                assert.deepStrictEqual(r.inputs.interpreter, SCRUBBING_INTERPRETER, r.name);
                const env = r.inputs.environment as Record<string, string>;
                if (env !== "[secret]" as unknown) assert.ok(typeof env.LAB_KEEP_ENV === "string", r.name);
            }
        });
    }

    it("prod's local commands are untouched (its golden plan does not change)", () => {
        for (const r of byType(planOf("prod"), "command:local:Command")) assert.notDeepStrictEqual(r.inputs.interpreter, SCRUBBING_INTERPRETER, r.name);
    });

    it("homelab:backup is prod-only: a sandbox that sets it is refused (no GCP provider on ambient credentials)", () => {
        const r = runPlanCli(["sandbox-k3d", "--config-file", writeStackFile("sandbox-k3d", { "homelab:backup": { bucket: "lab-sandbox-backups" } })]);
        assert.strictEqual(r.status, 2, r.stderr);
        assert.match(r.stderr, /homelab:backup.*prod-only/);
    });
});

describe("guard: the scrubbing interpreter (real bash; nothing is contacted)", () => {
    const run = (env: Record<string, string>) => {
        const r = spawnSync(SCRUBBING_INTERPRETER[0], [...SCRUBBING_INTERPRETER.slice(1), "env | sort"], {
            env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env }, encoding: "utf8",
        });
        assert.strictEqual(r.status, 0, r.stderr);
        return r.stdout;
    };

    it("removes the variables that reach another lab, keeps the command's own and the rest", () => {
        const out = run({
            KUBECONFIG: "/home/op/.kube/prod", VAULT_TOKEN: "hvs.prod", VAULT_ADDR: "https://sandbox-vault.local.test", VAULT_NAMESPACE: "x",
            PGPASSWORD: "prod", PGHOST: "pi2", GOOGLE_APPLICATION_CREDENTIALS: "/x.json", CLOUDSDK_CORE_PROJECT: "p", CLOUDFLARE_API_TOKEN: "t",
            DOCKER_HOST: "ssh://pi@192.168.1.202", DOCKER_CONTEXT: "prod-pi2", HOME: "/home/op", SSH_AUTH_SOCK: "/tmp/agent",
            LAB_KEEP_ENV: "VAULT_ADDR",
        });
        for (const gone of ["KUBECONFIG", "VAULT_TOKEN", "VAULT_NAMESPACE", "PGPASSWORD", "PGHOST", "GOOGLE_APPLICATION_CREDENTIALS", "CLOUDSDK_CORE_PROJECT", "CLOUDFLARE_API_TOKEN", "DOCKER_HOST", "DOCKER_CONTEXT", "LAB_KEEP_ENV"]) {
            assert.doesNotMatch(out, new RegExp(`^${gone}=`, "m"), gone);
        }
        assert.match(out, /^VAULT_ADDR=https:\/\/sandbox-vault\.local\.test$/m);
        assert.match(out, /^HOME=\/home\/op$/m);
        assert.match(out, /^SSH_AUTH_SOCK=\/tmp\/agent$/m);
    });

    it("keeps a DOCKER_HOST that is a local unix socket and a local engine's context", () => {
        const out = run({ DOCKER_HOST: "unix:///var/run/docker.sock", DOCKER_CONTEXT: "colima" });
        assert.match(out, /^DOCKER_HOST=unix:\/\/\/var\/run\/docker\.sock$/m);
        assert.match(out, /^DOCKER_CONTEXT=colima$/m);
    });

    it("is shellcheck-clean where shellcheck is installed", function () {
        const probe = spawnSync("shellcheck", ["--version"]);
        if (probe.error) {
            if (process.env.CI === "true") assert.fail("shellcheck is required in CI");
            this.skip();
        }
        const r = spawnSync("shellcheck", ["-s", "bash", "-"], { input: `#!/usr/bin/env bash\n${SCRUB_PRELUDE}\n`, encoding: "utf8" });
        assert.strictEqual(r.status, 0, r.stdout);
    });
});
