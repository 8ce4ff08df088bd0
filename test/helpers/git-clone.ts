// Real git repositories for the seeding tests: a clone as the operator has it.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";

export function git(dir: string, ...args: string[]): string {
    return execFileSync("git", ["-C", dir, ...args], {
        encoding: "utf8",
        env: { ...process.env, GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@x", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@x" },
    }).trim();
}

/** A clone as the operator has it: an origin whose HEAD is main, a commit, a tag. */
export function makeClone(root: string, app: string): string {
    const origin = path.join(root, "origins", `${app}.git`);
    fs.mkdirSync(origin, { recursive: true });
    execFileSync("git", ["init", "--quiet", "--bare", "--initial-branch=main", origin]);
    const work = path.join(root, "seed-build", app);
    fs.mkdirSync(work, { recursive: true });
    git(work, "init", "--quiet", "--initial-branch=main");
    fs.writeFileSync(path.join(work, "README.md"), `# ${app}\n`);
    git(work, "add", ".");
    git(work, "commit", "--quiet", "-m", "first");
    git(work, "tag", "v1.0.0");
    git(work, "push", "--quiet", origin, "main", "--tags");
    const clone = path.join(root, "clones", app);
    execFileSync("git", ["clone", "--quiet", origin, clone]);
    return clone;
}

export function commit(dir: string, file: string, text: string): string {
    fs.writeFileSync(path.join(dir, file), text);
    git(dir, "add", ".");
    git(dir, "commit", "--quiet", "-m", `change ${file}`);
    return git(dir, "rev-parse", "HEAD");
}

