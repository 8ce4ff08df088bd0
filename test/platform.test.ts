import { strict as assert } from "assert";
import { parseConfig } from "../components/config";
import { Facts, factsOf, parityDifferences, PARITY_EXCEPTIONS } from "../components/parity";
import { shared } from "../components/naming";
import { readStackConfig } from "../components/stack-config";
import { PlanDocument, PlanResource } from "../tools/plan-types";
import { byType, programPlanOf as planOf, ROOT, runPlanCli, STACKS, writeStackFile } from "./helpers/plan";
// The program's definitions: prod with every migration on (programPlanOf); the baseline is test/adoption.test.ts.

const RELEASE = "kubernetes:helm.sh/v3:Release";
const manifest = () => parseConfig("prod", readStackConfig(ROOT, "prod")).versions;

function releases(plan: PlanDocument): Record<string, string> {
    return Object.fromEntries(byType(plan, RELEASE).map((r) => [r.inputs.chart as string, r.inputs.version as string]));
}

function release(plan: PlanDocument, chart: string): PlanResource {
    const r = byType(plan, RELEASE).find((x) => x.inputs.chart === chart);
    assert.ok(r, `${plan.stack} has a ${chart} release`);
    return r;
}

/** Everything a resource waits for, directly or through its dependencies and its provider. */
function closure(plan: PlanDocument, r: PlanResource): Set<string> {
    const byUrn = new Map(plan.resources.map((x) => [x.urn, x]));
    const seen = new Set<string>();
    const stack = [...r.dependsOn, ...(r.provider ? [r.provider] : [])];
    while (stack.length) {
        const u = stack.pop()!;
        if (seen.has(u)) continue;
        seen.add(u);
        const x = byUrn.get(u);
        if (x) stack.push(...x.dependsOn, ...(x.provider ? [x.provider] : []));
    }
    return seen;
}

describe("platform: releases, providers, ordering", () => {
    it("installs the releases of each stack at the manifest's chart versions", () => {
        const c = manifest().charts;
        const all = { [c.longhorn.chart]: c.longhorn.version, [c.vault.chart]: c.vault.version, [c.vaultSecretsOperator.chart]: c.vaultSecretsOperator.version, [c.argoCd.chart]: c.argoCd.version };
        const without = (...charts: string[]) => Object.fromEntries(Object.entries(all).filter(([k]) => !charts.includes(k)));
        assert.deepEqual(releases(planOf("sandbox-vms")), all);
        assert.deepEqual(releases(planOf("sandbox-k3d")), without("longhorn"), "no Longhorn on k3d");
        assert.deepEqual(releases(planOf("prod")), without("vault"), "prod uses its existing Vault");
        for (const stack of STACKS) {
            for (const r of byType(planOf(stack), RELEASE)) {
                const spec = Object.values(manifest().charts).find((x) => x.chart === r.inputs.chart)!;
                assert.deepEqual(r.inputs.repositoryOpts, { repo: spec.repo }, `${stack} ${r.name} from the manifest's repo`);
            }
        }
    });

    it("runs Vault in dev mode on k3d and standalone with persistent storage on the VMs", () => {
        const dev = release(planOf("sandbox-k3d"), "vault").inputs.values as any;
        assert.equal(dev.server.dev.enabled, true);
        assert.equal(dev.server.dev.devRootToken, "[secret]", "the dev root token is a secret, not the chart's default");
        // hashicorp/vault-helm v0.32.0 values.yaml: `updateStrategyType: "OnDelete"`; a new dev token
        // must reach a new pod, and a dev Vault keeps nothing on disk.
        assert.equal(dev.server.updateStrategyType, "RollingUpdate");
        const vms = release(planOf("sandbox-vms"), "vault").inputs.values as any;
        assert.equal(vms.server.standalone.enabled, true);
        assert.deepEqual(vms.server.dataStorage, { enabled: true, size: "2Gi", storageClass: "longhorn" });
        assert.equal(vms.server.dev, undefined);
        assert.equal(vms.server.updateStrategyType, undefined, "the standalone Vault keeps the chart's OnDelete");
        const vmsPlan = planOf("sandbox-vms");
        assert.ok(release(vmsPlan, "vault").dependsOn.includes(release(vmsPlan, "longhorn").urn), "Vault's volume needs Longhorn first");
    });

    it("replicates Longhorn volumes three times where it runs", () => {
        for (const stack of ["prod", "sandbox-vms"]) {
            const v = release(planOf(stack), "longhorn").inputs.values as any;
            assert.equal(v.persistence.defaultClassReplicaCount, 3);
            assert.equal(v.defaultSettings.defaultReplicaCount, 3);
        }
    });

    it("has exactly one default StorageClass in every stack", () => {
        for (const stack of STACKS) {
            const plan = planOf(stack);
            // k3s ships local-path as the default, unless its server runs with --disable=local-storage.
            const localPathOff = byType(plan, "command:remote:Command").some((r) => /K3S_DISABLE='[^']*\blocal-storage\b/.test(String(r.inputs.create)));
            const defaults = [
                ...(localPathOff ? [] : ["local-path"]),
                ...byType(plan, RELEASE).filter((r) => (r.inputs.values as any)?.persistence?.defaultClass === true).map(() => "longhorn"),
            ];
            assert.equal(defaults.length, 1, `${stack}: default StorageClasses ${defaults.join(", ")}`);
        }
    });

    it("backs prod up under its own prefix of the existing bucket, never creating it, and sandbox-vms to its own MinIO, never prod's bucket", () => {
        const prod = planOf("prod");
        assert.equal(byType(prod, "gcp:storage/bucket:Bucket").length, 0, "the lab's bucket (arcodange-tf) exists: never created or deleted");
        const member = byType(prod, "gcp:storage/bucketIAMMember:BucketIAMMember");
        assert.equal(member.length, 1);
        assert.equal(member[0].inputs.bucket, "arcodange-tf");
        assert.equal(byType(prod, "gcp:storage/hmacKey:HmacKey").length, 1);
        const lh = release(prod, "longhorn");
        assert.equal((lh.inputs.values as any).defaultBackupStore.backupTarget, "s3://arcodange-tf@europe-west1/longhorn/");
        // a created bucket (another configuration) is protected on prod
        const created = byType(planOf("prod", { "homelab:backup": { bucket: "arcodange-tf", project: "REPLACE-ME-gcp-project" } }), "gcp:storage/bucket:Bucket");
        assert.equal(created.length, 1);
        assert.ok(created[0].protect);
        assert.ok(lh.dependsOn.some((d) => d.endsWith("::platform-longhorn-backup-credentials")), "Longhorn waits for its credentials");
        const vms = planOf("sandbox-vms");
        assert.equal(byType(vms, "gcp:storage/bucket:Bucket").length, 0);
        assert.equal((release(vms, "longhorn").inputs.values as any).defaultBackupStore.backupTarget, "s3://homelab-backups-sandbox-vms@us-east-1/");
    });

    it("gives Vault its own PostgreSQL login, not a superuser, and closes postgres and template1 to PUBLIC, in every stack", () => {
        for (const stack of STACKS) {
            const plan = planOf(stack);
            const roles = byType(plan, "postgresql:index/role:Role").filter((r) => r.inputs.name === shared.vaultPostgresRole);
            assert.equal(roles.length, 1, `${stack}: one ${shared.vaultPostgresRole}`);
            const { login, createRole, superuser, createDatabase, password } = roles[0].inputs;
            assert.deepEqual({ login, createRole, superuser, createDatabase }, { login: true, createRole: true, superuser: false, createDatabase: false }, stack);
            assert.equal(password, "[secret]", `${stack}: its password is a secret`);
            const revoked = byType(plan, "postgresql:index/grant:Grant").filter((g) => g.inputs.role === "public" && ["postgres", "template1"].includes(g.inputs.database as string));
            assert.deepEqual(revoked.map((g) => [g.inputs.database, g.inputs.objectType, g.inputs.privileges]).sort(),
                [["postgres", "database", []], ["template1", "database", []]], stack);
            for (const c of byType(plan, "vault:database/secretBackendConnection:SecretBackendConnection")) {
                assert.equal((c.inputs.postgresql as Record<string, unknown>).username, shared.vaultPostgresRole, `${stack}: ${c.name}`);
                assert.ok(c.dependsOn.some((d) => d.endsWith(`::${c.name.replace(/-db-connection$/, "")}-vault-admin`)), `${c.name} waits for Vault's ADMIN OPTION`);
            }
        }
    });

    it("gives every kubernetes, postgresql and vault resource an explicit provider", () => {
        for (const stack of STACKS) {
            const plan = planOf(stack);
            const managed = plan.resources.filter((r) => /^(kubernetes|postgresql|vault|cloudflare|gcp):/.test(r.type));
            assert.ok(managed.length > 50);
            const ambient = managed.filter((r) => !r.provider).map((r) => r.urn);
            assert.deepEqual(ambient, [], `${stack}: resources on an ambient default provider`);
            const k8s = byType(plan, "pulumi:providers:kubernetes");
            assert.equal(k8s.length, 1);
            assert.equal(k8s[0].inputs.clusterIdentifier, `homelab-${stack}`, "stable cluster identity");
            assert.equal(k8s[0].inputs.kubeconfig, "[secret]");
        }
    });

    it("makes CustomResources wait for the release that installs their CRDs", () => {
        for (const stack of STACKS) {
            const plan = planOf(stack);
            const vso = release(plan, "vault-secrets-operator").urn;
            const argocd = release(plan, "argo-cd").urn;
            for (const r of plan.resources.filter((x) => x.type.startsWith("kubernetes:secrets.hashicorp.com/"))) {
                assert.ok(closure(plan, r).has(vso), `${r.urn} waits for VSO`);
            }
            for (const r of plan.resources.filter((x) => x.type.startsWith("kubernetes:argoproj.io/"))) {
                assert.ok(closure(plan, r).has(argocd), `${r.urn} waits for Argo CD`);
            }
        }
    });

    it("configures Vault only once it answers, initialized and unsealed, where its provider reaches it", () => {
        // The vault chart's StatefulSet uses `updateStrategy: {type: OnDelete}` (hashicorp/vault-helm
        // v0.32.0, templates/server-statefulset.yaml: `type: {{ .Values.server.updateStrategyType }}`,
        // values.yaml: `updateStrategyType: "OnDelete"`), for which Helm's readiness wait returns at
        // once: the release is no sign that Vault listens. vault-wait.sh is.
        for (const stack of ["sandbox-vms", "sandbox-k3d"]) {
            const plan = planOf(stack);
            const wait = plan.resources.find((r) => r.name === "platform-vault-bootstrap-wait")!;
            assert.ok(wait, `${stack}: the wait for Vault`);
            assert.match(String(wait.inputs.create), /vault-wait: waiting for Vault/);
            const provider = byType(plan, "pulumi:providers:vault")[0];
            // the provider's address reaches it only through the live-identity guard (a secret output)
            assert.equal((wait.inputs.environment as any).VAULT_ADDR, plan.outputs.vaultAddress, "it waits at the address the provider uses");
            assert.equal(provider.inputs.address, "[secret]");
            assert.ok(provider.dependsOn.includes(wait.urn), `${stack}: the Vault provider depends on the wait`);
            assert.ok(closure(plan, wait).has(release(plan, "vault").urn), "the wait comes after the release");
            if (stack === "sandbox-vms") {
                const init = plan.resources.find((r) => r.name === "platform-vault-bootstrap-init")!;
                assert.ok(wait.dependsOn.includes(init.urn), "on the VMs, after init and unseal");
            }
            for (const r of plan.resources.filter((x) => x.type.startsWith("vault:"))) {
                assert.ok(closure(plan, r).has(wait.urn), `${r.urn} waits for ${wait.name}`);
            }
        }
    });

    it("brings Vault up again on every up where the probe finds it not ready, with a plan that stays the same", () => {
        // The probe (vault-status.sh, an invoke) is answered by the mocks: "" here, the same every run.
        for (const stack of ["sandbox-vms", "sandbox-k3d"]) {
            const plan = planOf(stack);
            const triggered = plan.resources.filter((r) => r.name === "platform-vault-bootstrap-wait" || r.name === "platform-vault-bootstrap-init");
            assert.equal(triggered.length, stack === "sandbox-vms" ? 2 : 1);
            for (const r of triggered) assert.deepEqual(r.inputs.triggers, [""], `${r.name}: triggered by the probe's line`);
        }
        const again = runPlanCli(["sandbox-vms", "--json"]);
        assert.deepEqual(JSON.parse(again.stdout).resources, planOf("sandbox-vms").resources, "the offline plan is deterministic");
    });

    it("never hands a Vault command its previous outputs (the root token, the unseal key) in its environment", () => {
        for (const stack of ["sandbox-k3d", "sandbox-vms"]) {
            const cmds = planOf(stack).resources.filter((r) => r.name.includes("vault-bootstrap") && r.type.startsWith("command:"));
            assert.ok(cmds.length >= 2);
            for (const c of cmds) assert.equal(c.inputs.addPreviousOutputInEnv, false, `${stack} ${c.name}`);
        }
    });

    it("keeps the dev root token when vault-dev-token.sh is edited: created once, replaced only by a new token format", () => {
        const token = planOf("sandbox-k3d").resources.find((r) => r.name === "platform-vault-bootstrap-dev-token")!;
        assert.deepEqual(token.inputs.triggers, ["dev-root-token-format-2"]);
        assert.deepEqual(token.ignoreChanges, ["create"], "an edit of the script is not a change of the resource");
    });

    it("lets independent apps come up in parallel: no app waits for another", () => {
        for (const stack of STACKS) {
            const plan = planOf(stack);
            const instanceOf = (urn: string) => plan.resources.find((r) => r.urn === urn)?.parent ?? null;
            const instances = new Set(byType(plan, "lab:apps:AppInstance").map((r) => r.urn));
            for (const r of plan.resources.filter((x) => x.parent && instances.has(x.parent))) {
                for (const d of closure(plan, r)) {
                    const owner = instanceOf(d);
                    assert.ok(!owner || !instances.has(owner) || owner === r.parent, `${r.urn} depends on ${d} of another app`);
                }
            }
        }
    });

    it("keeps the Vault init's and dev token's secrets out of every log", () => {
        for (const stack of ["sandbox-k3d", "sandbox-vms"]) {
            const cmds = planOf(stack).resources.filter((r) => /vault-bootstrap-(dev-token|init)$/.test(r.name));
            assert.equal(cmds.length, 1);
            for (const c of cmds) {
                assert.deepEqual(c.additionalSecretOutputs, ["stdout"], `${c.name} stdout is secret`);
                assert.equal(c.inputs.logging, "stderr", `${c.name} logs only its progress (stderr)`);
            }
        }
        const init = planOf("sandbox-vms").resources.find((r) => r.name.endsWith("vault-bootstrap-init"))!;
        assert.equal((init.inputs.environment as any).KUBECONFIG_DATA, "[secret]", "the kubeconfig is passed as a secret");
    });
});

describe("parity between stacks", () => {
    const facts = (overrides: Record<string, Record<string, string>> = {}): Record<string, Facts> =>
        Object.fromEntries(STACKS.map((s) => [s, factsOf(parseConfig(s, { ...readStackConfig(ROOT, s), ...(overrides[s] ?? {}) }))]));

    it("the three stacks run the same versions and catalogue, but for the declared exceptions", () => {
        assert.deepEqual(parityDifferences(facts()), []);
        for (const e of PARITY_EXCEPTIONS) assert.ok(e.reason.length > 10, `${e.stack} ${e.fact} has a reason`);
    });

    it("fails when one stack's k3s version is changed", () => {
        const versions = JSON.parse(readStackConfig(ROOT, "prod")["homelab:versions"]);
        versions.k3s = "v1.33.6+k3s1";
        const diffs = parityDifferences(facts({ "sandbox-vms": { "homelab:versions": JSON.stringify(versions) } }));
        assert.deepEqual(diffs, [{ fact: "versions.k3s", values: { prod: "v1.34.3+k3s1", "sandbox-k3d": "v1.34.3+k3s1", "sandbox-vms": "v1.33.6+k3s1" } }]);
    });

    it("fails when a sandbox's catalogue differs", () => {
        const apps = JSON.parse(readStackConfig(ROOT, "prod")["homelab:apps"]);
        delete apps.cms;
        const diffs = parityDifferences(facts({ "sandbox-k3d": { "homelab:apps": JSON.stringify(apps) } }));
        assert.deepEqual(diffs.map((d) => d.fact), ["apps"]);
    });

    it("is a line of the plan's output", () => {
        const ok = runPlanCli(["sandbox-vms"]);
        assert.match(ok.stdout, /^parity: prod, sandbox-k3d, sandbox-vms run the same versions and catalogue/m);
        const versions = JSON.parse(readStackConfig(ROOT, "prod")["homelab:versions"]);
        versions.charts.argoCd.version = "9.0.0";
        const bad = runPlanCli(["sandbox-vms", "--config-file", writeStackFile("sandbox-vms", { "homelab:versions": versions })]);
        assert.match(bad.stdout, /parity: DIFFERENCES[\s\S]*charts\.argoCd: prod=10\.1\.1, sandbox-k3d=10\.1\.1, sandbox-vms=9\.0\.0/);
    });
});
