// Every core Kubernetes object of the three plans (Namespaces, Secrets, ServiceAccounts, and
// whatever built-in kinds they come to hold: RBAC, Services, ConfigMaps...) is valid against
// Kubernetes 1.34's own OpenAPI schema, strictly (a field the API does not declare is an error),
// by PyPI kubernetes-validate with its schemas bundled (willthames/kubernetes-validate 1.37.0:
// kubernetes_validate/kubernetes-json-schema/v1.34.0-local-strict/), beside the CustomResources'
// validation against their CRDs (test/crds.test.ts). The version is the one the manifest's k3s
// ships (versions.k3s v1.34.3+k3s1 is Kubernetes 1.34.3).
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as path from "path";
import { parseConfig } from "../components/config";
import { readStackConfig } from "../components/stack-config";
import { findValidator, isCoreObject, validateCoreObjects, VALIDATOR_ENV } from "../tools/k8s-schema";
import { PlanResource } from "../tools/plan-types";
import { planOf, programPlanOf, ROOT, STACKS, writeStackFile } from "./helpers/plan";
import { MIGRATIONS } from "../components/migrations";

const CR_TYPE = /^kubernetes:(argoproj\.io|secrets\.hashicorp\.com|longhorn\.io)\/v[0-9a-z]+:/;
const HELM_RELEASE = "kubernetes:helm.sh/v3:Release";

function k8sValidate(stack: string, configFile?: string): { status: number; doc: { kubernetes: string; validated: { urn: string; schema: string }[]; problems: unknown[] } } {
    const r = spawnSync(process.execPath, ["-r", path.join(ROOT, "tools", "register.js"), path.join(ROOT, "tools", "k8s-validate.ts"), stack, ...(configFile ? ["--config-file", configFile] : [])],
        { cwd: ROOT, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
    assert.ok(r.status === 0 || r.status === 1, `k8s-validate ${stack} exited ${r.status}: ${r.stderr}`);
    return { status: r.status!, doc: JSON.parse(r.stdout) };
}

const obj = (type: string, inputs: Record<string, unknown>): PlanResource =>
    ({ urn: `urn:pulumi:test::homelab::${type}::x`, type, name: "x", inputs } as unknown as PlanResource);

describe("core Kubernetes objects validate against Kubernetes 1.34's OpenAPI schema (kubernetes-validate)", function () {
    let python: string;
    before(function () {
        const found = findValidator();
        if (!found.python) {
            if (process.env.CI === "true") throw new Error(`CI=true and no validator: ${found.reason}`);
            console.log(`    skipped: ${found.reason} (set ${VALIDATOR_ENV}, or run .ci/run)`);
            this.skip();
        }
        python = found.python!;
    });

    it("the Kubernetes version is the manifest's k3s (one source)", () => {
        const k3s = parseConfig("prod", readStackConfig(ROOT, "prod")).versions.k3s;
        assert.match(k3s, /^v1\.34\.\d+\+k3s\d+$/);
    });

    // The three stacks as committed (prod: its adoption baseline, no migration on), and the program's
    // own definitions on prod (every migration on), which hold what the baseline only adopts.
    const cases = [
        ...STACKS.map((stack) => ({ stack, title: `${stack}'s plan`, file: undefined as string | undefined, plan: () => planOf(stack), kinds: stack === "prod" ? ["Namespace", "ServiceAccount"] : ["Namespace", "ServiceAccount", "Secret"] })),
        { stack: "prod", title: "prod's plan with every migration on", file: "migrations", plan: () => programPlanOf("prod"), kinds: ["Namespace", "ServiceAccount", "Secret"] },
    ];
    for (const c of cases) {
        it(`every core object of ${c.title} is valid, against the 1.34 schema, and every Kubernetes object is validated somewhere`, () => {
            const file = c.file && writeStackFile("prod", { "homelab:migrations": [...MIGRATIONS] });
            const { status, doc } = k8sValidate(c.stack, file || undefined);
            assert.deepEqual(doc.problems, []);
            assert.equal(status, 0);
            assert.match(doc.kubernetes, /^1\.34\.\d+$/);
            for (const v of doc.validated) assert.equal(v.schema, "1.34", v.urn);
            const kube = c.plan().resources.filter((r) => r.type.startsWith("kubernetes:") && !r.type.startsWith("pulumi:providers:"));
            const core = kube.filter((r) => isCoreObject(r.type));
            assert.deepEqual(doc.validated.map((v) => v.urn).sort(), core.map((r) => r.urn).sort(), "the validated objects are the plan's core objects");
            const kinds = new Set(core.map((r) => r.type.split(":")[2]));
            for (const k of c.kinds) assert.ok(kinds.has(k), `${c.title} has a ${k}`);
            const elsewhere = kube.filter((r) => !isCoreObject(r.type) && !CR_TYPE.test(r.type) && r.type !== HELM_RELEASE);
            assert.deepEqual(elsewhere.map((r) => r.type), [], "a Kubernetes type neither core, nor a CustomResource of test/crds.test.ts, nor a Helm release");
        });
    }

    it("catches a field the API does not declare, a wrong type, and a kind 1.34 does not have", () => {
        const { problems } = validateCoreObjects(python, "1.34.3", [
            obj("kubernetes:core/v1:Namespace", { apiVersion: "v1", kind: "Namespace", metadata: { name: "a", lables: { x: "y" } } }),
            obj("kubernetes:core/v1:ServiceAccount", { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "a" }, automountServiceAccountToken: "yes" }),
            obj("kubernetes:core/v1:Service", { apiVersion: "v1", kind: "Service", metadata: { name: "a" }, spec: { ports: [{ port: "http" }] } }),
            obj("kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding", { apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRoleBinding", metadata: { name: "a" }, subjects: [] }),
            obj("kubernetes:core/v1:Widget", { apiVersion: "v1", kind: "Widget", metadata: { name: "a" } }),
        ], []);
        const byKind = (k: string) => problems.find((p) => p.urn.includes(`:${k}::`));
        assert.equal(byKind("Namespace")!.path, "metadata");
        assert.match(byKind("Namespace")!.message, /lables/);
        assert.equal(byKind("ServiceAccount")!.path, "automountServiceAccountToken");
        assert.equal(byKind("Service")!.path, "spec.ports.0.port");
        assert.match(byKind("ClusterRoleBinding")!.message, /roleRef/, "roleRef is required");
        assert.match(byKind("Widget")!.message, /Couldn't find schema for kind Widget/);
        assert.equal(problems.length, 5);
    });

    it("never shows a secret value it finds wrong", () => {
        const secret = obj("kubernetes:core/v1:Secret", { apiVersion: "v1", kind: "Secret", metadata: { name: "a" }, stringData: { token: 12345678 } });
        const printed = obj("kubernetes:core/v1:Secret", { apiVersion: "v1", kind: "Secret", metadata: { name: "a" }, stringData: "[secret]" });
        const { problems } = validateCoreObjects(python, "1.34.3", [secret], [printed]);
        assert.equal(problems.length, 1);
        assert.equal(problems[0].path, "stringData.token");
        assert.doesNotMatch(problems[0].message, /12345678/);
        assert.match(problems[0].message, /secret value fails the schema's "type" check/);
    });
});
