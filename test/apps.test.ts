import { strict as assert } from "assert";
import * as naming from "../components/naming";
import { PlanDocument, PlanResource } from "../tools/plan-types";
import { byType, childrenOf, programPlanOf as planOf, projectApps, runPlanCli } from "./helpers/plan";
// The program's definitions: prod with every migration on (programPlanOf); the baseline is test/adoption.test.ts.

const APP_TYPES = {
    namespace: "kubernetes:core/v1:Namespace",
    database: "postgresql:index/database:Database",
    role: "postgresql:index/role:Role",
    grant: "postgresql:index/grant:Grant",
    policy: "vault:index/policy:Policy",
    k8sRole: "vault:kubernetes/authBackendRole:AuthBackendRole",
    dbRole: "vault:database/secretBackendRole:SecretBackendRole",
    connection: "vault:database/secretBackendConnection:SecretBackendConnection",
    vaultAuth: "kubernetes:secrets.hashicorp.com/v1beta1:VaultAuth",
    dynamicSecret: "kubernetes:secrets.hashicorp.com/v1beta1:VaultDynamicSecret",
    application: "kubernetes:argoproj.io/v1alpha1:Application",
    dns: "cloudflare:index/dnsRecord:DnsRecord",
};

function instance(plan: PlanDocument, id: string): PlanResource {
    const r = plan.resources.find((x) => x.type === "lab:apps:AppInstance" && x.name === id);
    assert.ok(r, `AppInstance ${id} in the ${plan.stack} plan`);
    return r;
}

function one(plan: PlanDocument, parent: PlanResource, type: string): PlanResource {
    const found = childrenOf(plan, parent.urn).filter((r) => r.type === type);
    assert.equal(found.length, 1, `${parent.name} has one ${type}`);
    return found[0];
}

const input = (r: PlanResource, path: string): any =>
    path.split(".").reduce<any>((o, k) => (o === undefined ? undefined : o[k]), r.inputs);

describe("apps: one AppInstance per (app, env)", () => {
    const prod = () => planOf("prod");
    const apps = Object.entries(projectApps());

    for (const [app, spec] of apps) {
        it(`prod registers ${app}'s resources under the join-key names`, () => {
            const plan = prod();
            const n = naming.instanceNames(app, "prod");
            const inst = instance(plan, n.instance);
            assert.equal(input(one(plan, inst, APP_TYPES.namespace), "metadata.name"), n.namespace);
            const db = one(plan, inst, APP_TYPES.database);
            const roles = childrenOf(plan, inst.urn).filter((r) => r.type === APP_TYPES.role);
            const role = roles.find((r) => input(r, "name") === n.ownerRole)!;
            const dbOwner = roles.find((r) => input(r, "name") === n.databaseOwnerRole)!;
            assert.equal(roles.length, 2, "two roles: the one credentials act as, the one owning the database");
            assert.equal(input(db, "name"), n.database);
            assert.equal(input(db, "owner"), n.databaseOwnerRole, "the database is not owned by the role credentials act as");
            assert.equal(input(db, "connectionLimit"), 20, "the default connection limit");
            assert.equal(input(role, "login"), false, "nobody logs in as the instance's role");
            assert.equal(input(dbOwner, "login"), false);
            assert.ok(db.protect && role.protect && dbOwner.protect, "prod state is protected");
            const grants = childrenOf(plan, inst.urn).filter((r) => r.type === APP_TYPES.grant)
                .map((g) => [input(g, "database"), input(g, "role"), input(g, "objectType"), input(g, "schema") ?? null, input(g, "privileges")]);
            assert.deepEqual(grants.sort(), [
                [n.database, "public", "database", null, []],
                [n.database, n.ownerRole, "database", null, ["CONNECT", "TEMPORARY"]],
                [n.database, n.ownerRole, "schema", "public", ["CREATE", "USAGE"]],
                [n.database, naming.shared.vaultPostgresRole, "database", null, ["CONNECT"]],
            ].sort(), "CONNECT revoked from PUBLIC, given to the instance's role and Vault's login");
            const admin = one(plan, inst, "postgresql:index/grantRole:GrantRole");
            assert.deepEqual([input(admin, "role"), input(admin, "grantRole"), input(admin, "withAdminOption")], [naming.shared.vaultPostgresRole, n.ownerRole, true]);
            const policy = one(plan, inst, APP_TYPES.policy);
            assert.equal(input(policy, "name"), n.vaultPolicy);
            assert.deepEqual(Object.keys(JSON.parse(input(policy, "policy")).path).sort(),
                [`apps/data/${n.kvPath}`, `apps/data/${n.kvPath}/*`, `database/creds/${n.databaseSecretsRole}`].sort());
            const k8sRole = one(plan, inst, APP_TYPES.k8sRole);
            assert.equal(input(k8sRole, "roleName"), n.kubernetesAuthRole);
            assert.deepEqual(input(k8sRole, "boundServiceAccountNamespaces"), [n.namespace]);
            assert.deepEqual(input(k8sRole, "tokenPolicies"), [n.vaultPolicy]);
            const dbRole = one(plan, inst, APP_TYPES.dbRole);
            assert.equal(input(dbRole, "name"), n.databaseSecretsRole);
            assert.equal(input(dbRole, "dbName"), n.databaseConnection);
            assert.match(input(dbRole, "creationStatements")[1], new RegExp(`IN ROLE "${n.ownerRole}";$`));
            assert.match(input(dbRole, "revocationStatements")[0], new RegExp(`REASSIGN OWNED BY %I TO %I', '{{name}}', '${n.ownerRole}'`));
            const conn = one(plan, inst, APP_TYPES.connection);
            assert.deepEqual(input(conn, "allowedRoles"), [n.databaseSecretsRole]);
            assert.match(input(conn, "postgresql.connectionUrl"), new RegExp(`/${n.database}\\?sslmode=disable$`));
            assert.equal(input(conn, "postgresql.username"), naming.shared.vaultPostgresRole, "Vault connects as its own login, not the superuser");
            assert.equal(input(conn, "postgresql.password"), "[secret]");
            const auth = one(plan, inst, APP_TYPES.vaultAuth);
            assert.equal(input(auth, "metadata.namespace"), n.namespace);
            assert.equal(input(auth, "spec.kubernetes.role"), n.kubernetesAuthRole);
            const dyn = one(plan, inst, APP_TYPES.dynamicSecret);
            assert.equal(input(dyn, "spec.path"), `creds/${n.databaseSecretsRole}`);
            assert.equal(input(dyn, "spec.vaultAuthRef"), n.vaultAuth);
            const argo = one(plan, inst, APP_TYPES.application);
            assert.equal(input(argo, "metadata.name"), n.argoApplication);
            assert.equal(input(argo, "spec.source.path"), "chart");
            assert.match(input(argo, "spec.source.repoURL"), new RegExp(`/arcodange-org/${app}\\.git$`));
            assert.deepEqual(input(argo, "spec.source.helm.valueFiles"), ["values.yaml"]);
            assert.deepEqual(input(argo, "spec.syncPolicy.automated"), { prune: true, selfHeal: true });
            const dns = childrenOf(plan, inst.urn).filter((r) => r.type === APP_TYPES.dns);
            if (spec.public) {
                assert.equal(dns.length, 1, "public app has a DNS record");
                assert.equal(input(dns[0], "name"), naming.publicHostname(app, "arcodange.fr"));
            } else {
                assert.equal(dns.length, 0, "private app has no DNS record");
            }
        });
    }

    it("sandboxes have no edge: no DNS record, no Cloudflare provider", () => {
        for (const stack of ["sandbox-k3d", "sandbox-vms"]) {
            const plan = planOf(stack);
            assert.equal(byType(plan, APP_TYPES.dns).length, 0);
            assert.equal(byType(plan, "pulumi:providers:cloudflare").length, 0);
            assert.equal(byType(plan, "lab:apps:AppInstance").length, apps.length, "the whole catalogue is there");
        }
    });

    describe("elision: adding a non-prod env changes nothing of prod's", () => {
        const withSibling = () => {
            const catalogue = projectApps();
            catalogue.erp.envs = ["prod", "sandbox"];
            return planOf("prod", { "homelab:apps": catalogue });
        };

        it("keeps every existing urn with byte-identical inputs, options and dependencies", () => {
            const before = prod();
            const after = new Map(withSibling().resources.map((r) => [r.urn, r]));
            for (const r of before.resources) {
                const a = after.get(r.urn);
                assert.ok(a, `${r.urn} still there`);
                assert.deepEqual(a, r, `${r.urn} unchanged`);
            }
        });

        it("only adds the sibling's resources, under its own names", () => {
            const before = new Set(prod().resources.map((r) => r.urn));
            const added = withSibling().resources.filter((r) => !before.has(r.urn));
            assert.ok(added.length >= 12, `the sibling adds its resources (${added.length})`);
            for (const r of added) assert.match(r.name, /^erp-sandbox(-|$)/, `${r.urn} belongs to erp-sandbox`);
            const plan = withSibling();
            const inst = instance(plan, "erp-sandbox");
            const argo = one(plan, inst, APP_TYPES.application);
            assert.deepEqual(input(argo, "spec.source.helm.valueFiles"), ["values.yaml", "values-sandbox.yaml"]);
            assert.deepEqual(childrenOf(plan, inst.urn).filter((r) => r.type === APP_TYPES.role).map((r) => input(r, "name")).sort(), ["erp_sandbox_db_owner", "erp_sandbox_role"]);
            assert.equal(childrenOf(plan, inst.urn).filter((r) => r.type === APP_TYPES.dns).length, 0, "a sibling is never published");
        });
    });

    describe("sibling isolation", () => {
        it("no Vault policy, database role, grant or secrets role of one instance names another instance", () => {
            const catalogue = projectApps();
            catalogue.erp.envs = ["prod", "sandbox"];
            catalogue["url-shortener"].envs = ["prod", "sandbox"];
            const plan = planOf("prod", { "homelab:apps": catalogue });
            const instances = byType(plan, "lab:apps:AppInstance");
            const ids = instances.map((i) => i.name);
            const token = (id: string) => new RegExp(`(^|[^a-z0-9_-])(${id}|${id.replace(/-/g, "_")}_role)($|[^a-z0-9_-])`);
            let checked = 0;
            for (const inst of instances) {
                for (const r of childrenOf(plan, inst.urn)) {
                    if (![APP_TYPES.policy, APP_TYPES.role, APP_TYPES.grant, APP_TYPES.dbRole, APP_TYPES.k8sRole, APP_TYPES.connection].includes(r.type)) continue;
                    const text = JSON.stringify(r.inputs);
                    for (const other of ids.filter((o) => o !== inst.name)) {
                        assert.doesNotMatch(text, token(other), `${r.urn} must not name ${other}`);
                    }
                    checked++;
                }
            }
            assert.ok(checked >= instances.length * 6, `checked ${checked} resources`);
        });
    });

    it("a per-env sync override reaches the Application", () => {
        const catalogue = projectApps();
        catalogue.erp.envs = ["prod", "sandbox"];
        catalogue.erp.sync = { sandbox: { automated: false } };
        const plan = planOf("prod", { "homelab:apps": catalogue });
        assert.deepEqual(input(one(plan, instance(plan, "erp-sandbox"), APP_TYPES.application), "spec.syncPolicy"), {});
        assert.deepEqual(input(one(plan, instance(plan, "erp"), APP_TYPES.application), "spec.syncPolicy.automated"), { prune: true, selfHeal: true });
    });
});

describe("the offline plan", () => {
    it("is deterministic: two runs print byte-identical JSON", () => {
        const a = runPlanCli(["prod", "--json"]);
        const b = runPlanCli(["prod", "--json"]);
        assert.equal(a.status, 0, a.stderr);
        assert.equal(a.stdout, b.stdout);
        const doc = JSON.parse(a.stdout);
        assert.deepEqual(Object.keys(doc), ["stack", "project", "resources", "outputs", "violations"]);
        const urns = doc.resources.map((r: PlanResource) => r.urn);
        assert.deepEqual(urns, [...urns].sort(), "resources sorted by urn");
    });

    it("matches the committed golden plan of prod (the offline twin of the prod preview gate)", () => {
        const r = runPlanCli(["prod", "--check"]);
        assert.equal(r.status, 0, r.stdout + r.stderr);
    });

    it("--check prints a readable diff and exits 1 when prod changes", () => {
        const catalogue = projectApps();
        catalogue.cms.public = false;
        const { writeStackFile } = require("./helpers/plan");
        const existing = (require("yaml").parse(require("fs").readFileSync(require("path").join(__dirname, "..", "Pulumi.prod.yaml"), "utf8")).config["homelab:existing"]);
        delete existing.dnsRecords.cms;
        const r = runPlanCli(["prod", "--check", "--config-file", writeStackFile("prod", { "homelab:apps": catalogue, "homelab:existing": existing })]);
        assert.equal(r.status, 1);
        assert.match(r.stdout, /- removed urn:pulumi:prod::homelab::lab:apps:AppInstance\$cloudflare:index\/dnsRecord:DnsRecord::cms-dns/);
        assert.match(r.stdout, /npm run plan:update -- prod/);
    });

    it("prints a tree and a count per type for people", () => {
        const r = runPlanCli(["sandbox-k3d"]);
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.stdout, /├─ erp \[lab:apps:AppInstance\]/);
        assert.match(r.stdout, /resources per type:/);
        assert.match(r.stdout, /\s6\s+kubernetes:core\/v1:Namespace/);
    });

    it("lets the policy pack see inside secrets but never prints what it quotes of one", () => {
        const { writeStackFile } = require("./helpers/plan");
        const file = writeStackFile("sandbox-vms", { "homelab:k3sToken": "K10supersecretvalue::server:192.168.1.201" });
        const r = runPlanCli(["sandbox-vms", "--json", "--config-file", file], { LAB_I_MEAN_PROD: "true" });
        assert.equal(r.status, 0, r.stderr);
        const doc = JSON.parse(r.stdout);
        const onToken = doc.violations.filter((v: { message: string }) => v.message.includes("input stdin"));
        assert.equal(onToken.length, 3, "the prod address inside the secret token is found on the three k3s installs");
        assert.doesNotMatch(r.stdout, /supersecretvalue/, "the secret is never printed");
    });

    it("rejects an unknown stack with exit 2", () => {
        const r = runPlanCli(["staging"]);
        assert.equal(r.status, 2);
        assert.match(r.stderr, /no stack file .*Pulumi\.staging\.yaml \(stacks here: .*prod.*\)/);
    });
});
