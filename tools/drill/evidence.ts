// The evidence trail: one JSON record per drill run, appended to drills/evidence/<stack>.jsonl
// (committed). What the gate reads, and what `npm run drill -- --report` summarises.
import * as fs from "fs";
import * as path from "path";
import { Versions } from "../../components/config";
import { EVIDENCE_DIR, readCommit, parseApplied } from "../../components/applied-commit";
import { DRILL_NAMES, Section, SECTIONS } from "./model";

export { EVIDENCE_DIR };
export const RECORD_SCHEMA = 1;

export interface StepRecord {
    section: Section | "after-failure";
    name: string;
    outcome: "pass" | "fail" | "not-run";
    seconds: number;
    detail: string;
}

export interface DrillRecord {
    schema: number;
    drill: string;
    stack: string;
    commit: string;
    dirty: boolean;
    versions: Versions;
    start: string;
    end: string;
    steps: StepRecord[];
    verdict: "pass" | "fail";
    /** From the end of the fault to the end of the verify: the time to recovery. */
    recoverySeconds?: number;
    /** What state the sandbox is in at the end (after a failure: what is left to do). */
    leftState: string;
}

export function evidenceFile(projectDir: string, stack: string): string {
    return path.join(projectDir, EVIDENCE_DIR, `${stack}.jsonl`);
}

export function appendRecord(projectDir: string, r: DrillRecord): string {
    const file = evidenceFile(projectDir, r.stack);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.appendFileSync(file, `${JSON.stringify(r)}\n`);
    return file;
}

/** The reasons a record is not well formed (empty: it is). */
export function recordProblems(r: unknown): string[] {
    const p: string[] = [];
    const o = r as Record<string, unknown>;
    if (!o || typeof o !== "object") return ["not an object"];
    if (o.schema !== RECORD_SCHEMA) p.push(`schema is not ${RECORD_SCHEMA}`);
    if (!DRILL_NAMES.includes(o.drill as never)) p.push(`unknown drill ${JSON.stringify(o.drill)}`);
    if (typeof o.stack !== "string" || o.stack === "prod") p.push("stack missing or prod");
    if (typeof o.commit !== "string" || !/^([0-9a-f]{40}|unknown)$/.test(o.commit)) p.push("commit is not a 40-hex git commit");
    if (typeof o.dirty !== "boolean") p.push("dirty is not a boolean");
    if (!o.versions || typeof (o.versions as Versions).k3s !== "string") p.push("versions lack k3s");
    for (const k of ["start", "end"]) if (typeof o[k] !== "string" || Number.isNaN(Date.parse(o[k] as string))) p.push(`${k} is not a time`);
    if (!Array.isArray(o.steps) || o.steps.length === 0) p.push("no steps");
    else for (const s of o.steps as StepRecord[]) {
        if (![...SECTIONS, "after-failure"].includes(s.section) || typeof s.name !== "string" || !["pass", "fail", "not-run"].includes(s.outcome) || typeof s.seconds !== "number") {
            p.push(`bad step ${JSON.stringify(s).slice(0, 80)}`);
        }
    }
    if (o.verdict !== "pass" && o.verdict !== "fail") p.push("verdict is not pass or fail");
    if (o.verdict === "pass" && (o.steps as StepRecord[] | undefined)?.some((s) => s.outcome !== "pass")) p.push("verdict pass with a step not passed");
    return p;
}

/** Every record of a stack's file (a malformed line is an error naming the line). */
export function readRecords(projectDir: string, stack: string): DrillRecord[] {
    const file = evidenceFile(projectDir, stack);
    if (!fs.existsSync(file)) return [];
    return fs.readFileSync(file, "utf8").split("\n").map((line, i) => ({ line, i })).filter((x) => x.line.trim() !== "").map(({ line, i }) => {
        let r: unknown;
        try {
            r = JSON.parse(line);
        } catch {
            throw new Error(`${file}:${i + 1} is not JSON`);
        }
        const problems = recordProblems(r);
        if (problems.length) throw new Error(`${file}:${i + 1}: ${problems.join("; ")}`);
        return r as DrillRecord;
    });
}

export function allStacksWithEvidence(projectDir: string): string[] {
    const dir = path.join(projectDir, EVIDENCE_DIR);
    if (!fs.existsSync(dir)) return [];
    return fs.readdirSync(dir).filter((f) => f.endsWith(".jsonl")).map((f) => f.slice(0, -".jsonl".length)).sort();
}

/** The latest verdict per drill and stack, as a table. */
export function formatReport(projectDir: string): string {
    const rows: string[][] = [["stack", "drill", "verdict", "commit", "when", "recovery"]];
    for (const stack of allStacksWithEvidence(projectDir)) {
        const latest = new Map<string, DrillRecord>();
        for (const r of readRecords(projectDir, stack)) latest.set(r.drill, r);
        for (const d of DRILL_NAMES) {
            const r = latest.get(d);
            if (!r) continue;
            rows.push([stack, d, r.verdict.toUpperCase(), `${r.commit.slice(0, 12)}${r.dirty ? "-dirty" : ""}`, r.end, r.recoverySeconds === undefined ? "" : `${r.recoverySeconds.toFixed(0)} s`]);
        }
    }
    if (rows.length === 1) return "no drill has run yet (drills/evidence/ is empty)";
    const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
    return rows.map((r) => r.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd()).join("\n");
}

/** The commit a drill runs from, and whether the tree is dirty (the evidence files do not count). */
export function gitState(projectDir: string): { commit: string; dirty: boolean } {
    return parseApplied(readCommit(projectDir));
}
