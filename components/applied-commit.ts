// The git commit the program runs from (`appliedCommit`, a stack output of every stack): what the
// promotion gate (`npm run gate -- prod`) compares with HEAD. `<sha>-dirty` when the working tree
// had uncommitted changes, so that a dirty apply never counts as having applied a commit. Read
// once, here. The offline plan answers a fixed value: the golden prod plan must not change with
// every commit.
import { execFileSync } from "child_process";
import { isOfflinePlan } from "./offline";

/** The drills' evidence trail (appended by each drill run): not a change to what is applied. */
export const EVIDENCE_DIR = "drills/evidence";
/** What the offline plan exports as appliedCommit. */
export const OFFLINE_APPLIED_COMMIT = "offline-plan";
/** When the program does not run from a git clone (an export of it). */
export const UNKNOWN_COMMIT = "unknown";

/** The commit of a git working tree, `-dirty` appended when it has uncommitted changes. */
export function readCommit(dir: string): string {
    const git = (args: string[]) => execFileSync("git", args, { cwd: dir, encoding: "utf8", timeout: 30_000, stdio: ["ignore", "pipe", "ignore"] }).trim();
    let sha: string;
    try {
        sha = git(["rev-parse", "HEAD"]);
    } catch {
        return UNKNOWN_COMMIT;
    }
    // Untracked files count (a new file the program reads is part of what is applied); the
    // evidence trail does not.
    const dirty = git(["status", "--porcelain", "--", ".", `:(exclude)${EVIDENCE_DIR}`]) !== "";
    return dirty ? `${sha}-dirty` : sha;
}

/** Splits `<sha>[-dirty]`. */
export function parseApplied(value: string): { commit: string; dirty: boolean } {
    const v = value.trim();
    return v.endsWith("-dirty") ? { commit: v.slice(0, -"-dirty".length), dirty: true } : { commit: v, dirty: false };
}

let cached: string | undefined;

/** The program's appliedCommit (read once per process). */
export function appliedCommit(dir: string): string {
    if (isOfflinePlan()) return OFFLINE_APPLIED_COMMIT;
    return (cached ??= readCommit(dir));
}
