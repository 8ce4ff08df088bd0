// A replica of prod as Ansible and OpenTofu built it, on loopback servers, built from prod's facts
// (components/facts.ts: the committed facts/prod.json when there is one, the seeds' stand-in
// otherwise), for the adoption proof (issue 16 item 4) and discover's end-to-end tests:
// - PostgreSQL 17.7 (the run's server, postgres-server.ts): the facts' roles and databases (each
//   app's database owned by `<app>_role`, as postgres/iac makes them: the seed commit of ADR-0002
//   Phase B, "db=<app>, role=<app>_role"), created with the SQL of the provider OpenTofu used
//   (cyrilgdn/terraform-provider-postgresql, through pg-applier.ts), and their ACLs;
// - Vault: a real OpenBao server of its own (openbao.ts, raft storage, initialised and unsealed
//   here) holding the facts' mounts, Kubernetes auth (config and roles), policies, database
//   connections and roles, written through Vault's API as OpenTofu did;
// - the Kubernetes API (fake-cluster-api.ts): Helm's release Secrets of the facts' releases (helm.ts
//   encodes them as Helm does, with an older superseded revision) and each app namespace's
//   ServiceAccounts and VSO objects;
// - Cloudflare's API (fake-cloudflare.ts) with the zone and the facts' records; an sshd-like fake
//   per Pi (fake-sshd.ts), each with a host key of its own.
// Only what a replica cannot take as is differs, and `mapping` says how: prod's PostgreSQL address in
// the connections' URLs becomes the replica's (never 192.168.1.x), placeholder record ids and tunnel
// become generated ones, and OpenBao is given the cluster's CA that Vault reads from its pod.
import { spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { creationStatements, instancePolicy, revocationStatements } from "../../components/apps/app-instance";
import { FACTS_FILE, ProdFacts, readFacts } from "../../components/facts";
import { encodeRelease, helmSecretName, HELM_SECRET_TYPE } from "../../tools/discover/helm";
import { VSO_GROUP, VSO_KINDS, VSO_VERSION } from "../../tools/discover/kube";
import { PlanResource } from "../../tools/plan-types";
import { FakeClusterApi, list, namespace } from "./fake-cluster-api";
import { FakeCloudflare } from "./fake-cloudflare";
import { FakeSshd } from "./fake-sshd";
import { OpenBaoPersistent, startOpenBaoPersistent } from "./openbao";
import { applyPlan, quoteIdent, resetServer } from "./pg-applier";
import { PostgresServer } from "./postgres-server";

export const ZONE = "arcodange.fr";
export const KUBE_SYSTEM_UID = "5d8f3c2a-1b4e-4f6a-9c7d-2e8b0a1f3c4d";
export const PROD_POSTGRES = "192.168.1.202:5432";
export const ownerRole = (app: string) => `${app.replace(/-/g, "_")}_role`;

/**
 * The seeds' stand-in for prod's facts, used only while facts/prod.json is not committed: what the
 * lab map and ADR-0002 state (databases `<app>` owned by `<app>_role`; Vault's mounts, Kubernetes
 * auth and database engine; VSO in each app namespace; the public apps' CNAMEs to the tunnel),
 * with the values the seeds do not state taken from the program's own conventions.
 */
export function seedStandInFacts(instances: string[], publicApps: string[]): ProdFacts {
    const f: ProdFacts = {
        source: "seeds", discoveredAt: null,
        helmReleases: {
            "longhorn-system/longhorn": { chart: "longhorn", version: "1.10.1", values: { defaultSettings: { defaultReplicaCount: 3 }, persistence: { defaultClassReplicaCount: 3, reclaimPolicy: "Retain" } } },
            "tools/vault-secrets-operator": { chart: "vault-secrets-operator", version: "1.4.1", values: { defaultVaultConnection: { enabled: false } } },
        },
        vault: {
            mounts: { apps: { type: "kv", description: "App secrets, one folder per instance", options: { version: "2" } }, database: { type: "database", description: "Dynamic PostgreSQL credentials, one connection and role per instance" } },
            auth: { kubernetes: { type: "kubernetes" } },
            kubernetesAuth: { kubernetes: { config: { kubernetes_host: "https://kubernetes.default.svc:443", disable_local_ca_jwt: false }, roles: {} } },
            policies: {},
            database: { database: { connections: {}, roles: {} } },
        },
        postgres: { databases: {}, roles: {} },
        namespaces: {}, dnsRecords: {},
        secrets: { "PostgreSQL admin on pi2 (also the password of Vault's database connections, which log in as postgres)": "homelab:postgresAdminPassword" },
    };
    for (const app of instances) {
        f.vault.kubernetesAuth.kubernetes.roles[app] = { bound_service_account_names: [app], bound_service_account_namespaces: [app], token_policies: [app], token_ttl: 3600 };
        f.vault.policies[app] = instancePolicy(app, "prod");
        f.vault.database.database.connections[app] = {
            plugin_name: "postgresql-database-plugin", connection_url: `postgresql://{{username}}:{{password}}@${PROD_POSTGRES}/${app}?sslmode=disable`,
            username: "postgres", allowed_roles: [app], verify_connection: true,
        };
        f.vault.database.database.roles[app] = { db_name: app, creation_statements: creationStatements(ownerRole(app)), revocation_statements: revocationStatements(ownerRole(app)), default_ttl: 3600, max_ttl: 86400 };
        f.postgres.roles[ownerRole(app)] = { login: false, superuser: false, createdb: false, createrole: false, inherit: true, replication: false, bypassRls: false, connectionLimit: -1, memberOf: [] };
        f.postgres.databases[app] = { owner: ownerRole(app), connectionLimit: -1, encoding: "UTF8", acl: [] };
        f.namespaces[app] = [
            { apiVersion: "v1", kind: "ServiceAccount", name: app },
            { apiVersion: `${VSO_GROUP}/${VSO_VERSION}`, kind: "VaultAuth", name: app, spec: { kubernetes: { role: app, serviceAccount: app }, method: "kubernetes", mount: "kubernetes" } },
            { apiVersion: `${VSO_GROUP}/${VSO_VERSION}`, kind: "VaultDynamicSecret", name: `${app}-db`, spec: { destination: { create: true, name: `${app}-db-credentials` }, mount: "database", path: `creds/${app}`, vaultAuthRef: app } },
        ];
        if (publicApps.includes(app)) {
            f.dnsRecords[app] = { id: `REPLACE-ME-${app}-record-id`, type: "CNAME", name: `${app}.${ZONE}`, content: "REPLACE-ME.cfargotunnel.com", proxied: true, ttl: 1 };
        }
    }
    return f;
}

/** The facts the replica is built from: the committed facts/prod.json, else the seeds' stand-in. */
export function replicaSourceFacts(root: string, instances: string[], publicApps: string[]): { facts: ProdFacts; from: string } {
    if (fs.existsSync(path.join(root, FACTS_FILE))) return { facts: readFacts(root), from: FACTS_FILE };
    return { facts: seedStandInFacts(instances, publicApps), from: "the seeds' stand-in (test/helpers/prod-replica.ts; no facts/prod.json committed)" };
}

/** What the replica could not take as is, and what it took instead. */
export interface ReplicaMapping {
    /** Prod's PostgreSQL host:port in the connections' URLs -> the replica's. */
    postgres: [string, string];
    /** Record ids and the tunnel: placeholders replaced by generated values. */
    recordIds: Record<string, string>;
    tunnel: string;
    zoneId: string;
}

export interface Replica {
    facts: ProdFacts;
    mapping: ReplicaMapping;
    pg: PostgresServer;
    vault: OpenBaoPersistent;
    vaultToken: string;
    kube: FakeClusterApi;
    cloudflare: FakeCloudflare;
    sshd: Record<string, FakeSshd>;
    /** Passwords the replica gave its login roles (pg-applier's): for the Vault connections. */
    passwords: Map<string, string>;
    dir: string;
    /** The endpoints file for `discover --endpoints` (every endpoint on loopback). */
    endpointsFile: string;
    /** The environment discover needs (the replica's tokens, never prod's). */
    env: NodeJS.ProcessEnv;
    /** A string of prod (a URL...) with prod's PostgreSQL address replaced by the replica's. */
    mapAddress(s: string): string;
    stop(): Promise<void>;
}

function helmReleaseSecret(ns: string, name: string, chart: string, version: string, values: unknown, status: string, revision: number) {
    const rls = { name, namespace: ns, version: revision, info: { status, description: status === "deployed" ? "Upgrade complete" : "Superseded" }, chart: { metadata: { name: chart, version, apiVersion: "v2" }, values: { fromChart: true } }, config: values, manifest: "---\n" };
    return {
        apiVersion: "v1", kind: "Secret", type: HELM_SECRET_TYPE,
        metadata: { name: helmSecretName(name, revision), namespace: ns, labels: { name, owner: "helm", status, version: String(revision) } },
        data: { release: Buffer.from(encodeRelease(rls)).toString("base64") },
    };
}

/** A self-signed CA certificate (openssl), standing in for the cluster's CA that Vault reads in its pod. */
function selfSignedCa(dir: string): string {
    const r = spawnSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", path.join(dir, "ca.key"), "-subj", "/CN=k3s-server-ca", "-days", "1"], { encoding: "utf8", timeout: 20_000 });
    if (r.status !== 0) throw new Error(`openssl could not make the replica's cluster CA: ${r.stderr ?? r.error}`);
    return r.stdout;
}

/** Initialises and unseals a persistent OpenBao server; waits until it is active. */
async function initVault(v: OpenBaoPersistent): Promise<string> {
    const init = await v.call("PUT", "sys/init", { secret_shares: 1, secret_threshold: 1 }, null);
    await v.call("PUT", "sys/unseal", { key: init.keys_base64[0] }, null);
    const deadline = Date.now() + 30_000;
    for (;;) {
        const h = await v.request("GET", "sys/health", undefined, null);
        if (h.status === 200) return init.root_token;
        if (Date.now() > deadline) throw new Error(`OpenBao did not become active: ${h.status} ${JSON.stringify(h.body)}\n${v.logTail()}`);
        await new Promise((r) => setTimeout(r, 200));
    }
}

/** "grantee=privs/grantor" -> GRANT statements on a database (a superuser's GRANT is recorded as the owner's). */
function aclGrants(db: string, acl: string[]): string[] {
    const names: Record<string, string> = { C: "CREATE", T: "TEMPORARY", c: "CONNECT" };
    const out = [`REVOKE ALL ON DATABASE ${quoteIdent(db)} FROM PUBLIC`];
    for (const item of acl) {
        const m = /^("?)(.*)\1=([CTc*]*)\/(.+)$/.exec(item);
        if (!m) throw new Error(`database ${db}: ACL item ${item} is not grantee=privileges/grantor`);
        const privs = [...m[3].replace(/\*/g, "")].map((p) => names[p]);
        if (!privs.length) continue;
        out.push(`GRANT ${privs.join(", ")} ON DATABASE ${quoteIdent(db)} TO ${m[2] === "" ? "PUBLIC" : quoteIdent(m[2])}`);
    }
    return out;
}

const clone = <T>(x: T): T => JSON.parse(JSON.stringify(x));

/** Builds the replica of `facts` (PostgreSQL is reset first: the run's server is shared with other suites). */
export async function buildReplica(pg: PostgresServer, source: ProdFacts): Promise<Replica> {
    const facts = clone(source);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "prod-replica-"));
    const started: (() => Promise<void>)[] = [];
    const mapping: ReplicaMapping = {
        postgres: [PROD_POSTGRES, `127.0.0.1:${pg.port}`], recordIds: {},
        tunnel: `${crypto.randomUUID()}.cfargotunnel.com`, zoneId: crypto.randomBytes(16).toString("hex"),
    };
    const mapAddress = (s: string) => s.split(mapping.postgres[0]).join(mapping.postgres[1]);
    try {
        // PostgreSQL: the roles and databases, with the provider's own SQL, then the ACLs
        await resetServer(pg);
        const iac: PlanResource[] = [];
        const base = { parent: null, provider: null, protect: false, import: null, retainOnDelete: false };
        for (const [name, r] of Object.entries(facts.postgres.roles)) {
            if (name === "postgres") continue;
            iac.push({ ...base, urn: `tofu::postgresql_role.${name}`, type: "postgresql:index/role:Role", name, dependsOn: r.memberOf.map((m) => `tofu::postgresql_role.${m}`), inputs: {
                name, login: r.login, superuser: r.superuser, createDatabase: r.createdb, createRole: r.createrole, inherit: r.inherit, replication: r.replication,
                bypassRowLevelSecurity: r.bypassRls, connectionLimit: r.connectionLimit, roles: r.memberOf,
                ...(r.login ? { password: crypto.randomBytes(18).toString("base64url") } : {}),
            } });
        }
        for (const [name, d] of Object.entries(facts.postgres.databases)) {
            if (name === "postgres" || name === "template1") continue;
            iac.push({ ...base, urn: `tofu::postgresql_database.${name}`, type: "postgresql:index/database:Database", name, dependsOn: [`tofu::postgresql_role.${d.owner}`], inputs: { name, owner: d.owner, connectionLimit: d.connectionLimit, encoding: d.encoding } });
        }
        const applied = await applyPlan(pg, iac);
        const c = await pg.superuser("postgres");
        try {
            for (const [name, d] of Object.entries(facts.postgres.databases)) {
                if (d.acl.length) for (const sql of aclGrants(name, d.acl)) await c.query(sql);
            }
        } finally {
            await c.end();
        }
        const passwords = new Map(applied.passwords);
        passwords.set("postgres", pg.superuserPassword);

        // Vault (OpenBao): the facts' objects, through Vault's API
        const vault = await startOpenBaoPersistent();
        started.push(() => vault.stop());
        const token = await initVault(vault);
        const w = (p: string, body: unknown) => vault.call("POST", p, body, token);
        for (const [p, m] of Object.entries(facts.vault.mounts)) await w(`sys/mounts/${p}`, { type: m.type, description: m.description ?? "", options: m.options ?? {} });
        for (const [p, a] of Object.entries(facts.vault.auth)) await w(`sys/auth/${p}`, { type: a.type, description: a.description ?? "" });
        for (const [p, k] of Object.entries(facts.vault.kubernetesAuth)) {
            const config = { ...k.config };
            if (!config.kubernetes_ca_cert && config.disable_local_ca_jwt !== true) config.kubernetes_ca_cert = selfSignedCa(dir);
            await w(`auth/${p}/config`, config);
            for (const [role, body] of Object.entries(k.roles)) await w(`auth/${p}/role/${role}`, body);
        }
        for (const [name, text] of Object.entries(facts.vault.policies)) {
            if (name === "default") continue;
            await vault.call("PUT", `sys/policy/${name}`, { policy: text }, token);
        }
        for (const [mount, db] of Object.entries(facts.vault.database)) {
            for (const [name, conn] of Object.entries(db.connections)) {
                const password = passwords.get(conn.username);
                if (password === undefined) throw new Error(`Vault connection ${mount}/config/${name} logs in as ${conn.username}, a role the replica has no password for`);
                await w(`${mount}/config/${name}`, { ...conn, connection_url: mapAddress(conn.connection_url), password });
            }
            for (const [name, role] of Object.entries(db.roles)) await w(`${mount}/roles/${name}`, role);
        }

        // Kubernetes API: Helm's release Secrets and the app namespaces' objects
        const kube = new FakeClusterApi();
        await kube.start();
        started.push(() => kube.stop());
        kube.objects.set("/api/v1/namespaces/kube-system", namespace("kube-system", KUBE_SYSTEM_UID));
        const byNs = new Map<string, unknown[]>();
        for (const [key, r] of Object.entries(facts.helmReleases)) {
            const [ns, name] = key.split("/");
            const secrets = byNs.get(ns) ?? [];
            secrets.push(helmReleaseSecret(ns, name, r.chart, "0.0.1-older", { older: true }, "superseded", 1));
            secrets.push(helmReleaseSecret(ns, name, r.chart, r.version, r.values, "deployed", 2));
            byNs.set(ns, secrets);
        }
        for (const [ns, items] of byNs) kube.objects.set(`/api/v1/namespaces/${ns}/secrets`, list("Secret", "v1", items));
        for (const [ns, objs] of Object.entries(facts.namespaces)) {
            const sas = [{ apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "default", namespace: ns, uid: `sa-default-${ns}` } }];
            for (const o of objs.filter((x) => x.kind === "ServiceAccount")) sas.push({ apiVersion: "v1", kind: "ServiceAccount", metadata: { name: o.name, namespace: ns, uid: `sa-${ns}-${o.name}` }, ...(o.spec ?? {}) });
            kube.objects.set(`/api/v1/namespaces/${ns}/serviceaccounts`, list("ServiceAccount", "v1", sas));
            for (const { kind, plural } of VSO_KINDS) {
                const items = objs.filter((x) => x.kind === kind).map((o) => ({ apiVersion: o.apiVersion, kind, metadata: { name: o.name, namespace: ns, uid: `${plural}-${o.name}`, generation: 1 }, spec: o.spec, status: { valid: true } }));
                kube.objects.set(`/apis/${VSO_GROUP}/${VSO_VERSION}/namespaces/${ns}/${plural}`, list(kind, `${VSO_GROUP}/${VSO_VERSION}`, items));
            }
        }

        // Cloudflare and the Pis' SSH servers
        const cloudflare = new FakeCloudflare();
        await cloudflare.start();
        started.push(() => cloudflare.stop());
        const records = [
            { id: crypto.randomBytes(16).toString("hex"), type: "MX", name: ZONE, content: "mx.zoho.eu", proxied: false, ttl: 3600 },
            { id: crypto.randomBytes(16).toString("hex"), type: "CNAME", name: ZONE, content: mapping.tunnel, proxied: true, ttl: 1 },
        ];
        for (const [app, r] of Object.entries(facts.dnsRecords)) {
            const id = r.id.includes("REPLACE-ME") ? crypto.randomBytes(16).toString("hex") : r.id;
            mapping.recordIds[app] = id;
            records.push({ ...r, id, content: r.content.includes("REPLACE-ME") ? mapping.tunnel : r.content });
        }
        cloudflare.zones.push({ id: mapping.zoneId, name: ZONE, records }, { id: "0".repeat(32), name: "example.org", records: [] });
        const sshd: Record<string, FakeSshd> = {};
        for (const pi of ["pi1", "pi2", "pi3"]) {
            const s = new FakeSshd();
            await s.start();
            sshd[pi] = s;
            started.push(() => s.stop());
        }

        const kubeconfig = path.join(dir, "replica.kubeconfig");
        fs.writeFileSync(kubeconfig, kube.kubeconfig());
        const endpointsFile = path.join(dir, "endpoints.json");
        fs.writeFileSync(endpointsFile, JSON.stringify({
            kubeconfig, vault: vault.addr, postgres: `127.0.0.1:${pg.port}`, cloudflare: cloudflare.url,
            ssh: Object.fromEntries(Object.entries(sshd).map(([n, s]) => [n, `127.0.0.1:${s.port}`])),
        }, null, 2));
        return {
            facts, mapping, pg, vault, vaultToken: token, kube, cloudflare, sshd, passwords, dir, endpointsFile, mapAddress,
            env: { VAULT_TOKEN: token, PGPASSWORD: pg.superuserPassword, PGUSER: "postgres", CLOUDFLARE_API_TOKEN: cloudflare.token, HOME: dir },
            async stop() {
                for (const f of started.reverse()) await f().catch(() => undefined);
                fs.rmSync(dir, { recursive: true, force: true });
                await resetServer(pg).catch(() => undefined);
            },
        };
    } catch (e) {
        for (const f of started.reverse()) await f().catch(() => undefined);
        fs.rmSync(dir, { recursive: true, force: true });
        throw e;
    }
}
