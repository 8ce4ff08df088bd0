// Where a sandbox's Gitea repositories are seeded from: the operator's local clones, read at
// program time (git, read-only) so that a new commit or tag in a clone changes the seeding
// command's triggers and the next `pulumi up` pushes it. Never another Gitea.
import { createHash } from "crypto";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { SeedSpec } from "../config";

/** One app's local clone, as seen now. `problem` says why it cannot be pushed (no clone...). */
export interface SeedSource {
    app: string;
    /** The clone's path (absolute), when one is configured. */
    path?: string;
    branch?: string;
    head?: string;
    /** A digest of every tag and what it points at. */
    tags?: string;
    tagCount?: number;
    problem?: string;
}

/** Runs git read-only in a folder; returns stdout trimmed, or undefined when git fails. */
export type GitRunner = (dir: string, args: string[]) => string | undefined;

export const GIT_TIMEOUT_MS = 10_000;

export const runGit: GitRunner = (dir, args) => {
    try {
        return execFileSync("git", ["-C", dir, ...args], {
            encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], timeout: GIT_TIMEOUT_MS,
        }).trim();
    } catch {
        return undefined;
    }
};

/** The configured clone of an app: `seed.repos[app]`, else `<seed.folder>/<app>`; `~` and relative paths resolved. */
export function seedPath(seed: SeedSpec | undefined, app: string, baseDir: string, home = os.homedir()): string | undefined {
    const p = seed?.repos[app] ?? (seed?.folder !== undefined ? path.join(seed.folder, app) : undefined);
    if (p === undefined) return undefined;
    const expanded = p === "~" ? home : p.startsWith("~/") ? path.join(home, p.slice(2)) : p;
    return path.resolve(baseDir, expanded);
}

/** Reads one clone: its default branch (origin's HEAD, else the checked-out branch), that branch's commit and the tags. */
export function readSeedSource(app: string, dir: string | undefined, git: GitRunner = runGit): SeedSource {
    if (dir === undefined) return { app, problem: "no clone configured (homelab:seed is not set)" };
    if (!fs.existsSync(dir)) return { app, path: dir, problem: `no clone at ${dir}` };
    if (git(dir, ["rev-parse", "--git-dir"]) === undefined) return { app, path: dir, problem: `${dir} is not a git clone` };
    const originHead = git(dir, ["symbolic-ref", "--quiet", "--short", "refs/remotes/origin/HEAD"]);
    const branch = originHead ? originHead.replace(/^origin\//, "") : git(dir, ["symbolic-ref", "--quiet", "--short", "HEAD"]);
    if (!branch) return { app, path: dir, problem: `${dir} has no default branch (no origin/HEAD and a detached HEAD)` };
    const head = git(dir, ["rev-parse", "--verify", "--quiet", `refs/heads/${branch}^{commit}`]);
    if (!head) return { app, path: dir, problem: `${dir} has no local branch ${branch} (git switch ${branch})` };
    const tagList = git(dir, ["for-each-ref", "--format=%(refname) %(objectname)", "refs/tags"]) ?? "";
    const tagCount = tagList === "" ? 0 : tagList.split("\n").length;
    const tags = createHash("sha256").update(tagList).digest("hex").slice(0, 16);
    return { app, path: dir, branch, head, tags, tagCount };
}

/** What the operator reads when an app's repository stays empty. */
export function missingCloneWarning(stack: string, s: SeedSource): string {
    return `seed: app "${s.app}" has ${s.problem}: its repository in the sandbox's Gitea stays empty. ` +
        `Clone the app there, or set homelab:seed.repos.${s.app} (or homelab:seed.folder) in Pulumi.${stack}.yaml ` +
        `to its local clone, then run pulumi up again (docs/runbooks/seed-a-sandbox.md).`;
}
