// How the offline plan is shown: the JSON document, the tree for people, the golden diff.
import { PlanDocument, PlanResource } from "./plan-types";

/** Stable key order, so two runs are byte-identical. */
function sortKeys(v: unknown): unknown {
    if (Array.isArray(v)) return v.map(sortKeys);
    if (v && typeof v === "object") {
        const out: Record<string, unknown> = {};
        for (const k of Object.keys(v as object).sort()) out[k] = sortKeys((v as Record<string, unknown>)[k]);
        return out;
    }
    return v;
}

export function stringifyPlan(plan: PlanDocument): string {
    const doc = {
        stack: plan.stack,
        project: plan.project,
        resources: plan.resources.map((r) => {
            const { urn, type, name, parent, provider, protect, import: importId, retainOnDelete, dependsOn, inputs, ...options } = r;
            return { urn, type, name, parent, provider, protect, import: importId ?? null, retainOnDelete: retainOnDelete ?? false, dependsOn, inputs: sortKeys(inputs), ...sortKeys(options) as object };
        }),
        outputs: sortKeys(plan.outputs ?? {}),
        violations: plan.violations,
    };
    return `${JSON.stringify(doc, null, 2)}\n`;
}

/** The few inputs that say what a resource is, for the tree. */
function keyName(r: PlanResource): string {
    const i = r.inputs as Record<string, any>;
    const meta = i.metadata as Record<string, unknown> | undefined;
    const candidates = [
        meta && (meta.namespace ? `${meta.namespace}/${meta.name}` : meta.name),
        i.roleName, i.path && `${i.path}`, i.name, i.chart && `${i.chart}@${i.version}`,
        i.connection?.host && `ssh ${i.connection.host}`,
    ];
    const found = candidates.find((c) => typeof c === "string" && c.length > 0);
    return found ? ` = ${found}` : "";
}

export function renderTree(plan: PlanDocument, elapsedMs?: number): string {
    const children = new Map<string | null, PlanResource[]>();
    for (const r of plan.resources) {
        const list = children.get(r.parent) ?? [];
        list.push(r);
        children.set(r.parent, list);
    }
    const lines: string[] = [`stack ${plan.stack} (project ${plan.project})`];
    const walk = (parent: string | null, indent: string) => {
        const list = children.get(parent) ?? [];
        list.forEach((r, i) => {
            const last = i === list.length - 1;
            const flags = [
                r.import ? `import ${r.import}` : "", r.protect ? "protected" : "", r.retainOnDelete ? "retained" : "",
                r.dependsOn.length ? `${r.dependsOn.length} deps` : "",
            ].filter(Boolean);
            lines.push(`${indent}${last ? "└─ " : "├─ "}${r.name} [${r.type}]${keyName(r)}${flags.length ? ` (${flags.join(", ")})` : ""}`);
            walk(r.urn, indent + (last ? "   " : "│  "));
        });
    };
    walk(null, "");
    const counts = new Map<string, number>();
    for (const r of plan.resources) counts.set(r.type, (counts.get(r.type) ?? 0) + 1);
    lines.push("", "resources per type:");
    for (const [type, n] of [...counts.entries()].sort()) lines.push(`  ${String(n).padStart(4)}  ${type}`);
    lines.push(`  ${String(plan.resources.length).padStart(4)}  total`);
    const custom = plan.resources.filter((r) => !r.type.startsWith("lab:") && !r.type.startsWith("pulumi:providers:"));
    const imported = custom.filter((r) => r.import).length;
    lines.push(`adoption: ${imported} imported, ${custom.length - imported} created, ${custom.filter((r) => r.retainOnDelete).length} kept on delete`);
    lines.push("", plan.violations.length ? "policy violations:" : "policy violations: none");
    for (const v of plan.violations) lines.push(`  [${v.enforcement}] ${v.policy}: ${v.message}${v.urn ? ` (${v.urn})` : ""}`);
    if (elapsedMs !== undefined) lines.push("", `planned in ${elapsedMs} ms`);
    return `${lines.join("\n")}\n`;
}

function flatten(v: unknown, prefix: string, out: Map<string, string>): void {
    if (v && typeof v === "object") {
        const entries = Array.isArray(v) ? v.map((x, i) => [String(i), x] as const) : Object.entries(v as object);
        if (entries.length === 0) out.set(prefix, JSON.stringify(v));
        for (const [k, x] of entries) flatten(x, prefix ? `${prefix}.${k}` : k, out);
    } else {
        out.set(prefix, JSON.stringify(v));
    }
}

/** A readable difference: resources added, removed, and changed field by field. */
export function diffPlans(expected: PlanDocument, actual: PlanDocument): string[] {
    const lines: string[] = [];
    const before = new Map(expected.resources.map((r) => [r.urn, r]));
    const after = new Map(actual.resources.map((r) => [r.urn, r]));
    for (const urn of before.keys()) if (!after.has(urn)) lines.push(`- removed ${urn}`);
    for (const urn of after.keys()) if (!before.has(urn)) lines.push(`+ added   ${urn}`);
    for (const [urn, a] of after) {
        const b = before.get(urn);
        if (!b) continue;
        const fb = new Map<string, string>();
        const fa = new Map<string, string>();
        flatten(b, "", fb);
        flatten(a, "", fa);
        const changes: string[] = [];
        for (const k of new Set([...fb.keys(), ...fa.keys()])) {
            if (fb.get(k) !== fa.get(k)) changes.push(`    ${k}: ${fb.get(k) ?? "(none)"} -> ${fa.get(k) ?? "(none)"}`);
        }
        if (changes.length) lines.push(`~ changed ${urn}`, ...changes.sort());
    }
    const ob = new Map<string, string>();
    const oa = new Map<string, string>();
    flatten(expected.outputs ?? {}, "", ob);
    flatten(actual.outputs ?? {}, "", oa);
    const outputChanges = [...new Set([...ob.keys(), ...oa.keys()])].filter((k) => ob.get(k) !== oa.get(k))
        .map((k) => `    ${k}: ${ob.get(k) ?? "(none)"} -> ${oa.get(k) ?? "(none)"}`);
    if (outputChanges.length) lines.push("~ outputs", ...outputChanges.sort());
    const vb = JSON.stringify(expected.violations);
    const va = JSON.stringify(actual.violations);
    if (vb !== va) lines.push(`~ violations: ${vb} -> ${va}`);
    return lines;
}
