// The offline plans: a sandbox's Gitea bootstrap and seeding, and Argo CD's repo-creds Secret in
// every stack, in the format Argo CD documents (argoproj/argo-cd v3.4.4
// docs/operator-manual/declarative-setup.md, "Repository Credentials": a Secret labelled
// argocd.argoproj.io/secret-type: repo-creds whose `url` is a prefix of the repositories' URLs,
// with `username` and `password` keys; `type: git`).
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { byType, programPlanOf as planOf, STACKS } from "./helpers/plan";
// The program's definitions: prod with every migration on (programPlanOf); the baseline is test/adoption.test.ts.
import { ARGOCD_TOKEN_NAME, GITEA_ADMIN_USER, REPO_CREDS_SECRET, repoCredsData } from "../components/platform/gitea";
import { giteaRepoUrl } from "../components/naming";
import { parseConfig } from "../components/config";
import { readStackConfig } from "../components/stack-config";
import { ROOT } from "./helpers/plan";
import { makeClone } from "./helpers/git-clone";

const SANDBOXES = ["sandbox-k3d", "sandbox-vms"] as const;

describe("Argo CD repo-creds in every stack", () => {
    for (const stack of STACKS) {
        it(`${stack}: one repo-creds Secret for <gitea cluster url>/<org>, with username and password`, () => {
            const plan = planOf(stack);
            const secrets = byType(plan, "kubernetes:core/v1:Secret").filter((r) => (r.inputs.metadata as any).name === REPO_CREDS_SECRET);
            assert.equal(secrets.length, 1);
            const s = secrets[0];
            const meta = s.inputs.metadata as any;
            assert.equal(meta.namespace, "argocd");
            assert.deepEqual(meta.labels, { "argocd.argoproj.io/secret-type": "repo-creds" });
            assert.equal(s.inputs.stringData, "[secret]", "the whole data is secret in the plan");
            assert.match(s.provider ?? "", /platform-kubernetes-provider$/);
            // the Applications' repoURLs all start with the Secret's url
            const apps = byType(plan, "kubernetes:argoproj.io/v1alpha1:Application");
            assert.ok(apps.length > 0);
            const cfg = parseConfig(stack, readStackConfig(ROOT, stack));
            for (const a of apps) {
                const repoURL = (a.inputs.spec as any).source.repoURL as string;
                assert.match(repoURL, new RegExp(`/${cfg.giteaOrg}/[a-z0-9-]+\\.git$`));
            }
        });
    }

    it("its data is Argo CD's documented credential template: type git, url prefix of every app's repoURL, username, password", () => {
        const data = repoCredsData("http://k3d-lab-gitea:3000/", "lab", GITEA_ADMIN_USER, "tok");
        assert.deepEqual(data, { type: "git", url: "http://k3d-lab-gitea:3000/lab", username: GITEA_ADMIN_USER, password: "tok" });
        for (const app of ["erp", "url-shortener"]) {
            assert.ok(giteaRepoUrl("http://k3d-lab-gitea:3000", "lab", app).startsWith(data.url), app);
        }
    });

    it("prod: the user from prod's stack file and the token a secret set by the operator (never written by hand), sandboxes: from the bootstrap", () => {
        const prod = parseConfig("prod", readStackConfig(ROOT, "prod"));
        assert.equal(prod.repoCreds?.username, "argocd");
        // not committed: until `pulumi config set --secret` writes it, a real run of prod refuses to start
        assert.doesNotMatch(fs.readFileSync(path.join(ROOT, "Pulumi.prod.yaml"), "utf8"), /homelab:giteaRepoToken:/);
        assert.ok(prod.placeholders.some((p) => p.key === "homelab:giteaRepoToken"));
        const k3d = parseConfig("sandbox-k3d", readStackConfig(ROOT, "sandbox-k3d"));
        assert.equal(k3d.repoCreds, undefined);
    });
});

describe("a sandbox's Gitea bootstrap in the plan", () => {
    for (const stack of SANDBOXES) {
        it(`${stack}: admin, API bootstrap (org, repos, token), secrets never logged, undone on destroy`, () => {
            const plan = planOf(stack);
            const admin = plan.resources.find((r) => r.name === "gitea-admin")!;
            const api = plan.resources.find((r) => r.name === "gitea-api")!;
            assert.ok(admin && api);
            assert.ok(admin.additionalSecretOutputs?.includes("stdout"));
            assert.deepEqual(api.additionalSecretOutputs, ["stdout"]);
            assert.equal(api.inputs.logging, "stderr");
            assert.match(String(api.inputs.delete), /^ACTION=delete\n/);
            assert.equal(api.inputs.stdin, "[secret]", "the admin password goes through stdin");
            const env = api.inputs.environment as Record<string, string>;
            assert.equal(env.ORG, parseConfig("sandbox-k3d", readStackConfig(ROOT, "sandbox-k3d")).giteaOrg);
            assert.equal(env.ADMIN_USER, GITEA_ADMIN_USER);
            assert.equal(env.TOKEN_NAME, ARGOCD_TOKEN_NAME);
            assert.equal(env.REPOS.split(" ").length, 6, "one repository per app of the catalogue");
            assert.ok(api.dependsOn.includes(admin.urn));
            if (stack === "sandbox-vms") {
                assert.equal(admin.type, "command:remote:Command");
                assert.match(String(admin.inputs.create), /GITEA_VOLUME='homelab-gitea-data'/);
                assert.match(String(admin.inputs.delete), /ACTION='delete'/);
            } else {
                assert.equal(admin.type, "command:local:Command");
                assert.equal((admin.inputs.environment as any).GITEA_CONTAINER, "k3d-lab-gitea");
            }
        });
    }

    it("prod has no bootstrap and no seeding: its Gitea exists", () => {
        const plan = planOf("prod");
        assert.deepEqual(plan.resources.filter((r) => /^gitea-/.test(r.name)), []);
        assert.deepEqual(plan.outputs.giteaUnseeded, []);
    });

    describe("seeding from clones", () => {
        let dir: string;
        before(() => {
            dir = fs.mkdtempSync(path.join(os.tmpdir(), "seed-plan-"));
            makeClone(dir, "erp");
            makeClone(dir, "webapp");
        });
        after(() => fs.rmSync(dir, { recursive: true, force: true }));

        it("one push per app with a clone, triggered by its branch, commit and tags; the others named as unseeded", () => {
            const plan = planOf("sandbox-k3d", { "homelab:seed": { folder: path.join(dir, "clones") } });
            const seeds = plan.resources.filter((r) => r.name.startsWith("gitea-seed-")).map((r) => r.name).sort();
            assert.deepEqual(seeds, ["gitea-seed-erp", "gitea-seed-webapp"]);
            const erp = plan.resources.find((r) => r.name === "gitea-seed-erp")!;
            const triggers = erp.inputs.triggers as string[];
            assert.equal(triggers[0], path.join(dir, "clones", "erp"));
            assert.equal(triggers[1], "main");
            assert.match(triggers[2], /^[0-9a-f]{40}$/);
            assert.equal(erp.inputs.stdin, "[secret]");
            assert.equal(erp.inputs.delete, undefined, "the repository (not the push) is undone, by the bootstrap");
            assert.ok(erp.dependsOn.some((d) => d.endsWith("::gitea-api")));
            assert.deepEqual([...(plan.outputs.giteaUnseeded as string[])].sort(), ["cms", "dance-lessons-coach", "telegram-gateway", "url-shortener"]);
            assert.equal(plan.violations.length, 0);
        });

        it("an unchanged clone gives the same plan; a new commit changes only that app's trigger", () => {
            const a = planOf("sandbox-vms", { "homelab:seed": { folder: path.join(dir, "clones") } });
            const trig = (p: typeof a, app: string) => p.resources.find((r) => r.name === `gitea-seed-${app}`)!.inputs.triggers;
            const clone = path.join(dir, "clones", "erp");
            fs.writeFileSync(path.join(clone, "new.txt"), "n\n");
            require("child_process").execFileSync("git", ["-C", clone, "-c", "user.name=t", "-c", "user.email=t@x", "commit", "--quiet", "-am", "x", "--allow-empty"]);
            const b = planOf("sandbox-vms", { "homelab:seed": { folder: path.join(dir, "clones") }, "homelab:dataHost": "pi2" });
            assert.notDeepEqual(trig(b, "erp"), trig(a, "erp"));
            assert.deepEqual(trig(b, "webapp"), trig(a, "webapp"));
        });
    });
});

describe("no sandbox plan names prod's Gitea", () => {
    for (const stack of SANDBOXES) {
        it(`${stack}: prod's Gitea address appears in no input`, () => {
            const text = JSON.stringify(planOf(stack).resources);
            assert.doesNotMatch(text, /192\.168\.1\.20[123]/);
            assert.doesNotMatch(text, /acmelab\.io/);
        });
    }
});
