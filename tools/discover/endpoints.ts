// Where `discover` reads from, and the guard that no connection leaves loopback unless the operator
// says so. Prod's endpoints come from Pulumi.prod.yaml (the data host's address for PostgreSQL,
// homelab:vaultAddress, each host's address for its SSH host key, the kubeconfig's server) and
// Cloudflare's public API; tests override them with loopback ones (`--endpoints <file>`).
//
// The rule (the project's): nothing but loopback is ever a target from here. discover checks every
// endpoint BEFORE opening any connection: a non-loopback one (prod's 192.168.1.x, a DNS name such
// as vault.arcodange.lab, api.cloudflare.com) stops the run with exit 2 unless `--live` was given,
// which only the operator, on the lab's network, passes. A name is never resolved to decide: only a
// literal loopback address (127.0.0.0/8, ::1) or `localhost` counts as loopback.
import * as fs from "fs";
import * as net from "net";
import { LabConfig } from "../../components/config";
import { POSTGRES_ADMIN_USER } from "../../components/metal/render";

export const CLOUDFLARE_API = "https://api.cloudflare.com/client/v4";
export const SSH_PORT = 22;
export const POSTGRES_PORT = 5432;

export interface HostPort { host: string; port: number; }

export interface Endpoints {
    /** The kubeconfig's text and the file it came from (for messages). */
    kubeconfig: { text: string; source: string; server: string };
    vault: string;
    postgres: HostPort & { user: string };
    cloudflare: string;
    /** Per host name: where its SSH server answers. */
    ssh: Record<string, HostPort>;
}

/** Loopback-only overrides (the replica in tests): any subset of the endpoints. */
export interface EndpointOverrides {
    kubeconfig?: string;
    vault?: string;
    postgres?: string;
    cloudflare?: string;
    ssh?: Record<string, string>;
}

/** A user's mistake or a refusal before any connection: printed without a stack trace, exit 2. */
export class DiscoverConfigError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "DiscoverConfigError";
    }
}

export function isLoopbackHost(host: string): boolean {
    const h = host.replace(/^\[|\]$/g, "").toLowerCase();
    if (h === "localhost") return true;
    if (net.isIPv4(h)) return h.split(".")[0] === "127";
    if (net.isIPv6(h)) return h === "::1" || h === "0:0:0:0:0:0:0:1";
    return false;
}

export function parseHostPort(value: string, defaultPort: number, what: string): HostPort {
    const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(value.trim());
    if (!m) throw new DiscoverConfigError(`${what}: "${value}" is not host[:port]`);
    const port = m[2] ? Number(m[2]) : defaultPort;
    if (!(port > 0 && port < 65536)) throw new DiscoverConfigError(`${what}: port ${m[2]} is not 1-65535`);
    return { host: m[1].replace(/^\[|\]$/g, ""), port };
}

function urlHost(url: string, what: string): string {
    let u: URL;
    try {
        u = new URL(url);
    } catch {
        throw new DiscoverConfigError(`${what}: "${url}" is not a URL`);
    }
    if (u.protocol !== "http:" && u.protocol !== "https:") throw new DiscoverConfigError(`${what}: "${url}" is not http(s)`);
    return u.hostname;
}

/** The `server:` of the kubeconfig's current context (what the Kubernetes client will connect to). */
export function kubeconfigServer(text: string, source: string): string {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const YAML = require("yaml") as typeof import("yaml");
    let doc: any;
    try {
        doc = YAML.parse(text);
    } catch (e) {
        throw new DiscoverConfigError(`the kubeconfig ${source} is not YAML: ${(e as Error).message}`);
    }
    const ctxName = doc?.["current-context"];
    const ctx = (doc?.contexts ?? []).find((c: any) => c?.name === ctxName)?.context;
    const cluster = (doc?.clusters ?? []).find((c: any) => c?.name === ctx?.cluster)?.cluster;
    if (!cluster?.server) throw new DiscoverConfigError(`the kubeconfig ${source} has no server for its current-context "${ctxName ?? ""}"`);
    return String(cluster.server);
}

/**
 * The endpoints of a discover run: prod's (from the configuration) with the overrides applied.
 * Reads no network; `env` gives KUBECONFIG and the PostgreSQL user (PGUSER).
 */
export function resolveEndpoints(cfg: LabConfig, overrides: EndpointOverrides, env: NodeJS.ProcessEnv, file: string): Endpoints {
    const kubeFile = overrides.kubeconfig ?? env.KUBECONFIG?.split(":")[0] ?? (env.HOME ? `${env.HOME}/.kube/config` : undefined);
    if (!kubeFile) throw new DiscoverConfigError("no kubeconfig: pass --kubeconfig <file> or set KUBECONFIG (prod's: the one `npm run verify -- prod` uses)");
    let text: string;
    try {
        text = fs.readFileSync(kubeFile, "utf8");
    } catch (e) {
        throw new DiscoverConfigError(`cannot read the kubeconfig ${kubeFile}: ${(e as Error).message}`);
    }
    const server = kubeconfigServer(text, kubeFile);
    urlHost(server, `the kubeconfig ${kubeFile} server`);

    const vault = overrides.vault ?? cfg.vaultAddress;
    if (!vault) throw new DiscoverConfigError(`homelab:vaultAddress is not set in ${file}: discover reads prod's Vault there`);
    urlHost(vault, overrides.vault ? "endpoints.vault" : `homelab:vaultAddress in ${file}`);

    const data = (cfg.hosts ?? []).find((h) => h.name === cfg.dataHost);
    const pgDefault = data ? `${data.address}:${POSTGRES_PORT}` : undefined;
    const pgValue = overrides.postgres ?? pgDefault;
    if (!pgValue) throw new DiscoverConfigError(`homelab:dataHost in ${file} names no host of homelab:hosts: discover reads PostgreSQL on the data host`);
    const postgres = { ...parseHostPort(pgValue, POSTGRES_PORT, overrides.postgres ? "endpoints.postgres" : `homelab:dataHost in ${file}`), user: env.PGUSER || POSTGRES_ADMIN_USER };

    const cloudflare = overrides.cloudflare ?? CLOUDFLARE_API;
    urlHost(cloudflare, "endpoints.cloudflare");

    const ssh: Record<string, HostPort> = {};
    for (const h of cfg.hosts ?? []) {
        const o = overrides.ssh?.[h.name];
        ssh[h.name] = parseHostPort(o ?? h.address, SSH_PORT, o ? `endpoints.ssh.${h.name}` : `homelab:hosts address of ${h.name} in ${file}`);
    }
    for (const name of Object.keys(overrides.ssh ?? {})) {
        if (!ssh[name]) throw new DiscoverConfigError(`endpoints.ssh.${name}: no host ${name} in homelab:hosts of ${file}`);
    }
    return { kubeconfig: { text, source: kubeFile, server }, vault, postgres, cloudflare, ssh };
}

/** Every endpoint as "what -> host", for the guard and the operator's screen. */
export function endpointList(e: Endpoints): { what: string; target: string; host: string }[] {
    const out = [
        { what: "Kubernetes API", target: e.kubeconfig.server, host: new URL(e.kubeconfig.server).hostname },
        { what: "Vault", target: e.vault, host: new URL(e.vault).hostname },
        { what: "PostgreSQL", target: `${e.postgres.host}:${e.postgres.port}`, host: e.postgres.host },
        { what: "Cloudflare API", target: e.cloudflare, host: new URL(e.cloudflare).hostname },
    ];
    for (const [name, hp] of Object.entries(e.ssh)) out.push({ what: `SSH host key of ${name}`, target: `${hp.host}:${hp.port}`, host: hp.host });
    return out;
}

/**
 * The guard, run before any connection: every endpoint is loopback, or `live` is set. The error
 * names each non-loopback endpoint, so the operator sees where discover would have gone.
 */
export function assertMayConnect(e: Endpoints, live: boolean): void {
    if (live) return;
    const far = endpointList(e).filter((x) => !isLoopbackHost(x.host));
    if (far.length === 0) return;
    throw new DiscoverConfigError(
        `discover stopped before connecting: these endpoints are not loopback:\n` +
        far.map((x) => `  ${x.what}: ${x.target}`).join("\n") +
        `\nReading the live lab is a deliberate act: on the lab's network, rerun with --live. (Tests point every endpoint at loopback with --endpoints <file>.)`,
    );
}

/** Why a fetch failed, in a line: the timeout, or the socket error's code (undici wraps it in `cause`). */
export function fetchFailure(e: unknown, timeoutMs: number): string {
    const err = e as Error & { cause?: any };
    if (err.name === "TimeoutError" || err.name === "AbortError") return `no answer within ${timeoutMs / 1000}s`;
    const c = err.cause;
    const code = c?.code ?? c?.errors?.find((x: any) => x?.code)?.code;
    return code ? `${code}${c?.address ? ` (${c.address}:${c.port})` : ""}` : (c?.message ?? err.message);
}
