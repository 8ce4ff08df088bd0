import { strict as assert } from "assert";
import * as naming from "../components/naming";

describe("naming: the <app>/<env> join key", () => {
    // Every row of the table in ARCHITECTURE.md, "The join key".
    const table = [
        { app: "erp", env: "prod", instance: "erp", valueFiles: ["values.yaml"], database: "erp", ownerRole: "erp_role", databaseOwnerRole: "erp_db_owner" },
        { app: "erp", env: "sandbox", instance: "erp-sandbox", valueFiles: ["values.yaml", "values-sandbox.yaml"], database: "erp-sandbox", ownerRole: "erp_sandbox_role", databaseOwnerRole: "erp_sandbox_db_owner" },
        { app: "url-shortener", env: "prod", instance: "url-shortener", valueFiles: ["values.yaml"], database: "url-shortener", ownerRole: "url_shortener_role", databaseOwnerRole: "url_shortener_db_owner" },
        { app: "url-shortener", env: "sandbox", instance: "url-shortener-sandbox", valueFiles: ["values.yaml", "values-sandbox.yaml"], database: "url-shortener-sandbox", ownerRole: "url_shortener_sandbox_role", databaseOwnerRole: "url_shortener_sandbox_db_owner" },
    ];
    for (const row of table) {
        it(`derives every name of ${row.app}/${row.env}`, () => {
            const n = naming.instanceNames(row.app, row.env);
            assert.equal(n.instance, row.instance);
            assert.equal(n.namespace, row.instance, "k8s namespace");
            assert.equal(n.argoApplication, row.instance, "Argo CD Application name");
            assert.deepEqual(n.valueFiles, row.valueFiles, "Helm valueFiles");
            assert.equal(n.database, row.database, "PostgreSQL database");
            assert.equal(n.ownerRole, row.ownerRole, "PostgreSQL role the credentials act as (owns the tables)");
            assert.equal(n.databaseOwnerRole, row.databaseOwnerRole, "PostgreSQL role owning the database");
            assert.equal(n.vaultPolicy, row.instance, "Vault policy");
            assert.equal(n.kubernetesAuthRole, row.instance, "Kubernetes-auth role");
            assert.equal(n.databaseSecretsRole, row.instance, "database secrets role");
        });
    }

    it("shares one Vault CI role per repo between envs (gitea_cicd_<app>)", () => {
        assert.equal(naming.vaultCiRoleName("erp"), "gitea_cicd_erp");
        assert.equal(naming.vaultCiRoleName("url-shortener"), "gitea_cicd_url-shortener");
    });

    it("elides prod and only prod", () => {
        assert.equal(naming.instanceId("cms", "prod"), "cms");
        assert.equal(naming.instanceId("cms", "staging"), "cms-staging");
        assert.equal(naming.instanceId("cms", "prod-like"), "cms-prod-like");
    });

    it("rejects an app that is not kebab-case, naming app, env and rule", () => {
        for (const bad of ["Erp", "erp_", "1erp", "erp--x", "-erp", "erp-", "e rp"]) {
            assert.throws(() => naming.instanceId(bad, "prod"), (e: Error) =>
                e instanceof naming.NamingError && e.message.includes(`app "${bad}"`) && e.message.includes('env "prod"') && e.message.includes("kebab-case"));
        }
    });

    it("rejects an env that is not kebab-case", () => {
        assert.throws(() => naming.databaseName("erp", "Sandbox"), /app "erp", env "Sandbox": env must be kebab-case/);
    });

    it("rejects a Kubernetes name longer than a DNS-1123 label (63)", () => {
        const app = "a".repeat(40);
        const env = "b".repeat(23); // instance id = 40 + 1 + 23 = 64
        assert.throws(() => naming.namespaceName(app, env), /DNS-1123 label of at most 63 characters \(it has 64\)/);
        assert.equal(naming.namespaceName(app, "b".repeat(22)).length, 63);
    });

    it("rejects a PostgreSQL role name over 63 bytes (PostgreSQL would truncate it)", () => {
        // instance id of 58 characters fits a namespace, but "<id>_role" is 63 + ... bytes
        const app = "a".repeat(30);
        const env = "b".repeat(28); // id 59, role 59 + 5 = 64 bytes
        assert.equal(naming.namespaceName(app, env).length, 59);
        assert.throws(() => naming.ownerRoleName(app, env), (e: Error) =>
            e.message.includes(`app "${app}"`) && e.message.includes("64 bytes") && e.message.includes("at most 63 bytes"));
    });

    it("rejects a database owner role name over 63 bytes: its suffix is longer than the owner role's", () => {
        const app = "a".repeat(30);
        const env = "b".repeat(24); // id 55: "<id>_role" is 60 bytes, "<id>_db_owner" 64
        assert.equal(naming.ownerRoleName(app, env).length, 60);
        assert.throws(() => naming.databaseOwnerRoleName(app, env), /PostgreSQL role name "a+_b+_db_owner" is 64 bytes/);
        assert.equal(naming.databaseOwnerRoleName(app, "b".repeat(23)).length, 63);
    });

    it("builds the public hostname and the shared repo URL", () => {
        assert.equal(naming.publicHostname("webapp", "example.org"), "webapp.example.org");
        assert.equal(naming.giteaRepoUrl("http://gitea:3000/", "lab", "erp"), "http://gitea:3000/lab/erp.git");
    });
});
