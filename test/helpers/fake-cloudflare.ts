// A loopback stand-in for Cloudflare's API v4, the two reads discover makes: GET /zones?name= and
// GET /zones/<id>/dns_records?page=&per_page= (the envelope {success, errors, messages, result,
// result_info}). Requests without the expected Bearer token get 403 with Cloudflare's error shape.
import * as http from "http";
import { AddressInfo } from "net";

export interface FakeZone { id: string; name: string; records: { id: string; type: string; name: string; content: string; proxied: boolean; ttl: number }[]; }

export class FakeCloudflare {
    readonly zones: FakeZone[] = [];
    token = "cf-test-token";
    readonly requests: string[] = [];
    private server?: http.Server;
    url = "";

    async start(): Promise<string> {
        this.server = http.createServer((req, res) => this.handle(req, res));
        await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
        this.url = `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}/client/v4`;
        return this.url;
    }

    async stop(): Promise<void> {
        this.server?.closeAllConnections();
        await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
    }

    private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
        const url = new URL(req.url ?? "/", "http://x");
        this.requests.push(`${req.method} ${url.pathname}${url.search}`);
        const send = (status: number, body: Record<string, unknown>) => {
            res.statusCode = status;
            res.setHeader("Content-Type", "application/json");
            res.end(JSON.stringify({ success: status === 200, errors: [], messages: [], ...body }));
        };
        if (req.method !== "GET") return send(405, { success: false, errors: [{ code: 10000, message: "method not allowed here" }] });
        if (req.headers.authorization !== `Bearer ${this.token}`) return send(403, { success: false, errors: [{ code: 10000, message: "Authentication error" }] });
        const p = url.pathname.replace(/^\/client\/v4/, "");
        if (p === "/zones") {
            const name = url.searchParams.get("name");
            const result = this.zones.filter((z) => !name || z.name === name).map((z) => ({ id: z.id, name: z.name, status: "active" }));
            return send(200, { result, result_info: { page: 1, per_page: 20, count: result.length, total_count: result.length, total_pages: 1 } });
        }
        const m = /^\/zones\/([^/]+)\/dns_records$/.exec(p);
        if (m) {
            const zone = this.zones.find((z) => z.id === m[1]);
            if (!zone) return send(404, { success: false, errors: [{ code: 7003, message: "Could not route to /zones/..., perhaps your object identifier is invalid?" }] });
            const page = Number(url.searchParams.get("page") ?? 1);
            const per = Number(url.searchParams.get("per_page") ?? 100);
            const result = zone.records.slice((page - 1) * per, page * per).map((r) => ({ ...r, zone_id: zone.id, zone_name: zone.name, proxiable: true }));
            return send(200, { result, result_info: { page, per_page: per, count: result.length, total_count: zone.records.length, total_pages: Math.max(1, Math.ceil(zone.records.length / per)) } });
        }
        send(404, { success: false, errors: [{ code: 7000, message: "No route for that URI" }] });
    }
}
