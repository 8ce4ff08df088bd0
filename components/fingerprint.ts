// The prod fingerprint, declared once: everything that identifies prod, read from prod's own
// configuration (Pulumi.yaml defaults merged with Pulumi.prod.yaml, validated by parseConfig).
// There is no second copy to keep in sync: change prod's stack file and the guard and the policy
// pack follow. See ARCHITECTURE.md, "Guards and policies".
import * as path from "path";
import * as fs from "fs";
import { LabConfig, parseConfig, PROD_STACK, ProdIdentity } from "./config";
import { readStackConfig } from "./stack-config";

/** Where prod's data host serves PostgreSQL (docker compose on the data host). */
export const POSTGRES_PORT = 5432;

export type FingerprintKind =
    | "address"     // a prod host's IPv4 address
    | "hostName"    // a prod host's short name (pi1): counts only where used as an address
    | "hostname"    // a prod host's DNS name (pi1.arcodange.lab)
    | "zone"        // a prod DNS zone (public, or the lab's internal one): it and every name under it
    | "zoneId"      // the Cloudflare id of the prod zone
    | "tunnel"      // the prod Cloudflare tunnel hostname
    | "bucket"      // the prod backup bucket
    | "gcpProject"  // the GCP project of the prod backup bucket
    | "vault"       // the prod Vault (its host)
    | "postgres"    // the prod Postgres endpoint (data host, port 5432)
    | "hostKey";    // a prod host's SSH host key (its base64 blob): a host that has it is that prod host

export interface FingerprintItem {
    kind: FingerprintKind;
    /** What is matched: an address, a name, a bucket... (lower case for names). */
    value: string;
    /** Human words: "the address of prod host pi1". */
    what: string;
    /** Where prod declares it: "Pulumi.prod.yaml homelab:hosts[0].address". */
    source: string;
}

export interface FingerprintHost {
    name: string;
    hostname?: string;
    address: string;
}

export interface Fingerprint {
    stack: string;
    hosts: FingerprintHost[];
    addresses: string[];
    hostNames: string[];
    hostnames: string[];
    zone?: string;
    internalZone?: string;
    zoneId?: string;
    tunnelHostname?: string;
    bucket?: string;
    gcpProject?: string;
    /** The prod Vault: its URL and host (a name or an address). */
    vault?: { url: string; host: string; port?: number };
    /** The prod Postgres endpoint: the data host, its address and the port. */
    postgres?: { host: string; hostname?: string; address: string; port: number };
    /** Every item above, for matching and messages. */
    items: FingerprintItem[];
    /** Prod's live identities (guard layer 3: compared with what a sandbox reaches, not matched in text). */
    identity?: ProdIdentity;
}

/** Builds the fingerprint from prod's validated configuration. */
export function fingerprintFromConfig(cfg: LabConfig, file = `Pulumi.${cfg.stack}.yaml`): Fingerprint {
    const items: FingerprintItem[] = [];
    const src = (key: string) => `${file} homelab:${key}`;
    const hosts: FingerprintHost[] = (cfg.hosts ?? []).map((h) => ({ name: h.name, hostname: h.hostname, address: h.address }));
    (cfg.hosts ?? []).forEach((h, i) => {
        items.push({ kind: "address", value: h.address, what: `the address of prod host ${h.name}`, source: src(`hosts[${i}].address`) });
        items.push({ kind: "hostName", value: h.name.toLowerCase(), what: `the name of prod host ${h.name}`, source: src(`hosts[${i}].name`) });
        const blob = /^\S+\s+([A-Za-z0-9+/]{16,}={0,2})(?:\s|$)/.exec(h.hostKey ?? "")?.[1];
        if (blob) {
            items.push({ kind: "hostKey", value: blob, what: `the SSH host key of prod host ${h.name}`, source: src(`hosts[${i}].hostKey`) });
        }
        if (h.hostname) {
            items.push({ kind: "hostname", value: h.hostname.toLowerCase().replace(/\.$/, ""), what: `the DNS name of prod host ${h.name}`, source: src(`hosts[${i}].hostname`) });
        }
    });
    const fp: Fingerprint = {
        stack: cfg.stack,
        hosts,
        addresses: hosts.map((h) => h.address),
        hostNames: hosts.map((h) => h.name.toLowerCase()),
        hostnames: hosts.filter((h) => h.hostname).map((h) => h.hostname!.toLowerCase().replace(/\.$/, "")),
        items,
        identity: cfg.identity,
    };
    if (cfg.zone) {
        fp.zone = cfg.zone.toLowerCase().replace(/\.$/, "");
        items.push({ kind: "zone", value: fp.zone, what: `the prod DNS zone ${fp.zone}`, source: src("zone") });
    }
    if (cfg.internalZone) {
        fp.internalZone = cfg.internalZone.toLowerCase().replace(/\.$/, "");
        items.push({ kind: "zone", value: fp.internalZone, what: `the prod internal DNS domain ${fp.internalZone}`, source: src("internalZone") });
    }
    if (cfg.cloudflareZoneId) {
        fp.zoneId = cfg.cloudflareZoneId.toLowerCase();
        items.push({ kind: "zoneId", value: fp.zoneId, what: "the Cloudflare id of the prod DNS zone", source: src("cloudflareZoneId") });
    }
    if (cfg.tunnelHostname) {
        fp.tunnelHostname = cfg.tunnelHostname.toLowerCase().replace(/\.$/, "");
        items.push({ kind: "tunnel", value: fp.tunnelHostname, what: "the prod Cloudflare tunnel", source: src("tunnelHostname") });
    }
    if (cfg.backup) {
        fp.bucket = cfg.backup.bucket;
        items.push({ kind: "bucket", value: fp.bucket, what: "the prod backup bucket", source: src("backup.bucket") });
        if (cfg.backup.project) {
            fp.gcpProject = cfg.backup.project;
            items.push({ kind: "gcpProject", value: fp.gcpProject, what: "the GCP project of the prod backup bucket", source: src("backup.project") });
        }
    }
    if (cfg.vaultAddress) {
        const u = new URL(cfg.vaultAddress);
        const host = u.hostname.toLowerCase().replace(/^\[|\]$/g, "").replace(/\.$/, "");
        fp.vault = { url: cfg.vaultAddress, host, port: u.port ? Number(u.port) : undefined };
        items.push({ kind: "vault", value: host, what: `the prod Vault (${cfg.vaultAddress})`, source: src("vaultAddress") });
    }
    const data = hosts.find((h) => h.name === cfg.dataHost);
    if (data) {
        fp.postgres = { host: data.name.toLowerCase(), hostname: data.hostname?.toLowerCase(), address: data.address, port: POSTGRES_PORT };
        items.push({
            kind: "postgres",
            value: `${data.address}:${POSTGRES_PORT}`,
            what: `the prod Postgres endpoint (data host ${data.name}, ${data.address}:${POSTGRES_PORT})`,
            source: src("dataHost"),
        });
    }
    return fp;
}

const cache = new Map<string, Fingerprint>();

/**
 * The fingerprint of the project's prod stack, read from its files (cached per project directory).
 * `projectDir` defaults to the directory of Pulumi.yaml above this module.
 */
export function loadFingerprint(projectDir?: string): Fingerprint {
    const dir = projectDir ?? findProjectDir(__dirname);
    const cached = cache.get(dir);
    if (cached) return cached;
    const cfg = parseConfig(PROD_STACK, readStackConfig(dir, PROD_STACK));
    const fp = fingerprintFromConfig(cfg);
    cache.set(dir, fp);
    return fp;
}

/** The directory holding Pulumi.yaml, searched from `from` upward. */
export function findProjectDir(from: string = __dirname): string {
    let dir = path.resolve(from);
    for (;;) {
        if (fs.existsSync(path.join(dir, "Pulumi.yaml"))) return dir;
        const up = path.dirname(dir);
        if (up === dir) throw new Error(`no Pulumi.yaml in ${from} or any directory above it`);
        dir = up;
    }
}
