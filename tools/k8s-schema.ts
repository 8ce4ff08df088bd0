// The core Kubernetes objects of a plan (Namespaces, Secrets, ServiceAccounts, RBAC, Services,
// ConfigMaps...: every built-in API group) validated against Kubernetes' own OpenAPI schemas by
// PyPI kubernetes-validate (schemas bundled; .ci/run installs it pinned in a virtual environment,
// .ci/requirements-kubernetes-validate.txt). CustomResources are validated against their CRDs
// (tools/crd-schema.ts); a Helm release is not an object of the API.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { PlanResource } from "./plan-types";

/** The environment variable naming a Python that can import kubernetes_validate. */
export const VALIDATOR_ENV = "LAB_KUBERNETES_VALIDATE_PYTHON";
const SCRIPT = path.join(__dirname, "k8s-validate.py");
const DEFAULT_VENV_PYTHON = path.join(__dirname, "..", ".ci", "venv", "bin", "python");

/** A built-in API group: the core group, the unsuffixed ones, and every *.k8s.io group. */
const BUILT_IN = /^kubernetes:(core|apps|batch|policy|autoscaling|[a-z0-9-]+(\.[a-z0-9-]+)*\.k8s\.io)\/(v[0-9a-z]+):([A-Za-z]+)$/;

export function isCoreObject(type: string): boolean {
    return BUILT_IN.test(type);
}

/** The Python that runs the validator, or why there is none. */
export function findValidator(env: NodeJS.ProcessEnv = process.env): { python?: string; reason?: string } {
    const python = env[VALIDATOR_ENV] || DEFAULT_VENV_PYTHON;
    if (!fs.existsSync(python)) {
        return { reason: `no ${python} (${VALIDATOR_ENV} unset or wrong): .ci/run installs kubernetes-validate in .venv-tools` };
    }
    const r = spawnSync(python, ["-c", "import kubernetes_validate"], { encoding: "utf8", timeout: 30000 });
    if (r.status !== 0) return { reason: `${python} cannot import kubernetes_validate: ${(r.stderr || r.error?.message || "").trim()}` };
    return { python };
}

export interface CoreProblem {
    urn: string;
    path: string;
    message: string;
}

export interface CoreResult {
    /** Each object's urn and the schema version it was validated against. */
    validated: { urn: string; schema: string | null }[];
    problems: CoreProblem[];
}

/** Whether a path of the printed inputs is (under) a secret, whose value is never shown. */
function underSecret(printed: unknown, segs: string[]): boolean {
    let v = printed;
    for (const s of segs) {
        if (v === "[secret]") return true;
        if (!v || typeof v !== "object") return false;
        v = (v as Record<string, unknown>)[s];
    }
    return v === "[secret]";
}

/**
 * Validates the core objects of `resources` (revealed: secrets in plain text, as the API server
 * would receive them) against Kubernetes `version` (e.g. 1.34.3). A message about a value under a
 * secret (by the printed plan) is replaced by the kind of check that failed, never the value.
 */
export function validateCoreObjects(python: string, version: string, resources: PlanResource[], printed: PlanResource[]): CoreResult {
    const core = resources.filter((r) => isCoreObject(r.type));
    const request = { version, objects: core.map((r) => ({ id: r.urn, object: r.inputs })) };
    const run = spawnSync(python, [SCRIPT], { input: JSON.stringify(request), encoding: "utf8", timeout: 120000, maxBuffer: 64 * 1024 * 1024 });
    if (run.status !== 0) throw new Error(`kubernetes-validate failed (exit ${run.status}): ${(run.stderr || run.error?.message || "").trim()}`);
    const results = JSON.parse(run.stdout) as { id: string; ok: boolean; schema: string | null; path?: string[]; validator?: string; message?: string }[];
    const printedBy = new Map(printed.map((r) => [r.urn, r.inputs]));
    const problems = results.filter((r) => !r.ok).map((r) => {
        const segs = r.path ?? [];
        const secret = underSecret(printedBy.get(r.id), segs);
        return { urn: r.id, path: segs.join("."), message: secret ? `a secret value fails the schema's "${r.validator}" check (not shown)` : r.message! };
    });
    return { validated: results.map((r) => ({ urn: r.id, schema: r.schema })), problems };
}
