// A sandbox's Gitea: the admin (Gitea's CLI in its container, through a fake docker that
// answers as `gitea admin user` does), the organisation, repositories and Argo CD's token (the
// REST API, against a local server standing in for Gitea), and the seeding (real git pushing
// over Git's smart HTTP into real bare repositories).
//
// Upstream read:
//   - go-gitea/gitea cmd/admin_user_create.go (stored commit ae0c7935; the v1.25.2 snapshot is
//     larger than the fetch limit): --password or --random-password, and the random one is printed
//     once as "generated random password is '<p>'"; the first user is not forced to change it.
//   - go-gitea/gitea cmd/admin_user_list.go (`list --admin`: ID Username Email IsActive) and
//     cmd/admin_user_delete.go (`delete --username <u> --purge`).
//   - go-gitea/gitea routers/api/v1/api.go: POST /orgs, GET/DELETE /orgs/{org},
//     POST /orgs/{org}/repos, GET/PATCH/DELETE /repos/{owner}/{repo}; /users/{username}/tokens
//     GET/POST and /tokens/{id or name} DELETE behind reqBasicOrRevProxyAuth (password, not token).
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { execFileSync } from "child_process";
import { giteaScriptPath, GITEA_ADMIN_USER } from "../components/platform/gitea";
import { missingCloneWarning, readSeedSource, seedPath } from "../components/platform/seed-source";
import { FakeGitea, run } from "./helpers/fake-gitea";
import { commit, git, makeClone } from "./helpers/git-clone";

const FAKES = path.join(__dirname, "fakes", "gitea");
// The scripts run on the operator's Mac, whose /bin/bash is 3.2: run them with that bash when the
// shared test tools have it (../shared/tools/bash-3.2), else with this machine's bash.
const BASH_32 = path.resolve(__dirname, "..", "..", "shared", "tools", "bash-3.2");
const BASH = fs.existsSync(BASH_32) ? BASH_32 : "bash";
if (BASH === "bash") console.log(`      (note: ${BASH_32} is not here: the Gitea scripts run with this machine's bash)`);

function tmp(prefix: string): string {
    return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

describe("Gitea admin (gitea-admin.sh, Gitea's CLI in its container)", () => {
    let dir: string;
    const env = (extra: Record<string, string> = {}) => ({
        PATH: `${FAKES}:/usr/bin:/bin`,
        HOME: path.join(dir, "home"),
        FAKE_STATE: path.join(dir, "state"),
        FAKE_LOG: path.join(dir, "calls.log"),
        STACK: "sandbox-k3d",
        ADMIN_USER: GITEA_ADMIN_USER,
        GITEA_CONTAINER: "k3d-lab-gitea",
        ...extra,
    });
    const admin = (extra: Record<string, string> = {}) => run(BASH, [giteaScriptPath("gitea-admin.sh")], { env: env(extra) });
    const passwordFile = () => path.join(dir, "home", ".config", "homelab", "sandbox-k3d", "gitea-admin.password");
    const calls = () => fs.readFileSync(path.join(dir, "calls.log"), "utf8");

    beforeEach(() => {
        dir = tmp("gitea-admin-");
        fs.mkdirSync(path.join(dir, "state", "containers"), { recursive: true });
        fs.writeFileSync(path.join(dir, "state", "containers", "k3d-lab-gitea"), "k3d-lab-gitea-data");
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("creates the admin with a password Gitea generates: on no command line, kept with mode 600, printed last", async () => {
        const r = await admin();
        assert.equal(r.status, 0, r.stderr);
        assert.equal(r.stdout, "s3cr3t-Pa55\n");
        assert.match(calls(), /gitea admin user create --username lab-admin .*--admin --random-password/);
        assert.doesNotMatch(calls(), /s3cr3t/, "the password is on no command line");
        assert.doesNotMatch(r.stderr, /s3cr3t/, "nor in the progress lines");
        assert.equal(fs.statSync(passwordFile()).mode & 0o777, 0o600);
        assert.equal(fs.readFileSync(passwordFile(), "utf8"), "s3cr3t-Pa55\n");
    });

    it("is idempotent: a second run creates nothing and prints the same password", async () => {
        await admin();
        const before = calls().split("\n").length;
        const r = await admin({ FAKE_GITEA_PASSWORD: "another" });
        assert.equal(r.status, 0, r.stderr);
        assert.equal(r.stdout, "s3cr3t-Pa55\n");
        assert.match(r.stderr, /done: unchanged/);
        assert.doesNotMatch(calls().split("\n").slice(before - 1).join("\n"), /user create/);
    });

    it("stops, saying what to do, when the admin exists but its kept password is lost", async () => {
        await admin();
        fs.rmSync(passwordFile());
        const r = await admin();
        assert.equal(r.status, 1);
        assert.match(r.stderr, /exists in Gitea but its kept password .* is missing; remove the account \(docker exec -u git k3d-lab-gitea gitea admin user delete --username lab-admin --purge\)/);
    });

    it("finds the data host's container by its volume (sandbox-vms)", async () => {
        fs.writeFileSync(path.join(dir, "state", "containers", "homelab-data-gitea-1"), "homelab-gitea-data");
        const r = await admin({ GITEA_CONTAINER: "", GITEA_VOLUME: "homelab-gitea-data", PASSWORD_FILE: path.join(dir, "data", "gitea-admin.password") });
        assert.equal(r.status, 0, r.stderr);
        assert.match(calls(), /docker exec -u git homelab-data-gitea-1 gitea admin user create/);
    });

    it("destroy removes the account and the kept password; with the container gone there is nothing to undo", async () => {
        await admin();
        let r = await admin({ ACTION: "delete" });
        assert.equal(r.status, 0, r.stderr);
        assert.match(calls(), /gitea admin user delete --username lab-admin --purge/);
        assert.equal(fs.existsSync(passwordFile()), false);
        assert.equal(fs.readFileSync(path.join(dir, "state", "gitea-users"), "utf8"), "");
        fs.rmSync(path.join(dir, "state", "containers", "k3d-lab-gitea"));
        r = await admin({ ACTION: "delete" });
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.stderr, /container is gone/);
    });
});

describe("Gitea organisation, repositories and Argo CD's token (gitea-bootstrap.sh, Gitea's REST API)", () => {
    let dir: string;
    let gitea: FakeGitea;
    const PASSWORD = 'pa"ss\\word';
    const bootstrap = (extra: Record<string, string> = {}, password = PASSWORD) => run(BASH, [giteaScriptPath("gitea-bootstrap.sh")], {
        env: {
            PATH: "/usr/bin:/bin", HOME: path.join(dir, "home"), STACK: "sandbox-k3d",
            GITEA_URL: gitea.url, ADMIN_USER: GITEA_ADMIN_USER, ORG: "lab", REPOS: "erp webapp", TOKEN_NAME: "argocd", READY_TIMEOUT: "4",
            ...extra,
        },
        input: `${password}\n`,
    });
    const tokenFile = () => path.join(dir, "home", ".config", "homelab", "sandbox-k3d", "gitea-argocd.token");

    beforeEach(async () => {
        dir = tmp("gitea-bootstrap-");
        gitea = new FakeGitea(GITEA_ADMIN_USER, PASSWORD);
        await gitea.start();
    });
    afterEach(async () => {
        await gitea.stop();
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it("creates the organisation, one private repository per app and a read-only token, printed last and kept with mode 600", async () => {
        const r = await bootstrap();
        assert.equal(r.status, 0, r.stderr);
        assert.deepEqual([...gitea.orgs], ["lab"]);
        assert.deepEqual([...gitea.repos.keys()].sort(), ["lab/erp", "lab/webapp"]);
        assert.equal(gitea.tokens.length, 1);
        assert.deepEqual(gitea.tokens[0].scopes, ["read:repository"]);
        assert.equal(r.stdout, `${gitea.tokens[0].sha1}\n`);
        assert.equal(fs.statSync(tokenFile()).mode & 0o777, 0o600);
        assert.doesNotMatch(r.stderr, new RegExp(gitea.tokens[0].sha1));
    });

    it("is idempotent: a second run creates nothing and reuses the kept token", async () => {
        const first = await bootstrap();
        const n = gitea.requests.length;
        const second = await bootstrap();
        assert.equal(second.status, 0, second.stderr);
        assert.equal(second.stdout, first.stdout);
        assert.match(second.stderr, /done: unchanged/);
        assert.deepEqual(gitea.requests.slice(n).filter((q) => !q.startsWith("GET")), [], "no write on the second run");
    });

    it("replaces a kept token that Gitea no longer accepts (same name, new value)", async () => {
        const first = await bootstrap();
        gitea.tokens[0].sha1 = "0".repeat(40); // revoked and re-made elsewhere
        const r = await bootstrap();
        assert.equal(r.status, 0, r.stderr);
        assert.notEqual(r.stdout, first.stdout);
        assert.equal(gitea.tokens.length, 1);
        assert.equal(r.stdout, `${gitea.tokens[0].sha1}\n`);
        assert.ok(gitea.requests.includes("DELETE /api/v1/users/lab-admin/tokens/argocd"));
    });

    it("fails with Gitea's answer when the admin password is wrong", async () => {
        const r = await bootstrap({}, "wrong");
        assert.equal(r.status, 1);
        assert.match(r.stderr, /HTTP 401/);
    });

    it("destroy removes the repositories, the organisation and the token; a Gitea that is gone leaves nothing to undo", async () => {
        await bootstrap();
        let r = await bootstrap({ ACTION: "delete" });
        assert.equal(r.status, 0, r.stderr);
        assert.equal(gitea.repos.size, 0);
        assert.equal(gitea.orgs.size, 0);
        assert.equal(gitea.tokens.length, 0);
        assert.equal(fs.existsSync(tokenFile()), false);
        r = await bootstrap({ ACTION: "delete", GITEA_URL: "http://127.0.0.1:9", READY_TIMEOUT: "0" });
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.stderr, /does not answer: nothing to undo/);
    });
});

describe("seeding from the operator's clones (gitea-seed.sh, real git)", () => {
    let dir: string;
    let gitea: FakeGitea;
    let clone: string;
    const seed = (extra: Record<string, string> = {}) => run(BASH, [giteaScriptPath("gitea-seed.sh")], {
        env: {
            PATH: "/usr/bin:/bin", HOME: path.join(dir, "home"),
            GITEA_URL: gitea.url, ORG: "lab", APP: "erp", SOURCE: clone, BRANCH: "main", ADMIN_USER: GITEA_ADMIN_USER,
            ...extra,
        },
        input: "admin-pw\n",
    });
    const pushed = (ref: string) => git(gitea.bareRepo("lab/erp"), "rev-parse", ref);

    beforeEach(async () => {
        dir = tmp("gitea-seed-");
        clone = makeClone(dir, "erp");
        gitea = new FakeGitea(GITEA_ADMIN_USER, "admin-pw");
        await gitea.start();
        gitea.orgs.add("lab");
        execFileSync("git", ["init", "--quiet", "--bare", gitea.bareRepo("lab/erp")]);
        gitea.repos.set("lab/erp", "master");
    });
    afterEach(async () => {
        await gitea.stop();
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it("pushes the default branch and the tags over HTTP with the admin's password from stdin, and makes the branch the default", async () => {
        const r = await seed();
        assert.equal(r.status, 0, r.stderr);
        const head = git(clone, "rev-parse", "HEAD");
        assert.equal(r.stdout, `main ${head} 1\n`);
        assert.equal(pushed("refs/heads/main"), head);
        assert.equal(pushed("refs/tags/v1.0.0"), git(clone, "rev-parse", "refs/tags/v1.0.0"));
        assert.equal(gitea.repos.get("lab/erp"), "main");
        assert.doesNotMatch(r.stderr, /admin-pw/);
    });

    it("after `git pull` brings a commit and a tag, a new run pushes them (fast-forward)", async () => {
        await seed();
        const next = commit(clone, "CHANGELOG.md", "v1.1\n");
        git(clone, "tag", "v1.1.0");
        const r = await seed();
        assert.equal(r.status, 0, r.stderr);
        assert.equal(pushed("refs/heads/main"), next);
        assert.equal(pushed("refs/tags/v1.1.0"), next);
    });

    it("never forces: a sandbox repository that diverged stops the push and keeps its commit", async () => {
        await seed();
        // someone pushed to the sandbox repository directly
        const other = path.join(dir, "other");
        execFileSync("git", ["clone", "--quiet", "--branch", "main", gitea.bareRepo("lab/erp"), other]);
        const theirs = commit(other, "x.txt", "x\n");
        git(other, "push", "--quiet", "origin", "main");
        commit(clone, "y.txt", "y\n");
        const r = await seed();
        assert.equal(r.status, 1);
        assert.match(r.stderr, /git push .* failed .* never overwritten/);
        assert.equal(pushed("refs/heads/main"), theirs);
    });

    it("fails clearly when the admin password is refused", async () => {
        const r = await run(BASH, [giteaScriptPath("gitea-seed.sh")], {
            env: { PATH: "/usr/bin:/bin", HOME: dir, GITEA_URL: gitea.url, ORG: "lab", APP: "erp", SOURCE: clone, BRANCH: "main", ADMIN_USER: GITEA_ADMIN_USER },
            input: "wrong\n",
        });
        assert.equal(r.status, 1);
        assert.match(r.stderr, /git push to .* failed/);
    });
});

describe("seed sources: the clones read at program time", () => {
    let dir: string;
    beforeEach(() => (dir = tmp("seed-source-")));
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("resolves <folder>/<app>, a path per app (overriding the folder), ~ and paths relative to the project", () => {
        const seed = { folder: "..", repos: { erp: "~/src/erp" } };
        assert.equal(seedPath(seed, "webapp", "/p/homelab", "/home/op"), "/p/webapp");
        assert.equal(seedPath(seed, "erp", "/p/homelab", "/home/op"), "/home/op/src/erp");
        assert.equal(seedPath(undefined, "erp", "/p/homelab"), undefined);
    });

    it("reads the default branch from origin's HEAD, its commit and a digest of the tags; a new commit or tag changes them", () => {
        const clone = makeClone(dir, "erp");
        git(clone, "switch", "--quiet", "-c", "feature");
        const a = readSeedSource("erp", clone);
        assert.equal(a.branch, "main", "origin's default branch, not the checked-out one");
        assert.equal(a.head, git(clone, "rev-parse", "main"));
        assert.equal(a.tagCount, 1);
        assert.deepEqual(readSeedSource("erp", clone), a, "deterministic");
        git(clone, "switch", "--quiet", "main");
        commit(clone, "n.txt", "n\n");
        const b = readSeedSource("erp", clone);
        assert.notEqual(b.head, a.head);
        git(clone, "tag", "v2");
        assert.notEqual(readSeedSource("erp", clone).tags, b.tags);
    });

    it("names what is missing: no clone, not a git clone", () => {
        assert.match(readSeedSource("erp", path.join(dir, "nope")).problem!, /no clone at/);
        fs.mkdirSync(path.join(dir, "plain"));
        assert.match(readSeedSource("erp", path.join(dir, "plain")).problem!, /is not a git clone/);
        const w = missingCloneWarning("sandbox-k3d", readSeedSource("erp", path.join(dir, "nope")));
        assert.match(w, /app "erp" .* stays empty\. Clone the app there, or set homelab:seed\.repos\.erp .* in Pulumi\.sandbox-k3d\.yaml/);
    });
});
