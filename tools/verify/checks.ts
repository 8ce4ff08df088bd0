// The checks of `npm run verify`: read-only, live, one result each. Clients: the official
// Kubernetes client (@kubernetes/client-node), pg for PostgreSQL, plain fetch for Vault and Gitea.
//
// What "healthy" means, upstream:
//   - Node Ready: the NodeCondition of type Ready with status "True" (core/v1 NodeStatus).
//   - Workloads: Deployment status.availableReplicas, StatefulSet status.readyReplicas against
//     spec.replicas; DaemonSet status.numberAvailable against status.desiredNumberScheduled.
//   - Vault: GET /v1/sys/health, unauthenticated: 200 active, 429 standby, 503 sealed,
//     501 not initialised (hashicorp/vault http/sys_health.go); the body has sealed, initialized, cluster_id.
//   - Longhorn: volumes.longhorn.io v1beta2 status.robustness healthy | degraded | faulted | unknown
//     (unknown while detached) (longhorn/longhorn-manager k8s/pkg/apis/longhorn/v1beta2/volume.go).
//   - Argo CD: Application status.sync.status Synced and status.health.status Healthy; otherwise
//     status.conditions[].message says why (argoproj.io_applications.yaml, Argo CD v3.4.4).
//   - PostgreSQL: a database whose CONNECT is revoked from PUBLIC refuses a role without it with
//     SQLSTATE 42501 ("permission denied for database").
//   - Gitea: GET /api/v1/repos/{owner}/{repo}: 200 with `empty`, 404 when absent or not visible.
import * as http from "http";
import * as https from "https";
import { Client } from "pg";
import { TRAEFIK } from "../../components/platform/ingress";
import { LabConfig } from "../../components/config";
import { hasLonghorn, releaseLocation, releasesOf } from "../../components/platform/releases";
import * as naming from "../../components/naming";
import { ChartKey } from "../../components/config";
import { ProdIdentity } from "../../components/config";
import { StackOutputs } from "./outputs";

export type Status = "pass" | "fail" | "skip";

export interface CheckResult {
    name: string;
    status: Status;
    detail: string;
    ms?: number;
}

/** The Kubernetes reads verify makes (an interface, so that a failing client is a failing check). */
export interface KubeReader {
    listNodes(): Promise<any[]>;
    readNamespace(name: string): Promise<any>;
    listWorkloads(namespace: string): Promise<{ kind: string; obj: any }[]>;
    readSecret(namespace: string, name: string): Promise<any>;
    getCustom(group: string, version: string, namespace: string, plural: string, name: string): Promise<any>;
    listCustom(group: string, version: string, namespace: string, plural: string): Promise<any[]>;
    listIngresses(namespace: string): Promise<any[]>;
}

export async function kubeReader(kubeconfig: string): Promise<KubeReader> {
    const k8s = await import("@kubernetes/client-node");
    const kc = new k8s.KubeConfig();
    kc.loadFromString(kubeconfig);
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const apps = kc.makeApiClient(k8s.AppsV1Api);
    const custom = kc.makeApiClient(k8s.CustomObjectsApi);
    const networking = kc.makeApiClient(k8s.NetworkingV1Api);
    return {
        listNodes: async () => (await core.listNode()).items,
        readNamespace: (name) => core.readNamespace({ name }),
        listWorkloads: async (namespace) => {
            const [d, s, ds] = await Promise.all([
                apps.listNamespacedDeployment({ namespace }),
                apps.listNamespacedStatefulSet({ namespace }),
                apps.listNamespacedDaemonSet({ namespace }),
            ]);
            return [
                ...d.items.map((obj) => ({ kind: "Deployment", obj })),
                ...s.items.map((obj) => ({ kind: "StatefulSet", obj })),
                ...ds.items.map((obj) => ({ kind: "DaemonSet", obj })),
            ];
        },
        readSecret: (namespace, name) => core.readNamespacedSecret({ namespace, name }),
        getCustom: (group, version, namespace, plural, name) => custom.getNamespacedCustomObject({ group, version, namespace, plural, name }),
        listIngresses: async (namespace) => (await networking.listNamespacedIngress({ namespace })).items,
        listCustom: async (group, version, namespace, plural) =>
            ((await custom.listNamespacedCustomObject({ group, version, namespace, plural })) as { items: any[] }).items,
    };
}

/**
 * Where each release's workloads run: the namespace the stack configures (prod adopts releases
 * where Ansible put them, homelab:existing.releases: VSO in `tools`), the program's default otherwise.
 */
export function releaseNamespace(cfg: LabConfig, key: ChartKey): string {
    return releaseLocation(cfg, key).namespace;
}

export interface VerifyContext {
    stack: string;
    cfg: LabConfig;
    outputs: StackOutputs;
    kube: KubeReader;
    /** Prod's recorded identities (compared with what is seen). */
    prodIdentity?: ProdIdentity;
    /** A Gitea token for a stack without a bootstrap admin (prod): GITEA_TOKEN. */
    giteaToken?: string;
    fetch: typeof fetch;
    /** Milliseconds each network call may take. */
    timeoutMs: number;
}

/** What one check does: a name, and a function that returns the detail or throws a Failure/Skip. */
export interface Check {
    name: string;
    run(): Promise<string>;
}

export class Failure extends Error {}
export class Skip extends Error {}

const fail = (m: string): never => {
    throw new Failure(m);
};

function errText(e: unknown): string {
    const err = e as { code?: number | string; body?: unknown; message?: string };
    const body = typeof err.body === "string" ? safeJson(err.body) : err.body;
    const reason = (body as { message?: string } | undefined)?.message;
    return reason ?? err.message ?? String(e);
}
function safeJson(s: string): unknown {
    try {
        return JSON.parse(s);
    } catch {
        return { message: s };
    }
}
function isNotFound(e: unknown): boolean {
    const err = e as { code?: number; statusCode?: number };
    return err.code === 404 || err.statusCode === 404;
}

// --- identities ---------------------------------------------------------------------------

export interface SeenIdentities {
    kubeSystemUid?: string;
    vaultClusterId?: string;
    postgresSystemIdentifier?: string;
}

function identityCheck(ctx: VerifyContext, key: keyof ProdIdentity, seen: string): string {
    const recorded = ctx.prodIdentity?.[key];
    if (!recorded) return seen;
    const same = recorded.toLowerCase() === seen.toLowerCase();
    if (ctx.cfg.isProd) {
        return same ? `${seen} (as recorded in Pulumi.prod.yaml)` : fail(`${seen}, but Pulumi.prod.yaml homelab:identity.${key} records ${recorded}: record the real value`);
    }
    return same ? fail(`${seen} is PROD's (Pulumi.prod.yaml homelab:identity.${key}): this stack reaches prod`) : `${seen} (not prod's)`;
}

function pgClient(ctx: VerifyContext, user: string, password: string, database: string): Client {
    const [host, port] = splitEndpoint(ctx.outputs.postgresEndpoint);
    return new Client({ host, port, user, password, database, connectionTimeoutMillis: ctx.timeoutMs, query_timeout: ctx.timeoutMs });
}

export function splitEndpoint(endpoint: string): [string, number] {
    const i = endpoint.lastIndexOf(":");
    return [endpoint.slice(0, i), Number(endpoint.slice(i + 1))];
}

async function vaultHealth(ctx: VerifyContext): Promise<{ status: number; body: any }> {
    const res = await ctx.fetch(`${ctx.outputs.vaultAddress.replace(/\/+$/, "")}/v1/sys/health`, { signal: AbortSignal.timeout(ctx.timeoutMs) });
    return { status: res.status, body: await res.json().catch(() => ({})) };
}

/** GET / with a Host header (what fetch cannot set), the status code. */
export function getWithHost(base: string, host: string, timeoutMs: number): Promise<number> {
    const u = new URL(base);
    const lib = u.protocol === "https:" ? https : http;
    return new Promise((resolve, reject) => {
        const req = lib.request({
            hostname: u.hostname, port: u.port || (u.protocol === "https:" ? 443 : 80), path: "/", method: "GET",
            headers: { Host: host }, timeout: timeoutMs, servername: host,
        }, (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
        });
        req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs / 1000}s`)));
        req.on("error", reject);
        req.end();
    });
}

// --- the checks ---------------------------------------------------------------------------

export function checksFor(ctx: VerifyContext, seen: SeenIdentities): Check[] {
    const { cfg, outputs, kube } = ctx;
    const checks: Check[] = [];

    checks.push({
        name: "identity: cluster (kube-system UID)",
        run: async () => {
            const ns = await kube.readNamespace("kube-system");
            seen.kubeSystemUid = ns.metadata?.uid ?? fail("namespace kube-system has no uid");
            return identityCheck(ctx, "kubeSystemUid", seen.kubeSystemUid!);
        },
    });
    checks.push({
        name: "identity: Vault (cluster_id)",
        run: async () => {
            const h = await vaultHealth(ctx);
            seen.vaultClusterId = h.body.cluster_id ?? fail(`Vault answered HTTP ${h.status} without a cluster_id (not initialised?)`);
            return identityCheck(ctx, "vaultClusterId", seen.vaultClusterId!);
        },
    });
    checks.push({
        name: "identity: Postgres (system_identifier)",
        run: async () => {
            const c = pgClient(ctx, outputs.postgresAdminUser, outputs.postgresAdminPassword, "postgres");
            await c.connect();
            try {
                const r = await c.query<{ id: string }>("SELECT system_identifier::text AS id FROM pg_control_system()");
                seen.postgresSystemIdentifier = r.rows[0].id;
            } finally {
                await c.end().catch(() => undefined);
            }
            return identityCheck(ctx, "postgresSystemIdentifier", seen.postgresSystemIdentifier!);
        },
    });

    checks.push({
        name: "nodes Ready",
        run: async () => {
            const nodes = await kube.listNodes();
            const ready = nodes.filter((n) => (n.status?.conditions ?? []).some((c: any) => c.type === "Ready" && c.status === "True"));
            const notReady = nodes.filter((n) => !ready.includes(n)).map((n) => n.metadata?.name);
            const want = outputs.nodes.length;
            if (nodes.length !== want) fail(`${nodes.length} node(s) in the cluster, the stack declares ${want} (${outputs.nodes.map((n) => n.name).join(", ")})`);
            if (notReady.length) fail(`not Ready: ${notReady.join(", ")} (${ready.length}/${nodes.length} Ready)`);
            return `${ready.length}/${want} Ready`;
        },
    });

    for (const key of releasesOf(cfg)) {
        const namespace = releaseNamespace(cfg, key);
        checks.push({
            name: `release ${naming.shared.releases[key]}: workloads available`,
            run: async () => {
                const w = await kube.listWorkloads(namespace);
                if (w.length === 0) fail(`no Deployment, StatefulSet or DaemonSet in namespace ${namespace}`);
                const short = w.filter(({ kind, obj }) => {
                    const s = obj.status ?? {};
                    if (kind === "Deployment") return (s.availableReplicas ?? 0) < (obj.spec?.replicas ?? 1);
                    if (kind === "StatefulSet") return (s.readyReplicas ?? 0) < (obj.spec?.replicas ?? 1);
                    return (s.numberAvailable ?? 0) < (s.desiredNumberScheduled ?? 0);
                }).map(({ kind, obj }) => `${kind}/${obj.metadata?.name}`);
                if (short.length) fail(`not available in ${namespace}: ${short.join(", ")}`);
                return `${w.length} workload(s) available in ${namespace}`;
            },
        });
    }

    checks.push({
        name: "Vault reachable and unsealed",
        run: async () => {
            const h = await vaultHealth(ctx);
            if (h.body.initialized === false) fail(`Vault at ${outputs.vaultAddress} is not initialised (HTTP ${h.status})`);
            if (h.body.sealed !== false) fail(`Vault at ${outputs.vaultAddress} is sealed (HTTP ${h.status})`);
            return `${outputs.vaultAddress}: unsealed, ${h.status === 200 ? "active" : `HTTP ${h.status}`}, version ${h.body.version ?? "?"}`;
        },
    });

    if (hasLonghorn(cfg)) {
        checks.push({
            name: "Longhorn volumes healthy",
            run: async () => {
                const vols = await kube.listCustom("longhorn.io", "v1beta2", releaseNamespace(cfg, "longhorn"), "volumes");
                const bad = vols.filter((v) => {
                    const r = v.status?.robustness;
                    return !(r === "healthy" || (r === "unknown" && v.status?.state === "detached"));
                }).map((v) => `${v.metadata?.name} (${v.status?.robustness ?? "?"}, ${v.status?.state ?? "?"})`);
                if (bad.length) fail(`not healthy: ${bad.join(", ")}`);
                return `${vols.length} volume(s) healthy or detached`;
            },
        });
    }

    checks.push({
        name: "Traefik (k3s's packaged ingress) available",
        run: async () => {
            const w = (await kube.listWorkloads(TRAEFIK.namespace)).find((x) => x.kind === "Deployment" && x.obj.metadata?.name === TRAEFIK.deployment);
            if (!w) fail(`no Deployment ${TRAEFIK.deployment} in ${TRAEFIK.namespace}: k3s runs without its Traefik (--disable=traefik?)`);
            if ((w!.obj.status?.availableReplicas ?? 0) < (w!.obj.spec?.replicas ?? 1)) fail(`Deployment ${TRAEFIK.namespace}/${TRAEFIK.deployment} is not available`);
            return `${TRAEFIK.namespace}/${TRAEFIK.deployment} available${outputs.ingressUrl ? ` at ${outputs.ingressUrl}` : ""}`;
        },
    });
    for (const a of cfg.apps.filter((x) => x.public)) {
        const n = naming.instanceNames(a.name, a.envs.includes(naming.PROD_ENV) ? naming.PROD_ENV : a.envs[0]);
        checks.push({
            name: `${n.instance}: a route through Traefik`,
            run: async () => {
                if (!outputs.ingressUrl) throw new Skip("the stack has no ingressUrl output");
                const ingresses = await kube.listIngresses(n.namespace);
                const host = ingresses.flatMap((i) => i.spec?.rules ?? []).map((r: any) => r.host).find((h: unknown) => typeof h === "string" && h);
                if (!host) fail(`no Ingress with a host in namespace ${n.namespace}`);
                const status = await getWithHost(outputs.ingressUrl, host!, ctx.timeoutMs);
                if (status === 404) fail(`Traefik at ${outputs.ingressUrl} has no route for Host: ${host} (HTTP 404)`);
                if (status >= 500) fail(`Host: ${host} through ${outputs.ingressUrl}: HTTP ${status} (the backend does not answer)`);
                return `Host: ${host} -> HTTP ${status}`;
            },
        });
    }

    const instances = cfg.apps.flatMap((a) => a.envs.map((env) => ({ app: a.name, env, n: naming.instanceNames(a.name, env) })));
    for (const [i, inst] of instances.entries()) {
        const { n } = inst;
        const sibling = instances.length > 1 ? instances[(i + 1) % instances.length].n : undefined;
        let creds: { username: string; password: string } | undefined;
        checks.push({
            name: `${n.instance}: namespace`,
            run: async () => {
                try {
                    await kube.readNamespace(n.namespace);
                } catch (e) {
                    if (isNotFound(e)) fail(`namespace ${n.namespace} does not exist`);
                    throw e;
                }
                return n.namespace;
            },
        });
        checks.push({
            name: `${n.instance}: database credentials delivered by VSO`,
            run: async () => {
                let s: any;
                try {
                    s = await kube.readSecret(n.namespace, n.dbCredentialsSecret);
                } catch (e) {
                    if (isNotFound(e)) fail(`Secret ${n.namespace}/${n.dbCredentialsSecret} does not exist (see: kubectl -n ${n.namespace} describe vaultdynamicsecret ${n.dynamicSecret})`);
                    throw e;
                }
                const d = s.data ?? {};
                if (!d.username || !d.password) fail(`Secret ${n.namespace}/${n.dbCredentialsSecret} has no username/password keys`);
                creds = { username: Buffer.from(d.username, "base64").toString("utf8"), password: Buffer.from(d.password, "base64").toString("utf8") };
                return `Secret ${n.dbCredentialsSecret} (user ${creds.username})`;
            },
        });
        checks.push({
            name: `${n.instance}: login to its own database`,
            run: async () => {
                if (!creds) throw new Skip("no delivered credentials to try");
                const c = pgClient(ctx, creds.username, creds.password, n.database);
                try {
                    await c.connect();
                    const r = await c.query<{ db: string }>("SELECT current_database() AS db");
                    return `connected to ${r.rows[0].db} as ${creds.username}`;
                } catch (e) {
                    return fail(`${creds.username} cannot use ${n.database}: ${errText(e)}`);
                } finally {
                    await c.end().catch(() => undefined);
                }
            },
        });
        if (sibling) {
            checks.push({
                name: `${n.instance}: refused by ${sibling.instance}'s database`,
                run: async () => {
                    if (!creds) throw new Skip("no delivered credentials to try");
                    const c = pgClient(ctx, creds.username, creds.password, sibling.database);
                    try {
                        await c.connect();
                    } catch (e) {
                        const code = (e as { code?: string }).code;
                        if (code === "42501") return `refused: ${errText(e)}`;
                        return fail(`could not tell: ${errText(e)}${code ? ` (SQLSTATE ${code})` : ""}`);
                    } finally {
                        await c.end().catch(() => undefined);
                    }
                    return fail(`${creds.username} CAN connect to ${sibling.database}: the instance is not isolated`);
                },
            });
        }
        checks.push({
            name: `${n.instance}: Argo CD Application Synced/Healthy`,
            run: async () => {
                let app: any;
                try {
                    app = await kube.getCustom("argoproj.io", "v1alpha1", naming.shared.argoCdNamespace, "applications", n.argoApplication);
                } catch (e) {
                    if (isNotFound(e)) fail(`Application ${naming.shared.argoCdNamespace}/${n.argoApplication} does not exist`);
                    throw e;
                }
                const sync = app.status?.sync?.status ?? "Unknown";
                const health = app.status?.health?.status ?? "Unknown";
                if (sync === "Synced" && health === "Healthy") return "Synced, Healthy";
                const why = (app.status?.conditions ?? []).map((c: any) => `${c.type}: ${c.message}`).join("; ")
                    || app.status?.operationState?.message || app.status?.health?.message || "no reason given";
                return fail(`${sync}, ${health}: ${why}`);
            },
        });
    }

    const org = outputs.giteaOrg || cfg.giteaOrg;
    for (const a of cfg.apps) {
        checks.push({
            name: `gitea: repository ${org}/${a.name}`,
            run: async () => {
                const headers: Record<string, string> = {};
                if (outputs.giteaAdminUser && outputs.giteaAdminPassword) {
                    headers.Authorization = `Basic ${Buffer.from(`${outputs.giteaAdminUser}:${outputs.giteaAdminPassword}`).toString("base64")}`;
                } else if (ctx.giteaToken) {
                    headers.Authorization = `token ${ctx.giteaToken}`;
                } else {
                    throw new Skip("no Gitea credentials in the outputs; set GITEA_TOKEN to check prod's private repositories");
                }
                const res = await ctx.fetch(`${outputs.giteaUrl.replace(/\/+$/, "")}/api/v1/repos/${org}/${a.name}`, {
                    headers, signal: AbortSignal.timeout(ctx.timeoutMs),
                });
                if (res.status === 404) fail(`absent from ${outputs.giteaUrl}`);
                if (res.status !== 200) fail(`Gitea answered HTTP ${res.status}`);
                const repo = (await res.json()) as { empty?: boolean; default_branch?: string };
                return repo.empty ? "present, empty (not seeded: see the warnings of pulumi up)" : `present, default branch ${repo.default_branch}`;
            },
        });
    }
    return checks;
}
