// Prod adoption: what exists is imported with the id its provider expects, what holds state is kept
// on delete, and nothing uses an ambient provider.
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { parseConfig } from "../components/config";
import { readStackConfig } from "../components/stack-config";
import { shared } from "../components/naming";
import { PlanDocument, PlanResource } from "../tools/plan-types";
import { readFacts } from "../components/facts";
import { guardFactsSource } from "../components/baseline";
import { planOf, projectApps, ROOT, runPlanCli, STACKS, writeStackFile } from "./helpers/plan";

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
        case "kubernetes:core/v1:ServiceAccount":                                                        // @pulumi/kubernetes: <namespace>/<name>
        case "kubernetes:secrets.hashicorp.com/v1beta1:VaultAuth":
        case "kubernetes:secrets.hashicorp.com/v1beta1:VaultDynamicSecret": return `${i.metadata.namespace}/${i.metadata.name}`;
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

    it("imports each existing instance's database, role, namespace, Vault objects and VSO objects, and the existing releases and Vault mounts", () => {
        const plan = planOf("prod");
        const cfg = prodCfg();
        const byName = new Map(plan.resources.map((r) => [r.name, r]));
        for (const id of cfg.existing!.instances) {
            // the seeds' stand-in lists each app's service account and VSO objects (facts/prod.json)
            for (const part of ["namespace", "database", "owner-role", "vault-policy", "vault-k8s-role", "db-connection", "db-role",
                "service-account", "vault-auth", "db-credentials"]) {
                assert.ok(byName.get(`${id}-${part}`)?.import, `${id}-${part} is imported`);
            }
            // the database contract and Argo CD are migrations: not in the baseline at all
            for (const part of ["database-owner-role", "argocd-application", "revoke-public-connect", "owner-role-connect", "owner-role-schema", "vault-connect", "vault-admin"]) {
                assert.equal(byName.get(`${id}-${part}`), undefined, `${id}-${part} is not registered before its migration`);
            }
        }
        for (const n of ["platform-longhorn", "platform-vault-secrets-operator", "platform-longhorn-namespace",
            "platform-vault-config-kv", "platform-vault-config-database", "platform-vault-config-kubernetes-auth", "platform-vault-config-kubernetes-auth-config"]) {
            assert.ok(byName.get(n)?.import, `${n} is imported`);
        }
        const vso = byName.get("platform-vault-secrets-operator")!;
        assert.deepEqual([vso.inputs.namespace, vso.inputs.name], ["tools", "vault-secrets-operator"], "the release is managed where prod has it");
        const withContract = planOf("prod", { "homelab:migrations": ["database-contract", "helm-releases", "argocd"] });
        assert.equal(withContract.resources.find((r) => r.name === "platform-argocd")?.import, null, "Argo CD is new on prod: created");
        assert.equal(withContract.resources.find((r) => r.name === "erp-database-owner-role")?.import, null, "the database owner role is new: created");
        assert.ok(withContract.resources.find((r) => r.name === "erp-vault-auth")?.import, "an existing VaultAuth stays imported under the contract");
        const conn = withContract.resources.find((r) => r.type === "kubernetes:secrets.hashicorp.com/v1beta1:VaultConnection")!;
        assert.equal((conn.inputs.metadata as any).namespace, "tools", "the default VaultConnection lives in VSO's own namespace");
    });

    it("creates a new sibling env of an existing app, importing none of it, once the database contract is on", () => {
        const apps = projectApps();
        apps.erp = { ...apps.erp, envs: ["prod", "sandbox"] };
        const plan = planOf("prod", { "homelab:apps": apps, "homelab:migrations": ["database-contract"] });
        const sibling = plan.resources.filter((r) => r.parent?.endsWith("::erp-sandbox") || r.name.startsWith("erp-sandbox-"));
        assert.ok(sibling.length > 10);
        assert.deepEqual(sibling.filter((r) => r.import).map((r) => r.name), []);
        assert.ok(plan.resources.find((r) => r.name === "erp-database")!.import, "prod's erp is still imported");
        // before the contract, a new instance on prod is refused: it could only be made with the contract
        const r = runPlanCli(["prod", "--json", "--config-file", writeStackFile("prod", { "homelab:apps": apps })]);
        assert.equal(r.status, 2);
        assert.match(r.stderr, /instance erp-sandbox is new on prod.*database-contract migration must be on/);
        assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
    });

    it("keeps prod's state on delete, and sandboxes import and keep nothing", () => {
        const stateful = ["kubernetes:core/v1:Namespace", "kubernetes:helm.sh/v3:Release", "postgresql:index/database:Database",
            "postgresql:index/role:Role", "vault:index/mount:Mount", "cloudflare:index/dnsRecord:DnsRecord"];
        const prod = planOf("prod", { "homelab:migrations": ["database-contract", "helm-releases", "argocd", "backups", "argocd-autosync"] });
        for (const r of [...planOf("prod").resources, ...prod.resources].filter((x) => stateful.includes(x.type))) {
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

describe("the adoption baseline: no migration on, prod's plan registers what exists and changes nothing", () => {
    const facts = () => JSON.parse(fs.readFileSync(path.join(ROOT, "facts", "prod.json"), "utf8"));
    const byName = (plan: PlanDocument) => new Map(plan.resources.map((r) => [r.name, r]));

    it("lists only imports: nothing is created but the read-only k3s check and kubeconfig read (k3s stays verify-only)", () => {
        const plan = planOf("prod");
        const created = plan.resources.filter((r) => isCustom(r) && !r.import);
        assert.deepEqual(created.map((r) => r.name).sort(), ["metal-hosts-k3s-pi1", "metal-hosts-k3s-pi2", "metal-hosts-k3s-pi3", "metal-hosts-kubeconfig"]);
        for (const r of created) assert.equal(r.type, "command:remote:Command", r.name);
        // no upgrade is approved on prod: the k3s script only verifies (components/metal/README.md)
        assert.equal(prodCfg().k3sUpgrade, undefined);
        for (const t of ["postgresql:index/grant:Grant", "postgresql:index/grantRole:GrantRole", "random:index/randomPassword:RandomPassword",
            "kubernetes:argoproj.io/v1alpha1:Application", "kubernetes:argoproj.io/v1alpha1:AppProject", "kubernetes:core/v1:Secret",
            "kubernetes:secrets.hashicorp.com/v1beta1:VaultConnection", "kubernetes:longhorn.io/v1beta2:RecurringJob"]) {
            assert.deepEqual(plan.resources.filter((r) => r.type === t).map((r) => r.name), [], t);
        }
        assert.deepEqual(plan.resources.filter((r) => r.type.startsWith("gcp:") || r.name.startsWith("data-backup")).map((r) => r.name), [],
            "the backup job's systemd timer and the HMAC key wait for the backups migration");
        assert.deepEqual(plan.violations, []);
    });

    it("keeps every adopted resource on delete, and protects the stateful ones", () => {
        const plan = planOf("prod");
        for (const r of plan.resources.filter((x) => x.import)) assert.equal(r.retainOnDelete, true, `${r.name} is kept on delete`);
        for (const r of plan.resources.filter((x) => ["postgresql:index/database:Database", "postgresql:index/role:Role", "vault:index/mount:Mount"].includes(x.type))) {
            assert.equal(r.protect, true, `${r.name} is protected`);
        }
        assert.equal(byName(plan).get("platform-longhorn")!.protect, true);
    });

    it("registers each Helm release exactly as the import reads it: <repo>/<chart>, version and the user-supplied values, nothing else", () => {
        // pulumi/pulumi-kubernetes provider/pkg/provider/helm_release.go: Read (importRelease,
        // serializeImportInputs, setDefaults) and Diff (three-way merge patch of the inputs)
        const f = facts();
        const plan = byName(planOf("prod"));
        for (const [name, key, repo] of [["platform-longhorn", "longhorn-system/longhorn", "longhorn"], ["platform-vault-secrets-operator", "tools/vault-secrets-operator", "hashicorp"]]) {
            const r = plan.get(name)!;
            const [namespace, release] = key.split("/");
            // `compat` is the SDK's marker; the provider's Check drops it (no such field in its Release)
            assert.deepEqual(r.inputs, { compat: "true", name: release, namespace, chart: `${repo}/${f.helmReleases[key].chart}`, version: f.helmReleases[key].version, values: f.helmReleases[key].values }, name);
            assert.equal(r.import, key);
        }
    });

    it("registers PostgreSQL and Vault as discovered: each database owned by <app>_role, no password anywhere, no grant", () => {
        const f = facts();
        const cfg = prodCfg();
        const plan = byName(planOf("prod"));
        for (const id of cfg.existing!.instances) {
            const db = plan.get(`${id}-database`)!;
            const role = `${id.replace(/-/g, "_")}_role`;
            // the seeds: postgres/iac makes db=<app> owned by role=<app>_role
            assert.equal(f.postgres.databases[id].owner, role);
            assert.deepEqual({ ...db.inputs }, { name: id, owner: role, connectionLimit: f.postgres.databases[id].connectionLimit, encoding: f.postgres.databases[id].encoding });
            const owner = plan.get(`${id}-owner-role`)!;
            assert.equal(owner.inputs.login, f.postgres.roles[role].login);
            assert.equal("password" in owner.inputs, false);
            assert.deepEqual(owner.ignoreChanges, ["password"], "the provider reads a login role's password back from pg_shadow");
            const conn = plan.get(`${id}-db-connection`)!;
            const pg = conn.inputs.postgresql as Record<string, unknown>;
            assert.equal(pg.username, f.vault.database.database.connections[id].username);
            assert.equal(pg.connectionUrl, f.vault.database.database.connections[id].connection_url);
            assert.equal("password" in pg, false, "Vault never returns the connection's password: left unset");
            assert.equal(plan.get(`${id}-vault-policy`)!.inputs.policy, f.vault.policies[id]);
            assert.deepEqual(plan.get(`${id}-db-role`)!.inputs.creationStatements, f.vault.database.database.roles[id].creation_statements);
            assert.ok(plan.get(`${id}-namespace`)!.ignoreChanges!.includes("metadata.labels"), "labels stay as prod has them");
            assert.deepEqual(plan.get(`${id}-vault-auth`)!.inputs.spec, f.namespaces[id].find((o: any) => o.kind === "VaultAuth").spec);
        }
    });

    it("the facts stand-in comes from the seeds: the offline plan warns, a real run stops", () => {
        const f = readFacts(ROOT);
        assert.equal(f.source, "seeds");
        assert.equal(f.discoveredAt, null);
        assert.ok(!/"password"\s*:/.test(fs.readFileSync(path.join(ROOT, "facts", "prod.json"), "utf8")), "no secret in the facts");
        const cfg = prodCfg();
        assert.match(guardFactsSource(cfg, f, true)[0], /stand-in derived from the seeds.*npm run discover -- prod.*a real run stops here/);
        assert.throws(() => guardFactsSource(cfg, f, false), (e: Error) => /facts\/prod\.json is the stand-in/.test(e.message) && (e as any).isConfigError === true);
        assert.deepEqual(guardFactsSource(cfg, { ...f, source: "discover" }, false), []);
        assert.deepEqual(guardFactsSource(parseConfig("sandbox-k3d", readStackConfig(ROOT, "sandbox-k3d")), f, false), []);
    });
});

describe("every SSH connection to a Pi is pinned", () => {
    it("the data host's backup job (with the backups migration) trusts pi2's key from Pulumi.prod.yaml only", () => {
        // connection inputs are secret in the printed plan: read them from the plan runner's revealed view
        const script = [
            "const { runPlan } = require('./tools/plan-runner');",
            "const { readStackConfig } = require('./components/stack-config');",
            "const config = readStackConfig(process.cwd(), 'prod');",
            "config['homelab:migrations'] = JSON.stringify(['database-contract', 'helm-releases', 'argocd', 'backups']);",
            "runPlan({ stack: 'prod', config }).then((r) => {",
            "  const out = r.revealed.filter((x) => x.type === 'command:remote:Command').map((x) => [x.name, x.inputs.connection]);",
            "  process.stdout.write(JSON.stringify(out)); process.exit(0);",
            "}, (e) => { console.error(e); process.exit(1); });",
        ].join("\n");
        const r = spawnSync(process.execPath, ["-r", path.join(ROOT, "tools", "register.js"), "-e", script], { cwd: ROOT, encoding: "utf8" });
        assert.equal(r.status, 0, r.stderr);
        const connections = new Map<string, any>(JSON.parse(r.stdout));
        const cfg = prodCfg();
        const keyOf = Object.fromEntries(cfg.hosts!.map((h) => [h.address, h.hostKey]));
        assert.ok(connections.has("data-backup-install"));
        for (const [name, c] of connections) assert.equal(c.hostKey, keyOf[c.host], `${name} trusts ${c.host}'s pinned key`);
        assert.equal(connections.get("data-backup-install").host, cfg.hosts!.find((h) => h.name === cfg.dataHost)!.address);
    });
});
