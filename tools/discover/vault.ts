// The Vault side of discover: GET and LIST only, with the operator's token (VAULT_TOKEN, sent in
// the X-Vault-Token header, never printed). The endpoints and response shapes are Vault's HTTP API
// (OpenBao keeps them): sys/health (cluster_id), sys/mounts and sys/auth (data.<path>/ -> type,
// description, options), sys/policy (policies) and sys/policy/<name> (rules), auth/<k8s>/config and
// auth/<k8s>/role (LIST) / role/<name>, <db mount>/config (LIST) and config/<name>, <db mount>/roles.
// A database connection's read never returns its password (nor a private key): openbao/openbao
// builtin/logical/database/path_config_connection.go (read at 0ea2ff1), connectionReadHandler:
// delete(config.ConnectionDetails, "password"); nor verify_connection, which is a write-time option
// removed before the configuration is stored (connectionWriteHandler: delete(data.Raw,
// "verify_connection"); DatabaseConfig has no such field). So the facts hold what Vault answers:
// plugin_name, plugin_version, allowed_roles, password_policy, root_credentials_rotate_statements and
// the connection_details but the password (connection_url, username, max_open_connections...).
import { fetchFailure } from "./endpoints";
import { VaultFacts, VaultDatabaseConnectionFacts, VaultDatabaseRoleFacts } from "../../components/facts";

/** Mount types Vault itself makes and the program never manages. */
const SYSTEM_MOUNTS = new Set(["system", "cubbyhole", "identity"]);
const SYSTEM_AUTH = new Set(["token"]);

export class VaultReader {
    constructor(readonly address: string, private readonly token: string, readonly timeoutMs: number) {}

    private async call(method: "GET" | "LIST", path: string, auth = true): Promise<{ status: number; body: any }> {
        const url = `${this.address.replace(/\/+$/, "")}/v1/${path}`;
        let res: Response;
        try {
            res = await fetch(url, {
                method,
                headers: auth ? { "X-Vault-Token": this.token } : {},
                signal: AbortSignal.timeout(this.timeoutMs),
                redirect: "error",
            });
        } catch (e) {
            throw new Error(`Vault at ${this.address}: ${method} ${path}: ${fetchFailure(e, this.timeoutMs)}`);
        }
        const text = await res.text();
        let body: any = {};
        try {
            body = text ? JSON.parse(text) : {};
        } catch {
            body = { raw: text.slice(0, 200) };
        }
        return { status: res.status, body };
    }

    private async ok(method: "GET" | "LIST", path: string): Promise<any> {
        const r = await this.call(method, path);
        if (r.status !== 200) throw new Error(`Vault at ${this.address}: ${method} ${path}: HTTP ${r.status} ${(r.body?.errors ?? []).join("; ")}`);
        return r.body;
    }

    /** LIST: the keys, or [] when there are none (Vault answers 404 to an empty LIST). */
    private async keys(path: string): Promise<string[]> {
        const r = await this.call("LIST", path);
        if (r.status === 404) return [];
        if (r.status !== 200) throw new Error(`Vault at ${this.address}: LIST ${path}: HTTP ${r.status} ${(r.body?.errors ?? []).join("; ")}`);
        return [...(r.body?.data?.keys ?? [])].sort();
    }

    async clusterId(): Promise<string> {
        const r = await this.call("GET", "sys/health?standbyok=true&perfstandbyok=true", false);
        if (!r.body?.cluster_id) throw new Error(`Vault at ${this.address}: sys/health reports no cluster_id (HTTP ${r.status}: sealed or not initialised?)`);
        return r.body.cluster_id;
    }

    async read(): Promise<VaultFacts> {
        const facts: VaultFacts = { mounts: {}, auth: {}, kubernetesAuth: {}, policies: {}, database: {} };
        const mounts = (await this.ok("GET", "sys/mounts")).data ?? {};
        for (const p of Object.keys(mounts).sort()) {
            const m = mounts[p];
            if (SYSTEM_MOUNTS.has(m.type)) continue;
            const path = p.replace(/\/$/, "");
            facts.mounts[path] = { type: m.type, ...(m.description ? { description: m.description } : {}), ...(m.options && Object.keys(m.options).length ? { options: m.options } : {}) };
        }
        const auths = (await this.ok("GET", "sys/auth")).data ?? {};
        for (const p of Object.keys(auths).sort()) {
            const a = auths[p];
            if (SYSTEM_AUTH.has(a.type)) continue;
            const path = p.replace(/\/$/, "");
            facts.auth[path] = { type: a.type, ...(a.description ? { description: a.description } : {}) };
            if (a.type === "kubernetes") {
                const config = (await this.ok("GET", `auth/${path}/config`)).data ?? {};
                const roles: Record<string, Record<string, unknown>> = {};
                for (const role of await this.keys(`auth/${path}/role`)) roles[role] = (await this.ok("GET", `auth/${path}/role/${role}`)).data ?? {};
                facts.kubernetesAuth[path] = { config, roles };
            }
        }
        const policyBody = await this.ok("GET", "sys/policy");
        const names: string[] = [...(policyBody.policies ?? policyBody.data?.policies ?? [])].sort();
        for (const name of names) {
            if (name === "root") continue; // built in, cannot be read or changed
            const p = await this.ok("GET", `sys/policy/${name}`);
            facts.policies[name] = p.rules ?? p.data?.rules ?? "";
        }
        for (const [path, m] of Object.entries(facts.mounts)) {
            if (m.type !== "database") continue;
            const connections: Record<string, VaultDatabaseConnectionFacts> = {};
            for (const name of await this.keys(`${path}/config`)) {
                const d = (await this.ok("GET", `${path}/config/${name}`)).data ?? {};
                const { connection_details: details, ...rest } = d;
                const { password: _dropped, ...safe } = details ?? {};
                connections[name] = { ...rest, ...safe } as VaultDatabaseConnectionFacts;
            }
            const roles: Record<string, VaultDatabaseRoleFacts> = {};
            for (const name of await this.keys(`${path}/roles`)) roles[name] = (await this.ok("GET", `${path}/roles/${name}`)).data as VaultDatabaseRoleFacts;
            facts.database[path] = { connections, roles };
        }
        return facts;
    }
}
