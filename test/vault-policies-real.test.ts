// The apps' Vault policies and Kubernetes-auth roles enforced by a real Vault API server (OpenBao):
// prod's plan with an in-cluster sibling (erp: prod, sandbox) applied with the provider's calls
// (test/helpers/vault-applier.ts); each app logs in with a service-account token of its namespace,
// which the server reviews against a loopback Kubernetes API (test/helpers/token-review.ts:
// authentication.k8s.io/v1 TokenReview). The token it gets reads its own database/creds/<instance>
// (a credential that really logs in to its own database) and nothing of a sibling's, and writes
// nothing. In CI these tests never skip. Relies on OpenBao's Kubernetes auth, ACL and default policy
// behaving as Vault 1.21.1's (docs/architecture.md, "Testing against a real Vault API").
import { strict as assert } from "assert";
import { Client } from "pg";
import { instanceNames, InstanceNames } from "../components/naming";
import { PlanDocument } from "../tools/plan-types";
import { useOpenBao } from "./helpers/openbao";
import { applyPlan, resetServer } from "./helpers/pg-applier";
import { programPlanOf, projectApps } from "./helpers/plan";
import { usePostgres } from "./helpers/postgres-server";
import { TokenReviewApi } from "./helpers/token-review";
import { applyVault, unapplyVault, VaultCredentials } from "./helpers/vault-applier";

const withSibling = (): Record<string, Record<string, unknown>> => {
    const apps = projectApps();
    apps.erp = { ...apps.erp, envs: ["prod", "sandbox"] };
    return apps;
};

describe("Vault policies enforced by a real Vault API server (OpenBao), through Kubernetes auth", function () {
    this.timeout(180_000);
    const pg = usePostgres();
    const bao = useOpenBao();
    const k8s = new TokenReviewApi();
    let plan: PlanDocument;
    let instances: InstanceNames[];
    let vault: VaultCredentials;

    /** The role's bound service account and namespace, as the plan says. */
    const boundTo = (n: InstanceNames) => {
        const r = plan.resources.find((x) => x.type === "vault:kubernetes/authBackendRole:AuthBackendRole" && x.inputs.roleName === n.kubernetesAuthRole)!;
        assert.ok(r, `a Kubernetes-auth role ${n.kubernetesAuthRole} in the plan`);
        return { namespace: (r.inputs.boundServiceAccountNamespaces as string[])[0], name: (r.inputs.boundServiceAccountNames as string[])[0] };
    };
    const login = (role: string, jwt: string) => bao().request("POST", "auth/kubernetes/login", { role, jwt }, null);
    /** An app's Vault token: the service account its role is bound to logs in. */
    const appToken = async (n: InstanceNames): Promise<string> => {
        const sa = boundTo(n);
        const r = await login(n.kubernetesAuthRole, k8s.issue(sa.namespace, sa.name).jwt);
        assert.equal(r.status, 200, `${n.instance} login: ${JSON.stringify(r.body)}`);
        assert.deepEqual(r.body.auth.policies.filter((p: string) => p !== "default"), [n.vaultPolicy]);
        return r.body.auth.client_token;
    };

    before(async function () {
        this.timeout(300_000);
        await k8s.start();
        // the program's definitions: prod with every migration on (a new sibling needs the database contract)
        plan = programPlanOf("prod", { "homelab:apps": withSibling() });
        instances = plan.resources.filter((r) => r.type === "lab:apps:AppInstance").map((r) => instanceNames(r.inputs.app as string, r.inputs.env as string));
        assert.ok(instances.some((n) => n.instance === "erp") && instances.some((n) => n.instance === "erp-sandbox"));
        await unapplyVault(bao(), bao().rootToken, plan.resources);
        await resetServer(pg());
        const applied = await applyPlan(pg(), plan.resources);
        await applyVault(bao(), bao().rootToken, plan.resources, {
            postgres: { host: pg().host, port: pg().port }, passwords: applied.passwords, kubernetesHost: k8s.url, kubernetesCaCert: k8s.caCert,
        });
        vault = new VaultCredentials(bao(), bao().rootToken, VaultCredentials.databasesOf(plan.resources));
    });

    after(async () => {
        await k8s.stop();
        try {
            await unapplyVault(bao(), bao().rootToken, plan.resources);
            await resetServer(pg());
        } catch {
            // a server did not start
        }
    });

    it("each app's token reads its own database credentials, which log in to its own database; the server asked the TokenReview API", async () => {
        for (const n of instances) {
            const before = k8s.reviews.length;
            const token = await appToken(n);
            assert.equal(k8s.reviews.length, before + 1, "one TokenReview per login");
            assert.deepEqual(k8s.reviews.at(-1), { bearerKnown: true, authenticated: true, ...boundTo(n) });
            const cred = await vault.issue(n.databaseSecretsRole, token);
            const c = new Client(pg().config(cred.username, cred.password, n.database));
            await c.connect();
            assert.equal((await c.query("SELECT current_user AS u")).rows[0].u, n.ownerRole);
            await c.end();
            await vault.revoke(cred);
        }
    });

    it("no app's token reads a sibling's credentials or secrets, in this stack or its sibling env", async () => {
        for (const n of instances) {
            const token = await appToken(n);
            for (const other of instances) {
                if (other.instance === n.instance) continue;
                const creds = await bao().request("GET", `database/creds/${other.databaseSecretsRole}`, undefined, token);
                assert.equal(creds.status, 403, `${n.instance} -> database/creds/${other.databaseSecretsRole}: ${JSON.stringify(creds.body)}`);
                const kv = await bao().request("GET", `apps/data/${other.instance}`, undefined, token);
                assert.equal(kv.status, 403, `${n.instance} -> apps/data/${other.instance}`);
            }
        }
        // the in-cluster sibling, by name: erp and erp-sandbox are strangers to each other
        const erp = instances.find((x) => x.instance === "erp")!;
        const sandbox = instances.find((x) => x.instance === "erp-sandbox")!;
        assert.equal((await bao().request("GET", "database/creds/erp", undefined, await appToken(sandbox))).status, 403);
        assert.equal((await bao().request("GET", "database/creds/erp-sandbox", undefined, await appToken(erp))).status, 403);
    });

    it("an app's token writes nothing: not its secrets, its database role or connection, its policy, nor revoke a lease of another", async () => {
        for (const n of instances) {
            const token = await appToken(n);
            // reading its own secrets is allowed (KV v2 at apps/, one folder per instance), writing them is not
            assert.equal((await bao().request("GET", `apps/data/${n.instance}`, undefined, token)).status, 404, "absent: 404, not 403");
            await bao().call("POST", `apps/data/${n.instance}/config`, { data: { greeting: `hello ${n.instance}` } });
            const own = await bao().request("GET", `apps/data/${n.instance}/config`, undefined, token);
            assert.equal(own.status, 200);
            assert.deepEqual(own.body.data.data, { greeting: `hello ${n.instance}` });
            const sibling0 = instances.find((o) => o.instance !== n.instance)!;
            assert.equal((await bao().request("GET", `apps/data/${sibling0.instance}/config`, undefined, token)).status, 403);
            const writes: [string, string, unknown][] = [
                ["POST", `apps/data/${n.instance}`, { data: { k: "v" } }],
                ["POST", `database/roles/${n.databaseSecretsRole}`, { db_name: n.instance, creation_statements: ["SELECT 1"] }],
                ["POST", `database/config/${n.instance}`, { plugin_name: "postgresql-database-plugin" }],
                ["POST", `database/rotate-root/${n.instance}`, {}],
                ["PUT", `sys/policies/acl/${n.vaultPolicy}`, { policy: 'path "*" { capabilities = ["sudo"] }' }],
                ["POST", `auth/kubernetes/role/${n.kubernetesAuthRole}`, { bound_service_account_names: ["*"] }],
                ["DELETE", `sys/mounts/database`, undefined],
            ];
            for (const [method, path, body] of writes) {
                const r = await bao().request(method, path, body, token);
                assert.equal(r.status, 403, `${n.instance}: ${method} ${path} -> ${r.status}`);
            }
            // a sibling's live credential: its lease cannot be revoked with this token. Renewing it, given
            // its lease id, is allowed: the built-in `default` policy every token gets (the roles do not set
            // token_no_default_policy) grants update on sys/leases/renew, in Vault and OpenBao alike
            // (hashicorp/vault vault/policy_store.go defaultPolicy; openbao/openbao v2.6.2
            // vault/policy/policy_store.go). A renewal discloses nothing and stops at the role's max_ttl.
            const sibling = instances.find((o) => o.instance !== n.instance)!;
            const other = await vault.issue(sibling.databaseSecretsRole);
            assert.equal((await bao().request("PUT", "sys/leases/revoke", { lease_id: other.leaseId }, token)).status, 403);
            const renewed = await bao().request("PUT", "sys/leases/renew", { lease_id: other.leaseId }, token);
            assert.equal(renewed.status, 200, "the default policy's lease renewal");
            assert.equal(renewed.body.data, null, "a renewal returns no credential");
            await vault.revoke(other);
        }
    });

    it("a login is refused for a service account or namespace the role is not bound to, and for a token the API no longer accepts", async () => {
        const erp = instances.find((x) => x.instance === "erp")!;
        const sandbox = instances.find((x) => x.instance === "erp-sandbox")!;
        // the sibling env's service account against erp's role
        const sb = boundTo(sandbox);
        let r = await login(erp.kubernetesAuthRole, k8s.issue(sb.namespace, sb.name).jwt);
        assert.equal(r.status, 403, JSON.stringify(r.body));
        // erp's service account name in another namespace
        r = await login(erp.kubernetesAuthRole, k8s.issue(sb.namespace, boundTo(erp).name).jwt);
        assert.equal(r.status, 403, JSON.stringify(r.body));
        // another service account in erp's namespace
        r = await login(erp.kubernetesAuthRole, k8s.issue(boundTo(erp).namespace, "default").jwt);
        assert.equal(r.status, 403, JSON.stringify(r.body));
        // the right service account, but its token was revoked: the TokenReview says so
        const tok = k8s.issue(boundTo(erp).namespace, boundTo(erp).name);
        k8s.revoke(tok);
        r = await login(erp.kubernetesAuthRole, tok.jwt);
        assert.notEqual(r.status, 200, JSON.stringify(r.body));
        assert.match(JSON.stringify(r.body.errors), /lookup failed|unauthorized|permission denied/i);
    });
});
