// The in-program guard: before anything is registered, a non-prod stack whose configuration names
// any part of prod's fingerprint stops, with an error naming the config key, the value and why.
//
// The escape hatch is per invocation only: LAB_I_MEAN_PROD=true in the environment turns the stop
// into warnings (the caller prints them loudly). It is never read from a stack file, and a test
// fails if a committed Pulumi.*.yaml mentions it.
//
// Which config values count (see scan.ts for how values are tokenized):
//   - addresses, CIDRs/ranges holding a prod address, names in the prod zone, prod's hostnames, the
//     bucket, the GCP project, the Cloudflare zone id and tunnel: anywhere, in any key, at any depth,
//     in every namespace (homelab:, and the providers' own: vault:address, kubernetes:kubeconfig...);
//   - bare short host names (pi1, pi2, pi3) only where the value is a host to connect to:
//     homelab:hosts[].address, homelab:hosts[].hostname, homelab:vaultAddress, homelab:backup.bucket,
//     homelab:backup.project, homelab:zone, homelab:tunnelHostname, any address-like key (host,
//     address, server, url, endpoint, ip...) and URLs/host:port/user@host inside any value. They
//     do not count in homelab:vms[].name, homelab:hosts[].name and homelab:dataHost: those name the
//     stack's own machines (sandbox-vms mirrors prod with VMs called pi1..pi3, and dataHost must
//     be one of them), which is not a way to reach prod.
import { ConfigError, keyInfo, LabConfig, PROD_STACK, PROJECT, PROJECT_FILE, RawConfig, stackFileName } from "../config";
import { isOfflinePlan } from "../offline";
import { Fingerprint, loadFingerprint } from "../fingerprint";
import { excerpt, formatPath, isAddressKey, lastKey, PathSeg, ProdReference, scanForProd } from "./scan";
import { parseEndpoint } from "./canon";

export { canonicalHost, parseEndpoint } from "./canon";
export { committedHatchSettings, guardProjectFiles, injectingRuntimeOptions } from "./project";
export { describeReference, excerpt, formatPath, isAddressKey, parseEmbedded, scanForProd } from "./scan";
export type { PathSeg, ProdReference, ScanOptions } from "./scan";

/** The per-invocation escape hatch. */
export const ESCAPE_HATCH = "LAB_I_MEAN_PROD";

/** Whether the escape hatch is set (LAB_I_MEAN_PROD=true, any casing of "true"). */
export function escapeHatchSet(env: NodeJS.ProcessEnv = process.env): boolean {
    return (env[ESCAPE_HATCH] ?? "").trim().toLowerCase() === "true";
}

/**
 * Prod must not run with a placeholder left (a fact the seeds do not state, such as the Cloudflare
 * zone id): a real run stops, naming each key; the offline plan, which only describes, warns.
 */
export function guardPlaceholders(cfg: LabConfig, offline = isOfflinePlan()): string[] {
    if (!cfg.isProd || cfg.placeholders.length === 0) return [];
    // each key in the file that holds it (the schema's x-file: Pulumi.yaml for the project's keys)
    const fileOf = (key: string) => (keyInfo(key.replace(/[.[].*$/, ""))?.file === "project" ? PROJECT_FILE : stackFileName(cfg.stack));
    const lines = cfg.placeholders.map((p) => `  - key "${p.key}" in ${fileOf(p.key)} is still the placeholder ${JSON.stringify(p.value)}`);
    const message = `stack "${cfg.stack}" still has placeholders where real values belong:\n${lines.join("\n")}\n`
        + `Replace each in the file named with the real value (see docs/runbooks/adopt-prod.md).`;
    if (offline) return [`${message} (the offline plan continues; a real run stops here)`];
    throw new ConfigError(cfg.stack, cfg.placeholders[0].key, message);
}

/** Config paths where a bare host name is an address. */
const CONFIG_ADDRESS_PATHS = [
    /^homelab:hosts\[\d+\]\.(address|hostname)$/,
    /^homelab:vaultAddress$/,
    /^homelab:backup\.(bucket|project)$/,
    /^homelab:zone$/,
    /^homelab:tunnelHostname$/,
];
/** Config paths where a bare host name names the stack's own machine. */
const CONFIG_NAME_PATHS = [
    /^homelab:dataHost$/,
    /^homelab:(hosts|vms)\[\d+\]\.name$/,
    /^homelab:k3d\.clusterName$/,
];

function configAddressContext(segs: readonly PathSeg[]): boolean {
    const p = formatPath(segs);
    if (CONFIG_NAME_PATHS.some((re) => re.test(p))) return false;
    if (CONFIG_ADDRESS_PATHS.some((re) => re.test(p))) return true;
    const k = lastKey(segs);
    return k !== undefined && isAddressKey(k);
}

/** A structured raw value (JSON object/array) parsed, as Pulumi's config reader would; else the string. */
function configValue(raw: string): unknown {
    const t = raw.trim();
    if (/^[[{]/.test(t)) {
        try {
            return JSON.parse(t);
        } catch {
            return raw;
        }
    }
    return raw;
}

function secretKeys(env: NodeJS.ProcessEnv): Set<string> {
    try {
        const keys = JSON.parse(env.PULUMI_CONFIG_SECRET_KEYS ?? "[]");
        return new Set(Array.isArray(keys) ? keys.map(String) : []);
    } catch {
        return new Set();
    }
}

export interface ConfigFinding extends ProdReference {
    /** The full config key the finding is under (`homelab:hosts`). */
    key: string;
    /** Whether the key holds a secret (its value is not printed). */
    secret: boolean;
}

/** Every prod reference in a stack's raw config (every namespace, every value, structured too). */
export function findProdReferencesInConfig(raw: RawConfig, fp: Fingerprint, env: NodeJS.ProcessEnv = process.env): ConfigFinding[] {
    const secrets = secretKeys(env);
    const out: ConfigFinding[] = [];
    for (const key of Object.keys(raw).sort()) {
        const refs = scanForProd(configValue(raw[key]), fp, [{ key }], { addressContext: configAddressContext });
        for (const r of refs) out.push({ ...r, key, secret: secrets.has(key) });
    }
    return out;
}

function explain(f: ConfigFinding): string {
    const shown = f.secret ? "a secret value" : JSON.stringify(excerpt(f.value, f.match));
    return `key "${f.path}" is ${shown}, which names prod: ${f.reason} (prod declares it in ${f.item.source})`;
}

/** Values opaque here (a secret the offline plan cannot decrypt, an unknown). */
const OPAQUE_VALUES = new Set(["[secret]", "[unknown]"]);

/**
 * Every string at a key that names an endpoint (configAddressContext) that no consumer could
 * parse as a URL, host:port, user@host or host: the guard cannot tell where it goes, so it stops.
 */
export function unparseableEndpoints(raw: RawConfig): { path: string; value: string }[] {
    const out: { path: string; value: string }[] = [];
    const walk = (v: unknown, segs: PathSeg[]): void => {
        if (typeof v === "string") {
            if (OPAQUE_VALUES.has(v) || !configAddressContext(segs)) return;
            if (!parseEndpoint(v)) out.push({ path: formatPath(segs), value: v });
            return;
        }
        if (Array.isArray(v)) v.forEach((x, i) => walk(x, [...segs, { index: i }]));
        else if (v && typeof v === "object") for (const k of Object.keys(v)) walk((v as Record<string, unknown>)[k], [...segs, { key: k }]);
    };
    for (const key of Object.keys(raw).sort()) walk(configValue(raw[key]), [{ key }]);
    return out;
}

/**
 * The guard. For prod, nothing to check. For any other stack: throws a ConfigError (printed without
 * a stack trace) listing every config key that names prod, unless LAB_I_MEAN_PROD=true is set, in
 * which case it returns one warning per finding for the caller to print (pulumi.log.warn).
 */
export function guardStack(stack: string, raw: RawConfig, fp: Fingerprint = loadFingerprint(), env: NodeJS.ProcessEnv = process.env): string[] {
    if (stack === PROD_STACK || stack === fp.stack) return [];
    const bad = unparseableEndpoints(raw);
    if (bad.length) {
        const lines = bad.map((b) => `  - key "${b.path}" is ${JSON.stringify(b.value)}: not a URL, host:port, user@host or host name/address`);
        throw new ConfigError(stack, bad[0].path.startsWith(`${PROJECT}:`) ? bad[0].path.slice(PROJECT.length + 1) : bad[0].path,
            `stack "${stack}" has endpoint values the guard cannot parse, so it cannot tell whether they reach prod:\n${lines.join("\n")}\n`
            + `Expected a URL (https://host:port), host:port, user@host or a host name/address. Fix Pulumi.${stack}.yaml (or Pulumi.yaml).`);
    }
    const findings = findProdReferencesInConfig(raw, fp, env);
    if (findings.length === 0) return [];
    if (escapeHatchSet(env)) {
        return findings.map((f) => `${ESCAPE_HATCH}=true: stack "${stack}" is allowed to name prod for this run only: ${explain(f)}`);
    }
    const first = findings[0];
    const key = first.key.startsWith(`${PROJECT}:`) ? first.path.slice(PROJECT.length + 1) : first.path;
    const lines = findings.map((f) => `  - ${explain(f)}`);
    throw new ConfigError(stack, key,
        `stack "${stack}" is not prod, yet its configuration names prod; a sandbox must never reach prod:\n${lines.join("\n")}\n` +
        `Fix Pulumi.${stack}.yaml (or the project defaults in Pulumi.yaml). If you really mean it for this one run, ` +
        `set ${ESCAPE_HATCH}=true in the environment; never in a stack file.`);
}
