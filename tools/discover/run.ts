// `npm run discover -- prod`: reads, read-only, what the prod stack must adopt, exactly as it is, and
// records it: facts/prod.json (components/facts.ts, source "discover") and the placeholders of
// Pulumi.prod.yaml the lab can answer (identities, host keys, the Cloudflare zone id, the public
// apps' record ids, the tunnel hostname). No secret is ever read into either file: where a value is
// a secret, the facts' `secrets` map names what carries it.
//
// Order, so that nothing is contacted by mistake and nothing is half-written:
//   configuration -> endpoints -> credentials present -> loopback guard (or --live) -> read every
//   service (each bounded; every failure named) -> print fingerprints and identities -> stop on a
//   conflict -> --dry-run prints and stops -> confirmation (or --yes) -> write both files.
// Exit: 0 recorded (or dry run); 1 a service could not be read, a conflict, or not confirmed;
// 2 a usage or configuration error (before any connection).
import * as fs from "fs";
import * as path from "path";
import * as readline from "readline";
import { isConfigError, LabConfig, parseConfig, PROD_STACK } from "../../components/config";
import { FACTS_FILE, ProdFacts } from "../../components/facts";
import { namespaceName, publicHostname } from "../../components/naming";
import { readStackConfig, StackFileError } from "../../components/stack-config";
import { CloudflareReader, recordsByApp } from "./cloudflare";
import { assertMayConnect, DiscoverConfigError, EndpointOverrides, endpointList, Endpoints, resolveEndpoints } from "./endpoints";
import { KubeRead, kubeRead, readHelmRelease, readNamespace } from "./kube";
import { readPostgres } from "./postgres";
import { applyUpdates, ConfigUpdate, planUpdates, UpdatePlan, writeFileAtomic } from "./record";
import { HostKey, keyscan as realKeyscan, Keyscan } from "./ssh";
import { VaultReader } from "./vault";

export const DEFAULT_TIMEOUT_SECONDS = 15;

export interface DiscoverOptions {
    stack: string;
    projectDir: string;
    /** The stack file to read and update (default Pulumi.<stack>.yaml in projectDir). */
    stackFile?: string;
    /** Where facts/prod.json goes (default projectDir). */
    factsDir?: string;
    /** A JSON file of loopback endpoints (EndpointOverrides). */
    endpointsFile?: string;
    kubeconfig?: string;
    live?: boolean;
    dryRun?: boolean;
    yes?: boolean;
    timeoutSeconds?: number;
    env?: NodeJS.ProcessEnv;
    out?: (line: string) => void;
    /** Where a configuration error (exit 2) is reported instead of `out` (the CLI: runCli prints it). */
    err?: (line: string) => void;
    /** Asks the operator; default: a y/N prompt on a terminal, otherwise no. */
    confirm?: (question: string) => Promise<boolean>;
    /** Seams for tests. */
    keyscan?: Keyscan;
    kube?: KubeRead;
    now?: () => Date;
}

export interface DiscoverResult {
    exitCode: 0 | 1 | 2;
    facts?: ProdFacts;
    identity?: { kubeSystemUid: string; vaultClusterId: string; postgresSystemIdentifier: string };
    hostKeys?: Record<string, HostKey>;
    updates?: UpdatePlan;
    /** What stopped the run, one line per cause. */
    errors: string[];
    written: string[];
}

/** Secrets discover never reads, and what carries each on prod. */
function secretsMap(facts: ProdFacts, adminUser: string): Record<string, string> {
    const s: Record<string, string> = {
        "postgres.adminPassword": "pulumi config set --secret homelab:postgresAdminPassword -s prod (or PGPASSWORD in the operator's environment)",
        "argocd.giteaRepoToken": "pulumi config set --secret homelab:giteaRepoToken -s prod",
    };
    for (const [mount, db] of Object.entries(facts.vault.database)) {
        for (const [name, c] of Object.entries(db.connections)) {
            s[`vault.database.${mount}.connections.${name}.password`] = c.username === adminUser
                ? "pulumi config set --secret homelab:postgresAdminPassword -s prod (the connection logs in as the admin user)"
                : `not in any file: Vault holds it write-only (${mount}/config/${name}); the baseline leaves it unset`;
        }
    }
    for (const p of Object.keys(facts.vault.kubernetesAuth)) {
        s[`vault.kubernetesAuth.${p}.config.token_reviewer_jwt`] = `not in any file: Vault never returns it (auth/${p}/config); the baseline leaves it unset`;
    }
    return s;
}

const SECRET_KEY = /(password|passwd|secret|token|apikey|api_key|privatekey|private_key|accesskey|access_key|secretkey|secret_key)$/i;
/** Keys that name a Kubernetes Secret object (e.g. Longhorn's defaultSettings.backupTargetCredentialSecret): a reference, not a secret. */
const SECRET_REFERENCE = /(CredentialSecret|SecretName|SecretRef)$/;

/** Helm values never carry a secret into the facts: a string under a secret-looking key is named instead. */
export function redactValues(values: unknown, where: string, secrets: Record<string, string>): unknown {
    if (Array.isArray(values)) return values.map((v, i) => redactValues(v, `${where}[${i}]`, secrets));
    if (values && typeof values === "object") {
        const out: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(values as Record<string, unknown>)) {
            if (typeof v === "string" && v !== "" && SECRET_KEY.test(k) && !SECRET_REFERENCE.test(k)) {
                out[k] = "[secret]";
                secrets[`${where}.${k}`] = "a Helm value that looks secret: not recorded; carry it as a `pulumi config set --secret` value before the helm-releases migration";
            } else out[k] = redactValues(v, `${where}.${k}`, secrets);
        }
        return out;
    }
    return values;
}

function ask(question: string): Promise<boolean> {
    if (!process.stdin.isTTY) return Promise.resolve(false);
    const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
    return new Promise((resolve) => rl.question(`${question} [y/N] `, (a) => {
        rl.close();
        resolve(/^y(es)?$/i.test(a.trim()));
    }));
}

function readOverrides(file: string | undefined): EndpointOverrides {
    if (!file) return {};
    let o: any;
    try {
        o = JSON.parse(fs.readFileSync(file, "utf8"));
    } catch (e) {
        throw new DiscoverConfigError(`--endpoints ${file}: ${(e as Error).message}`);
    }
    const known = ["kubeconfig", "vault", "postgres", "cloudflare", "ssh"];
    for (const k of Object.keys(o ?? {})) if (!known.includes(k)) throw new DiscoverConfigError(`--endpoints ${file}: unknown key "${k}" (known: ${known.join(", ")})`);
    if (o.kubeconfig) o.kubeconfig = path.resolve(path.dirname(file), o.kubeconfig);
    return o;
}

/** The config updates the facts answer (each a placeholder in the committed file). */
export function configUpdates(cfg: LabConfig, r: { identity: NonNullable<DiscoverResult["identity"]>; hostKeys: Record<string, HostKey>; zoneId: string; dns: ProdFacts["dnsRecords"] }): ConfigUpdate[] {
    const u: ConfigUpdate[] = [];
    (cfg.hosts ?? []).forEach((h, i) => u.push({ key: `homelab:hosts[${i}].hostKey`, path: ["homelab:hosts", i, "hostKey"], value: r.hostKeys[h.name].key }));
    u.push({ key: "homelab:identity.kubeSystemUid", path: ["homelab:identity", "kubeSystemUid"], value: r.identity.kubeSystemUid });
    u.push({ key: "homelab:identity.vaultClusterId", path: ["homelab:identity", "vaultClusterId"], value: r.identity.vaultClusterId });
    u.push({ key: "homelab:identity.postgresSystemIdentifier", path: ["homelab:identity", "postgresSystemIdentifier"], value: r.identity.postgresSystemIdentifier });
    u.push({ key: "homelab:cloudflareZoneId", path: ["homelab:cloudflareZoneId"], value: r.zoneId });
    for (const [app, rec] of Object.entries(r.dns)) u.push({ key: `homelab:existing.dnsRecords.${app}`, path: ["homelab:existing", "dnsRecords", app], value: rec.id });
    // The tunnel: every public record is a CNAME to the same <tunnel id>.cfargotunnel.com.
    const targets = new Set(Object.values(r.dns).map((d) => (d.type === "CNAME" && /\.cfargotunnel\.com$/.test(d.content) ? d.content : "")));
    if (targets.size === 1 && !targets.has("")) u.push({ key: "homelab:tunnelHostname", path: ["homelab:tunnelHostname"], value: [...targets][0] });
    return u;
}

export async function runDiscover(o: DiscoverOptions): Promise<DiscoverResult> {
    const out = o.out ?? ((l: string) => process.stdout.write(`${l}\n`));
    const env = o.env ?? process.env;
    const timeoutMs = (o.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS) * 1000;
    const result: DiscoverResult = { exitCode: 0, errors: [], written: [] };
    const stop = (code: 1 | 2, lines: string[]): DiscoverResult => {
        result.exitCode = code;
        result.errors.push(...lines);
        if (!(code === 2 && o.err)) for (const l of lines) out(`discover ${o.stack}: ${l}`);
        return result;
    };

    // 1. configuration and endpoints: nothing contacted yet
    if (o.stack !== PROD_STACK) return stop(2, [`only prod is discovered (a sandbox has nothing to adopt); got stack "${o.stack}"`]);
    const stackFile = o.stackFile ?? path.join(o.projectDir, `Pulumi.${o.stack}.yaml`);
    let cfg: LabConfig;
    let endpoints: Endpoints;
    const creds = { vault: env.VAULT_TOKEN ?? "", postgres: env.PGPASSWORD ?? "", cloudflare: env.CLOUDFLARE_API_TOKEN ?? "" };
    try {
        cfg = parseConfig(o.stack, readStackConfig(o.projectDir, o.stack, stackFile));
        const overrides = readOverrides(o.endpointsFile);
        if (o.kubeconfig) overrides.kubeconfig = o.kubeconfig;
        endpoints = resolveEndpoints(cfg, overrides, env, stackFile);
        const missing = [
            !creds.vault && "VAULT_TOKEN (a token whose policy can read sys/mounts, sys/auth, sys/policy, auth/<k8s>/*, <database>/config and roles)",
            !creds.postgres && `PGPASSWORD (the password of ${endpoints.postgres.user}, the data host's PostgreSQL admin)`,
            !creds.cloudflare && "CLOUDFLARE_API_TOKEN (a token with Zone.DNS:Read on the zone)",
        ].filter(Boolean) as string[];
        if (missing.length) throw new DiscoverConfigError(`missing credentials in the environment (never on the command line):\n  ${missing.join("\n  ")}`);
        if (!cfg.zone) throw new DiscoverConfigError(`homelab:zone is not set in ${stackFile}`);
        assertMayConnect(endpoints, o.live === true);
    } catch (e) {
        if (e instanceof DiscoverConfigError || e instanceof StackFileError || isConfigError(e)) return stop(2, [(e as Error).message]);
        throw e;
    }

    // 2. read, every service, each failure named
    out(`discover ${o.stack}: reading, read-only (each call at most ${timeoutMs / 1000}s):`);
    for (const x of endpointList(endpoints)) out(`  ${x.what}: ${x.target}`);
    const errors: string[] = [];
    const attempt = async <T>(what: string, target: string, fn: () => Promise<T>): Promise<T | undefined> => {
        try {
            return await fn();
        } catch (e) {
            errors.push(`${what} (${target}) could not be read: ${(e as Error).message}`);
            return undefined;
        }
    };
    const existing = cfg.existing ?? { releases: {}, vault: false, instances: [], dnsRecords: {} };
    const kubeTarget = endpoints.kubeconfig.server;
    const kube = await attempt("Kubernetes API", kubeTarget, async () => o.kube ?? (await kubeRead(endpoints.kubeconfig.text, timeoutMs)));
    const kubeSystemUid = kube && (await attempt("Kubernetes API", kubeTarget, () => kube.kubeSystemUid()));
    const helmReleases: ProdFacts["helmReleases"] = {};
    const namespaces: ProdFacts["namespaces"] = {};
    const secrets: Record<string, string> = {};
    if (kube && kubeSystemUid) {
        for (const rel of Object.values(existing.releases)) {
            if (!rel) continue;
            const key = `${rel.namespace}/${rel.name}`;
            const r = await attempt(`Helm release ${key}`, kubeTarget, () => readHelmRelease(kube, rel.namespace, rel.name));
            if (r) helmReleases[key] = { chart: r.chart, version: r.version, values: redactValues(r.values, `helmReleases.${key}.values`, secrets) as Record<string, unknown> };
        }
        for (const inst of existing.instances) {
            const ns = namespaceName(inst, "prod");
            const objs = await attempt(`namespace ${ns}`, kubeTarget, () => readNamespace(kube, ns));
            if (objs) namespaces[ns] = objs;
        }
    }
    const vaultReader = new VaultReader(endpoints.vault, creds.vault, timeoutMs);
    const vaultClusterId = await attempt("Vault", endpoints.vault, () => vaultReader.clusterId());
    const vault = vaultClusterId ? await attempt("Vault", endpoints.vault, () => vaultReader.read()) : undefined;
    const pgTarget = `${endpoints.postgres.host}:${endpoints.postgres.port}`;
    const pg = await attempt("PostgreSQL", pgTarget, () => readPostgres({ ...endpoints.postgres, password: creds.postgres }, timeoutMs));
    const cf = new CloudflareReader(endpoints.cloudflare, creds.cloudflare, timeoutMs);
    const zoneId = await attempt("Cloudflare API", endpoints.cloudflare, () => cf.zoneId(cfg.zone!));
    let dnsRecords: ProdFacts["dnsRecords"] | undefined;
    if (zoneId) {
        const hostnames: Record<string, string> = {};
        for (const app of cfg.apps) if (app.public && app.envs.includes("prod")) hostnames[app.name] = publicHostname(app.name, cfg.zone!);
        dnsRecords = await attempt("Cloudflare API", endpoints.cloudflare, async () => recordsByApp(await cf.records(zoneId), hostnames));
    }
    const hostKeys: Record<string, HostKey> = {};
    for (const [name, hp] of Object.entries(endpoints.ssh)) {
        const k = await attempt(`SSH host key of ${name}`, `${hp.host}:${hp.port}`, () => (o.keyscan ?? realKeyscan)(hp.host, hp.port, timeoutMs));
        if (k) hostKeys[name] = k;
    }
    if (errors.length) return stop(1, [...errors, "nothing recorded (discover records all of it or nothing)"]);

    // 3. the facts and what they answer in the stack file
    const facts: ProdFacts = {
        source: "discover",
        discoveredAt: (o.now ?? (() => new Date()))().toISOString(),
        helmReleases, vault: vault!, postgres: pg!.facts, namespaces, dnsRecords: dnsRecords!,
        secrets: {},
    };
    facts.secrets = { ...secretsMap(facts, endpoints.postgres.user), ...secrets };
    result.facts = facts;
    result.identity = { kubeSystemUid: kubeSystemUid!, vaultClusterId: vaultClusterId!, postgresSystemIdentifier: pg!.systemIdentifier };
    result.hostKeys = hostKeys;
    const text = fs.readFileSync(stackFile, "utf8");
    const updates = planUpdates(text, configUpdates(cfg, { identity: result.identity, hostKeys, zoneId: zoneId!, dns: dnsRecords! }));
    result.updates = updates;

    out("");
    out("Compare on each Pi's console before recording (`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub`):");
    for (const [name, k] of Object.entries(hostKeys)) out(`  ${name}: ${k.fingerprint}  (ED25519)`);
    out("Prod's identities:");
    out(`  kube-system UID: ${result.identity.kubeSystemUid}`);
    out(`  Vault cluster_id: ${result.identity.vaultClusterId}`);
    out(`  PostgreSQL system_identifier: ${result.identity.postgresSystemIdentifier}`);
    out(`${path.basename(stackFile)}:`);
    for (const u of updates.replace) out(`  set ${u.key}: ${u.value}`);
    for (const u of updates.same) out(`  unchanged ${u.key}`);
    for (const u of updates.conflicts) out(`  CONFLICT ${u.key}: recorded ${u.old}, the lab answers ${u.value}`);
    const factsFile = path.join(o.factsDir ?? o.projectDir, FACTS_FILE);
    out(`${FACTS_FILE}: ${Object.keys(helmReleases).length} Helm releases, ${Object.keys(vault!.mounts).length} Vault mounts, ${Object.keys(vault!.policies).length} policies, ` +
        `${Object.keys(pg!.facts.databases).length} databases, ${Object.keys(pg!.facts.roles).length} roles, ${Object.keys(namespaces).length} namespaces, ${Object.keys(dnsRecords!).length} DNS records`);

    if (updates.conflicts.length) {
        return stop(1, [`${updates.conflicts.length} recorded value(s) differ from what the lab answers (listed above): nothing recorded. ` +
            `A changed host key or identity is checked on the console first; then edit ${path.basename(stackFile)} by hand.`]);
    }
    if (o.dryRun) {
        out(`--dry-run: would write ${factsFile}:`);
        out(JSON.stringify(facts, null, 2));
        out(`--dry-run: nothing written`);
        return result;
    }
    if (!o.yes && !(await (o.confirm ?? ask)(`Fingerprints and identities match what the consoles show? Record them in ${path.basename(stackFile)} and ${FACTS_FILE}?`))) {
        return stop(1, ["not confirmed: nothing recorded (compare the fingerprints, then answer y, or pass --yes)"]);
    }
    fs.mkdirSync(path.dirname(factsFile), { recursive: true });
    writeFileAtomic(factsFile, `${JSON.stringify(facts, null, 2)}\n`);
    result.written.push(factsFile);
    if (updates.replace.length) {
        writeFileAtomic(stackFile, applyUpdates(text, updates.replace));
        result.written.push(stackFile);
    }
    out(`recorded: ${result.written.join(", ")}`);
    const left = parseConfig(o.stack, readStackConfig(o.projectDir, o.stack, stackFile)).placeholders;
    if (left.length) {
        out("still placeholders (the lab's read APIs cannot answer these; set them by hand):");
        for (const p of left) out(`  ${p.key}`);
    }
    return result;
}
