// Finds references to prod (the fingerprint) in any value: configuration, resource inputs.
//
// A value is walked recursively with its path. A string is tokenized, never matched as a bare
// substring:
//   - IPv4 addresses with octet boundaries (192.168.1.2010 is not 192.168.1.201), alone, with a
//     port, inside URLs; CIDRs and address ranges by arithmetic (192.168.1.0/24 contains
//     192.168.1.201, 10.0.0.0/8 does not); nip.io/sslip.io names that resolve to an address;
//   - DNS names on label boundaries (vault.arcodange.lab is in the zone arcodange.fr,
//     notarcodange.fr is not);
//   - identifiers (bucket, GCP project, Cloudflare zone id, tunnel id) as whole tokens;
//   - a string that holds JSON or YAML (a kubeconfig, Helm values, cloud-init, a Vault policy) is
//     parsed and walked too; its path continues after ">" (kubeconfig>clusters[0].cluster.server).
//
// Bare short host names (pi1) are special: the sandbox-vms stack legitimately names its own VMs
// pi1/pi2/pi3 to mirror prod. A short name counts only where it is used as a host to connect to:
//   - the host of a URL (https://pi1:6443), host:port (pi2:5432), user@host (root@pi1);
//   - the value of an address-like key: a key whose last word is host, address, addr, server,
//     endpoint, url, uri or ip (host, dataHost, vaultAddress, K3S_URL, PGHOST), as a whole value,
//     as `key=value` / `key: value` inside text, or as a `--host pi1` / `-h pi1` flag;
//   - wherever the caller's `addressContext` says so (the in-program guard names the config keys).
// Everywhere else (a VM's name, `multipass launch --name pi1`, a node name) it is not prod.
import * as YAML from "yaml";
import { Fingerprint, FingerprintItem } from "../fingerprint";
import { CanonicalHost, cidrContains, formatIPv4, ipv4OfIPv6, ipv4Readings, ipv4sOf, ipv6CidrContainsIPv4, parseEndpoint, parseIPv6, rangeContains } from "./canon";

export type PathSeg = { key: string } | { index: number } | { embed: true };

export interface ProdReference {
    /** Where: `values.server.ha.raft.config`, `kubeconfig>clusters[0].cluster.server`, `homelab:hosts[0].address`. */
    path: string;
    /** The string the reference was found in. */
    value: string;
    /** The fragment that names prod: `192.168.1.0/24`, `https://pi1:6443`, `pi1`. */
    match: string;
    /** The part of the fingerprint it reaches. */
    item: FingerprintItem;
    /** A sentence: `192.168.1.0/24 contains 192.168.1.201 (pi1), ...`. */
    reason: string;
}

export interface ScanOptions {
    /** Whether a bare short host name at this path counts as an address (default: address-like last key). */
    addressContext?: (segs: readonly PathSeg[]) => boolean;
    /** Recognizes the error a property read throws when its value cannot be known yet (preview). */
    isUnknown?: (e: unknown) => boolean;
}

/** Placeholders of values that cannot be seen: secrets and unknowns of the offline plan, Pulumi's unknown sentinels. */
const OPAQUE = new Set([
    "[secret]",
    "[unknown]",
    "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7",
    "3eeb2bf0-c639-47a8-9e75-3b44932eb421",
    "04da6b54-80e4-46f7-96ec-b56ff0331ba9",
    "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2",
    "030794c1-ac77-496b-92df-f27374a8bd58",
    "e48ece36-62e2-4504-bad9-02848725956a",
    "dd056dcd-154b-4c76-9bd3-c8f88648b5ff",
]);

const MAX_DEPTH = 64;

// ------------------------------------------------------------------------------------------------
// Paths

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$-]*$/;

/** `a.b[0].c`, `a["x.y"]`, `kubeconfig>clusters[0]`; the first key is printed as it is (`homelab:hosts`). */
export function formatPath(segs: readonly PathSeg[]): string {
    let out = "";
    segs.forEach((s, i) => {
        if ("embed" in s) out += ">";
        else if ("index" in s) out += `[${s.index}]`;
        else if (i === 0) out += s.key;
        else {
            const prevEmbed = "embed" in segs[i - 1];
            if (IDENT.test(s.key)) out += (prevEmbed ? "" : ".") + s.key;
            else out += `[${JSON.stringify(s.key)}]`;
        }
    });
    return out;
}

/** The last key of a path (indices and embeddings skipped), or undefined. */
export function lastKey(segs: readonly PathSeg[]): string | undefined {
    for (let i = segs.length - 1; i >= 0; i--) {
        const s = segs[i];
        if ("key" in s) return s.key;
    }
    return undefined;
}

const ADDRESS_WORDS = new Set([
    "host", "hosts", "address", "addresses", "addr", "addrs", "server", "servers",
    "endpoint", "endpoints", "url", "urls", "uri", "uris", "ip", "ips",
]);

/** Whether a key names a host to connect to: its last word is host, address, server, endpoint, url or ip. */
export function isAddressKey(key: string): boolean {
    const words = key.replace(/([a-z0-9])([A-Z])/g, "$1 $2").toLowerCase().split(/[^a-z0-9]+/).filter(Boolean);
    const last = words[words.length - 1];
    if (!last) return false;
    return ADDRESS_WORDS.has(last) || last.endsWith("host") || last.endsWith("addr");
}

function defaultAddressContext(segs: readonly PathSeg[]): boolean {
    const k = lastKey(segs);
    return k !== undefined && isAddressKey(k);
}

// ------------------------------------------------------------------------------------------------
// Structured strings

/** The documents of a string holding JSON or YAML objects/arrays, or undefined for plain text. */
export function parseEmbedded(s: string): unknown[] | undefined {
    const t = s.trim();
    if (t.length < 2) return undefined;
    if (t[0] === "{" || t[0] === "[") {
        try {
            const j = JSON.parse(t);
            if (j && typeof j === "object") return [j];
        } catch {
            // not JSON: maybe YAML flow style
        }
    }
    if (!t.includes("\n") && !/^[{[]/.test(t) && !/^["']?[A-Za-z0-9_.\/-]+["']?\s*:\s/.test(t)) return undefined;
    try {
        const docs = YAML.parseAllDocuments(t, { prettyErrors: false, uniqueKeys: false });
        if (!Array.isArray(docs) || docs.length === 0) return undefined;
        if (docs.some((d) => d.errors.length > 0)) return undefined;
        const values = docs.map((d) => d.toJS({ maxAliasCount: 100 }) as unknown);
        if (!values.some((v) => v !== null && typeof v === "object")) return undefined;
        return values;
    } catch {
        return undefined;
    }
}

// ------------------------------------------------------------------------------------------------
// Matching one string

interface Hit {
    match: string;
    item: FingerprintItem;
    reason: string;
}

const OCTETS = String.raw`\d{1,3}(?:\.\d{1,3}){3}`;
// An address not glued to other digits or dots-with-digits; optionally /prefix or -last (a range).
const IP_RE = new RegExp(String.raw`(?<![0-9]|[0-9]\.)(${OCTETS})(?:\/(\d{1,2})(?![0-9])|[ \t]?-[ \t]?(?:(${OCTETS})|(\d{1,3})(?![0-9.])))?(?![0-9]|\.[0-9])`, "g");
// A numeric host in inet_aton's other forms: 1 to 4 parts, decimal, octal or hex; optionally /prefix.
const NUM_PART = String.raw`(?:0[xX][0-9A-Fa-f]+|\d+)`;
const NUM_RE = new RegExp(String.raw`(?<![A-Za-z0-9_.:\/%-])(${NUM_PART}(?:\.${NUM_PART}){0,3})\.?(?:\/(\d{1,2})(?![0-9]))?(?![A-Za-z0-9_]|\.[A-Za-z0-9])`, "g");
// An IPv6 literal (validated by ipaddr.js), with an optional zone id and /prefix.
const V6_RE = /(?<![0-9A-Za-z:.])((?:[0-9A-Fa-f]{0,4}:){2,7}(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9A-Fa-f]{1,4})?)(?:%[A-Za-z0-9._~-]+)?(?:\/(\d{1,3})(?![0-9]))?/g;
// A word: what a consumer could take as one URL or host.
const WORD_RE = /[^\s"'`<>()[\]{},;|\\=]+/g;
const LABEL = String.raw`[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?`;
const DNS_RE = new RegExp(String.raw`(?<![A-Za-z0-9-])(?:${LABEL}\.)+${LABEL}\.?(?![A-Za-z0-9-])`, "g");
const NIP_RE = /^(?:.*[.-])?(\d{1,3})[.-](\d{1,3})[.-](\d{1,3})[.-](\d{1,3})\.(?:nip|sslip|xip)\.io$/;
const URL_RE = /[A-Za-z][A-Za-z0-9+.-]*:\/\/([^\s\/?#"'<>\\`]+)/g;
const URL_RE_ONE = /[A-Za-z][A-Za-z0-9+.-]*:\/\//;

function escapeRe(s: string): string {
    return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function tokenRe(token: string, flags = "g"): RegExp {
    return new RegExp(`(?<![A-Za-z0-9_.-])${escapeRe(token)}(?![A-Za-z0-9_-]|\\.[A-Za-z0-9])`, flags);
}

/** Everything about the fingerprint that matching needs, precomputed once per fingerprint. */
class Matcher {
    private readonly byAddress = new Map<string, FingerprintItem>();
    private readonly addressNums: { n: number; item: FingerprintItem; host: string }[] = [];
    private readonly byHostName = new Map<string, FingerprintItem>();
    private readonly byHostname = new Map<string, FingerprintItem>();
    /** The prod zones (public and internal): each name and every name under it. */
    private readonly zoneItems: FingerprintItem[] = [];
    private readonly vaultItem?: FingerprintItem;
    private readonly tunnelItem?: FingerprintItem;
    private readonly postgresItem?: FingerprintItem;
    private readonly tokens: { re: RegExp; item: FingerprintItem; what: string }[] = [];
    private readonly shortRe?: string;

    constructor(readonly fp: Fingerprint) {
        for (const it of fp.items) {
            switch (it.kind) {
                case "address": this.byAddress.set(it.value, it); break;
                case "hostName": this.byHostName.set(it.value, it); break;
                case "hostname": this.byHostname.set(it.value, it); break;
                case "zone": this.zoneItems.push(it); break;
                case "vault": this.vaultItem = it; break;
                case "tunnel": this.tunnelItem = it; break;
                case "postgres": this.postgresItem = it; break;
                case "bucket":
                case "gcpProject":
                case "hostKey":
                    this.tokens.push({ re: tokenRe(it.value), item: it, what: it.what });
                    break;
                case "zoneId":
                    this.tokens.push({ re: tokenRe(it.value, "gi"), item: it, what: it.what });
                    break;
            }
        }
        for (const h of fp.hosts) {
            const n = ipv4Readings(h.address)[0];
            const item = this.byAddress.get(h.address);
            if (n !== undefined && item) this.addressNums.push({ n, item, host: h.name });
        }
        // The tunnel's id (the first label of <uuid>.cfargotunnel.com) names the tunnel too.
        if (this.tunnelItem) {
            const id = this.tunnelItem.value.split(".")[0];
            if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(id)) {
                this.tokens.push({ re: tokenRe(id, "gi"), item: this.tunnelItem, what: `the id of ${this.tunnelItem.what}` });
            }
        }
        // Bare host names, for the address-context detectors below.
        if (fp.hostNames.length) this.shortRe = fp.hostNames.map(escapeRe).join("|");
    }

    /** The hit of an IPv4 address (as a number), if prod's. `after`: the text that follows (a port). */
    private addressHit(n: number, after: string, match: string, spelled = ""): Hit | undefined {
        const ip = formatIPv4(n);
        const how = spelled ? ` (${spelled} is ${ip})` : "";
        const port = /^:(\d{1,5})(?![0-9])/.exec(after)?.[1];
        const a = this.addressNums.find((x) => x.n === n);
        if (!a) {
            if (this.vaultItem && this.vaultItem.value === ip) {
                return { match, item: this.vaultItem, reason: `${ip}${how} is ${this.vaultItem.what}` };
            }
            return undefined;
        }
        if (this.postgresItem && this.fp.postgres && port !== undefined && Number(port) === this.fp.postgres.port
            && this.fp.postgres.address === ip) {
            return { match: `${match}:${port}`, item: this.postgresItem, reason: `${ip}:${port}${how} is ${this.postgresItem.what}` };
        }
        return { match: port ? `${match}:${port}` : match, item: a.item, reason: `${spelled ? `${spelled} is ${ip}, ` : `${ip} is `}${a.item.what}` };
    }

    private containedHit(match: string, kind: "CIDR" | "range", contains: (n: number) => boolean): Hit | undefined {
        const inside = this.addressNums.filter((a) => contains(a.n));
        if (inside.length === 0) return undefined;
        const list = inside.map((a) => `${formatIPv4(a.n)} (prod host ${a.host})`).join(", ");
        return { match, item: inside[0].item, reason: `the ${kind} ${match} contains ${list}` };
    }

    /** The item a DNS name reaches, most specific first: a host's name, the vault, the tunnel, the zone. */
    private nameHit(raw: string, after: string, canonical?: string): Hit | undefined {
        const name = (canonical ?? raw).toLowerCase().replace(/\.$/, "");
        const how = canonical !== undefined && canonical !== raw.toLowerCase().replace(/\.$/, "") ? ` (${raw} is ${name})` : "";
        const port = /^:(\d{1,5})(?![0-9])/.exec(after)?.[1];
        const pg = this.fp.postgres;
        if (pg && this.postgresItem && port !== undefined && Number(port) === pg.port
            && (pg.hostname === name || `${pg.host}.local` === name)) {
            return { match: `${raw}:${port}`, item: this.postgresItem, reason: `${name}:${port}${how} is ${this.postgresItem.what}` };
        }
        const direct = this.byHostname.get(name)
            ?? (this.vaultItem?.value === name ? this.vaultItem : undefined)
            ?? (this.tunnelItem?.value === name ? this.tunnelItem : undefined);
        if (direct) return { match: raw, item: direct, reason: `${name}${how} is ${direct.what}` };
        // The LAN answers for a Pi under its multicast-DNS name too (avahi on Raspberry Pi OS).
        const mdns = /^(.*)\.local$/.exec(name);
        const short = mdns ? this.byHostName.get(mdns[1]) : undefined;
        if (short) return { match: raw, item: short, reason: `${name}${how} is the multicast-DNS name of ${short.what.replace(/^the name of /, "")}` };
        const nip = NIP_RE.exec(name);
        if (nip) {
            for (const n of ipv4Readings(nip.slice(1, 5).join("."))) {
                const a = this.addressNums.find((x) => x.n === n);
                if (a) return { match: raw, item: a.item, reason: `${name} resolves to ${formatIPv4(n)}, ${a.item.what}` };
            }
        }
        for (const z of this.zoneItems) {
            if (name === z.value || name.endsWith(`.${z.value}`)) {
                return { match: raw, item: z, reason: name === z.value ? `${name}${how} is ${z.what}` : `${name}${how} is in ${z.what}` };
            }
        }
        return undefined;
    }

    private shortNameHit(name: string, match: string, how: string): Hit | undefined {
        const host = name.toLowerCase().replace(/\.$/, "");
        const item = this.byHostName.get(host);
        if (!item) return undefined;
        const pg = this.fp.postgres;
        const port = /:(\d{1,5})$/.exec(match)?.[1];
        if (pg && this.postgresItem && pg.host === item.value && port !== undefined && Number(port) === pg.port) {
            return { match, item: this.postgresItem, reason: `${host}:${port} (${how}) is ${this.postgresItem.what}` };
        }
        return { match, item, reason: `${host} (${how}) is ${item.what}` };
    }

    /**
     * The hits of one host, canonical (canon.ts): an address in any spelling, an IPv6 that carries
     * a prod address, a name (a bare prod host name where `short` says it is used as a host).
     */
    private hostHits(c: CanonicalHost, raw: string, after: string, short: string | undefined): Hit[] {
        const out: Hit[] = [];
        for (const n of ipv4sOf(c)) {
            const h = this.addressHit(n, after, raw, raw.replace(/^\[|\]$/g, "") === formatIPv4(n) ? "" : raw);
            if (h) out.push(h);
        }
        if (c.kind === "name") {
            const h = this.nameHit(raw, after, c.value)
                ?? (short !== undefined ? this.shortNameHit(c.value, `${raw}${/^:\d{1,5}/.exec(after)?.[0] ?? ""}`, short) : undefined);
            if (h) out.push(h);
        }
        return out;
    }

    /** Every prod reference in one string. `addressContext`: the string is the value of an address-like key. */
    scanText(s: string, addressContext: boolean): Hit[] {
        const hits: Hit[] = [];
        const push = (h: Hit | Hit[] | undefined) => {
            if (Array.isArray(h)) hits.push(...h);
            else if (h) hits.push(h);
        };

        // Dotted quads (leading zeros read as inet_aton's octal and as decimal), CIDRs, ranges.
        for (const m of s.matchAll(IP_RE)) {
            const readings = ipv4Readings(m[1]);
            if (readings.length === 0) continue;
            if (m[2] !== undefined && Number(m[2]) <= 32) {
                const prefix = Number(m[2]);
                push(this.containedHit(m[0], "CIDR", (a) => readings.some((n) => cidrContains(n, prefix, a))));
                continue;
            }
            if (m[3] !== undefined || m[4] !== undefined) {
                const lasts = m[3] !== undefined
                    ? ipv4Readings(m[3])
                    : readings.map((n) => Math.floor(n / 256) * 256 + Number(m[4]));
                if (lasts.length && (m[4] === undefined || Number(m[4]) <= 255)) {
                    push(this.containedHit(m[0], "range", (a) => readings.some((n) => lasts.some((l) => rangeContains(n, l, a)))));
                    continue;
                }
            }
            const after = s.slice(m.index! + m[0].length);
            for (const n of readings) push(this.addressHit(n, after, m[1], formatIPv4(n) === m[1] ? "" : m[1]));
        }

        // The other numeric spellings getaddrinfo's inet_aton accepts: 3232235977, 0xc0a801c9,
        // 0300.0250.1.0311, 192.168.457, 192.11010505 (a CIDR of one too).
        for (const m of s.matchAll(NUM_RE)) {
            if (/^\d{1,3}(?:\.\d{1,3}){3}$/.test(m[1])) continue; // a dotted quad: above
            const readings = ipv4Readings(m[1]);
            if (m[2] !== undefined && Number(m[2]) <= 32) {
                const prefix = Number(m[2]);
                push(this.containedHit(m[0], "CIDR", (a) => readings.some((n) => cidrContains(n, prefix, a))));
                continue;
            }
            const after = s.slice(m.index! + m[0].length);
            for (const n of readings) push(this.addressHit(n, after, m[1], m[1]));
        }

        // IPv6 that carries a prod address (::ffff:192.168.1.201, ::ffff:c0a8:1c9, 64:ff9b::c0a8:1c9), or a network of them.
        for (const m of s.matchAll(V6_RE)) {
            const a = parseIPv6(m[1]);
            if (!a) continue;
            if (m[2] !== undefined && Number(m[2]) <= 128) {
                const prefix = Number(m[2]);
                push(this.containedHit(m[0], "CIDR", (n) => ipv6CidrContainsIPv4(a, prefix, n)));
                continue;
            }
            push(this.hostHits({ kind: "ipv6", value: a.toNormalizedString(), v4: ipv4OfIPv6(a) }, m[1],
                s.slice(m.index! + m[0].length).replace(/^\]/, ""), undefined));
        }

        // The host of every URL, as its consumer reads it (percent-decoded, IDNA-mapped, numeric forms).
        for (const m of s.matchAll(URL_RE)) {
            const ep = parseEndpoint(m[1]);
            if (!ep) continue;
            push(this.hostHits(ep.host, ep.rawHost, ep.port !== undefined ? `:${ep.port}` : "", "the host of a URL"));
        }

        // Words a URL parser would fold into another name: percent-encoding, non-ASCII (IDNA).
        for (const m of s.matchAll(WORD_RE)) {
            const w = m[0];
            if (!/[^\x00-\x7f]|%[0-9A-Fa-f]{2}/.test(w) || URL_RE_ONE.test(w)) continue;
            const ep = parseEndpoint(w);
            if (!ep || ep.host.kind !== "name" || ep.host.value === ep.rawHost.toLowerCase()) continue;
            push(this.hostHits(ep.host, w, ep.port !== undefined ? `:${ep.port}` : "", addressContext ? "used as an address" : undefined));
        }

        // DNS names on label boundaries.
        for (const m of s.matchAll(DNS_RE)) {
            if (/^[0-9.]+$/.test(m[0]) || /^0[xX]/.test(m[0])) continue; // an address: handled above
            push(this.nameHit(m[0], s.slice(m.index! + m[0].length)));
        }

        // Whole identifiers: bucket, GCP project, zone id, tunnel id.
        for (const t of this.tokens) {
            for (const m of s.matchAll(t.re)) push({ match: m[0], item: t.item, reason: `${m[0]} is ${t.what}` });
        }

        if (this.shortRe) {
            const short = this.shortRe;
            const end = String.raw`\.?(?![A-Za-z0-9_-]|\.[A-Za-z0-9])`;
            // host:port
            for (const m of s.matchAll(new RegExp(String.raw`(?<![A-Za-z0-9_.\/-])(${short})\.?:(\d{1,5})(?![0-9])`, "gi"))) {
                push(this.shortNameHit(m[1], m[0], "host:port"));
            }
            // user@host
            for (const m of s.matchAll(new RegExp(String.raw`[A-Za-z0-9._%+-]@(${short})\.?(:\d{1,5})?(?![0-9A-Za-z_-]|\.[A-Za-z0-9])`, "gi"))) {
                push(this.shortNameHit(m[1], m[0], "user@host"));
            }
            // key=value / key: value with an address-like key (PGHOST=pi2, host=pi2 in a connection string).
            for (const m of s.matchAll(new RegExp(String.raw`([A-Za-z_][A-Za-z0-9_.-]*)["']?[ \t]*[=:][ \t]*["']?(${short})${end}`, "gi"))) {
                if (isAddressKey(m[1])) push(this.shortNameHit(m[2], m[0], `the value of ${m[1]}`));
            }
            // --host pi1, --server=pi1, -h pi2
            for (const m of s.matchAll(new RegExp(String.raw`(?<![A-Za-z0-9_-])(--?[A-Za-z][A-Za-z0-9-]*)(?:=|[ \t]+)["']?(${short})${end}`, "gi"))) {
                const flag = m[1];
                if (flag === "-h" || flag === "-H" || (flag.startsWith("--") && isAddressKey(flag.slice(2)))) {
                    push(this.shortNameHit(m[2], m[0], `the argument of ${flag}`));
                }
            }
            // The whole value, where it is an address.
            if (addressContext) {
                const ep = parseEndpoint(s.trim());
                if (ep) push(this.hostHits(ep.host, ep.rawHost, ep.port !== undefined ? `:${ep.port}` : "", "used as an address"));
            }
        }
        return hits;
    }
}

const matchers = new WeakMap<Fingerprint, Matcher>();

function matcherOf(fp: Fingerprint): Matcher {
    let m = matchers.get(fp);
    if (!m) {
        m = new Matcher(fp);
        matchers.set(fp, m);
    }
    return m;
}

function itemKey(r: { item: FingerprintItem }): string {
    return `${r.item.kind}\u0000${r.item.value}`;
}

/**
 * Every reference to prod in `value`, with its path. `root` is the path of `value` itself (a config
 * key, an input name). One reference per (path, fingerprint item).
 */
export function scanForProd(value: unknown, fp: Fingerprint, root: PathSeg[] = [], opts: ScanOptions = {}): ProdReference[] {
    const m = matcherOf(fp);
    const addressContext = opts.addressContext ?? defaultAddressContext;
    const read = (o: Record<string | number, unknown>, k: string | number): { ok: true; v: unknown } | { ok: false } => {
        try {
            return { ok: true, v: o[k] };
        } catch (e) {
            if (opts.isUnknown && opts.isUnknown(e)) return { ok: false };
            throw e;
        }
    };

    const scanString = (s: string, segs: PathSeg[], depth: number): ProdReference[] => {
        if (OPAQUE.has(s)) return [];
        const path = formatPath(segs);
        const seen = new Set<string>();
        const text: ProdReference[] = [];
        for (const h of m.scanText(s, addressContext(segs))) {
            const k = itemKey(h);
            if (seen.has(k)) continue;
            seen.add(k);
            text.push({ path, value: s, ...h });
        }
        const docs = depth < MAX_DEPTH ? parseEmbedded(s) : undefined;
        if (!docs) return text;
        const inner: ProdReference[] = [];
        docs.forEach((d, i) => {
            const at: PathSeg[] = docs.length === 1 ? [...segs, { embed: true }] : [...segs, { embed: true }, { index: i }];
            walk(d, at, depth + 1, inner);
        });
        // What the structure explains precisely is reported there; the rest (comments, text the
        // parser folded) at the string itself.
        const covered = new Set(inner.map(itemKey));
        return [...inner, ...text.filter((r) => !covered.has(itemKey(r)))];
    };

    const walk = (v: unknown, segs: PathSeg[], depth: number, out: ProdReference[]): void => {
        if (typeof v === "string") {
            out.push(...scanString(v, segs, depth));
            return;
        }
        if (v === null || typeof v !== "object" || depth >= MAX_DEPTH) return;
        if (typeof (v as { then?: unknown }).then === "function") return; // a promise (an asset's path)
        if (Array.isArray(v)) {
            const n = v.length;
            for (let i = 0; i < n; i++) {
                const r = read(v as unknown as Record<number, unknown>, i);
                if (r.ok) walk(r.v, [...segs, { index: i }], depth + 1, out);
            }
            return;
        }
        for (const k of Object.keys(v)) {
            const r = read(v as Record<string, unknown>, k);
            if (r.ok) walk(r.v, [...segs, { key: k }], depth + 1, out);
        }
    };

    const out: ProdReference[] = [];
    walk(value, root, 0, out);
    return out;
}

/** A short excerpt of `value` around `match`, for messages. */
export function excerpt(value: string, match: string, width = 100): string {
    const flat = value.replace(/\s+/g, " ").trim();
    if (flat.length <= width) return flat;
    const at = Math.max(0, flat.indexOf(match.replace(/\s+/g, " ")));
    const start = Math.max(0, at - Math.floor((width - match.length) / 2));
    const end = Math.min(flat.length, start + width);
    return `${start > 0 ? "…" : ""}${flat.slice(start, end)}${end < flat.length ? "…" : ""}`;
}

/** One line describing a reference: the path, then why it is prod. */
export function describeReference(r: ProdReference): string {
    const shown = r.value.trim() === r.match.trim() ? "" : ` in "${excerpt(r.value, r.match)}"`;
    return `${r.path}: ${r.reason}${shown}`;
}
