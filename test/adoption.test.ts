// Prod adoption: what exists is imported with the id its provider expects, what holds state is kept
// on delete, and nothing uses an ambient provider.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { parseConfig } from "../components/config";
import { readStackConfig } from "../components/stack-config";
import { shared } from "../components/naming";
import { PlanDocument, PlanResource } from "../tools/plan-types";
import { planOf, projectApps, ROOT, runPlanCli, STACKS } from "./helpers/plan";

const prodCfg = () => parseConfig("prod", readStackConfig(ROOT, "prod"));
const isCustom = (r: PlanResource) => !r.type.startsWith("lab:") && !r.type.startsWith("pulumi:providers:");

/**
 * The import id each provider documents for a resource (the "Import" section of the pinned SDKs'
 * resource docs: `pulumi import <type> <name> <id>`), computed from the resource's own inputs, so
 * that the test does not share the program's derivation.
 */
function documentedImportId(r: PlanResource): string {
    const i = r.inputs as Record<string, any>;
    switch (r.type) {
        case "kubernetes:core/v1:Namespace": return i.metadata.name;                                    // @pulumi/kubernetes: <name>
        case "kubernetes:helm.sh/v3:Release": return `${i.namespace}/${i.name}`;                         // helm/v3/release.d.ts: <namespace>/<releaseName>
        case "postgresql:index/database:Database": return i.name;                                        // resource_postgresql_database.go: ImportStatePassthrough (name)
        case "postgresql:index/role:Role": return i.name;                                                // resource_postgresql_role.go: ImportStatePassthrough (name)
        case "vault:index/mount:Mount": return i.path;                                                   // mount.d.ts: <path>
        case "vault:index/authBackend:AuthBackend": return i.path;                                       // authBackend.d.ts: <path>
        case "vault:index/policy:Policy": return i.name;                                                 // policy.d.ts: <name>
        case "vault:kubernetes/authBackendConfig:AuthBackendConfig": return `auth/${i.backend}/config`;  // auth/kubernetes/config
        case "vault:kubernetes/authBackendRole:AuthBackendRole": return `auth/${i.backend}/role/${i.roleName}`;
        case "vault:database/secretBackendConnection:SecretBackendConnection": return `${i.backend}/config/${i.name}`;
        case "vault:database/secretBackendRole:SecretBackendRole": return `${i.backend}/roles/${i.name}`;
        case "cloudflare:index/dnsRecord:DnsRecord": return `${i.zoneId}/`;                              // <zone_id>/<dns_record_id>: the record id is configuration
        default: throw new Error(`no documented import format known for ${r.type} (${r.name})`);
    }
}

describe("prod adoption", () => {
    it("imports what prod has with the id its provider documents", () => {
        const plan = planOf("prod");
        const imported = plan.resources.filter((r) => r.import);
        assert.ok(imported.length > 40, `imports ${imported.length}`);
        for (const r of imported) {
            const expected = documentedImportId(r);
            if (r.type === "cloudflare:index/dnsRecord:DnsRecord") assert.ok(r.import!.startsWith(expected) && r.import!.length > expected.length, `${r.name}: ${r.import}`);
            else assert.equal(r.import, expected, r.name);
        }
    });

    it("imports each existing instance's database, roles, namespace and Vault objects, and the existing releases and Vault mounts", () => {
        const plan = planOf("prod");
        const cfg = prodCfg();
        const byName = new Map(plan.resources.map((r) => [r.name, r]));
        for (const id of cfg.existing!.instances) {
            for (const part of ["namespace", "database", "owner-role", "vault-policy", "vault-k8s-role", "db-connection", "db-role"]) {
                assert.ok(byName.get(`${id}-${part}`)?.import, `${id}-${part} is imported`);
            }
            for (const part of ["database-owner-role", "service-account", "vault-auth", "db-credentials", "argocd-application", "revoke-public-connect"]) {
                assert.equal(byName.get(`${id}-${part}`)?.import ?? null, null, `${id}-${part} is new: created`);
            }
        }
        for (const n of ["platform-longhorn", "platform-vault-secrets-operator", "platform-longhorn-namespace",
            "platform-vault-config-kv", "platform-vault-config-database", "platform-vault-config-kubernetes-auth", "platform-vault-config-kubernetes-auth-config"]) {
            assert.ok(byName.get(n)?.import, `${n} is imported`);
        }
        assert.equal(byName.get("platform-argocd")?.import, null, "Argo CD is new on prod: created");
        const vso = byName.get("platform-vault-secrets-operator")!;
        assert.deepEqual([vso.inputs.namespace, vso.inputs.name], ["tools", "vault-secrets-operator"], "the release is managed where prod has it");
        const conn = plan.resources.find((r) => r.type === "kubernetes:secrets.hashicorp.com/v1beta1:VaultConnection")!;
        assert.equal((conn.inputs.metadata as any).namespace, "tools", "the default VaultConnection lives in VSO's own namespace");
    });

    it("creates a new sibling env of an existing app, importing none of it", () => {
        const apps = projectApps();
        apps.erp = { ...apps.erp, envs: ["prod", "sandbox"] };
        const plan = planOf("prod", { "homelab:apps": apps });
        const sibling = plan.resources.filter((r) => r.parent?.endsWith("::erp-sandbox") || r.name.startsWith("erp-sandbox-"));
        assert.ok(sibling.length > 10);
        assert.deepEqual(sibling.filter((r) => r.import).map((r) => r.name), []);
        assert.ok(plan.resources.find((r) => r.name === "erp-database")!.import, "prod's erp is still imported");
    });

    it("keeps prod's state on delete, and sandboxes import and keep nothing", () => {
        const stateful = ["kubernetes:core/v1:Namespace", "kubernetes:helm.sh/v3:Release", "postgresql:index/database:Database",
            "postgresql:index/role:Role", "vault:index/mount:Mount", "cloudflare:index/dnsRecord:DnsRecord"];
        const prod = planOf("prod");
        for (const r of prod.resources.filter((x) => stateful.includes(x.type))) {
            // Vault's own login is not business state; every other role is an instance's.
            if (r.type === "postgresql:index/role:Role" && r.inputs.name === shared.vaultPostgresRole) continue;
            assert.equal(r.retainOnDelete, true, `${r.name} is kept on delete`);
        }
        for (const stack of ["sandbox-k3d", "sandbox-vms"]) {
            const plan = planOf(stack);
            assert.deepEqual(plan.resources.filter((r) => r.import || r.retainOnDelete).map((r) => r.name), [], stack);
        }
    });

    it("shows adoption in the text plan: each import marked, and the counts", () => {
        const r = runPlanCli(["prod"]);
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.stdout, /erp-database \[postgresql:index\/database:Database\] = erp \(import erp, protected, retained/);
        const plan = planOf("prod");
        const custom = plan.resources.filter(isCustom);
        const imported = custom.filter((x) => x.import).length;
        assert.match(r.stdout, new RegExp(`adoption: ${imported} imported, ${custom.length - imported} created`));
    });

    it("refuses an adoption list on a sandbox, and a public existing app without its record id", () => {
        const raw = readStackConfig(ROOT, "sandbox-k3d");
        raw["homelab:existing"] = JSON.stringify({ vault: true });
        assert.throws(() => parseConfig("sandbox-k3d", raw), /homelab:existing.*only prod adopts/);
        const p = readStackConfig(ROOT, "prod");
        const ex = JSON.parse(p["homelab:existing"]);
        delete ex.dnsRecords.cms;
        p["homelab:existing"] = JSON.stringify(ex);
        assert.throws(() => parseConfig("prod", p), /homelab:existing\.dnsRecords\.cms.*Cloudflare record id.*Pulumi\.prod\.yaml/);
        ex.releases = { longhorn: "longhorn" };
        p["homelab:existing"] = JSON.stringify(ex);
        assert.throws(() => parseConfig("prod", p), /homelab:existing\.releases\.longhorn.*<namespace>\/<name>/);
    });
});

describe("no ambient providers", () => {
    it("disables every default provider in the project file", () => {
        const doc = YAML.parse(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8"));
        assert.deepEqual(doc.config["pulumi:disable-default-providers"], { value: ["*"] });
    });

    it("gives every resource of every stack an explicit provider", () => {
        for (const stack of STACKS) {
            const plan: PlanDocument = planOf(stack);
            assert.deepEqual(plan.resources.filter((r) => isCustom(r) && !r.provider).map((r) => r.name), [], stack);
        }
    });
});

describe("prod's existing data host", () => {
    const composes = (plan: PlanDocument) => plan.resources.filter((r) => r.type === "command:remote:Command" && String(r.inputs.create ?? "").includes("data-compose"));

    it("runs no compose command on prod, whose Postgres and Gitea exist, and uses them where they are", () => {
        const plan = planOf("prod");
        assert.deepEqual(composes(plan).map((r) => r.name), []);
        const cfg = prodCfg();
        const data = cfg.hosts!.find((h) => h.name === cfg.dataHost)!;
        assert.equal(plan.outputs.postgresEndpoint, `${data.address}:5432`);
        const pg = plan.resources.find((r) => r.type === "pulumi:providers:postgresql")!;
        assert.equal(pg.inputs.host, data.address);
    });

    it("composes where the data host is the program's: the sandboxes, or prod without existing.dataHost", () => {
        assert.equal(composes(planOf("sandbox-vms")).length, 1);
        const existing = YAML.parse(fs.readFileSync(path.join(ROOT, "Pulumi.prod.yaml"), "utf8")).config["homelab:existing"];
        delete existing.dataHost;
        assert.equal(composes(planOf("prod", { "homelab:existing": existing })).length, 1);
    });

    it("takes an admin password only where the data host exists", () => {
        const raw = readStackConfig(ROOT, "prod");
        raw["homelab:postgresAdminPassword"] = "s3cret";
        assert.equal(parseConfig("prod", raw).postgresAdminPassword !== undefined, true);
        const ex = JSON.parse(raw["homelab:existing"]);
        delete ex.dataHost;
        raw["homelab:existing"] = JSON.stringify(ex);
        assert.throws(() => parseConfig("prod", raw), /homelab:postgresAdminPassword.*existing\.dataHost/);
    });
});
