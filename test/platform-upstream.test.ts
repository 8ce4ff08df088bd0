// What a real first `pulumi up` needs, each case encoding an upstream behaviour read at the pinned
// version (cited per test).
import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { OFFLINE_APPLIED_COMMIT, parseApplied, readCommit } from "../components/applied-commit";
import { parseConfig, isConfigError } from "../components/config";
import { readStackConfig } from "../components/stack-config";
import { clusterOfKubeconfig } from "../components/platform";
import { giteaJwtSettings } from "../components/platform/vault-config";
import { shared } from "../components/naming";
import { loadCrds, validateObject } from "../tools/crd-schema";
import { PlanDocument, PlanResource } from "../tools/plan-types";
import { byType, programPlanOf as planOf, projectApps, ROOT, STACKS } from "./helpers/plan";
// The program's definitions: prod with every migration on (programPlanOf); the baseline is test/adoption.test.ts.

const RELEASE = "kubernetes:helm.sh/v3:Release";
const SHARED = path.resolve(ROOT, "..", "shared");

function one(plan: PlanDocument, pred: (r: PlanResource) => boolean, what: string): PlanResource {
    const found = plan.resources.filter(pred);
    assert.equal(found.length, 1, `${plan.stack}: exactly one ${what} (found ${found.length})`);
    return found[0];
}
const named = (suffix: string) => (r: PlanResource) => r.name.endsWith(suffix);
const release = (plan: PlanDocument, chart: string) => one(plan, (r) => r.type === RELEASE && r.inputs.chart === chart, `${chart} release`);
const manifest = () => parseConfig("prod", readStackConfig(ROOT, "prod")).versions;

function configError(stack: string, overrides: Record<string, unknown>): string {
    const raw = readStackConfig(ROOT, stack);
    for (const [k, v] of Object.entries(overrides)) {
        if (v === null) delete raw[k];
        else raw[k] = typeof v === "string" ? v : JSON.stringify(v);
    }
    try {
        parseConfig(stack, raw);
    } catch (e) {
        assert.ok(isConfigError(e), `a ConfigError, not ${(e as Error).stack}`);
        return (e as Error).message;
    }
    assert.fail(`stack ${stack} accepted ${JSON.stringify(overrides)}`);
}

describe("versions that belong together", () => {
    // appVersion of each pinned chart, from its Chart.yaml at the release tag (the fixture cites them).
    const upstream = JSON.parse(fs.readFileSync(path.join(ROOT, "test", "fixtures", "upstream-charts.json"), "utf8")).charts as Record<string, string>;
    const minor = (v: string) => v.replace(/^v/, "").split(".").slice(0, 2).join(".");

    it("runs the Vault image of the minor the pinned vault chart was released with (hashicorp/vault-helm v0.32.0 Chart.yaml: appVersion 1.21.2)", () => {
        const m = manifest();
        const appVersion = upstream[`${m.charts.vault.chart}@${m.charts.vault.version}`];
        assert.ok(appVersion, `test/fixtures/upstream-charts.json records vault chart ${m.charts.vault.version}`);
        const image = m.images.vault.split(":").pop()!;
        assert.equal(minor(image), minor(appVersion), `image ${image} and chart appVersion ${appVersion}`);
    });

    it("records the appVersion of every pinned chart", () => {
        for (const c of Object.values(manifest().charts)) assert.ok(upstream[`${c.chart}@${c.version}`], `${c.chart}@${c.version}`);
    });

    it("validates Argo CD objects against the CRDs of the pinned argo-cd chart (argoproj/argo-helm argo-cd-10.1.1 ships Argo CD v3.4.4)", function () {
        const readme = path.join(SHARED, "crds", "README.md");
        if (!fs.existsSync(readme)) {
            if (process.env.CI) assert.fail(`${readme} is missing in CI`);
            this.skip();
        }
        const text = fs.readFileSync(readme, "utf8");
        const rows = text.split("\n").filter((l) => l.startsWith("| argoproj.io_"));
        assert.ok(rows.length >= 2, "the CRD README lists the Argo CD CRDs");
        const argo = manifest().charts.argoCd;
        for (const row of rows) assert.match(row, new RegExp(`chart ${argo.chart} ${argo.version.replace(/\./g, "\\.")} `), row);
    });
});

describe("Longhorn", () => {
    it("lets a sandbox's Longhorn be uninstalled, never prod's (longhorn/longhorn v1.10.1 chart/templates/uninstall-job.yaml needs deleting-confirmation-flag)", () => {
        const flag = (stack: string) => (release(planOf(stack), "longhorn").inputs.values as any).defaultSettings.deletingConfirmationFlag;
        assert.equal(flag("sandbox-vms"), true);
        assert.equal(flag("prod"), false);
    });

    it("creates its namespace before the backup Secret and the release", () => {
        for (const stack of ["prod", "sandbox-vms"]) {
            const plan = planOf(stack);
            const ns = one(plan, (r) => r.type === "kubernetes:core/v1:Namespace" && (r.inputs.metadata as any).name === shared.longhornNamespace, "Longhorn namespace");
            const lh = release(plan, "longhorn");
            assert.equal(lh.inputs.createNamespace, false, "the release does not create it behind the Secret's back");
            assert.ok(lh.dependsOn.includes(ns.urn), `${stack}: the release waits for the namespace`);
            const secret = plan.resources.find(named("longhorn-backup-credentials"));
            if (secret) assert.ok(secret.dependsOn.includes(ns.urn), `${stack}: the backup Secret waits for the namespace`);
            assert.equal(ns.protect, stack === "prod", "prod's Longhorn namespace is protected");
        }
        assert.ok(planOf("prod").resources.some(named("longhorn-backup-credentials")), "prod has a backup Secret");
    });
});

describe("the Kubernetes provider", () => {
    // @pulumi/kubernetes 4.34.2 provider.d.ts: deleteUnreachable "will delete resources associated
    // with an unreachable Kubernetes cluster from Pulumi state".
    it("lets a sandbox be destroyed once its cluster is gone, never prod", () => {
        for (const stack of STACKS) {
            const p = one(planOf(stack), (r) => r.type === "pulumi:providers:kubernetes", "kubernetes provider");
            assert.equal(p.inputs.deleteUnreachable, stack === "prod" ? "false" : "true", stack);
        }
    });
});

describe("where each stack's Vault lives", () => {
    const connection = (plan: PlanDocument) => one(plan, (r) => r.type === "kubernetes:secrets.hashicorp.com/v1beta1:VaultConnection", "VaultConnection");
    const authConfig = (plan: PlanDocument) => one(plan, (r) => r.type === "vault:kubernetes/authBackendConfig:AuthBackendConfig", "Kubernetes auth config");

    it("points VSO at prod's Vault inside the cluster (tools namespace), the provider at the operator's URL", () => {
        const plan = planOf("prod");
        assert.equal((connection(plan).inputs.spec as any).address, "http://vault.tools.svc.cluster.local:8200");
        const provider = one(plan, (r) => r.type === "pulumi:providers:vault", "vault provider");
        const cfg = parseConfig("prod", readStackConfig(ROOT, "prod"));
        assert.equal(provider.inputs.address, cfg.vaultAddress);
    });

    it("configures Kubernetes auth for a Vault inside the cluster from its own pod (hashicorp/vault-plugin-auth-kubernetes path_config.go reads the mounted token and CA unless disable_local_ca_jwt)", () => {
        for (const stack of STACKS) {
            const c = authConfig(planOf(stack)).inputs;
            assert.equal(c.kubernetesHost, "https://kubernetes.default.svc:443", stack);
            assert.equal(c.disableLocalCaJwt, false, stack);
            assert.equal(c.tokenReviewerJwt, undefined, stack);
            assert.equal(c.kubernetesCaCert, undefined, stack);
        }
    });

    it("gives a Vault outside the cluster the API address, its CA and a reviewer bound to system:auth-delegator", () => {
        // Vault's configuration made by the program (not adopted as discovered: existing.vault false)
        const existing = { ...JSON.parse(readStackConfig(ROOT, "prod")["homelab:existing"]), vault: false };
        const plan = planOf("prod", { "homelab:vaultInCluster": null, "homelab:existing": existing });
        const cfg = parseConfig("prod", readStackConfig(ROOT, "prod"));
        assert.equal((connection(plan).inputs.spec as any).address, cfg.vaultAddress, "VSO reaches it at its address");
        const c = authConfig(plan);
        assert.equal(c.inputs.disableLocalCaJwt, true);
        for (const k of ["kubernetesHost", "kubernetesCaCert", "tokenReviewerJwt"]) assert.ok(k in c.inputs, `${k} is set`);
        assert.equal(c.inputs.tokenReviewerJwt, "[secret]");
        const binding = one(plan, (r) => r.type === "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding", "reviewer binding");
        assert.deepEqual((binding.inputs as any).roleRef, { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "system:auth-delegator" });
        const account = one(plan, (r) => r.type === "kubernetes:core/v1:ServiceAccount" && (r.inputs.metadata as any).name === shared.vaultTokenReviewer.serviceAccount, "reviewer account");
        assert.deepEqual((binding.inputs as any).subjects, [{ kind: "ServiceAccount", name: shared.vaultTokenReviewer.serviceAccount, namespace: (account.inputs.metadata as any).namespace }]);
        const token = one(plan, (r) => r.type === "kubernetes:core/v1:Secret" && (r.inputs as any).type === "kubernetes.io/service-account-token", "reviewer token");
        assert.equal((token.inputs.metadata as any).annotations["kubernetes.io/service-account.name"], shared.vaultTokenReviewer.serviceAccount);
        assert.ok(!planOf("prod").resources.some((r) => r.type === "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding"), "no reviewer for an in-cluster Vault");
    });

    it("reads the API server and CA a kubeconfig names", () => {
        const ca = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
        const kubeconfig = [
            "apiVersion: v1", "current-context: lab", "clusters:",
            "- name: other", "  cluster: {server: 'https://10.9.9.9:6443'}",
            `- name: lab`, `  cluster: {server: 'https://192.0.2.10:6443', certificate-authority-data: ${Buffer.from(ca).toString("base64")}}`,
            "contexts:", "- name: lab", "  context: {cluster: lab, user: lab}",
        ].join("\n");
        assert.deepEqual(clusterOfKubeconfig(kubeconfig), { server: "https://192.0.2.10:6443", caCert: ca });
        assert.throws(() => clusterOfKubeconfig("apiVersion: v1\nclusters: []\n"), /names no cluster server/);
    });

    it("refuses an in-cluster location for a sandbox, whose Vault the program installs", () => {
        assert.match(configError("sandbox-k3d", { "homelab:vaultInCluster": { namespace: "tools", service: "vault" } }), /homelab:vaultInCluster.*a sandbox installs its own Vault/);
        assert.match(configError("prod", { "homelab:vaultInCluster": { namespace: "Tools", service: "vault" } }), /homelab:vaultInCluster\.namespace.*Pulumi\.prod\.yaml/);
    });
});

/**
 * What Vault's JWT login checks of a token against the backend and role, as
 * hashicorp/vault-plugin-auth-jwt path_login.go (bundled by Vault 1.21) does it: the issuer
 * exactly, and an `aud` claim refused unless the role binds audiences, one of which it carries.
 */
function vaultJwtLogin(backend: Record<string, any>, role: Record<string, any>, claims: { iss: string; aud?: string[]; repository: string }): string | null {
    const issuer = backend.boundIssuer ?? backend.oidcDiscoveryUrl;
    if (claims.iss !== issuer) return `iss ${claims.iss} is not ${issuer}`;
    const bound: string[] = role.boundAudiences ?? [];
    if (claims.aud?.length && bound.length === 0) return "audience claim found in JWT but no audiences bound to the role";
    if (bound.length && !bound.some((a) => claims.aud?.includes(a))) return "aud claim does not match any bound audience";
    for (const [k, v] of Object.entries(role.boundClaims ?? {})) if ((claims as any)[k] !== v) return `claim ${k} does not match`;
    return null;
}

describe("Gitea CI's JWT backend", () => {
    const oidc = { issuer: "http://gitea.example.test:3000/", audience: "vault" };

    it("is off in every stack where no issuer is configured (Gitea 1.25 issues no OIDC tokens to Actions jobs: go-gitea/gitea issue 26383)", () => {
        for (const stack of STACKS) {
            const jwt = planOf(stack).resources.filter((r) => r.type.startsWith("vault:jwt/") || r.name.includes("gitea_cicd_"));
            assert.deepEqual(jwt.map((r) => r.name), [], stack);
        }
    });

    it("with an issuer, accepts a token of the app's repository with that issuer and audience, and nothing else", () => {
        const plan = planOf("sandbox-k3d", { "homelab:giteaOidc": oidc });
        const backend = one(plan, (r) => r.type === "vault:jwt/authBackend:AuthBackend", "JWT backend").inputs as Record<string, any>;
        assert.equal(backend.oidcDiscoveryUrl, oidc.issuer, "discovery at the issuer itself");
        const role = one(plan, (r) => r.type === "vault:jwt/authBackendRole:AuthBackendRole" && r.inputs.roleName === "gitea_cicd_erp", "erp CI role").inputs as Record<string, any>;
        const org = parseConfig("sandbox-k3d", readStackConfig(ROOT, "sandbox-k3d")).giteaOrg;
        const token = { iss: oidc.issuer, aud: ["vault"], repository: `${org}/erp` };
        assert.equal(vaultJwtLogin(backend, role, token), null);
        assert.match(vaultJwtLogin(backend, role, { ...token, iss: "http://gitea.example.test:3000" })!, /iss/, "ROOT_URL without its slash is another issuer");
        assert.match(vaultJwtLogin(backend, role, { ...token, aud: ["other"] })!, /bound audience/);
        assert.match(vaultJwtLogin(backend, role, { ...token, repository: `${org}/cms` })!, /repository/);
        assert.match(vaultJwtLogin(backend, { ...role, boundAudiences: [] }, token)!, /no audiences bound/, "the fake refuses what Vault refuses");
    });

    it("uses a JWKS URL when one is given, still bound to the issuer", () => {
        assert.deepEqual(giteaJwtSettings({ ...oidc, jwksUrl: "http://gitea.example.test:3000/login/oauth/keys" }),
            { boundIssuer: oidc.issuer, jwksUrl: "http://gitea.example.test:3000/login/oauth/keys" });
    });

    it("refuses an issuer without Gitea's trailing slash, and an audience left out", () => {
        assert.match(configError("sandbox-k3d", { "homelab:giteaOidc": { ...oidc, issuer: "http://gitea.example.test:3000" } }), /homelab:giteaOidc\.issuer.*trailing slash.*Pulumi\.sandbox-k3d\.yaml/);
        assert.match(configError("sandbox-k3d", { "homelab:giteaOidc": { issuer: oidc.issuer } }), /homelab:giteaOidc\.audience/);
    });
});

describe("credential rotation restarts what reads the credentials at start", () => {
    const crd = (file: string) => path.join(SHARED, "crds", file);

    it("puts the catalogue's rolloutRestartTargets into the instance's VaultDynamicSecret (VSO v1.4.1 CRD)", function () {
        const apps = projectApps();
        apps.erp = { ...apps.erp, envs: ["prod", "sandbox"], rolloutRestartTargets: [{ kind: "Deployment", name: "dolibarr" }, { kind: "StatefulSet", name: "worker" }] };
        const plan = planOf("sandbox-k3d", { "homelab:apps": apps });
        const vds = byType(plan, "kubernetes:secrets.hashicorp.com/v1beta1:VaultDynamicSecret");
        const erp = vds.filter((r) => (r.inputs.metadata as any).namespace === "erp" || (r.inputs.metadata as any).namespace === "erp-sandbox");
        assert.equal(erp.length, 2, "both erp instances");
        for (const r of erp) assert.deepEqual((r.inputs.spec as any).rolloutRestartTargets, [{ kind: "Deployment", name: "dolibarr" }, { kind: "StatefulSet", name: "worker" }]);
        const cms = vds.find((r) => (r.inputs.metadata as any).namespace === "cms")!;
        assert.equal((cms.inputs.spec as any).rolloutRestartTargets, undefined, "none where none is named");
        if (!fs.existsSync(crd("secrets.hashicorp.com_vaultdynamicsecrets.yaml"))) {
            if (process.env.CI) assert.fail("../shared/crds is missing in CI");
            this.skip();
        }
        const crds = loadCrds(path.join(SHARED, "crds"));
        for (const r of erp) assert.deepEqual(validateObject(crds, r.inputs as any), [], r.name);
    });

    it("refuses a kind VSO cannot restart", () => {
        const apps = projectApps();
        apps.erp = { ...apps.erp, rolloutRestartTargets: [{ kind: "CronJob", name: "x" }] };
        assert.match(configError("prod", { "homelab:apps": apps }), /homelab:apps\.erp\.rolloutRestartTargets\[0\]\.kind.*Deployment, DaemonSet, StatefulSet, argo\.Rollout/);
    });
});

describe("stack outputs: what the operator reads after up", () => {
    const expected = ["appliedCommit", "argoCdUrl", "backupFreshness", "giteaAdminPassword", "giteaAdminUser", "giteaOrg", "giteaUnseeded", "giteaUrl", "ingressUrl", "kubeconfig", "nodes", "postgresAdminPassword", "postgresAdminUser", "postgresEndpoint", "vaultAddress", "vaultRootToken"];

    it("exports the same names in every stack, secrets hidden in the plan", () => {
        for (const stack of STACKS) {
            const o = planOf(stack).outputs;
            assert.deepEqual(Object.keys(o).sort(), expected, stack);
            for (const k of ["kubeconfig", "postgresAdminPassword", "vaultRootToken", "giteaAdminPassword"]) assert.equal(o[k], "[secret]", `${stack} ${k}`);
        }
    });

    it("appliedCommit: fixed in the offline plan (the golden plan does not change with every commit); under the engine the commit, -dirty when the tree is", () => {
        for (const stack of STACKS) assert.equal(planOf(stack).outputs.appliedCommit, OFFLINE_APPLIED_COMMIT, stack);
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "applied-commit-"));
        try {
            const git = (...args: string[]) => execFileSync("git", ["-c", "user.email=t@t", "-c", "user.name=t", ...args], { cwd: dir, encoding: "utf8" }).trim();
            assert.equal(readCommit(dir), "unknown");
            git("init", "-q");
            fs.writeFileSync(path.join(dir, "index.ts"), "1");
            git("add", ".");
            git("commit", "-qm", "one");
            const head = git("rev-parse", "HEAD");
            assert.equal(readCommit(dir), head);
            // the drills' evidence trail is not a change to what is applied
            fs.mkdirSync(path.join(dir, "drills", "evidence"), { recursive: true });
            fs.writeFileSync(path.join(dir, "drills", "evidence", "sandbox-vms.jsonl"), "{}\n");
            assert.equal(readCommit(dir), head);
            fs.writeFileSync(path.join(dir, "new.ts"), "2");
            assert.equal(readCommit(dir), `${head}-dirty`);
            assert.deepEqual(parseApplied(`${head}-dirty`), { commit: head, dirty: true });
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("says where each service is, per stack", () => {
        const k3d = planOf("sandbox-k3d").outputs;
        assert.equal(k3d.vaultAddress, "http://127.0.0.1:8200");
        assert.equal(k3d.argoCdUrl, "http://127.0.0.1:8080");
        const vms = planOf("sandbox-vms").outputs;
        assert.match(String(vms.vaultAddress), /^http:\/\/.+:30820$/);
        assert.match(String(vms.argoCdUrl), /^http:\/\/.+:30880$/);
        const prod = planOf("prod").outputs;
        assert.equal(prod.vaultAddress, parseConfig("prod", readStackConfig(ROOT, "prod")).vaultAddress);
        assert.match(String(prod.argoCdUrl), /port-forward svc\/argocd-server/);
    });

    it("publishes Argo CD's NodePort on the sandboxes only (argoproj/argo-helm argo-cd-10.1.1 templates/argocd-server/service.yaml)", () => {
        assert.deepEqual((release(planOf("sandbox-vms"), "argo-cd").inputs.values as any).server.service, { type: "NodePort", nodePortHttp: 30880 });
        assert.equal((release(planOf("prod"), "argo-cd").inputs.values as any).server, undefined);
    });
});
