// A test-only applier of a plan's Vault resources, against the real Vault API server of
// openbao.ts: for each resource type the plans use, the HTTP calls terraform-provider-vault v5.8.0
// makes to create it (the version @pulumi/vault 7.8.0 bridges), read at that tag in
// hashicorp/terraform-provider-vault and cited at each function; the request bodies follow the
// structs of the provider's Vault API client (its go.mod pins hashicorp/vault/api v1.22.0; read here
// in the stored versions of api/sys_mounts.go MountInput, api/sys_auth.go EnableAuthOptions,
// api/sys_policy.go PutPolicy), with empty `omitempty` fields left out as the client leaves them out. A `vault:*` type the
// applier does not know is an error: add it from the provider's source before the program uses it.
//
// What differs from a real `pulumi up`, on purpose, and only in values, never in the calls:
// - the plan's PostgreSQL address (the data host, e.g. 192.168.1.202:5432) becomes the test server's
//   127.0.0.1:<port> (`postgres`), and the connection's password, a secret the plan cannot show, is
//   the one pg-applier.ts gave the role (`passwords`);
// - the Kubernetes auth backend's kubernetes_host becomes the loopback TokenReview endpoint of the
//   test (`kubernetesHost`), and that endpoint's CA is given as kubernetes_ca_cert in place of the
//   file Vault's pod would have mounted (`kubernetesCaCert`, see there).
// A non-loopback address left in a request is refused before it is sent.
import { PlanResource, SECRET_PLACEHOLDER } from "../../tools/plan-types";
import { OpenBaoServer } from "./openbao";
import { dependencyOrder } from "./pg-applier";

type Inputs = Record<string, unknown>;
const str = (i: Inputs, k: string, dflt = ""): string => (typeof i[k] === "string" ? (i[k] as string) : dflt);
const bool = (i: Inputs, k: string, dflt: boolean): boolean => (typeof i[k] === "boolean" ? (i[k] as boolean) : dflt);
const int = (i: Inputs, k: string, dflt: number): number => (typeof i[k] === "number" ? (i[k] as number) : dflt);
const strs = (i: Inputs, k: string): string[] => (Array.isArray(i[k]) ? (i[k] as string[]) : []);

/** One HTTP call of Vault's API, as the provider makes it. */
export interface VaultCall {
    resource: string;
    method: "POST" | "PUT";
    /** The API path below /v1/. */
    path: string;
    body: Record<string, unknown>;
}

export interface VaultApplyOptions {
    /** Where the plan's PostgreSQL server is, for the tests: the test server on loopback. */
    postgres?: { host: string; port: number };
    /** Passwords of PostgreSQL roles whose plan password is a secret placeholder (pg-applier's). */
    passwords?: Map<string, string>;
    /** The Kubernetes API the auth backend asks (a loopback TokenReview endpoint). */
    kubernetesHost?: string;
    /**
     * The Kubernetes API's CA certificate, sent as kubernetes_ca_cert when the plan leaves it to the
     * pod: with disable_local_ca_jwt false and no kubernetes_ca_cert, Vault reads the CA its pod has
     * mounted (/var/run/secrets/kubernetes.io/serviceaccount/ca.crt; openbao/openbao
     * internal/builtin/credential/kubernetes/backend.go updateTLSConfig, loadConfig), and refuses the
     * config when the file is missing. No pod here: the test's API CA stands in for that file.
     */
    kubernetesCaCert?: string;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/;

/** The plan's connection URL with its host:port replaced by the test server's; only loopback comes out. */
export function mapConnectionUrl(url: string, postgres: { host: string; port: number } | undefined, urn: string): string {
    const m = /^(postgres(?:ql)?:\/\/[^@/]*@)([^/:?]+)(?::(\d+))?(\/.*)?$/.exec(url);
    if (!m) throw new Error(`${urn}: connection_url ${JSON.stringify(url)} is not postgresql://user:pass@host[:port]/db`);
    const host = postgres ? postgres.host : m[2];
    const port = postgres ? String(postgres.port) : m[3] ?? "5432";
    if (!LOOPBACK.test(host)) throw new Error(`${urn}: refusing connection_url host ${host}: the tests reach loopback only (map it with the postgres option)`);
    return `${m[1]}${host}:${port}${m[4] ?? ""}`;
}

function assertLoopbackUrl(u: string, what: string): void {
    let host: string;
    try {
        host = new URL(u).hostname;
    } catch {
        throw new Error(`${what}: ${JSON.stringify(u)} is not a URL`);
    }
    if (!LOOPBACK.test(host)) throw new Error(`${what}: refusing ${u}: the tests reach loopback only`);
}

/**
 * The calls the provider makes to create one resource (pure: no server). `undefined` for the
 * provider resource itself (no call); an unknown type throws.
 */
export function vaultCallsOf(r: PlanResource, opts: VaultApplyOptions = {}): VaultCall[] | undefined {
    const i = r.inputs;
    const at = (method: VaultCall["method"], path: string, body: Record<string, unknown>): VaultCall => ({ resource: r.urn, method, path, body });
    switch (r.type) {
        case "pulumi:providers:vault":
            return undefined;
        case "vault:index/mount:Mount": {
            // vault/resource_mount.go@v5.8.0 mountWrite -> createMount: client.Sys().MountWithContext(path, MountInput),
            // i.e. POST /v1/sys/mounts/<path> (api/sys_mounts.go). TTLs are sent as "%ds" of the
            // (computed, so 0 when unset) seconds: 0 is the system default.
            const path = str(i, "path");
            if (!path) throw new Error(`${r.urn}: a mount without a path`);
            const body: Record<string, unknown> = {
                type: str(i, "type"),
                description: str(i, "description"),
                config: {
                    default_lease_ttl: `${int(i, "defaultLeaseTtlSeconds", 0)}s`,
                    max_lease_ttl: `${int(i, "maxLeaseTtlSeconds", 0)}s`,
                    force_no_cache: false,
                },
                local: bool(i, "local", false),
                seal_wrap: bool(i, "sealWrap", false),
                external_entropy_access: bool(i, "externalEntropyAccess", false),
                options: (i.options as Record<string, string> | undefined) ?? {},
            };
            for (const k of ["auditNonHmacRequestKeys", "auditNonHmacResponseKeys", "allowedManagedKeys", "passthroughRequestHeaders", "allowedResponseHeaders", "delegatedAuthAccessors", "listingVisibility", "pluginVersion", "identityTokenKey"]) {
                if (i[k] !== undefined) throw new Error(`${r.urn}: mount input ${k} is not implemented by the applier (resource_mount.go createMount)`);
            }
            return [at("POST", `sys/mounts/${path}`, body)];
        }
        case "vault:index/authBackend:AuthBackend": {
            // vault/resource_auth_backend.go@v5.8.0 authBackendWrite: Sys().EnableAuthWithOptionsWithContext(path,
            // EnableAuthOptions{Type, Description, Local, Config{}}) = POST /v1/sys/auth/<path> (path defaults to the
            // type); authBackendUpdate tunes only when `tune` is set (or on an update).
            const type = str(i, "type");
            const path = str(i, "path") || type;
            if (i.tune !== undefined) throw new Error(`${r.urn}: auth backend tune is not implemented by the applier (resource_auth_backend.go authBackendUpdate)`);
            return [at("POST", `sys/auth/${path}`, {
                type, description: str(i, "description"), config: {}, local: bool(i, "local", false), seal_wrap: false, external_entropy_access: false,
            })];
        }
        case "vault:index/policy:Policy": {
            // vault/resource_policy.go@v5.8.0 policyWrite: client.Sys().PutPolicy(name, policy) =
            // PUT /v1/sys/policies/acl/<name> {"policy": ...} (api/sys_policy.go).
            return [at("PUT", `sys/policies/acl/${str(i, "name")}`, { policy: str(i, "policy") })];
        }
        case "vault:kubernetes/authBackendConfig:AuthBackendConfig": {
            // vault/resource_kubernetes_auth_backend_config.go@v5.8.0 kubernetesAuthBackendConfigCreate:
            // Logical().Write("auth/<backend>/config", data): kubernetes_host always; disable_iss_validation
            // always (d.Get of a computed bool: false when unset); use_annotations_as_alias_metadata always
            // (Vault >= 1.16, d.Get: false); kubernetes_ca_cert, token_reviewer_jwt, pem_keys (joined with ","),
            // issuer and disable_local_ca_jwt only when set (GetOk: a false is not sent).
            const backend = str(i, "backend", "kubernetes").replace(/^\/+|\/+$/g, "");
            let host = str(i, "kubernetesHost");
            if (opts.kubernetesHost) host = opts.kubernetesHost;
            assertLoopbackUrl(host, `${r.urn}: kubernetes_host`);
            const data: Record<string, unknown> = {};
            if (str(i, "kubernetesCaCert")) data.kubernetes_ca_cert = str(i, "kubernetesCaCert");
            else if (opts.kubernetesCaCert) data.kubernetes_ca_cert = opts.kubernetesCaCert; // the pod's ca.crt, see VaultApplyOptions
            if (str(i, "tokenReviewerJwt")) data.token_reviewer_jwt = str(i, "tokenReviewerJwt");
            if (i.pemKeys !== undefined) data.pem_keys = strs(i, "pemKeys").join(",");
            data.kubernetes_host = host;
            if (str(i, "issuer")) data.issuer = str(i, "issuer");
            data.disable_iss_validation = bool(i, "disableIssValidation", false);
            if (bool(i, "disableLocalCaJwt", false)) data.disable_local_ca_jwt = true;
            data.use_annotations_as_alias_metadata = bool(i, "useAnnotationsAsAliasMetadata", false);
            return [at("POST", `auth/${backend}/config`, data)];
        }
        case "vault:kubernetes/authBackendRole:AuthBackendRole": {
            // vault/resource_kubernetes_auth_backend_role.go@v5.8.0 kubernetesAuthBackendRoleCreate ->
            // kubernetesAuthBackendRoleUpdateFields(create) -> updateTokenFields (vault/auth_token.go):
            // each token_* field when set (GetOk), bound_service_account_names/namespaces when set,
            // bound_service_account_namespace_selector always (d.Get: "" when unset), audience and
            // alias_name_source when set. Logical().Write("auth/<backend>/role/<role_name>", data).
            const backend = str(i, "backend", "kubernetes").replace(/^\/+|\/+$/g, "");
            const data: Record<string, unknown> = {};
            const tokenFields: [string, string][] = [
                ["tokenBoundCidrs", "token_bound_cidrs"], ["tokenPolicies", "token_policies"], ["tokenExplicitMaxTtl", "token_explicit_max_ttl"],
                ["tokenMaxTtl", "token_max_ttl"], ["tokenNoDefaultPolicy", "token_no_default_policy"], ["tokenPeriod", "token_period"],
                ["tokenType", "token_type"], ["tokenTtl", "token_ttl"], ["tokenNumUses", "token_num_uses"], ["aliasMetadata", "alias_metadata"],
            ];
            for (const [k, f] of tokenFields) {
                const v = i[k];
                // GetOk: zero values are not sent, except token_no_default_policy (GetOkExists)
                if (v === undefined || v === "" || v === 0 || (Array.isArray(v) && v.length === 0)) continue;
                if (v === false && k !== "tokenNoDefaultPolicy") continue;
                data[f] = v;
            }
            if (strs(i, "boundServiceAccountNames").length) data.bound_service_account_names = strs(i, "boundServiceAccountNames");
            if (strs(i, "boundServiceAccountNamespaces").length) data.bound_service_account_namespaces = strs(i, "boundServiceAccountNamespaces");
            data.bound_service_account_namespace_selector = str(i, "boundServiceAccountNamespaceSelector");
            if (str(i, "audience")) data.audience = str(i, "audience");
            if (str(i, "aliasNameSource")) data.alias_name_source = str(i, "aliasNameSource");
            return [at("POST", `auth/${backend}/role/${str(i, "roleName")}`, data)];
        }
        case "vault:database/secretBackendConnection:SecretBackendConnection": {
            // vault/resource_database_secret_backend_connection.go@v5.8.0 databaseSecretBackendConnectionCreateOrUpdate
            // -> writeDatabaseSecretConfig -> getDatabaseAPIDataForEngine(postgresql) -> setPostgresDatabaseConnectionData
            // -> setDatabaseConnectionDataWithDisableEscaping -> setDatabaseConnectionDataWithUserPass ->
            // setDatabaseConnectionData: plugin_name (default "postgresql-database-plugin"), connection_url,
            // max_open_connections (schema default 2), username, password (new resource), disable_escaping
            // (d.Get: false), password_authentication (schema default "password", Vault >= 1.14); then
            // verify_connection (GetOkExists) and allowed_roles joined with ",". Path <backend>/config/<name>.
            const pg = i.postgresql as Inputs | undefined;
            if (!pg) throw new Error(`${r.urn}: only postgresql connections are implemented by the applier`);
            for (const k of ["maxIdleConnections", "maxConnectionLifetime", "usernameTemplate", "authType", "serviceAccountJson", "tlsCa", "tlsCertificate", "privateKey", "selfManaged", "pluginName"]) {
                if (pg[k] !== undefined) throw new Error(`${r.urn}: postgresql.${k} is not implemented by the applier (resource_database_secret_backend_connection.go)`);
            }
            for (const k of ["passwordPolicy", "rootRotationStatements", "data", "pluginVersion"]) {
                if (i[k] !== undefined) throw new Error(`${r.urn}: ${k} is not implemented by the applier (resource_database_secret_backend_connection.go)`);
            }
            const username = str(pg, "username");
            let password = str(pg, "password");
            if (password === SECRET_PLACEHOLDER || password === "[unknown]") {
                const known = opts.passwords?.get(username);
                if (known === undefined) throw new Error(`${r.urn}: the password of ${username} is a secret the plan does not show, and no test password was given for it`);
                password = known;
            }
            const data: Record<string, unknown> = {
                // the top-level plugin_name (set by prod's adoption baseline, as discovered) overrides the default
                plugin_name: i.pluginName === undefined ? "postgresql-database-plugin" : str(i, "pluginName"),
                connection_url: mapConnectionUrl(str(pg, "connectionUrl"), opts.postgres, r.urn),
                max_open_connections: int(pg, "maxOpenConnections", 2),
                username,
                disable_escaping: bool(pg, "disableEscaping", false),
                password_authentication: str(pg, "passwordAuthentication", "password"),
            };
            if (password) data.password = password;
            if (typeof i.verifyConnection === "boolean") data.verify_connection = i.verifyConnection;
            if (Array.isArray(i.allowedRoles)) data.allowed_roles = strs(i, "allowedRoles").join(",");
            return [at("POST", `${str(i, "backend").replace(/^\/+|\/+$/g, "")}/config/${str(i, "name")}`, data)];
        }
        case "vault:database/secretBackendRole:SecretBackendRole": {
            // vault/resource_database_secret_backend_role.go@v5.8.0 databaseSecretBackendRoleWrite: db_name and
            // creation_statements always, then each of roleAPIFields that changed (on create: that is set):
            // default_ttl, max_ttl, revocation/rollback/renew statements, credential_config/type.
            // Logical().Write("<backend>/roles/<name>", data).
            const data: Record<string, unknown> = { db_name: str(i, "dbName"), creation_statements: strs(i, "creationStatements") };
            const fields: [string, string][] = [
                ["defaultTtl", "default_ttl"], ["maxTtl", "max_ttl"], ["revocationStatements", "revocation_statements"],
                ["rollbackStatements", "rollback_statements"], ["renewStatements", "renew_statements"],
                ["credentialConfig", "credential_config"], ["credentialType", "credential_type"],
            ];
            for (const [k, f] of fields) if (i[k] !== undefined) data[f] = i[k];
            return [at("POST", `${str(i, "backend").replace(/^\/+|\/+$/g, "")}/roles/${str(i, "name")}`, data)];
        }
        default:
            if (r.type.startsWith("vault:") || r.type.startsWith("pulumi:providers:vault")) {
                throw new Error(`${r.urn}: resource type ${r.type} is not implemented by the Vault applier (add the calls of its terraform-provider-vault v5.8.0 resource file)`);
            }
            return undefined;
    }
}

export interface AppliedVault {
    /** Every call made, in order (passwords redacted), with the server's warnings. */
    calls: (VaultCall & { warnings: string[] })[];
    /** The plan's Vault resources, in the order applied. */
    resources: PlanResource[];
}

/** The plan's `vault:*` resources (and the provider resource). */
export function vaultResources(resources: PlanResource[]): PlanResource[] {
    return resources.filter((r) => r.type.startsWith("vault:") || r.type === "pulumi:providers:vault");
}

/** Applies the plan's Vault resources to the server, in dependency order, as the provider does. */
export async function applyVault(bao: OpenBaoServer, token: string, resources: PlanResource[], opts: VaultApplyOptions = {}): Promise<AppliedVault> {
    const applied: AppliedVault = { calls: [], resources: [] };
    const mine = vaultResources(resources);
    // calls computed for all first: an unknown type fails before anything is written
    const planned = new Map(mine.map((r) => [r.urn, vaultCallsOf(r, opts)]));
    for (const r of dependencyOrder(mine)) {
        applied.resources.push(r);
        for (const c of planned.get(r.urn) ?? []) {
            const res = await bao.request(c.method, c.path, c.body, token);
            const shown = { ...c, body: "password" in c.body ? { ...c.body, password: "[redacted]" } : c.body, warnings: (res.body?.warnings as string[] | undefined) ?? [] };
            applied.calls.push(shown);
            if (res.status >= 400) {
                throw new Error(`${r.urn}: ${c.method} /v1/${c.path} -> ${res.status}: ${JSON.stringify(res.body?.errors ?? res.body)}`);
            }
        }
    }
    return applied;
}

/**
 * Reads back what the server has and compares it with the plan: mounts, auth backends, policies,
 * Kubernetes-auth config and roles, database connections and roles. The differences, as messages
 * (empty when the server has what the plan says).
 */
export async function readBackDifferences(bao: OpenBaoServer, token: string, resources: PlanResource[], opts: VaultApplyOptions = {}): Promise<string[]> {
    const out: string[] = [];
    const eq = (what: string, got: unknown, want: unknown) => {
        if (JSON.stringify(got) !== JSON.stringify(want)) out.push(`${what}: server has ${JSON.stringify(got)}, the plan says ${JSON.stringify(want)}`);
    };
    const get = async (path: string) => {
        const r = await bao.request("GET", path, undefined, token);
        if (r.status !== 200) {
            out.push(`GET ${path} -> ${r.status}`);
            return undefined;
        }
        return r.body.data ?? r.body;
    };
    const sorted = (a: unknown) => (Array.isArray(a) ? [...a].sort() : a);
    for (const r of vaultResources(resources)) {
        const i = r.inputs;
        switch (r.type) {
            case "vault:index/mount:Mount": {
                const m = await get(`sys/mounts/${str(i, "path")}`);
                if (!m) break;
                eq(`mount ${str(i, "path")} type`, m.type, str(i, "type"));
                eq(`mount ${str(i, "path")} description`, m.description, str(i, "description"));
                if (i.options) eq(`mount ${str(i, "path")} options`, m.options, i.options);
                break;
            }
            case "vault:index/authBackend:AuthBackend": {
                const auths = await get("sys/auth");
                const path = `${str(i, "path") || str(i, "type")}/`;
                eq(`auth backend ${path} type`, auths?.[path]?.type, str(i, "type"));
                break;
            }
            case "vault:index/policy:Policy": {
                const p = await get(`sys/policies/acl/${str(i, "name")}`);
                eq(`policy ${str(i, "name")}`, p?.policy, str(i, "policy"));
                break;
            }
            case "vault:kubernetes/authBackendConfig:AuthBackendConfig": {
                const c = await get(`auth/${str(i, "backend", "kubernetes")}/config`);
                eq("kubernetes auth kubernetes_host", c?.kubernetes_host, opts.kubernetesHost ?? str(i, "kubernetesHost"));
                eq("kubernetes auth disable_local_ca_jwt", c?.disable_local_ca_jwt, bool(i, "disableLocalCaJwt", false));
                eq("kubernetes auth disable_iss_validation", c?.disable_iss_validation, bool(i, "disableIssValidation", false));
                break;
            }
            case "vault:kubernetes/authBackendRole:AuthBackendRole": {
                const name = str(i, "roleName");
                const c = await get(`auth/${str(i, "backend", "kubernetes")}/role/${name}`);
                if (!c) break;
                eq(`kubernetes role ${name} bound_service_account_names`, sorted(c.bound_service_account_names), sorted(strs(i, "boundServiceAccountNames")));
                eq(`kubernetes role ${name} bound_service_account_namespaces`, sorted(c.bound_service_account_namespaces), sorted(strs(i, "boundServiceAccountNamespaces")));
                eq(`kubernetes role ${name} token_policies`, sorted(c.token_policies), sorted(strs(i, "tokenPolicies")));
                eq(`kubernetes role ${name} token_ttl`, c.token_ttl, int(i, "tokenTtl", 0));
                break;
            }
            case "vault:database/secretBackendConnection:SecretBackendConnection": {
                const name = str(i, "name");
                const c = await get(`${str(i, "backend")}/config/${name}`);
                if (!c) break;
                const pg = i.postgresql as Inputs;
                eq(`database connection ${name} plugin_name`, c.plugin_name, "postgresql-database-plugin");
                eq(`database connection ${name} allowed_roles`, c.allowed_roles, strs(i, "allowedRoles"));
                eq(`database connection ${name} connection_url`, c.connection_details?.connection_url, mapConnectionUrl(str(pg, "connectionUrl"), opts.postgres, r.urn));
                eq(`database connection ${name} username`, c.connection_details?.username, str(pg, "username"));
                if (c.connection_details && "password" in c.connection_details) out.push(`database connection ${name}: the server shows its password`);
                break;
            }
            case "vault:database/secretBackendRole:SecretBackendRole": {
                const name = str(i, "name");
                const c = await get(`${str(i, "backend")}/roles/${name}`);
                if (!c) break;
                eq(`database role ${name} db_name`, c.db_name, str(i, "dbName"));
                eq(`database role ${name} creation_statements`, c.creation_statements, strs(i, "creationStatements"));
                eq(`database role ${name} revocation_statements`, c.revocation_statements, strs(i, "revocationStatements"));
                eq(`database role ${name} default_ttl`, c.default_ttl, int(i, "defaultTtl", 0));
                eq(`database role ${name} max_ttl`, c.max_ttl, int(i, "maxTtl", 0));
                break;
            }
            default:
                break;
        }
    }
    return out;
}

/**
 * Removes what applyVault made (mounts and auth backends; policies by name), for a fresh apply. A
 * mount's leases are dropped first without asking the database (sys/leases/revoke-force: their
 * PostgreSQL may have been reset since), so that unmounting cannot fail on them.
 */
export async function unapplyVault(bao: OpenBaoServer, token: string, resources: PlanResource[]): Promise<void> {
    const ok = async (method: string, path: string) => {
        const r = await bao.request(method, path, undefined, token);
        if (r.status >= 400 && r.status !== 404) throw new Error(`${method} /v1/${path} -> ${r.status}: ${JSON.stringify(r.body?.errors ?? r.body)}`);
    };
    for (const r of vaultResources(resources)) {
        const i = r.inputs;
        if (r.type === "vault:index/mount:Mount") {
            await ok("PUT", `sys/leases/revoke-force/${str(i, "path")}`);
            await ok("DELETE", `sys/mounts/${str(i, "path")}`);
        }
        if (r.type === "vault:index/authBackend:AuthBackend") await ok("DELETE", `sys/auth/${str(i, "path") || str(i, "type")}`);
        if (r.type === "vault:index/policy:Policy") await ok("DELETE", `sys/policies/acl/${str(i, "name")}`);
    }
}

/** A credential a Vault issued: what database/creds/<role> answers, and its lease. */
export interface IssuedCredential {
    username: string;
    password: string;
    /** The instance's database (the connection's, from the plan). */
    database: string;
    /** The database secrets role. */
    role: string;
    leaseId: string;
    leaseDuration: number;
}

/**
 * Issues and revokes credentials through the server's database secrets engine: GET
 * <mount>/creds/<role> (the path VSO's VaultDynamicSecret reads), PUT sys/leases/revoke.
 */
export class VaultCredentials {
    constructor(readonly bao: OpenBaoServer, readonly token: string, readonly databases: Map<string, string>, readonly mount = "database") {}

    /** The role -> database map of a plan (database secrets role name -> its connection's database). */
    static databasesOf(resources: PlanResource[]): Map<string, string> {
        const connDb = new Map<string, string>();
        for (const r of resources) {
            if (r.type !== "vault:database/secretBackendConnection:SecretBackendConnection") continue;
            const url = str(r.inputs.postgresql as Inputs, "connectionUrl");
            const db = /\/([^/?]+)(\?|$)/.exec(url.replace(/^[a-z]+:\/\/[^/]*/, ""))?.[1] ?? "postgres";
            connDb.set(str(r.inputs, "name"), decodeURIComponent(db));
        }
        const out = new Map<string, string>();
        for (const r of resources) {
            if (r.type !== "vault:database/secretBackendRole:SecretBackendRole") continue;
            out.set(str(r.inputs, "name"), connDb.get(str(r.inputs, "dbName")) ?? "");
        }
        return out;
    }

    async issue(role: string, token = this.token): Promise<IssuedCredential> {
        const r = await this.bao.request("GET", `${this.mount}/creds/${role}`, undefined, token);
        if (r.status !== 200) throw new Error(`GET ${this.mount}/creds/${role} -> ${r.status}: ${JSON.stringify(r.body?.errors ?? r.body)}`);
        const database = this.databases.get(role);
        if (database === undefined) throw new Error(`no database secrets role ${role} in the plan`);
        return { username: r.body.data.username, password: r.body.data.password, database, role, leaseId: r.body.lease_id, leaseDuration: r.body.lease_duration };
    }

    /** Revokes the lease (synchronously: the revocation statements have run when it returns). */
    async revoke(cred: { leaseId: string }): Promise<void> {
        const r = await this.bao.request("PUT", "sys/leases/revoke", { lease_id: cred.leaseId, sync: true }, this.token);
        if (r.status >= 400) throw new Error(`revoking ${cred.leaseId} -> ${r.status}: ${JSON.stringify(r.body?.errors ?? r.body)}`);
    }
}
