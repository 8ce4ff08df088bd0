// npm run plan:migrations -- [--check | --update]
// The golden diff of each prod migration: what the offline prod plan changes when the migration is
// switched on after the ones before it (components/migrations.ts MIGRATIONS, the runbook's order),
// kept in test/golden/prod.migration-<name>.diff and reviewed like the golden prod plan.
// Each step's plan must pass the policy pack. Exit 0: all match (--check) or written (--update);
// 1: a difference or a policy violation; 2: usage.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { Migration, migrationSteps, MIGRATION_INFO } from "../components/migrations";
import { PlanDocument, PlanResource } from "./plan-types";
import { diffPlans } from "./plan-format";

export const PROJECT_DIR = path.resolve(__dirname, "..");
const USAGE = "usage: npm run plan:migrations -- [--check | --update]";

export function migrationGoldenPath(name: Migration, projectDir = PROJECT_DIR): string {
    return path.join(projectDir, "test", "golden", `prod.migration-${name}.diff`);
}

function describe(r: PlanResource): string {
    const flags = [r.import ? `import ${r.import}` : "create", r.protect ? "protected" : "", r.retainOnDelete ? "retained" : ""].filter(Boolean);
    return `${r.type} ${r.name} (${flags.join(", ")})`;
}

/**
 * The reviewable difference between the prod plan before and after one migration: resources
 * created (with their inputs) and removed, and field-level changes of the others (the same lines
 * as the golden prod plan's check). Deterministic: the plans are sorted by urn.
 */
export function migrationDiff(name: Migration, before: PlanDocument, after: PlanDocument, on: string[]): string {
    const lines = [
        `# prod migration ${name}: ${MIGRATION_INFO[name].summary}`,
        `# homelab:migrations before: [${on.slice(0, -1).join(", ")}]; after: [${on.join(", ")}]`,
        "# regenerate on purpose: npm run plan:migrations -- --update (docs/runbooks/migrations.md)",
    ];
    const was = new Set(before.resources.map((r) => r.urn));
    for (const r of after.resources.filter((x) => !was.has(x.urn))) {
        lines.push(`+ ${describe(r)}`);
        for (const l of JSON.stringify(r.inputs, null, 2).split("\n")) lines.push(`+     ${l}`);
    }
    const changed = diffPlans(before, after).filter((l) => !l.startsWith("+ added"));
    lines.push(...changed);
    return `${lines.join("\n")}\n`;
}

/** The plan of prod with these migrations on, from the plan CLI (one process per plan). */
export function prodPlanWith(migrations: string[], projectDir = PROJECT_DIR): PlanDocument {
    const doc = YAML.parse(fs.readFileSync(path.join(projectDir, "Pulumi.prod.yaml"), "utf8"));
    doc.config["homelab:migrations"] = migrations;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lab-migrations-"));
    const file = path.join(dir, "Pulumi.prod.yaml");
    try {
        fs.writeFileSync(file, YAML.stringify(doc));
        const r = spawnSync(process.execPath, ["-r", path.join(projectDir, "tools", "register.js"), path.join(projectDir, "tools", "plan.ts"),
            "prod", "--json", "--config-file", file], { cwd: projectDir, encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
        if (r.status !== 0 && r.status !== 1) throw new Error(`plan prod with [${migrations.join(", ")}] exited ${r.status}: ${r.stderr}`);
        return JSON.parse(r.stdout) as PlanDocument;
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

export interface MigrationStep {
    name: Migration;
    on: Migration[];
    diff: string;
    violations: PlanDocument["violations"];
}

/** Every migration's diff, in order, from the plans of the cumulative lists ([], [m1], [m1, m2], ...). */
export function migrationDiffs(plan: (migrations: string[]) => PlanDocument = prodPlanWith): MigrationStep[] {
    const out: MigrationStep[] = [];
    let before = plan([]);
    for (const on of migrationSteps()) {
        const after = plan(on);
        const name = on[on.length - 1];
        out.push({ name, on, diff: migrationDiff(name, before, after, on), violations: after.violations });
        before = after;
    }
    return out;
}

function main(argv: string[]): number {
    const mode = argv[0];
    if (argv.length !== 1 || (mode !== "--check" && mode !== "--update")) {
        process.stderr.write(`${USAGE}\n`);
        return 2;
    }
    let failed = false;
    for (const step of migrationDiffs()) {
        const file = migrationGoldenPath(step.name);
        const rel = path.relative(PROJECT_DIR, file);
        for (const v of step.violations) {
            process.stdout.write(`[${v.enforcement}] ${v.policy} with [${step.on.join(", ")}]: ${v.message}\n`);
            if (v.enforcement === "mandatory") failed = true;
        }
        if (mode === "--update") {
            fs.writeFileSync(file, step.diff);
            process.stderr.write(`wrote ${rel}\n`);
        } else if (!fs.existsSync(file) || fs.readFileSync(file, "utf8") !== step.diff) {
            process.stdout.write(`${rel} differs from the plan's diff for migration ${step.name}: if the change is meant, run npm run plan:migrations -- --update\n`);
            failed = true;
        } else {
            process.stdout.write(`${rel} matches\n`);
        }
    }
    return failed ? 1 : 0;
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
