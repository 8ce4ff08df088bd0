// join-key-names: per-app resources carry exactly the names components/naming.ts derives.
import * as assert from "assert";
import { instanceNames, InstanceNames, publicHostname } from "../components/naming";
import { evaluatePolicies } from "../policy/evaluate";
import { PlanResource } from "../tools/plan-types";
import { appInstance, appResource, removeProject, resource, tempProject } from "./fixtures/policy/harness";

/** One instance's resources, named as the apps layer names them (from naming.ts). */
function instance(stack: string, n: InstanceNames): PlanResource[] {
    const r = (type: string, part: string, inputs: Record<string, unknown>) => appResource(stack, n.instance, type, part, inputs);
    return [
        appInstance(stack, n.app, n.env),
        r("kubernetes:core/v1:Namespace", "namespace", { metadata: { name: n.namespace } }),
        r("kubernetes:core/v1:ServiceAccount", "service-account", { metadata: { name: n.serviceAccount, namespace: n.namespace } }),
        r("postgresql:index/role:Role", "owner-role", { name: n.ownerRole, login: false }),
        r("postgresql:index/role:Role", "database-owner-role", { name: n.databaseOwnerRole, login: false }),
        r("postgresql:index/database:Database", "database", { name: n.database, owner: n.databaseOwnerRole }),
        r("postgresql:index/grantRole:GrantRole", "vault-admin", { role: "vault_admin", grantRole: n.ownerRole, withAdminOption: true }),
        r("postgresql:index/grant:Grant", "revoke-public-connect", { database: n.database, role: "public", objectType: "database", privileges: [] }),
        r("vault:database/secretBackendConnection:SecretBackendConnection", "db-connection", { name: n.databaseConnection, allowedRoles: [n.databaseSecretsRole], backend: "database" }),
        r("vault:database/secretBackendRole:SecretBackendRole", "db-role", { name: n.databaseSecretsRole, dbName: n.databaseConnection, backend: "database" }),
        r("vault:index/policy:Policy", "vault-policy", { name: n.vaultPolicy, policy: "{}" }),
        r("vault:kubernetes/authBackendRole:AuthBackendRole", "vault-k8s-role", {
            roleName: n.kubernetesAuthRole, boundServiceAccountNames: [n.serviceAccount], boundServiceAccountNamespaces: [n.namespace], tokenPolicies: [n.vaultPolicy],
        }),
        r("kubernetes:secrets.hashicorp.com/v1beta1:VaultAuth", "vault-auth", {
            metadata: { name: n.vaultAuth, namespace: n.namespace }, spec: { method: "kubernetes", mount: "kubernetes", kubernetes: { role: n.kubernetesAuthRole, serviceAccount: n.serviceAccount } },
        }),
        r("kubernetes:secrets.hashicorp.com/v1beta1:VaultDynamicSecret", "db-credentials", {
            metadata: { name: n.dynamicSecret, namespace: n.namespace }, spec: { mount: "database", path: `creds/${n.databaseSecretsRole}`, destination: { name: n.dbCredentialsSecret, create: true } },
        }),
        r("kubernetes:argoproj.io/v1alpha1:Application", "argocd-application", {
            metadata: { name: n.argoApplication, namespace: "argocd" },
            spec: { destination: { namespace: n.namespace, server: "https://kubernetes.default.svc" }, source: { helm: { valueFiles: n.valueFiles }, path: "chart" } },
        }),
    ];
}

describe("policy join-key-names", () => {
    let dir: string;
    before(() => {
        dir = tempProject({ edit: (p) => { p.config.apps.value["url-shortener"] = { public: true, envs: ["prod", "sandbox"] }; } });
    });
    after(() => removeProject(dir));

    const run = (resources: PlanResource[], stack = "sandbox-k3d") =>
        evaluatePolicies(resources, { env: {}, projectDir: dir, stack }).filter((v) => v.policy === "join-key-names");

    for (const [app, env] of [["erp", "prod"], ["url-shortener", "prod"], ["url-shortener", "sandbox"]]) {
        it(`${app}/${env}: the names naming.ts derives pass`, () => {
            assert.deepStrictEqual(run(instance("sandbox-k3d", instanceNames(app, env))), []);
        });
    }

    /** Changes one input of one resource of url-shortener-sandbox and returns the violations. */
    const broken = (part: string, change: (inputs: any) => void) => {
        const rs = instance("sandbox-k3d", instanceNames("url-shortener", "sandbox"));
        const r = rs.find((x) => x.name === `url-shortener-sandbox-${part}`)!;
        const inputs = JSON.parse(JSON.stringify(r.inputs));
        change(inputs);
        r.inputs = inputs;
        return run(rs);
    };

    const cases: [string, string, (i: any) => void, RegExp][] = [
        ["a namespace named otherwise", "namespace", (i) => (i.metadata.name = "url-shortener-sbx"), /kubernetes:core\/v1:Namespace "url-shortener-sandbox-namespace" of instance url-shortener-sandbox \(app url-shortener, env sandbox\): metadata\.name is "url-shortener-sbx", expected "url-shortener-sandbox" as components\/naming\.ts derives it/],
        ["an auto-named namespace", "namespace", (i) => delete i.metadata.name, /metadata\.name is not set, expected "url-shortener-sandbox"/],
        ["a service account in another namespace", "service-account", (i) => (i.metadata.namespace = "default"), /metadata\.namespace is "default", expected "url-shortener-sandbox"/],
        ["the owner role in kebab case (the snake-case exception)", "owner-role", (i) => (i.name = "url-shortener-sandbox_role"), /name is "url-shortener-sandbox_role", expected "url_shortener_sandbox_role"/],
        ["the database owner role without its env", "database-owner-role", (i) => (i.name = "url_shortener_db_owner"), /name is "url_shortener_db_owner", expected "url_shortener_sandbox_role"/],
        ["a database owned by the role the credentials act as", "database", (i) => (i.owner = "url_shortener_sandbox_role"), /owner is "url_shortener_sandbox_role", expected "url_shortener_sandbox_db_owner"/],
        ["Vault's ADMIN OPTION on another role than the instance's", "vault-admin", (i) => (i.grantRole = "url_shortener_sandbox_db_owner"), /grantRole is "url_shortener_sandbox_db_owner", expected "url_shortener_sandbox_role"/],
        ["a database without its env", "database", (i) => (i.name = "url-shortener"), /name is "url-shortener", expected "url-shortener-sandbox"/],
        ["a grant on a database by another name", "revoke-public-connect", (i) => (i.database = "url_shortener_sandbox"), /database is "url_shortener_sandbox", expected "url-shortener-sandbox"/],
        ["a Vault policy named otherwise", "vault-policy", (i) => (i.name = "url-shortener-sandbox-policy"), /name is "url-shortener-sandbox-policy", expected "url-shortener-sandbox"/],
        ["a Kubernetes-auth role", "vault-k8s-role", (i) => (i.roleName = "url-shortener"), /roleName is "url-shortener", expected "url-shortener-sandbox"/],
        ["a Kubernetes-auth role bound elsewhere", "vault-k8s-role", (i) => i.boundServiceAccountNamespaces.push("default"), /boundServiceAccountNamespaces is \["url-shortener-sandbox","default"\], expected "url-shortener-sandbox" \(every item\)/],
        ["a secrets role", "db-role", (i) => (i.dbName = "url-shortener-sandbox-db"), /dbName is "url-shortener-sandbox-db", expected "url-shortener-sandbox"/],
        ["a database connection", "db-connection", (i) => (i.allowedRoles = ["*"]), /allowedRoles is \["\*"\], expected "url-shortener-sandbox" \(every item\)/],
        ["a VaultAuth", "vault-auth", (i) => (i.spec.kubernetes.role = "default"), /spec\.kubernetes\.role is "default", expected "url-shortener-sandbox"/],
        ["a VaultDynamicSecret's destination", "db-credentials", (i) => (i.spec.destination.name = "db-credentials"), /spec\.destination\.name is "db-credentials", expected "url-shortener-sandbox-db-credentials"/],
        ["an Application's value files", "argocd-application", (i) => (i.spec.source.helm.valueFiles = ["values.yaml"]), /spec\.source\.helm\.valueFiles is \["values\.yaml"\], expected \["values\.yaml","values-sandbox\.yaml"\]/],
        ["an Application's name", "argocd-application", (i) => (i.metadata.name = "url-shortener"), /metadata\.name is "url-shortener", expected "url-shortener-sandbox"/],
    ];
    for (const [what, part, change, message] of cases) {
        it(what, () => {
            const vs = broken(part, change);
            assert.strictEqual(vs.length, 1, JSON.stringify(vs, null, 2));
            assert.strictEqual(vs[0].enforcement, "mandatory");
            assert.strictEqual(vs[0].urn!.split("::").pop(), `url-shortener-sandbox-${part}`);
            assert.match(vs[0].message, message);
        });
    }

    it("an AppInstance is named by the instance id of the (app, env) it registered", () => {
        assert.match(run([appInstance("sandbox-k3d", "erp", "sandbox", "erp-sbx")])[0].message,
            /lab:apps:AppInstance "erp-sbx" of app erp, env sandbox must be named "erp-sandbox" \(naming\.instanceId\)/);
        const anonymous = resource("sandbox-k3d", "lab:apps:AppInstance", "erp", {});
        assert.match(run([anonymous])[0].message, /registered no app and env/);
    });

    it("judges the (app, env) the program ran with, not the stack file's catalogue (a sibling added by --config-file)", () => {
        // billing is in no stack file: the AppInstance registered it, so its names are checked, and pass
        const billing = instance("sandbox-k3d", instanceNames("billing", "staging"));
        assert.deepStrictEqual(run(billing), []);
        const ns = billing.find((r) => r.name === "billing-staging-namespace")!;
        ns.inputs = { metadata: { name: "billing" } };
        assert.match(run(billing)[0].message, /metadata\.name is "billing", expected "billing-staging"/);
    });

    it("a child's own name starts with its instance id", () => {
        const ns = resource("sandbox-k3d", "kubernetes:core/v1:Namespace", "ns-erp", { metadata: { name: "erp" } },
            { parentType: "lab:apps:AppInstance", parentName: "erp" });
        assert.match(run([appInstance("sandbox-k3d", "erp", "prod"), ns])[0].message, /a child of instance erp is named "erp-<part>"/);
    });

    it("DNS records: the app's public name in prod's zone, for the prod env only", () => {
        const dns = (instanceName: string, name: string) => appResource("prod", instanceName, "cloudflare:index/dnsRecord:DnsRecord", "dns", { name, zoneId: "x", type: "CNAME" });
        const runProd = (rs: PlanResource[]) => evaluatePolicies(rs, { env: {}, projectDir: dir }).filter((v) => v.policy === "join-key-names");
        const prodInstance = appInstance("prod", "url-shortener", "prod");
        const sandboxInstance = appInstance("prod", "url-shortener", "sandbox");
        assert.deepStrictEqual(runProd([prodInstance, dns("url-shortener", publicHostname("url-shortener", "arcodange.fr"))]), []);
        assert.match(runProd([prodInstance, dns("url-shortener", "short.arcodange.fr")])[0].message, /name is "short\.arcodange\.fr", expected "url-shortener\.arcodange\.fr"/);
        assert.match(runProd([sandboxInstance, dns("url-shortener-sandbox", "url-shortener.arcodange.fr")])[0].message, /only the prod env of an app is published; instance url-shortener-sandbox is env sandbox/);
    });

    it("resources outside any AppInstance are not per-app", () => {
        assert.deepStrictEqual(run([resource("sandbox-k3d", "kubernetes:core/v1:Namespace", "platform-vault-ns", { metadata: { name: "vault" } })]), []);
    });
});
