// IPv4 arithmetic for the prod guard: addresses as numbers, CIDR and range containment.
// Addresses are compared as numbers, never as substrings (192.168.1.2010 is not 192.168.1.201).

/** The address as an unsigned 32-bit number, or undefined when it is not a dotted-quad IPv4. */
export function parseIPv4(s: string): number | undefined {
    const parts = s.split(".");
    if (parts.length !== 4) return undefined;
    let n = 0;
    for (const p of parts) {
        if (!/^\d{1,3}$/.test(p)) return undefined;
        const o = Number(p);
        if (o > 255) return undefined;
        n = n * 256 + o;
    }
    return n;
}

/** The canonical dotted form (leading zeros dropped): "192.168.01.201" -> "192.168.1.201". */
export function canonicalIPv4(s: string): string | undefined {
    const n = parseIPv4(s);
    return n === undefined ? undefined : formatIPv4(n);
}

export function formatIPv4(n: number): string {
    return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join(".");
}

/** Whether `addr` lies in the network `base/prefix` (prefix 0..32). */
export function cidrContains(base: number, prefix: number, addr: number): boolean {
    if (prefix < 0 || prefix > 32) return false;
    if (prefix === 0) return true;
    const size = 2 ** (32 - prefix);
    return Math.floor(base / size) === Math.floor(addr / size);
}

/** Whether `addr` lies in the inclusive range first..last (in either order). */
export function rangeContains(first: number, last: number, addr: number): boolean {
    const lo = Math.min(first, last);
    const hi = Math.max(first, last);
    return addr >= lo && addr <= hi;
}
