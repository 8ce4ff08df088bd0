// The Cloudflare side of discover: GET only, API v4 with a token (CLOUDFLARE_API_TOKEN, Bearer,
// never printed; a token with Zone.DNS:Read is enough). GET /zones?name=<zone> gives the zone id;
// GET /zones/<id>/dns_records?page=N&per_page=100 lists the records (result_info.total_pages).
// The base URL is an endpoint like the others, so tests point it at a loopback fake.
import { fetchFailure } from "./endpoints";
import { DnsRecordFacts } from "../../components/facts";

export class CloudflareReader {
    constructor(readonly base: string, private readonly token: string, readonly timeoutMs: number) {}

    private async get(path: string): Promise<any> {
        const url = `${this.base.replace(/\/+$/, "")}${path}`;
        let res: Response;
        try {
            res = await fetch(url, { headers: { Authorization: `Bearer ${this.token}` }, signal: AbortSignal.timeout(this.timeoutMs), redirect: "error" });
        } catch (e) {
            throw new Error(`Cloudflare API at ${this.base}: GET ${path}: ${fetchFailure(e, this.timeoutMs)}`);
        }
        const body: any = await res.json().catch(() => ({}));
        if (res.status !== 200 || body.success !== true) {
            const errs = (body.errors ?? []).map((e: any) => `${e.code}: ${e.message}`).join("; ");
            throw new Error(`Cloudflare API: GET ${path}: HTTP ${res.status}${errs ? ` (${errs})` : ""}`);
        }
        return body;
    }

    async zoneId(zone: string): Promise<string> {
        const body = await this.get(`/zones?name=${encodeURIComponent(zone)}`);
        const zones = (body.result ?? []).filter((z: any) => z.name === zone);
        if (zones.length !== 1) throw new Error(`Cloudflare API: ${zones.length} zones named ${zone} visible to the token (expected 1)`);
        return zones[0].id;
    }

    async records(zoneId: string): Promise<DnsRecordFacts[]> {
        const out: DnsRecordFacts[] = [];
        for (let page = 1; page <= 50; page++) {
            const body = await this.get(`/zones/${encodeURIComponent(zoneId)}/dns_records?page=${page}&per_page=100`);
            for (const r of body.result ?? []) out.push({ id: r.id, type: r.type, name: r.name, content: r.content, proxied: r.proxied === true, ttl: r.ttl });
            if (page >= (body.result_info?.total_pages ?? 1)) return out;
        }
        throw new Error("Cloudflare API: more than 50 pages of DNS records");
    }
}

/** Each public app's record: the one record named <app>.<zone> (naming.ts publicHostname). */
export function recordsByApp(records: DnsRecordFacts[], hostnames: Record<string, string>): Record<string, DnsRecordFacts> {
    const out: Record<string, DnsRecordFacts> = {};
    for (const [app, host] of Object.entries(hostnames)) {
        const found = records.filter((r) => r.name === host && ["CNAME", "A", "AAAA"].includes(r.type));
        if (found.length !== 1) throw new Error(`Cloudflare: ${found.length} A/AAAA/CNAME records named ${host} (app ${app}); expected exactly 1`);
        out[app] = found[0];
    }
    return out;
}
