// The guard's canonicaliser: a host-like value reduced to what its consumer would connect to,
// with the consumer's own parsing, so that no spelling of a prod address or name gets past the
// comparison with prod's fingerprint.
//
//   - URLs: the WHATWG URL host parser (Node's `URL`), which percent-decodes, applies IDNA (UTS #46)
//     mapping (case, Unicode full stops U+3002/U+FF0E/U+FF61, full-width letters, ignored code
//     points such as the soft hyphen) and parses IPv4 in every numeric form. A URL of a non-special
//     scheme (postgres://, oci://, ssh://) keeps an opaque host in WHATWG; its consumer (libpq,
//     Helm's OCI client, ssh) resolves it with getaddrinfo, so its host is re-read as an http host.
//   - Bare IPv4: inet_aton semantics (what getaddrinfo applies to a numeric host): 1 to 4 parts,
//     each decimal, octal (leading 0) or hex (0x); the last part fills the remaining bytes:
//     3232235977, 0300.0250.1.0311, 0xc0a801c9, 192.168.457, 192.11010505 are all 192.168.1.201.
//     A dotted quad with leading zeros is read both ways (inet_aton's octal, and the decimal that
//     some parsers use): either one that is prod counts. Parsed with ipaddr.js
//     (whitequark/ipaddr.js lib/ipaddr.js: IPv4.parser accepts the "fourOctet", "threeOctet",
//     "twoOctet" and "longValue" forms with octal and hex parts).
//   - IPv6 that carries an IPv4 address: IPv4-mapped ::ffff:a.b.c.d (::ffff:c0a8:1c9), IPv4-
//     translated ::ffff:0:a.b.c.d (RFC 2765), IPv4-compatible ::a.b.c.d, and the NAT64 well-known
//     prefix 64:ff9b::/96 (RFC 6052): each reaches the IPv4 address it carries.
//   - Names: lower case, trailing dot dropped, percent-decoded, IDNA-mapped (through the URL parser).
import * as ipaddr from "ipaddr.js";

export type CanonicalHost =
    | { kind: "ipv4"; value: string; n: number }
    | { kind: "ipv6"; value: string; v4?: number }
    | { kind: "name"; value: string };

/** The address as an unsigned 32-bit number. */
export function ipv4Number(a: ipaddr.IPv4): number {
    return a.octets.reduce((n, o) => n * 256 + o, 0);
}

export function formatIPv4(n: number): string {
    return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join(".");
}

const NUMERIC_PART = /^(?:0[xX][0-9A-Fa-f]*|\d+)$/;

/**
 * Every IPv4 address a bare numeric host can mean (inet_aton's reading, and the plain decimal one
 * of a dotted quad with leading zeros); empty when it is not a numeric host at all.
 */
export function ipv4Readings(s: string): number[] {
    const t = s.replace(/\.$/, "");
    const parts = t.split(".");
    if (parts.length < 1 || parts.length > 4 || !parts.every((p) => NUMERIC_PART.test(p))) return [];
    const out = new Set<number>();
    try {
        if (ipaddr.IPv4.isValid(t)) out.add(ipv4Number(ipaddr.IPv4.parse(t)));
    } catch {
        // not inet_aton-valid (08, 0x100000000...)
    }
    if (parts.length === 4 && parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) {
        out.add(parts.reduce((n, p) => n * 256 + Number(p), 0));
    }
    return [...out];
}

/** The IPv4 address an IPv6 address carries (mapped, translated, compatible, NAT64), if any. */
export function ipv4OfIPv6(a: ipaddr.IPv6): number | undefined {
    const p = a.parts;
    const tail = p[6] * 65536 + p[7];
    const zero = (from: number, to: number) => p.slice(from, to).every((x) => x === 0);
    if (zero(0, 5) && p[5] === 0xffff) return tail; // ::ffff:a.b.c.d (mapped)
    if (zero(0, 4) && p[4] === 0xffff && p[5] === 0) return tail; // ::ffff:0:a.b.c.d (translated)
    if (p[0] === 0x64 && p[1] === 0xff9b && zero(2, 6)) return tail; // 64:ff9b::a.b.c.d (NAT64)
    if (zero(0, 6) && tail > 1) return tail; // ::a.b.c.d (compatible; not :: or ::1)
    return undefined;
}

/** An IPv6 literal (brackets and zone id allowed), or undefined. */
export function parseIPv6(s: string): ipaddr.IPv6 | undefined {
    const t = s.replace(/^\[|\]$/g, "").replace(/%.*$/, "");
    if (!t.includes(":") || !ipaddr.IPv6.isValid(t)) return undefined;
    try {
        return ipaddr.IPv6.parse(t);
    } catch {
        return undefined;
    }
}

/** What the WHATWG URL host parser makes of a host (as an http URL's), or undefined when it refuses it. */
export function whatwgHost(host: string): string | undefined {
    if (host === "" || /[\s/?#@\\]/.test(host)) return undefined;
    try {
        const u = new URL(`http://${host}/`);
        if (u.port !== "" || u.username !== "" || u.password !== "") return undefined;
        return u.hostname;
    } catch {
        return undefined;
    }
}

/**
 * A host (no port, no user) reduced to what is connected to, or undefined when no consumer would
 * accept it as a host.
 */
export function canonicalHost(raw: string): CanonicalHost | undefined {
    const s = raw.trim();
    if (s === "") return undefined;
    const v6 = parseIPv6(s);
    if (v6) return { kind: "ipv6", value: v6.toNormalizedString(), v4: ipv4OfIPv6(v6) };
    const numeric = ipv4Readings(s);
    if (numeric.length) return { kind: "ipv4", value: formatIPv4(numeric[0]), n: numeric[0] };
    const h = whatwgHost(s);
    if (h === undefined) return undefined;
    if (h.startsWith("[")) {
        const a = parseIPv6(h);
        return a ? { kind: "ipv6", value: a.toNormalizedString(), v4: ipv4OfIPv6(a) } : undefined;
    }
    if (ipaddr.IPv4.isValidFourPartDecimal(h)) {
        const n = ipv4Number(ipaddr.IPv4.parse(h));
        return { kind: "ipv4", value: h, n };
    }
    return { kind: "name", value: h.replace(/\.$/, "") };
}

/** The IPv4 addresses a canonical host reaches (an IPv6 that carries one included). */
export function ipv4sOf(c: CanonicalHost): number[] {
    if (c.kind === "ipv4") return [c.n];
    if (c.kind === "ipv6" && c.v4 !== undefined) return [c.v4];
    return [];
}

export interface Endpoint {
    host: CanonicalHost;
    /** As written (before canonicalisation), for messages. */
    rawHost: string;
    port?: number;
}

/**
 * An endpoint written as a URL (any scheme), `user@host[:port]`, `host:port`, `[v6]:port`, a bare
 * host or a registry reference (`host[:port]/repo[:tag]`): its host, canonical, and port.
 * Undefined when the value is none of these (an unparseable endpoint).
 */
export function parseEndpoint(value: string): Endpoint | undefined {
    const s = value.trim();
    if (s === "" || /\s/.test(s)) return undefined;
    let authority: string;
    const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/(.*)$/.exec(s);
    if (scheme) {
        try {
            new URL(s);
        } catch {
            return undefined;
        }
        authority = scheme[2].split(/[/?#]/)[0];
    } else {
        authority = s.split("/")[0];
    }
    authority = authority.slice(authority.lastIndexOf("@") + 1);
    let rawHost = authority;
    let port: string | undefined;
    const bracket = /^(\[[^\]]*\])(?::(\d*))?$/.exec(authority);
    if (bracket) {
        rawHost = bracket[1];
        port = bracket[2];
    } else if (!parseIPv6(authority)) {
        const m = /^(.*):(\d*)$/.exec(authority);
        if (m) {
            rawHost = m[1];
            port = m[2];
        }
    }
    if (port !== undefined && port !== "" && Number(port) > 65535) return undefined;
    const host = canonicalHost(rawHost);
    if (!host) return undefined;
    return { host, rawHost, port: port ? Number(port) : undefined };
}

/** Whether the IPv4 network `base/prefix` contains `n`. */
export function cidrContains(base: number, prefix: number, n: number): boolean {
    if (prefix < 0 || prefix > 32) return false;
    const a = ipaddr.IPv4.parse(formatIPv4(n));
    return a.match(ipaddr.IPv4.parse(formatIPv4(base)), prefix);
}

/** Whether the inclusive range first..last (either order) contains `n`. */
export function rangeContains(first: number, last: number, n: number): boolean {
    return n >= Math.min(first, last) && n <= Math.max(first, last);
}

/** Whether the IPv6 network `base/prefix` contains an IPv6 spelling (mapped, NAT64...) of the IPv4 `n`. */
export function ipv6CidrContainsIPv4(base: ipaddr.IPv6, prefix: number, n: number): boolean {
    if (prefix < 0 || prefix > 128) return false;
    const v4 = formatIPv4(n);
    for (const spelling of [`::ffff:${v4}`, `::ffff:0:${v4}`, `64:ff9b::${v4}`, `::${v4}`]) {
        if (ipaddr.IPv6.parse(spelling).match(base, prefix)) return true;
    }
    return false;
}
