// `npm run verify`: its Kubernetes, Vault, Argo CD and Gitea checks against a local server that
// answers as those APIs do (test/helpers/fake-cluster-api.ts), through the real clients
// (@kubernetes/client-node, fetch); its database checks against a real PostgreSQL with one
// database per instance, CONNECT revoked from PUBLIC, as the database contract sets it up.
// Each check's pass path and fail path run; exit codes 0/1/2; --json; timeouts with progress.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { spawnSync } from "child_process";
import { Client } from "pg";
import { parseConfig } from "../components/config";
import { readStackConfig } from "../components/stack-config";
import { instanceNames, shared } from "../components/naming";
import { loadFingerprint } from "../components/fingerprint";
import { identityPlaceholders, runVerify, VerifyOptions } from "../tools/verify/run";
import { checksFor, KubeReader, releaseNamespace, SeenIdentities } from "../tools/verify/checks";
import { StackOutputs } from "../tools/verify/outputs";
import { ROOT, planOf } from "./helpers/plan";
import { SUPERUSER, usePostgres } from "./helpers/postgres-server";
import { resetServer } from "./helpers/pg-applier";
import {
    application, deployment, FakeClusterApi, ingress, list, longhornVolume, namespace, node, secret, statefulSet,
} from "./helpers/fake-cluster-api";

const SANDBOX_UID = "3f1e2d3c-4b5a-4697-8877-665544332211";
const SANDBOX_VAULT = "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d";

interface Instance { instance: string; namespace: string; database: string; ownerRole: string; secret: string; app: string; user: string; password: string }

function instancesOf(stack: string): Instance[] {
    const cfg = parseConfig(stack, readStackConfig(ROOT, stack));
    return cfg.apps.flatMap((a) => a.envs.map((env) => {
        const n = instanceNames(a.name, env);
        return {
            instance: n.instance, namespace: n.namespace, database: n.database, ownerRole: n.ownerRole,
            secret: n.dbCredentialsSecret, app: n.argoApplication,
            user: `v-k8s-${n.instance}-x1`, password: `pw-${n.instance}`,
        };
    }));
}

/** The cluster of a healthy stack, as verify should find it. */
function healthy(api: FakeClusterApi, stack: string, nodes: string[], adminAuth: string): void {
    api.objects.clear();
    api.objects.set("/api/v1/namespaces/kube-system", namespace("kube-system", SANDBOX_UID));
    api.objects.set("/api/v1/nodes", list("Node", "v1", nodes.map((n) => node(n, true))));
    const ns = (n: string) => `/apis/apps/v1/namespaces/${n}`;
    api.objects.set(`${ns(shared.vaultNamespace)}/statefulsets`, list("StatefulSet", "apps/v1", [statefulSet("vault", 1, 1)]));
    api.objects.set(`${ns(shared.vsoNamespace)}/deployments`, list("Deployment", "apps/v1", [deployment("vault-secrets-operator-controller-manager", 1, 1)]));
    api.objects.set(`${ns(shared.argoCdNamespace)}/deployments`, list("Deployment", "apps/v1", [deployment("argocd-server", 1, 1), deployment("argocd-repo-server", 1, 1)]));
    api.objects.set(`${ns(shared.argoCdNamespace)}/statefulsets`, list("StatefulSet", "apps/v1", [statefulSet("argocd-application-controller", 1, 1)]));
    api.objects.set(`${ns("kube-system")}/deployments`, list("Deployment", "apps/v1", [deployment("traefik", 1, 1), deployment("coredns", 1, 1)]));
    api.routes.clear();
    const cfg = parseConfig(stack, readStackConfig(ROOT, stack));
    for (const a of cfg.apps.filter((x) => x.public)) {
        api.objects.set(`/apis/networking.k8s.io/v1/namespaces/${a.name}/ingresses`, list("Ingress", "networking.k8s.io/v1", [ingress(a.name, a.name, `${a.name}.sandbox.test`)]));
        api.routes.set(`${a.name}.sandbox.test`, 200);
    }
    api.objects.set(`${ns(shared.longhornNamespace)}/daemonsets`, list("DaemonSet", "apps/v1", [{ metadata: { name: "longhorn-manager" }, status: { desiredNumberScheduled: 3, numberAvailable: 3 } }]));
    api.objects.set(`/apis/longhorn.io/v1beta2/namespaces/${shared.longhornNamespace}/volumes`, list("Volume", "longhorn.io/v1beta2", [
        longhornVolume("pvc-vault", "healthy", "attached"), longhornVolume("pvc-idle", "unknown", "detached"),
    ]));
    for (const i of instancesOf(stack)) {
        api.objects.set(`/api/v1/namespaces/${i.namespace}`, namespace(i.namespace));
        api.objects.set(`/api/v1/namespaces/${i.namespace}/secrets/${i.secret}`, secret(i.namespace, i.secret, { username: i.user, password: i.password }));
        api.objects.set(`/apis/argoproj.io/v1alpha1/namespaces/argocd/applications/${i.app}`, application(i.app, "Synced", "Healthy"));
        api.giteaRepos.set(`lab/${i.instance}`, { empty: false, default_branch: "main" });
    }
    api.giteaAuth = adminAuth;
    api.vaultHealth = { status: 200, body: { initialized: true, sealed: false, standby: false, version: "1.21.1", cluster_id: SANDBOX_VAULT, cluster_name: "vault-cluster-1" } };
}

describe("npm run verify", function () {
    // The real PostgreSQL 17.7 the database-contract tests use (one server per run), reset around
    // this suite so that neither sees the other's roles and databases.
    const server = usePostgres();
    let pg: { host: string; port: number; user: string; password: string } | undefined;
    let api: FakeClusterApi;
    let dir: string;
    const GITEA_AUTH = `Basic ${Buffer.from("lab-admin:gitea-pw").toString("base64")}`;

    async function admin<T>(fn: (c: Client) => Promise<T>): Promise<T> {
        const c = new Client({ host: pg!.host, port: pg!.port, user: pg!.user, password: pg!.password, database: "postgres" });
        await c.connect();
        try {
            return await fn(c);
        } finally {
            await c.end();
        }
    }

    function outputsFile(stack: string, nodes: string[]): string {
        const file = path.join(dir, `${stack}.outputs.json`);
        fs.writeFileSync(file, JSON.stringify({
            kubeconfig: api.kubeconfig(),
            nodes: nodes.map((n, i) => ({ name: n, role: i === 0 ? "server" : "agent", address: "127.0.0.1" })),
            vaultAddress: api.url, vaultRootToken: "root",
            postgresEndpoint: `${pg!.host}:${pg!.port}`, postgresAdminUser: pg!.user, postgresAdminPassword: pg!.password,
            giteaUrl: api.url, giteaOrg: "lab", giteaAdminUser: "lab-admin", giteaAdminPassword: "gitea-pw",
            argoCdUrl: "http://127.0.0.1:8080", giteaUnseeded: [], ingressUrl: api.url,
        }));
        return file;
    }

    async function verify(stack: string, nodes: string[], extra: Partial<VerifyOptions> = {}) {
        const lines: string[] = [];
        const progress: string[] = [];
        const report = await runVerify({
            stack, projectDir: ROOT, outputsFile: outputsFile(stack, nodes), checkTimeoutSeconds: 20,
            out: (l) => lines.push(l), progress: (l) => progress.push(l), env: {}, ...extra,
        });
        return { report, lines, progress, line: (re: RegExp) => lines.find((l) => re.test(l)) };
    }

    before(async function () {
        this.timeout(120_000);
        await resetServer(server());
        pg = { host: server().host, port: server().port, user: SUPERUSER, password: server().superuserPassword };
        api = new FakeClusterApi();
        await api.start();
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "verify-test-"));
        // The database contract's shape: per instance a NOLOGIN owner role, its database with CONNECT
        // revoked from PUBLIC and granted to the owner, and a login user (what Vault issues) in the role.
        await admin(async (c) => {
            for (const i of instancesOf("sandbox-k3d")) {
                await c.query(`CREATE ROLE "${i.ownerRole}" NOLOGIN`);
                await c.query(`CREATE DATABASE "${i.database}"`);
                await c.query(`REVOKE CONNECT ON DATABASE "${i.database}" FROM PUBLIC`);
                await c.query(`GRANT CONNECT ON DATABASE "${i.database}" TO "${i.ownerRole}"`);
                await c.query(`CREATE ROLE "${i.user}" LOGIN PASSWORD '${i.password}' IN ROLE "${i.ownerRole}"`);
            }
        });
    });
    after(async () => {
        await api?.stop();
        if (pg) await resetServer(server());
        if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });
    beforeEach(() => healthy(api, "sandbox-k3d", ["k3d-lab-server-0"], GITEA_AUTH));

    it("a healthy sandbox: every check passes, one line each, the identities seen, a summary, exit 0", async () => {
        const { report, lines, line } = await verify("sandbox-k3d", ["k3d-lab-server-0"]);
        assert.equal(report.exitCode, 0, lines.join("\n"));
        assert.equal(report.summary.failed, 0);
        assert.ok(line(/^PASS {2}nodes Ready: 1\/1 Ready$/));
        assert.ok(line(/^PASS {2}release vault: workloads available: 1 workload\(s\) available in vault$/));
        assert.ok(line(/^PASS {2}release argocd: workloads available: 3 workload/));
        assert.ok(line(/^PASS {2}Vault reachable and unsealed: .*unsealed, active, version 1\.21\.1/));
        assert.ok(line(/^PASS {2}erp: database credentials delivered by VSO: Secret erp-db-credentials \(user v-k8s-erp-x1\)$/));
        assert.ok(line(/^PASS {2}erp: login to its own database: connected to erp as v-k8s-erp-x1$/));
        assert.ok(line(/^PASS {2}erp: refused by cms's database: refused: permission denied for database "cms"$/));
        assert.ok(line(/^PASS {2}erp: Argo CD Application Synced\/Healthy: Synced, Healthy$/));
        assert.ok(line(/^PASS {2}gitea: repository lab\/erp: present, default branch main$/));
        assert.ok(line(/^PASS {2}identity: cluster \(kube-system UID\): 3f1e2d3c-.* \(not prod's\)$/));
        assert.equal(lines.filter((l) => /^(PASS|FAIL|SKIP) /.test(l)).length, report.checks.length);
        assert.ok(line(new RegExp(`^identities seen: cluster ${SANDBOX_UID}, Vault ${SANDBOX_VAULT}, Postgres \\d+$`)));
        assert.equal(lines[lines.length - 1], `${report.checks.length} passed, 0 failed, 0 skipped`);
        assert.ok(!line(/Longhorn/), "no Longhorn on k3d");
        assert.ok(line(/^PASS {2}Traefik \(k3s's packaged ingress\) available: kube-system\/traefik available at http/));
        assert.ok(line(/^PASS {2}webapp: a route through Traefik: Host: webapp\.sandbox\.test -> HTTP 200$/));
        assert.equal(lines.filter((l) => /a route through Traefik/.test(l)).length, 4, "one per public app");
        assert.ok(api.requests.every((r) => r.startsWith("GET ")), "read-only: only GETs");
    });

    it("each check's fail path: the reason on its line, exit 1", async () => {
        const I = (name: string) => instancesOf("sandbox-k3d").find((i) => i.instance === name)!;
        api.objects.set("/api/v1/nodes", list("Node", "v1", [node("k3d-lab-server-0", false)]));
        api.objects.set(`/apis/apps/v1/namespaces/${shared.vsoNamespace}/deployments`, list("Deployment", "apps/v1", [deployment("vault-secrets-operator-controller-manager", 1, 0)]));
        api.vaultHealth = { status: 503, body: { initialized: true, sealed: true, cluster_id: SANDBOX_VAULT } };
        api.objects.delete(`/api/v1/namespaces/${I("webapp").namespace}`);
        api.objects.delete(`/api/v1/namespaces/${I("cms").namespace}/secrets/${I("cms").secret}`);
        api.objects.set(`/api/v1/namespaces/${I("url-shortener").namespace}/secrets/${I("url-shortener").secret}`,
            secret(I("url-shortener").namespace, I("url-shortener").secret, { username: I("url-shortener").user, password: "wrong" }));
        api.objects.set("/apis/argoproj.io/v1alpha1/namespaces/argocd/applications/erp", application("erp", "Unknown", "Healthy",
            [{ type: "ComparisonError", message: "Failed to load target state: authentication required" }]));
        api.giteaRepos.delete("lab/telegram-gateway");
        api.routes.delete("cms.sandbox.test");
        api.routes.set("webapp.sandbox.test", 502);
        api.objects.delete("/apis/networking.k8s.io/v1/namespaces/url-shortener/ingresses");
        api.objects.set("/apis/apps/v1/namespaces/kube-system/deployments", list("Deployment", "apps/v1", [deployment("coredns", 1, 1)]));
        try {
            const { report, line } = await verify("sandbox-k3d", ["k3d-lab-server-0"]);
            assert.equal(report.exitCode, 1);
            assert.ok(line(/^FAIL {2}nodes Ready: not Ready: k3d-lab-server-0 \(0\/1 Ready\)$/));
            assert.ok(line(/^FAIL {2}release vault-secrets-operator: workloads available: not available in vault-secrets-operator: Deployment\/vault-secrets-operator-controller-manager$/));
            assert.ok(line(/^FAIL {2}Vault reachable and unsealed: .* is sealed \(HTTP 503\)$/));
            assert.ok(line(/^FAIL {2}webapp: namespace: namespace webapp does not exist$/));
            assert.ok(line(/^FAIL {2}cms: database credentials delivered by VSO: Secret cms\/cms-db-credentials does not exist \(see: kubectl -n cms describe vaultdynamicsecret cms-db\)$/));
            assert.ok(line(/^SKIP {2}cms: login to its own database: no delivered credentials to try$/));
            assert.ok(line(/^FAIL {2}url-shortener: login to its own database: v-k8s-url-shortener-x1 cannot use url-shortener: password authentication failed/));
            assert.ok(line(/^PASS {2}erp: refused by cms's database/), "the other checks still run");
            assert.ok(line(/^FAIL {2}erp: Argo CD Application Synced\/Healthy: Unknown, Healthy: ComparisonError: Failed to load target state: authentication required$/));
            assert.ok(line(/^FAIL {2}gitea: repository lab\/telegram-gateway: absent from http/));
            assert.ok(line(/^FAIL {2}cms: a route through Traefik: Traefik at http.* has no route for Host: cms\.sandbox\.test \(HTTP 404\)$/));
            assert.ok(line(/^FAIL {2}webapp: a route through Traefik: Host: webapp\.sandbox\.test through .*: HTTP 502/));
            assert.ok(line(/^FAIL {2}url-shortener: a route through Traefik: no Ingress with a host in namespace url-shortener$/));
            assert.ok(line(/^FAIL {2}Traefik \(k3s's packaged ingress\) available: no Deployment traefik in kube-system/));
        } finally {
            healthy(api, "sandbox-k3d", ["k3d-lab-server-0"], GITEA_AUTH);
        }
    });

    it("an instance that can log in to a sibling's database fails the isolation check", async () => {
        const insts = instancesOf("sandbox-k3d");
        const [a, b] = [insts[0], insts[1]];
        await admin((c) => c.query(`GRANT CONNECT ON DATABASE "${b.database}" TO "${a.ownerRole}"`).then(() => undefined));
        try {
            const { report, line } = await verify("sandbox-k3d", ["k3d-lab-server-0"]);
            assert.equal(report.exitCode, 1);
            assert.ok(line(new RegExp(`^FAIL {2}${a.instance}: refused by ${b.instance}'s database: ${a.user} CAN connect to ${b.database}: the instance is not isolated$`)));
        } finally {
            await admin((c) => c.query(`REVOKE CONNECT ON DATABASE "${b.database}" FROM "${a.ownerRole}"`).then(() => undefined));
        }
    });

    it("a sandbox whose cluster reports prod's kube-system UID fails loudly", async () => {
        const prodUid = loadFingerprint(ROOT).identity!.kubeSystemUid;
        api.objects.set("/api/v1/namespaces/kube-system", namespace("kube-system", prodUid));
        const { report, line } = await verify("sandbox-k3d", ["k3d-lab-server-0"]);
        assert.equal(report.exitCode, 1);
        assert.ok(line(new RegExp(`^FAIL {2}identity: cluster \\(kube-system UID\\): ${prodUid} is PROD's \\(Pulumi\\.prod\\.yaml homelab:identity\\.kubeSystemUid\\)`)));
    });

    it("node count: fewer nodes than the stack declares fails", async () => {
        const { report, line } = await verify("sandbox-k3d", ["k3d-lab-server-0", "k3d-lab-agent-0"]);
        assert.equal(report.exitCode, 1);
        assert.ok(line(/^FAIL {2}nodes Ready: 1 node\(s\) in the cluster, the stack declares 2/));
    });

    it("Longhorn where it runs (sandbox-vms): healthy or detached volumes pass, a degraded one fails", async () => {
        healthy(api, "sandbox-vms", ["pi1", "pi2", "pi3"], GITEA_AUTH);
        let r = await verify("sandbox-vms", ["pi1", "pi2", "pi3"]);
        assert.ok(r.line(/^PASS {2}Longhorn volumes healthy: 2 volume\(s\) healthy or detached$/), r.lines.join("\n"));
        assert.ok(r.line(/^PASS {2}release longhorn: workloads available/));
        api.objects.set(`/apis/longhorn.io/v1beta2/namespaces/${shared.longhornNamespace}/volumes`, list("Volume", "longhorn.io/v1beta2", [longhornVolume("pvc-vault", "degraded", "attached")]));
        r = await verify("sandbox-vms", ["pi1", "pi2", "pi3"]);
        assert.ok(r.line(/^FAIL {2}Longhorn volumes healthy: not healthy: pvc-vault \(degraded, attached\)$/));
    });

    it("--json prints one document with every result and the identities", async () => {
        const { report, lines } = await verify("sandbox-k3d", ["k3d-lab-server-0"], { json: true });
        assert.equal(lines.length, 1);
        const doc = JSON.parse(lines[0]);
        assert.equal(doc.stack, "sandbox-k3d");
        assert.equal(doc.exitCode, 0);
        assert.equal(doc.checks.length, report.checks.length);
        assert.equal(doc.identities.kubeSystemUid, SANDBOX_UID);
    });

    it("a check that gets no answer times out, shows progress while it waits, and the others still run", async () => {
        api.hang.add("/api/v1/nodes");
        try {
            const { report, line, progress } = await verify("sandbox-k3d", ["k3d-lab-server-0"], { checkTimeoutSeconds: 1.5, progressEverySeconds: 0.5 });
            assert.equal(report.exitCode, 1);
            assert.ok(line(/^FAIL {2}nodes Ready: cannot check: timed out: no answer within 1\.5s$/));
            assert.ok(progress.some((p) => /^\.\.\. nodes Ready: still checking \(\d+s of at most 1\.5s\)$/.test(p)));
            assert.ok(line(/^PASS {2}Vault reachable and unsealed/));
        } finally {
            api.hang.clear();
        }
    });

    it("exit 2 when it cannot run: no outputs file, the offline plan's hidden secrets, an unknown stack", async () => {
        let r = await runVerify({ stack: "sandbox-k3d", projectDir: ROOT, outputsFile: path.join(dir, "none.json"), out: () => undefined });
        assert.equal(r.exitCode, 2);
        assert.match(r.error!, /cannot read .*none\.json/);
        const planFile = path.join(dir, "plan.json");
        fs.writeFileSync(planFile, JSON.stringify(planOf("sandbox-k3d")));
        r = await runVerify({ stack: "sandbox-k3d", projectDir: ROOT, outputsFile: planFile, out: () => undefined });
        assert.equal(r.exitCode, 2);
        assert.match(r.error!, /output \w+ is hidden \("\[secret\]"\); read the outputs with --show-secrets/);
        r = await runVerify({ stack: "nope", projectDir: ROOT, outputsFile: planFile, out: () => undefined });
        assert.equal(r.exitCode, 2);
        assert.match(r.error!, /no stack file/);
    });

    it("the CLI: exit 2 with the reason when the pulumi CLI is not there; usage errors exit 2", () => {
        const cli = (args: string[]) => spawnSync(process.execPath, ["-r", path.join(ROOT, "tools", "register.js"), path.join(ROOT, "tools", "verify.ts"), ...args], {
            cwd: ROOT, encoding: "utf8", env: { ...process.env, PATH: "/nonexistent" }, timeout: 60_000,
        });
        let r = cli(["sandbox-k3d"]);
        assert.equal(r.status, 2, r.stderr);
        assert.match(r.stdout, /verify sandbox-k3d: cannot run: cannot read the outputs of stack sandbox-k3d: the pulumi CLI is not installed \(or pass --outputs <file>\)/);
        r = cli([]);
        assert.equal(r.status, 2);
        assert.match(r.stderr, /missing <stack>\nusage: lab verify <stack>/);
        r = cli(["sandbox-k3d", "--timeout", "soon"]);
        assert.equal(r.status, 2);
        assert.match(r.stderr, /--timeout is "soon"; expected a number of seconds above 0\nusage: lab verify/);
        r = cli(["--help"]);
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.stdout, /^lab verify: .*\n\nusage: lab verify <stack>/);
    });
});

describe("npm run verify on prod: each release where the stack configures it", () => {
    it("looks for VSO in tools and Longhorn in longhorn-system (homelab:existing.releases), not a hard-coded namespace", async () => {
        const cfg = parseConfig("prod", readStackConfig(ROOT, "prod"));
        const asked: string[] = [];
        const kube = {
            listWorkloads: async (ns: string) => {
                asked.push(ns);
                return [{ kind: "Deployment", obj: { metadata: { name: "x" }, spec: { replicas: 1 }, status: { availableReplicas: 1 } } }];
            },
        } as unknown as KubeReader;
        const checks = checksFor({ stack: "prod", cfg, outputs: { nodes: [] } as unknown as StackOutputs, kube, fetch, timeoutMs: 1000 }, {} as SeenIdentities);
        const vso = checks.find((c) => c.name === `release ${shared.releases.vaultSecretsOperator}: workloads available`)!;
        assert.ok(vso, checks.map((c) => c.name).join("\n"));
        assert.match(await vso.run(), /available in tools$/);
        assert.deepEqual(asked, ["tools"]);
        assert.equal(releaseNamespace(cfg, "longhorn"), "longhorn-system");
        // a sandbox installs VSO in the program's own namespace
        assert.equal(releaseNamespace(parseConfig("sandbox-k3d", readStackConfig(ROOT, "sandbox-k3d")), "vaultSecretsOperator"), shared.vsoNamespace);
    });
});

describe("npm run verify on prod: nothing is contacted while prod's identities are placeholders", () => {
    it("exits 2 naming each placeholder identity and npm run discover, before any connection", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "verify-prod-"));
        try {
            const outputsFile = path.join(dir, "prod.outputs.json");
            // a kubeconfig pointing at prod's server address: reaching it would be a failure of this test's premise
            fs.writeFileSync(outputsFile, JSON.stringify({ kubeconfig: "apiVersion: v1\nkind: Config\n", nodes: [], vaultAddress: "https://192.168.1.201:8200" }));
            let touched = false;
            const kube = new Proxy({}, { get: () => { touched = true; return async () => { throw new Error("contacted"); }; } }) as KubeReader;
            const lines: string[] = [];
            const report = await runVerify({ stack: "prod", projectDir: ROOT, outputsFile, kube, out: (l) => lines.push(l), progress: () => undefined, env: {},
                fetch: (async () => { touched = true; throw new Error("contacted"); }) as typeof fetch });
            assert.equal(report.exitCode, 2, lines.join("\n"));
            assert.match(report.error ?? "", /homelab:identity\.kubeSystemUid, homelab:identity\.vaultClusterId, homelab:identity\.postgresSystemIdentifier/);
            assert.match(report.error ?? "", /npm run discover -- prod/);
            assert.equal(touched, false, "nothing was contacted");
            assert.deepEqual(identityPlaceholders({ kubeSystemUid: "3f1e2d3c-4b5a-4697-8877-665544332211", vaultClusterId: "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d", postgresSystemIdentifier: "7312345678901234567" }), []);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
