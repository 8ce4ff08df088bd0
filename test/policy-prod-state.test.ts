// prod-state-protected: prod's stateful resources carry protect; sandboxes are not held to it.
import * as assert from "assert";
import { evaluatePolicies } from "../policy/evaluate";
import { chartName } from "../policy/prod-state-protected";
import { PlanResource } from "../tools/plan-types";
import { appInstance, appResource, resource } from "./fixtures/policy/harness";

const run = (resources: PlanResource[], stack?: string) =>
    evaluatePolicies(resources, { env: {}, stack }).filter((v) => v.policy === "prod-state-protected");

const release = (chart: string, protect: boolean, name = `platform-${chartName(chart)}`) => resource("prod", "kubernetes:helm.sh/v3:Release", name,
    { chart, version: "1.0.0", namespace: "x" }, { parentType: "lab:platform:Platform", parentName: "platform", protect });

const stateful = (protect: boolean): PlanResource[] => [
    appInstance("prod", "erp", "prod"),
    appResource("prod", "erp", "postgresql:index/database:Database", "database", { name: "erp", owner: "erp_role" }, { protect }),
    appResource("prod", "erp", "postgresql:index/role:Role", "owner-role", { name: "erp_role", login: true }, { protect }),
    resource("prod", "gcp:storage/bucket:Bucket", "edge-backups", { name: "arcodange-tf", location: "EUROPE-WEST1" }, { protect }),
    resource("prod", "vault:index/mount:Mount", "platform-database", { path: "database", type: "database" }, { protect }),
    release("longhorn", protect),
    release("vault", protect),
];

describe("policy prod-state-protected", () => {
    it("each stateful resource of prod without protect is a mandatory violation naming it", () => {
        const vs = run(stateful(false));
        const byName = (n: string) => vs.find((v) => v.urn!.endsWith(`::${n}`));
        assert.strictEqual(vs.length, 6);
        assert.ok(vs.every((v) => v.enforcement === "mandatory"));
        assert.match(byName("erp-database")!.message, /^postgresql:index\/database:Database "erp-database" is a PostgreSQL database of prod and must have protect: true/);
        assert.match(byName("erp-owner-role")!.message, /is the owner role of a PostgreSQL database of prod/);
        assert.match(byName("edge-backups")!.message, /is the backup bucket of prod/);
        assert.match(byName("platform-database")!.message, /is a Vault secrets engine mount of prod/);
        assert.match(byName("platform-longhorn")!.message, /is a Helm release of longhorn \(it holds state\) of prod/);
        assert.match(byName("platform-vault")!.message, /is a Helm release of vault \(it holds state\) of prod/);
    });

    it("protected, they pass", () => {
        assert.deepStrictEqual(run(stateful(true)), []);
    });

    it("releases are recognized by chart name, whatever the chart reference's form", () => {
        assert.strictEqual(run([release("hashicorp/vault", false, "v1")]).length, 1);
        assert.strictEqual(run([release("oci://registry.example/charts/longhorn", false, "l1")]).length, 1);
    });

    it("stateless releases and roles that own nothing are not held to it", () => {
        assert.deepStrictEqual(run([
            release("vault-secrets-operator", false),
            release("argo-cd", false),
            resource("prod", "postgresql:index/role:Role", "platform-readonly", { name: "readonly", login: true }),
            resource("prod", "vault:index/authBackend:AuthBackend", "platform-kubernetes-auth", { type: "kubernetes", path: "kubernetes" }),
        ]), []);
    });

    it("not applicable on sandboxes: the same resources unprotected pass there", () => {
        assert.deepStrictEqual(run(stateful(false), "sandbox-vms"), []);
        assert.deepStrictEqual(run(stateful(false), "sandbox-k3d"), []);
    });
});
