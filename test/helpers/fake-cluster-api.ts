// A local HTTP server answering the reads `npm run verify` makes, with responses shaped as the
// APIs return them: the Kubernetes API (core/v1 Node, Namespace, Secret; apps/v1 lists; custom
// objects argoproj.io/v1alpha1 Application and longhorn.io/v1beta2 Volume), Vault's
// /v1/sys/health (hashicorp/vault http/sys_health.go: 200 active, 503 sealed) and Gitea's
// GET /api/v1/repos/{owner}/{repo}. Tests edit `objects` to take each check's fail path.
import * as http from "http";
import { AddressInfo } from "net";

export class FakeClusterApi {
    /** Kubernetes objects by API path (a GET of the path answers the object; absent: 404 Status). */
    readonly objects = new Map<string, unknown>();
    vaultHealth: { status: number; body: Record<string, unknown> } = { status: 200, body: {} };
    /** Gitea repositories "org/repo" that exist, with their `empty` flag. */
    readonly giteaRepos = new Map<string, { empty: boolean; default_branch: string }>();
    giteaAuth = "";
    /** Traefik's routes: a request whose Host header is one of these gets its status; another Host, 404 (Traefik's "404 page not found"). */
    readonly routes = new Map<string, number>();
    /** Paths that never answer (a hung API), to exercise the timeouts. */
    readonly hang = new Set<string>();
    readonly requests: string[] = [];
    private server?: http.Server;
    url = "";

    async start(): Promise<string> {
        this.server = http.createServer((req, res) => this.handle(req, res));
        await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
        this.url = `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
        return this.url;
    }

    async stop(): Promise<void> {
        this.server?.closeAllConnections();
        await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
    }

    kubeconfig(): string {
        return [
            "apiVersion: v1", "kind: Config", "current-context: test",
            // @kubernetes/client-node refuses plain http unless TLS verification is off (real clusters are https)
            "clusters:", "- name: test", "  cluster:", `    server: ${this.url}`, "    insecure-skip-tls-verify: true",
            "contexts:", "- name: test", "  context:", "    cluster: test", "    user: test",
            "users:", "- name: test", "  user:", "    token: test-token", "",
        ].join("\n");
    }

    private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
        const url = new URL(req.url ?? "/", "http://x");
        const p = url.pathname;
        this.requests.push(`${req.method} ${p}`);
        if (this.hang.has(p)) return; // never answers
        const host = (req.headers.host ?? "").replace(/:\d+$/, "");
        if (host !== "127.0.0.1") {
            res.statusCode = this.routes.get(host) ?? 404;
            res.end(res.statusCode === 404 ? "404 page not found\n" : "ok\n");
            return;
        }
        const send = (status: number, body: unknown) => {
            res.statusCode = status;
            res.setHeader("Content-Type", "application/json");
            res.end(JSON.stringify(body));
        };
        if (p === "/v1/sys/health") return send(this.vaultHealth.status, this.vaultHealth.body);
        const repo = /^\/api\/v1\/repos\/([^/]+)\/([^/]+)$/.exec(p);
        if (repo) {
            const r = this.giteaRepos.get(`${repo[1]}/${repo[2]}`);
            if (!r || req.headers.authorization !== this.giteaAuth) return send(404, { message: "not found" });
            return send(200, { name: repo[2], full_name: `${repo[1]}/${repo[2]}`, private: true, ...r });
        }
        if (this.objects.has(p)) return send(200, this.objects.get(p));
        // A list of a kind nobody created: an empty list, as the API server answers.
        if (/\/(deployments|statefulsets|daemonsets|volumes|ingresses)$/.test(p)) return send(200, { kind: "List", apiVersion: "v1", metadata: {}, items: [] });
        send(404, { kind: "Status", apiVersion: "v1", status: "Failure", message: `the server could not find the requested resource (${p})`, reason: "NotFound", code: 404 });
    }
}

/** An Ingress (networking.k8s.io/v1) with one host rule. */
export function ingress(ns: string, name: string, host: string): unknown {
    return {
        apiVersion: "networking.k8s.io/v1", kind: "Ingress", metadata: { name, namespace: ns },
        spec: { ingressClassName: "traefik", rules: [{ host, http: { paths: [{ path: "/", pathType: "Prefix", backend: { service: { name, port: { number: 80 } } } }] } }] },
    };
}

/** A Node as the API returns it (the fields verify reads). */
export function node(name: string, ready: boolean): unknown {
    return {
        metadata: { name, uid: `uid-${name}` },
        status: {
            conditions: [
                { type: "MemoryPressure", status: "False", reason: "KubeletHasSufficientMemory" },
                { type: "Ready", status: ready ? "True" : "False", reason: ready ? "KubeletReady" : "KubeletNotReady", message: ready ? "kubelet is posting ready status" : "PLEG is not healthy" },
            ],
        },
    };
}

export function list(kind: string, apiVersion: string, items: unknown[]): unknown {
    return { kind: `${kind}List`, apiVersion, metadata: { resourceVersion: "1" }, items };
}

export function deployment(name: string, replicas: number, available: number): unknown {
    return { apiVersion: "apps/v1", kind: "Deployment", metadata: { name }, spec: { replicas }, status: { replicas, availableReplicas: available, readyReplicas: available } };
}

export function statefulSet(name: string, replicas: number, ready: number): unknown {
    return { apiVersion: "apps/v1", kind: "StatefulSet", metadata: { name }, spec: { replicas }, status: { replicas, readyReplicas: ready } };
}

export function namespace(name: string, uid = `uid-ns-${name}`): unknown {
    return { apiVersion: "v1", kind: "Namespace", metadata: { name, uid }, status: { phase: "Active" } };
}

export function secret(ns: string, name: string, data: Record<string, string>): unknown {
    const b64: Record<string, string> = {};
    for (const [k, v] of Object.entries(data)) b64[k] = Buffer.from(v).toString("base64");
    return { apiVersion: "v1", kind: "Secret", metadata: { name, namespace: ns }, type: "Opaque", data: b64 };
}

export function application(name: string, sync: string, health: string, conditions: { type: string; message: string }[] = []): unknown {
    return {
        apiVersion: "argoproj.io/v1alpha1", kind: "Application", metadata: { name, namespace: "argocd" },
        status: { sync: { status: sync }, health: { status: health }, ...(conditions.length ? { conditions } : {}) },
    };
}

export function longhornVolume(name: string, robustness: string, state: string): unknown {
    return { apiVersion: "longhorn.io/v1beta2", kind: "Volume", metadata: { name, namespace: "longhorn-system" }, status: { robustness, state } };
}
