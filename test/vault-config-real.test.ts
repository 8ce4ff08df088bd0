// The plans' Vault resources applied to a real Vault API server (OpenBao, test/helpers/openbao.ts)
// with the calls terraform-provider-vault v5.8.0 makes (test/helpers/vault-applier.ts cites them),
// then read back: mounts, auth backends, policies, Kubernetes-auth config and roles, database
// connections (verified by the server against the contract's real PostgreSQL 17.7 as vault_admin)
// and roles are what each plan says. In CI these tests never skip. Relies on OpenBao accepting the
// calls Vault 1.21.1 accepts (docs/architecture.md, "Testing against a real Vault API").
import { strict as assert } from "assert";
import { PlanDocument, PlanResource } from "../tools/plan-types";
import { useOpenBao } from "./helpers/openbao";
import { TokenReviewApi } from "./helpers/token-review";
import { applyPlan, resetServer } from "./helpers/pg-applier";
import { planOf, programPlanOf, projectApps } from "./helpers/plan";
import { usePostgres } from "./helpers/postgres-server";
import { applyVault, mapConnectionUrl, readBackDifferences, unapplyVault, vaultCallsOf, vaultResources } from "./helpers/vault-applier";

const resource = (type: string, inputs: Record<string, unknown>): PlanResource => ({
    urn: `urn:pulumi:prod::homelab::${type}::x`, type, name: "x", parent: null, provider: null, protect: false, import: null, retainOnDelete: false, dependsOn: [], inputs,
});

const withSibling = (): Record<string, Record<string, unknown>> => {
    const apps = projectApps();
    apps.erp = { ...apps.erp, envs: ["prod", "sandbox"] };
    return apps;
};

/** A loopback URL nothing listens on: the config is written, no login is tried here. */
const NO_K8S = "http://127.0.0.1:9";

describe("the Vault applier (terraform-provider-vault v5.8.0's calls)", () => {
    it("refuses a vault resource type it does not implement", () => {
        for (const type of ["vault:generic/secret:Secret", "vault:kv/secretV2:SecretV2", "vault:jwt/authBackend:AuthBackend", "vault:index/token:Token"]) {
            assert.throws(() => vaultCallsOf(resource(type, {})), new RegExp(`resource type ${type.replace(/[/]/g, "\\/")} is not implemented by the Vault applier`));
        }
    });

    it("refuses inputs it does not implement rather than dropping them", () => {
        assert.throws(() => vaultCallsOf(resource("vault:index/mount:Mount", { path: "p", type: "kv", pluginVersion: "v1" })), /pluginVersion is not implemented/);
        assert.throws(() => vaultCallsOf(resource("vault:index/authBackend:AuthBackend", { type: "kubernetes", tune: [{}] })), /tune is not implemented/);
    });

    it("never sends a non-loopback address: prod's PostgreSQL and the in-cluster Kubernetes API must be mapped", () => {
        assert.throws(() => mapConnectionUrl("postgresql://{{username}}:{{password}}@192.168.1.202:5432/erp?sslmode=disable", undefined, "x"), /refusing connection_url host 192\.168\.1\.202/);
        assert.equal(mapConnectionUrl("postgresql://{{username}}:{{password}}@192.168.1.202:5432/erp?sslmode=disable", { host: "127.0.0.1", port: 5555 }, "x"),
            "postgresql://{{username}}:{{password}}@127.0.0.1:5555/erp?sslmode=disable");
        const cfg = resource("vault:kubernetes/authBackendConfig:AuthBackendConfig", { backend: "kubernetes", kubernetesHost: "https://kubernetes.default.svc:443" });
        assert.throws(() => vaultCallsOf(cfg), /refusing https:\/\/kubernetes\.default\.svc:443/);
        assert.equal(vaultCallsOf(cfg, { kubernetesHost: NO_K8S })![0].body.kubernetes_host, NO_K8S);
    });

    it("makes the provider's calls for prod's plan: one per resource, on the provider's paths", () => {
        // the program's definitions (prod with every migration on); the adoption baseline's Vault
        // writes are the replica proof's (test/adoption-replica.test.ts)
        const plan = programPlanOf("prod");
        const calls = vaultResources(plan.resources).flatMap((r) => vaultCallsOf(r, { postgres: { host: "127.0.0.1", port: 5 }, passwords: new Map([["vault_admin", "x"]]), kubernetesHost: NO_K8S }) ?? []);
        const paths = calls.map((c) => `${c.method} ${c.path}`);
        assert.ok(paths.includes("POST sys/mounts/apps") && paths.includes("POST sys/mounts/database") && paths.includes("POST sys/auth/kubernetes"), paths.join("\n"));
        assert.ok(paths.includes("PUT sys/policies/acl/erp") && paths.includes("POST auth/kubernetes/role/erp") && paths.includes("POST auth/kubernetes/config"));
        assert.ok(paths.includes("POST database/config/erp") && paths.includes("POST database/roles/erp"));
        const conn = calls.find((c) => c.path === "database/config/erp")!.body;
        assert.deepEqual(Object.keys(conn).sort(), ["allowed_roles", "connection_url", "disable_escaping", "max_open_connections", "password", "password_authentication", "plugin_name", "username", "verify_connection"]);
        assert.equal(conn.allowed_roles, "erp");
        assert.equal(conn.max_open_connections, 2, "the provider's schema default");
    });
});

describe("the plans' Vault configuration on a real Vault API server (OpenBao)", function () {
    this.timeout(180_000);
    const pg = usePostgres();
    const bao = useOpenBao();
    const k8s = new TokenReviewApi();
    before(() => k8s.start());
    after(() => k8s.stop());

    const cases: { title: string; plan: () => PlanDocument }[] = [
        { title: "prod with an in-cluster sibling (erp: prod, sandbox)", plan: () => programPlanOf("prod", { "homelab:apps": withSibling() }) },
        { title: "sandbox-k3d", plan: () => planOf("sandbox-k3d") },
        { title: "sandbox-vms", plan: () => planOf("sandbox-vms") },
    ];
    for (const cs of cases) {
        it(`${cs.title}: applied with the provider's calls, read back as the plan says`, async () => {
            const plan = cs.plan();
            await resetServer(pg());
            const applied = await applyPlan(pg(), plan.resources);
            await unapplyVault(bao(), bao().rootToken, plan.resources);
            const opts = { postgres: { host: pg().host, port: pg().port }, passwords: applied.passwords, kubernetesHost: k8s.url, kubernetesCaCert: k8s.caCert };
            const done = await applyVault(bao(), bao().rootToken, plan.resources, opts);
            assert.equal(done.resources.length, vaultResources(plan.resources).length);
            // No answer with a body says "Endpoint ignored these unrecognized parameters" (an unknown field is
            // dropped, not refused; an answer without a body, 204, drops it silently: the read-back below
            // covers those, e.g. use_annotations_as_alias_metadata, which OpenBao does not have)
            for (const c of done.calls) assert.deepEqual(c.warnings.filter((w) => /unrecognized parameters/.test(w)), [], `${c.method} ${c.path}`);
            assert.deepEqual(await readBackDifferences(bao(), bao().rootToken, plan.resources, opts), []);
            // and the server reports the engines of the plan
            const mounts = (await bao().call("GET", "sys/mounts")).data;
            assert.equal(mounts["database/"].type, "database");
            assert.equal(mounts["apps/"].type, "kv");
            assert.equal(mounts["apps/"].options.version, "2");
            await unapplyVault(bao(), bao().rootToken, plan.resources);
        });
    }

    after(async () => {
        try {
            await resetServer(pg());
        } catch {
            // the server did not start
        }
    });
});
