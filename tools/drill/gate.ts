// The promotion gate: `npm run gate -- prod`. The change classes touched between the commit prod
// last applied (its `appliedCommit` output) and HEAD name the drills that must have passed on
// sandbox-vms for HEAD, which sandbox-vms must have applied, from a clean tree.
import { execFile } from "child_process";
import * as YAML from "yaml";
import { parseApplied } from "../../components/applied-commit";
import { Migration, MIGRATIONS } from "../../components/migrations";
import { DrillName, DRILL_NAMES } from "./model";
import { EVIDENCE_DIR, readRecords } from "./evidence";

/** Prod's stack file: where its migrations are switched on. */
export const PROD_STACK_FILE = "Pulumi.prod.yaml";

/** Where drills are proven before prod. */
export const PROVING_STACK = "sandbox-vms";

export interface ChangeClass {
    name: string;
    /** Path patterns: a trailing "/" is a folder; "*" any characters but "/"; "**" any. */
    paths: string[];
    drills: DrillName[];
    /** A path of this class belongs to it alone (a README inside components/metal is docs). */
    exclusive?: boolean;
}

/**
 * The one table: paths to change classes, classes to the drills that must have passed. A path in
 * several classes needs the drills of all of them; a path in none is unclassified and needs every
 * drill (a new folder must be classified here before it can reach prod cheaply).
 */
export const CHANGE_CLASSES: ChangeClass[] = [
    { name: "metal and k3s", paths: ["components/metal/", "Pulumi.sandbox-vms.yaml"], drills: ["node-kill", "power-cut"] },
    { name: "Vault", paths: ["components/platform/vault-*", "components/platform/scripts/vault-*"], drills: ["vault-seal"] },
    {
        name: "apps and Postgres",
        paths: ["components/apps/", "components/platform/postgres-access.ts", "components/platform/gitea.ts", "components/platform/seed-source.ts",
            "components/platform/scripts/gitea-*", "components/backup/", "components/metal/scripts/data-compose.sh", "components/naming.ts"],
        drills: ["db-restore"],
    },
    { name: "Longhorn", paths: ["components/edge/backups.ts", "components/backup/index.ts"], drills: ["volume-restore", "node-kill"] },
    // The version manifest and catalogue, the releases of every chart, the composition, the
    // config loader, provider versions: everything.
    // (Prod's facts and the baseline built from them decide what prod's stack registers; a change to
    // Pulumi.prod.yaml that only switches migrations needs their drills instead: MIGRATION_DRILLS.)
    {
        name: "everything",
        paths: ["Pulumi.yaml", "Pulumi.prod.yaml", "index.ts", "components/config/", "components/platform/index.ts", "components/platform/releases.ts",
            "components/migrations.ts", "components/baseline.ts", "components/facts.ts", "facts/", "package.json", "package-lock.json"],
        drills: [...DRILL_NAMES],
    },
    // Prod only (sandboxes have no edge): nothing a sandbox can rehearse.
    { name: "edge (prod only)", paths: ["components/edge/index.ts"], drills: [] },
    // Read by nothing `pulumi up` applies (the policy pack runs in preview, before it).
    {
        name: "docs, tests, tools and evidence",
        paths: ["docs/", "test/", "tools/", "policy/", "**.md", `${EVIDENCE_DIR}/`, ".ci/", ".gitignore", ".nvmrc", "Pulumi.sandbox-k3d.yaml", "tsconfig.json", ".mocharc*"],
        drills: [],
        exclusive: true,
    },
];

/**
 * The drills each prod migration needs on sandbox-vms before it is switched on in Pulumi.prod.yaml
 * (or off again: a rollback changes the same things back). docs/runbooks/migrations.md says why.
 */
export const MIGRATION_DRILLS: Record<Migration, DrillName[]> = {
    // owners, grants, Vault's login and connections: a restore must still land under the contract,
    // and Vault must still issue credentials after a seal
    "database-contract": ["db-restore", "vault-seal"],
    // Longhorn and VSO upgraded in place by the program: volumes survive, a node can go
    "helm-releases": ["volume-restore", "node-kill"],
    // Argo CD arrives (manual sync): it must come back after the lab does
    argocd: ["power-cut"],
    // the backup job, Longhorn's target and recurring jobs: restores from what they write
    backups: ["db-restore", "volume-restore"],
    // self-heal and prune across a node loss and a cold start
    "argocd-autosync": ["node-kill", "power-cut"],
};

/** `homelab:migrations` of a Pulumi.prod.yaml text, and the rest of its configuration. */
export function prodMigrations(text: string): { migrations: string[]; rest: string } {
    const doc = (YAML.parse(text) ?? {}) as { config?: Record<string, unknown> };
    const config = { ...(doc.config ?? {}) };
    const list = config["homelab:migrations"];
    delete config["homelab:migrations"];
    return { migrations: Array.isArray(list) ? list.map(String) : [], rest: JSON.stringify(config) };
}

/**
 * What a change of Pulumi.prod.yaml does to the migrations: switched on, switched off, and
 * whether nothing else in the file changed (then the file needs only those migrations' drills).
 */
export function migrationChange(before: string, after: string): { on: Migration[]; off: Migration[]; onlyMigrations: boolean } {
    const b = prodMigrations(before);
    const a = prodMigrations(after);
    const known = (m: string): m is Migration => (MIGRATIONS as readonly string[]).includes(m);
    return {
        on: a.migrations.filter((m) => !b.migrations.includes(m)).filter(known),
        off: b.migrations.filter((m) => !a.migrations.includes(m)).filter(known),
        onlyMigrations: a.rest === b.rest,
    };
}

/** Unclassified paths need every drill. */
export const UNCLASSIFIED = "unclassified";

function matcher(pattern: string): RegExp {
    if (pattern.endsWith("/")) pattern = `${pattern}**`;
    const re = pattern.split("**").map((part) => part.split("*").map((s) => s.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join("[^/]*")).join(".*");
    return new RegExp(`^${re}$`);
}

/** The classes of one path (UNCLASSIFIED when no pattern matches). */
export function classesOf(file: string, table: ChangeClass[] = CHANGE_CLASSES): string[] {
    const hit = table.filter((c) => c.paths.some((p) => matcher(p).test(file)));
    const only = hit.find((c) => c.exclusive);
    if (only) return [only.name];
    return hit.length ? hit.map((c) => c.name) : [UNCLASSIFIED];
}

/** The drills a set of changed paths requires, and why (drill -> classes). */
export function requiredDrills(files: string[], table: ChangeClass[] = CHANGE_CLASSES): Map<DrillName, Set<string>> {
    const need = new Map<DrillName, Set<string>>();
    for (const f of files) for (const cls of classesOf(f, table)) {
        const drills = cls === UNCLASSIFIED ? [...DRILL_NAMES] : table.find((c) => c.name === cls)!.drills;
        for (const d of drills) {
            if (!need.has(d)) need.set(d, new Set());
            need.get(d)!.add(cls === UNCLASSIFIED ? `unclassified ${f}` : cls);
        }
    }
    return need;
}

export interface GateOptions {
    projectDir: string;
    target: string;
    /** prod's appliedCommit (default: `pulumi stack output -s prod appliedCommit`). */
    applied?: string;
    /** sandbox-vms's appliedCommit (default: `pulumi stack output -s sandbox-vms appliedCommit`). */
    sandboxApplied?: string;
    /** Reads one stack output (tests). */
    stackOutput?: (stack: string, name: string) => Promise<string>;
}

export interface GateResult {
    exitCode: 0 | 1 | 2;
    lines: string[];
    missing: string[];
}

function git(dir: string, args: string[]): Promise<string> {
    return new Promise((resolve, reject) => {
        execFile("git", args, { cwd: dir, timeout: 60_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
            if (err) reject(new Error(`git ${args.join(" ")}: ${(stderr || err.message).trim()}`));
            else resolve(stdout);
        });
    });
}

export function pulumiStackOutput(cwd: string): (stack: string, name: string) => Promise<string> {
    return (stack, name) => new Promise((resolve, reject) => {
        execFile("pulumi", ["stack", "output", name, "-s", stack], { cwd, timeout: 60_000 }, (err, stdout, stderr) => {
            if (err) {
                const why = (err as NodeJS.ErrnoException).code === "ENOENT" ? "the pulumi CLI is not installed" : (stderr || err.message).trim();
                reject(new Error(`cannot read ${stack}'s appliedCommit (pulumi stack output ${name} -s ${stack}): ${why}`));
            } else resolve(stdout.trim());
        });
    });
}

/** Whether commit `c` is HEAD up to evidence files (committing a drill's record makes a new HEAD). */
async function sameAsHead(dir: string, c: string): Promise<boolean> {
    try {
        const diff = (await git(dir, ["diff", "--name-only", c, "HEAD", "--"])).split("\n").filter(Boolean);
        return diff.every((f) => f.startsWith(`${EVIDENCE_DIR}/`));
    } catch {
        return false;
    }
}

export async function runGate(o: GateOptions): Promise<GateResult> {
    const lines: string[] = [];
    const missing: string[] = [];
    if (o.target !== "prod") return { exitCode: 2, lines: [`gate: only prod is gated (npm run gate -- prod), not ${o.target}`], missing };
    const read = o.stackOutput ?? pulumiStackOutput(o.projectDir);
    let head: string;
    let prodApplied: { commit: string; dirty: boolean };
    let changed: string[];
    try {
        head = (await git(o.projectDir, ["rev-parse", "HEAD"])).trim();
        prodApplied = parseApplied(o.applied ?? (await read("prod", "appliedCommit")));
        if (!/^[0-9a-f]{7,40}$/.test(prodApplied.commit)) throw new Error(`prod's appliedCommit ${JSON.stringify(prodApplied.commit)} is not a commit`);
        try {
            await git(o.projectDir, ["cat-file", "-e", `${prodApplied.commit}^{commit}`]);
        } catch {
            throw new Error(`prod's applied commit ${prodApplied.commit} is not in this repository (git fetch?)`);
        }
        changed = (await git(o.projectDir, ["diff", "--name-only", prodApplied.commit, "HEAD", "--"])).split("\n").filter(Boolean);
    } catch (e) {
        return { exitCode: 2, lines: [`gate: cannot run: ${(e as Error).message}`], missing };
    }
    lines.push(`gate prod: HEAD ${head.slice(0, 12)}; prod applied ${prodApplied.commit.slice(0, 12)}${prodApplied.dirty ? "-dirty" : ""}; ${changed.length} path(s) changed`);
    // A Pulumi.prod.yaml that only switches migrations needs those migrations' drills, not every drill.
    const migrations: { on: Migration[]; off: Migration[] } = { on: [], off: [] };
    let classified = changed;
    if (changed.includes(PROD_STACK_FILE)) {
        try {
            const m = migrationChange(await git(o.projectDir, ["show", `${prodApplied.commit}:${PROD_STACK_FILE}`]), await git(o.projectDir, ["show", `HEAD:${PROD_STACK_FILE}`]));
            migrations.on = m.on;
            migrations.off = m.off;
            if (m.onlyMigrations) classified = changed.filter((f) => f !== PROD_STACK_FILE);
        } catch {
            // the file is new or gone on one side: classified as it is (every drill)
        }
    }
    const need = requiredDrills(classified);
    for (const [verb, list] of [["switched on", migrations.on], ["switched off", migrations.off]] as const) {
        for (const m of list) {
            lines.push(`migration ${m} ${verb}: needs ${MIGRATION_DRILLS[m].join(", ")}`);
            for (const d of MIGRATION_DRILLS[m]) {
                if (!need.has(d)) need.set(d, new Set());
                need.get(d)!.add(`migration ${m} ${verb}`);
            }
        }
    }
    if (prodApplied.dirty) {
        // What prod runs is not a commit: no diff describes it, so every drill is required.
        for (const d of DRILL_NAMES) {
            if (!need.has(d)) need.set(d, new Set());
            need.get(d)!.add("prod was applied from a dirty tree");
        }
    }
    const classes = new Set(classified.flatMap((f) => classesOf(f)));
    lines.push(`change classes: ${[...classes].join(", ") || "(none)"}`);

    const status = (await git(o.projectDir, ["status", "--porcelain"])).split("\n").filter(Boolean);
    if (status.length) missing.push(`the working tree is not clean (${status.length} change(s), e.g. ${status[0].slice(3)}): commit first`);

    if (need.size === 0) {
        lines.push("required drills: none (docs, tests and tools only)");
    } else {
        lines.push(`required drills: ${[...need.entries()].map(([d, why]) => `${d} (${[...why].join(", ")})`).join("; ")}`);
        let sandbox: { commit: string; dirty: boolean } | undefined;
        try {
            sandbox = parseApplied(o.sandboxApplied ?? (await read(PROVING_STACK, "appliedCommit")));
        } catch (e) {
            missing.push((e as Error).message);
        }
        if (sandbox) {
            if (sandbox.dirty) missing.push(`${PROVING_STACK} was applied from a dirty tree (${sandbox.commit.slice(0, 12)}-dirty): pulumi up -s ${PROVING_STACK} from a clean HEAD`);
            else if (!(await sameAsHead(o.projectDir, sandbox.commit))) missing.push(`${PROVING_STACK} runs ${sandbox.commit.slice(0, 12)}, not HEAD: pulumi up -s ${PROVING_STACK}, then the drills`);
            else lines.push(`${PROVING_STACK} applied HEAD`);
        }
        let records;
        try {
            records = readRecords(o.projectDir, PROVING_STACK);
        } catch (e) {
            return { exitCode: 2, lines: [...lines, `gate: cannot run: ${(e as Error).message}`], missing };
        }
        for (const d of need.keys()) {
            const mine = records.filter((r) => r.drill === d && r.stack === PROVING_STACK);
            let ok = false;
            for (const r of mine) if (r.verdict === "pass" && !r.dirty && (await sameAsHead(o.projectDir, r.commit))) ok = true;
            if (ok) {
                lines.push(`PASS  ${d}: passed on ${PROVING_STACK} for HEAD`);
                continue;
            }
            const last = mine[mine.length - 1];
            const why = !last ? "never run"
                : last.verdict !== "pass" ? `latest run failed (${last.end})`
                : last.dirty ? "latest pass was from a dirty tree"
                : `latest pass is for ${last.commit.slice(0, 12)}, not HEAD`;
            missing.push(`drill ${d}: no passing record on ${PROVING_STACK} for HEAD (${why}): npm run drill -- ${PROVING_STACK} ${d}`);
        }
    }
    for (const m of missing) lines.push(`MISSING  ${m}`);
    lines.push(missing.length ? `gate prod: FAIL (${missing.length} missing)` : "gate prod: PASS; next: pulumi preview -s prod --policy-pack ./policy");
    return { exitCode: missing.length ? 1 : 0, lines, missing };
}
