import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { loadCrds, validateObject } from "../tools/crd-schema";
import { programPlanOf as planOf, ROOT, STACKS } from "./helpers/plan";
// The program's objects: prod with every migration on (programPlanOf).

const CRD_DIR = path.resolve(ROOT, "..", "shared", "crds");
const CR_TYPE = /^kubernetes:(argoproj\.io|secrets\.hashicorp\.com|longhorn\.io)\/v[0-9a-z]+:/;

describe("CustomResources validate against the upstream CRD schemas", function () {
    let crds: ReturnType<typeof loadCrds>;
    before(function () {
        if (!fs.existsSync(CRD_DIR)) {
            console.log(`    skipped: ${CRD_DIR} is absent (the upstream CRDs live in ../shared/crds)`);
            this.skip();
        }
        crds = loadCrds(CRD_DIR);
    });

    for (const stack of STACKS) {
        it(`every CustomResource of ${stack}'s plan is valid, strictly`, () => {
            const crs = planOf(stack).resources.filter((r) => CR_TYPE.test(r.type));
            const kinds = new Set(crs.map((r) => r.type.split(":")[2]));
            for (const k of ["Application", "AppProject", "VaultConnection", "VaultAuth", "VaultDynamicSecret"]) {
                assert.ok(kinds.has(k), `${stack} renders a ${k}`);
            }
            // Longhorn's recurring jobs (longhorn.io_recurringjobs.yaml), where Longhorn runs
            if (stack !== "sandbox-k3d") assert.ok(kinds.has("RecurringJob"), `${stack} renders a RecurringJob`);
            const problems = crs.flatMap((r) => validateObject(crds, r.inputs).map((p) => `${r.urn}: ${p.path}: ${p.message}`));
            assert.deepEqual(problems, []);
        });
    }

    it("catches a misspelt field the API server would silently drop (urn-less path named)", () => {
        const app = planOf("prod").resources.find((r) => r.type === "kubernetes:argoproj.io/v1alpha1:Application")!;
        const bad = JSON.parse(JSON.stringify(app.inputs));
        bad.spec.syncPolicy.automated = { prune: true, selfheal: true };
        assert.deepEqual(validateObject(crds, bad), [{ path: "spec.syncPolicy.automated.selfheal", message: 'field "selfheal" is not declared by the schema' }]);
    });

    it("catches a wrong type and a missing required field", () => {
        const dyn = planOf("prod").resources.find((r) => r.type.endsWith(":VaultDynamicSecret"))!;
        const bad = JSON.parse(JSON.stringify(dyn.inputs));
        delete bad.spec.mount;
        bad.spec.destination.create = "yes";
        const paths = validateObject(crds, bad).map((p) => `${p.path}: ${p.message}`);
        assert.ok(paths.some((p) => p.startsWith("spec: must have required property 'mount'")), paths.join("\n"));
        assert.ok(paths.some((p) => p.startsWith("spec.destination.create: must be boolean")), paths.join("\n"));
    });

    it("catches a RecurringJob task Longhorn does not know", () => {
        const job = planOf("prod").resources.find((r) => r.type === "kubernetes:longhorn.io/v1beta2:RecurringJob")!;
        const bad = JSON.parse(JSON.stringify(job.inputs));
        bad.spec.task = "backups";
        bad.spec.group = ["default"];
        const paths = validateObject(crds, bad).map((p) => `${p.path}: ${p.message}`);
        assert.ok(paths.some((p) => p.startsWith("spec.task: must be equal to one of the allowed values")), paths.join("\n"));
        assert.ok(paths.includes('spec.group: field "group" is not declared by the schema'), paths.join("\n"));
    });

    it("lets anything through under metadata", () => {
        const app = planOf("prod").resources.find((r) => r.type === "kubernetes:argoproj.io/v1alpha1:Application")!;
        const ok = JSON.parse(JSON.stringify(app.inputs));
        ok.metadata.annotations = { "argocd.argoproj.io/sync-wave": "1" };
        assert.deepEqual(validateObject(crds, ok), []);
    });
});
