// sibling-isolation: an in-cluster sibling (erp-sandbox beside erp) is granted nothing of another
// instance; names are whole identifiers (erp is a prefix of erp-sandbox, not the same name).
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { instanceNames } from "../components/naming";
import { evaluatePolicies } from "../policy/evaluate";
import { vaultPathMatches, vaultPatternReaches, vaultPolicyPaths } from "../policy/sibling-isolation";
import { PlanResource } from "../tools/plan-types";
import { appInstance, appResource, removeProject, resource, tempProject } from "./fixtures/policy/harness";

const S = "prod";

describe("policy sibling-isolation", () => {
    let dir: string;
    before(() => {
        // A catalogue with in-cluster siblings: erp and url-shortener also have a sandbox env.
        dir = tempProject({
            edit: (p) => {
                p.config.apps.value.erp = { envs: ["prod", "sandbox"] };
                p.config.apps.value["url-shortener"] = { public: true, envs: ["prod", "sandbox"] };
            },
        });
    });
    after(() => removeProject(dir));

    const run = (resources: PlanResource[]) =>
        evaluatePolicies(resources, { env: {}, projectDir: dir }).filter((v) => v.policy === "sibling-isolation");
    const policy = (instance: string, paths: string[] | string) => appResource(S, instance, "vault:index/policy:Policy", "vault-policy", {
        name: instance,
        policy: typeof paths === "string" ? paths : JSON.stringify({ path: Object.fromEntries(paths.map((p) => [p, { capabilities: ["read"] }])) }),
    });
    /** The instance each violation says is reached. */
    const reached = (resources: PlanResource[]) => run(resources).map((v) => /refers to .* of instance (\S+) \(/.exec(v.message)?.[1]);

    describe("Vault policies", () => {
        it("each instance's own paths (what the apps layer writes) are fine", () => {
            for (const id of ["erp", "erp-sandbox", "url-shortener", "url-shortener-sandbox"]) {
                const n = [...["erp", "url-shortener"]].map((a) => [instanceNames(a, "prod"), instanceNames(a, "sandbox")]).flat().find((x) => x.instance === id)!;
                assert.deepStrictEqual(run([policy(id, [`apps/data/${n.kvPath}`, `apps/data/${n.kvPath}/*`, `database/creds/${n.databaseSecretsRole}`])]), [], id);
            }
        });

        it("the sibling reading prod's KV folder", () => {
            assert.deepStrictEqual(reached([policy("erp-sandbox", ["apps/data/erp-sandbox/*", "apps/data/erp/*"])]), ["erp"]);
            const [v] = run([policy("erp-sandbox", ["apps/data/erp/*"])]);
            assert.strictEqual(v.urn, "urn:pulumi:prod::homelab::lab:apps:AppInstance$vault:index/policy:Policy::erp-sandbox-vault-policy");
            assert.match(v.message, /vault:index\/policy:Policy "erp-sandbox-vault-policy" of instance erp-sandbox: policy path "apps\/data\/erp\/\*" refers to the Vault path apps\/data\/erp of instance erp \(app erp, env prod\)/);
        });

        it("prod reading the sibling's database credentials", () => {
            assert.deepStrictEqual(reached([policy("erp", ["database/creds/erp-sandbox"])]), ["erp-sandbox"]);
        });

        it("a prefix glob that reaches past the instance's own name: apps/data/erp* also grants erp-sandbox", () => {
            assert.deepStrictEqual(reached([policy("erp", ["apps/data/erp*"])]), ["erp-sandbox"]);
            assert.deepStrictEqual(reached([policy("erp", ["apps/data/erp/*"])]), []);
        });

        it("a + segment or a whole-mount glob reaches every other instance", () => {
            assert.strictEqual(reached([policy("cms", ["apps/data/+/config"])]).length, 7);
            assert.strictEqual(reached([policy("cms", ["database/creds/*"])]).length, 7);
            assert.deepStrictEqual(reached([policy("cms", ["sys/health"])]), []);
        });

        it("HCL policies too", () => {
            assert.deepStrictEqual(reached([policy("url-shortener-sandbox", 'path "apps/data/url-shortener/*" {\n  capabilities = ["read"]\n}\n')]), ["url-shortener"]);
            assert.deepStrictEqual(vaultPolicyPaths('path "a/b" { capabilities = ["read"] }\npath "c/*" {}'), ["a/b", "c/*"]);
        });

        it("matches Vault paths as Vault does", () => {
            assert.ok(vaultPathMatches("apps/data/erp*", "apps/data/erp-sandbox"));
            assert.ok(vaultPathMatches("apps/data/+/x", "apps/data/erp/x"));
            assert.ok(!vaultPathMatches("apps/data/erp/*", "apps/data/erp-sandbox"));
            assert.ok(!vaultPathMatches("apps/data/erp", "apps/data/erp-sandbox"));
            assert.ok(vaultPatternReaches("apps/data/erp/*", "apps/data/erp"));
            assert.ok(vaultPatternReaches("apps/data/erp/config", "apps/data/erp"));
            assert.ok(vaultPatternReaches("apps/data/+/config", "apps/data/erp"));
            assert.ok(vaultPatternReaches("apps/*", "apps/data/erp"));
            assert.ok(vaultPatternReaches("apps/data/er*", "apps/data/erp"));
            assert.ok(!vaultPatternReaches("apps/data/erp-sandbox/*", "apps/data/erp"));
            assert.ok(!vaultPatternReaches("apps/data", "apps/data/erp"));
            assert.ok(!vaultPatternReaches("apps/metadata/+", "apps/data/erp"));
        });
    });

    describe("database roles, grants, secrets roles and connections", () => {
        it("a grant on another instance's database, or to another instance's owner role", () => {
            const grant = (inputs: Record<string, unknown>) => appResource(S, "erp-sandbox", "postgresql:index/grant:Grant", "grant", inputs);
            assert.deepStrictEqual(reached([grant({ database: "erp", role: "erp_sandbox_role", objectType: "database", privileges: ["CONNECT"] })]), ["erp"]);
            assert.deepStrictEqual(reached([grant({ database: "erp-sandbox", role: "erp_role", objectType: "database", privileges: ["CONNECT"] })]), ["erp"]);
            assert.deepStrictEqual(reached([grant({ database: "erp-sandbox", role: "public", objectType: "database", privileges: [] })]), []);
        });

        it("a role that is a member of another instance's owner role", () => {
            const role = appResource(S, "erp-sandbox", "postgresql:index/role:Role", "owner-role", { name: "erp_sandbox_role", login: true, roles: ["erp_role"] });
            const [v] = run([role]);
            assert.match(v.message, /input roles\[0\] refers to "erp_role", the role its credentials act as of instance erp \(app erp, env prod\)/);
        });

        it("the new shape passes: two NOLOGIN roles, grants to its own role and to Vault's login, Vault's ADMIN OPTION on its own role", () => {
            const r = (type: string, part: string, inputs: Record<string, unknown>) => appResource(S, "erp-sandbox", type, part, inputs);
            assert.deepStrictEqual(run([
                r("postgresql:index/role:Role", "owner-role", { name: "erp_sandbox_role", login: false }),
                r("postgresql:index/role:Role", "database-owner-role", { name: "erp_sandbox_db_owner", login: false }),
                r("postgresql:index/grant:Grant", "owner-role-connect", { database: "erp-sandbox", role: "erp_sandbox_role", objectType: "database", privileges: ["CONNECT", "TEMPORARY"] }),
                r("postgresql:index/grant:Grant", "owner-role-schema", { database: "erp-sandbox", schema: "public", role: "erp_sandbox_role", objectType: "schema", privileges: ["CREATE", "USAGE"] }),
                r("postgresql:index/grant:Grant", "vault-connect", { database: "erp-sandbox", role: "vault_admin", objectType: "database", privileges: ["CONNECT"] }),
                r("postgresql:index/grantRole:GrantRole", "vault-admin", { role: "vault_admin", grantRole: "erp_sandbox_role", withAdminOption: true }),
            ]), []);
        });

        it("a role membership that grants one instance's role to another instance (or Vault's ADMIN OPTION on it from the wrong instance)", () => {
            const grantRole = (instance: string, inputs: Record<string, unknown>) => appResource(S, instance, "postgresql:index/grantRole:GrantRole", "vault-admin", inputs);
            assert.deepStrictEqual(reached([grantRole("erp-sandbox", { role: "erp_sandbox_role", grantRole: "erp_role" })]), ["erp"]);
            assert.deepStrictEqual(reached([grantRole("erp", { role: "erp_sandbox_role", grantRole: "erp_role" })]), ["erp-sandbox"]);
            assert.deepStrictEqual(reached([grantRole("erp-sandbox", { role: "vault_admin", grantRole: "erp_db_owner", withAdminOption: true })]), ["erp"]);
            const [v] = run([grantRole("erp-sandbox", { role: "vault_admin", grantRole: "erp_db_owner" })]);
            assert.match(v.message, /input grantRole refers to "erp_db_owner", the role owning its database of instance erp/);
        });

        it("a grant to PUBLIC opens the database to every sibling's users; revoking from PUBLIC is fine", () => {
            const grant = (privileges: string[]) => appResource(S, "erp", "postgresql:index/grant:Grant", "revoke-public-connect", { database: "erp", role: "public", objectType: "database", privileges });
            assert.deepStrictEqual(run([grant([])]), []);
            const [v] = run([grant(["CONNECT"])]);
            assert.match(v.message, /of instance erp: grants CONNECT to PUBLIC, which every other instance's users belong to/);
        });

        it("a secrets role whose SQL grants another instance's owner role, or that uses its connection", () => {
            const role = (stmt: string, dbName: string) => appResource(S, "url-shortener-sandbox", "vault:database/secretBackendRole:SecretBackendRole", "db-role", {
                backend: "database", name: "url-shortener-sandbox", dbName,
                creationStatements: [`CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' IN ROLE "${stmt}";`],
            });
            assert.deepStrictEqual(reached([role("url_shortener_sandbox_role", "url-shortener-sandbox")]), []);
            assert.deepStrictEqual(reached([role("url_shortener_role", "url-shortener-sandbox")]), ["url-shortener"]);
            assert.deepStrictEqual(reached([role("url_shortener_sandbox_role", "url-shortener")]), ["url-shortener"]);
        });

        it("a database connection to another instance's database", () => {
            const conn = (db: string, username = "vault_admin") => appResource(S, "erp", "vault:database/secretBackendConnection:SecretBackendConnection", "db-connection", {
                backend: "database", name: "erp", allowedRoles: ["erp"],
                postgresql: { connectionUrl: `postgresql://{{username}}:{{password}}@10.0.0.2:5432/${db}?sslmode=disable`, username, password: "[secret]" },
            });
            assert.deepStrictEqual(reached([conn("erp")]), []);
            assert.deepStrictEqual(reached([conn("erp-sandbox")]), ["erp-sandbox"]);
            // Before prod's database-contract migration the connection is prod's, as discovered
            // (facts/prod.json); with it, Vault must connect as its own login.
            assert.deepStrictEqual(run([conn("erp", "postgres")]), []);
            const prodFile = fs.readFileSync(path.join(dir, "Pulumi.prod.yaml"), "utf8");
            const contractDir = tempProject({ stacks: { prod: prodFile.replace("homelab:migrations: []", "homelab:migrations: [database-contract]") } });
            try {
                const [v] = evaluatePolicies([conn("erp", "postgres")], { env: {}, projectDir: contractDir }).filter((x) => x.policy === "sibling-isolation");
                assert.match(v.message, /of instance erp: Vault connects as "postgres"; it must connect as its own login "vault_admin"/);
            } finally {
                removeProject(contractDir);
            }
        });

        it("a Kubernetes-auth role bound to another instance's namespace", () => {
            const role = (ns: string[]) => appResource(S, "erp-sandbox", "vault:kubernetes/authBackendRole:AuthBackendRole", "vault-k8s-role", {
                backend: "kubernetes", roleName: "erp-sandbox", boundServiceAccountNames: ["erp-sandbox"], boundServiceAccountNamespaces: ns, tokenPolicies: ["erp-sandbox"],
            });
            assert.deepStrictEqual(reached([role(["erp-sandbox"])]), []);
            assert.deepStrictEqual(reached([role(["erp-sandbox", "erp"])]), ["erp"]);
        });
    });

    describe("whose resource it is", () => {
        it("a deeper child of an AppInstance belongs to the longest instance id its name starts with", () => {
            const deep = resource(S, "vault:index/policy:Policy", "erp-sandbox-extra-policy",
                { name: "erp-sandbox-extra", policy: JSON.stringify({ path: { "apps/data/erp-sandbox/*": {} } }) },
                { parentType: "lab:apps:AppInstance$lab:apps:Extra", parentName: "erp-sandbox-extra" });
            assert.deepStrictEqual(run([deep]), []);
        });

        it("resources outside any instance (the platform's) are not this policy's", () => {
            const platform = resource(S, "vault:index/policy:Policy", "platform-admin", { name: "admin", policy: JSON.stringify({ path: { "apps/data/*": {} } }) },
                { parentType: "lab:platform:Platform", parentName: "platform" });
            assert.deepStrictEqual(run([platform, appInstance(S, "erp", "prod")]), []);
        });

        it("every stack: the same sibling leak in a sandbox stack is reported", () => {
            const r = policy("erp-sandbox", ["apps/data/erp/*"]);
            const vs = evaluatePolicies([r], { env: {}, projectDir: dir, stack: "sandbox-k3d" }).filter((v) => v.policy === "sibling-isolation");
            assert.strictEqual(vs.length, 1);
            assert.strictEqual(vs[0].enforcement, "mandatory");
        });
    });
});
