// Runs the offline plan in a child process (Pulumi's runtime state is per process) and caches it.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { PlanDocument, PlanResource } from "../../tools/plan-types";
import { MIGRATIONS } from "../../components/migrations";
import { readStackConfig } from "../../components/stack-config";

export const ROOT = path.resolve(__dirname, "..", "..");
export const STACKS = ["prod", "sandbox-k3d", "sandbox-vms"] as const;

export interface PlanRun {
    status: number;
    stdout: string;
    stderr: string;
}

/** Runs `npm run plan` (as node directly) with the given arguments. */
export function runPlanCli(args: string[], env: NodeJS.ProcessEnv = {}): PlanRun {
    const r = spawnSync(process.execPath, ["-r", path.join(ROOT, "tools", "register.js"), path.join(ROOT, "tools", "plan.ts"), ...args], {
        cwd: ROOT,
        encoding: "utf8",
        env: { ...process.env, ...env },
        maxBuffer: 256 * 1024 * 1024,
    });
    return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** A stack's raw configuration as Pulumi hands it over, with `overrides` set (null deletes a key). */
export function rawConfig(stack: string, overrides: Record<string, unknown | null> = {}): Record<string, string> {
    const r = readStackConfig(ROOT, stack);
    for (const [k, v] of Object.entries(overrides)) {
        if (v === null) delete r[k];
        else r[k] = typeof v === "string" ? v : JSON.stringify(v);
    }
    return r;
}

/** A stack file: the committed one of `base` with `config` keys set (null deletes a key). */
export function writeStackFile(base: string, config: Record<string, unknown | null>): string {
    const doc = YAML.parse(fs.readFileSync(path.join(ROOT, `Pulumi.${base}.yaml`), "utf8")) ?? {};
    doc.config = doc.config ?? {};
    for (const [k, v] of Object.entries(config)) {
        if (v === null) delete doc.config[k];
        else doc.config[k] = v;
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lab-stack-"));
    const file = path.join(dir, `Pulumi.${base}.yaml`);
    fs.writeFileSync(file, YAML.stringify(doc));
    return file;
}

const cache = new Map<string, PlanDocument>();

/** The JSON plan of a stack, optionally with a modified stack file. Fails loudly on a bad exit. */
export function planOf(stack: string, config?: Record<string, unknown | null>): PlanDocument {
    const key = `${stack}:${JSON.stringify(config ?? null)}`;
    const hit = cache.get(key);
    if (hit) return hit;
    const args = [stack, "--json"];
    if (config) args.push("--config-file", writeStackFile(stack, config));
    const r = runPlanCli(args);
    if (r.status !== 0 && r.status !== 1) throw new Error(`plan ${stack} exited ${r.status}: ${r.stderr}`);
    const plan = JSON.parse(r.stdout) as PlanDocument;
    cache.set(key, plan);
    return plan;
}

/**
 * The plan of the program's own definitions: prod with every migration on (homelab:migrations),
 * as the sandboxes always run; other stacks as they are. For tests of what the program manages;
 * prod's adoption baseline (no migration on) is planOf("prod").
 */
export function programPlanOf(stack: string, config?: Record<string, unknown | null>): PlanDocument {
    return planOf(stack, stack === "prod" ? { "homelab:migrations": [...MIGRATIONS], ...config } : config);
}

export function byType(plan: PlanDocument, type: string): PlanResource[] {
    return plan.resources.filter((r) => r.type === type);
}

export function childrenOf(plan: PlanDocument, parentUrn: string): PlanResource[] {
    return plan.resources.filter((r) => r.parent === parentUrn);
}

/** The project defaults' app catalogue, as a plain object (to derive modified catalogues). */
export function projectApps(): Record<string, Record<string, unknown>> {
    const doc = YAML.parse(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8"));
    return JSON.parse(JSON.stringify(doc.config.apps.value));
}

/**
 * A scratch copy of the project (its committed files, node_modules linked), where a test may edit
 * Pulumi.yaml or add files and run the plan as a user runs it. Not a git work tree.
 */
export function scratchProject(): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lab-project-"));
    const files = spawnSync("git", ["ls-files", "-z"], { cwd: ROOT, encoding: "utf8" }).stdout.split("\0").filter(Boolean);
    for (const f of files) {
        const src = path.join(ROOT, f);
        if (!fs.existsSync(src)) continue;
        fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
        fs.copyFileSync(src, path.join(dir, f));
    }
    // files of this branch not committed yet (a test run before the commit) come along too
    for (const f of spawnSync("git", ["ls-files", "-z", "--others", "--exclude-standard"], { cwd: ROOT, encoding: "utf8" }).stdout.split("\0").filter(Boolean)) {
        fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
        fs.copyFileSync(path.join(ROOT, f), path.join(dir, f));
    }
    fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"));
    return dir;
}

/** `npm run plan -- <args>` in another copy of the project. */
export function runPlanCliIn(dir: string, args: string[], env: NodeJS.ProcessEnv = {}): PlanRun {
    const r = spawnSync(process.execPath, ["-r", path.join(dir, "tools", "register.js"), path.join(dir, "tools", "plan.ts"), ...args], {
        cwd: dir,
        encoding: "utf8",
        env: { ...process.env, ...env },
        maxBuffer: 256 * 1024 * 1024,
    });
    return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
