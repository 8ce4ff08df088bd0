// A local HTTP server standing in for Gitea: only the endpoints the bootstrap and seed scripts
// and `npm run verify` use, answering as Gitea's API does (go-gitea/gitea routers/api/v1/api.go
// for the routes and their auth; routers/api/v1/user/app.go for the tokens: POST answers 201
// with the token in "sha1" and 400 "access token name has been used already", GET lists them
// without it, DELETE /tokens/{id or name} 204 or 404; 201 on create and 204 on delete elsewhere,
// 404 for what is not there or not visible), plus Git's smart
// HTTP protocol through the real `git http-backend`, so pushes are real pushes into bare repos.
import { spawn } from "child_process";
import * as fs from "fs";
import * as http from "http";
import { AddressInfo } from "net";
import * as os from "os";
import * as path from "path";
import { randomBytes } from "crypto";

export interface FakeGiteaToken {
    id: number;
    name: string;
    sha1: string;
    scopes: string[];
}

export class FakeGitea {
    readonly root = fs.mkdtempSync(path.join(os.tmpdir(), "fake-gitea-"));
    readonly orgs = new Set<string>();
    /** "org/repo" -> default branch. */
    readonly repos = new Map<string, string>();
    readonly tokens: FakeGiteaToken[] = [];
    /** Every request, "METHOD /path". */
    readonly requests: string[] = [];
    private server?: http.Server;
    private nextId = 1;
    url = "";

    constructor(readonly adminUser: string, readonly adminPassword: string) {}

    async start(): Promise<string> {
        this.server = http.createServer((req, res) => {
            this.handle(req, res).catch((e) => {
                res.statusCode = 500;
                res.end(String(e));
            });
        });
        await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
        this.url = `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
        return this.url;
    }

    async stop(): Promise<void> {
        await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
        fs.rmSync(this.root, { recursive: true, force: true });
    }

    bareRepo(full: string): string {
        return path.join(this.root, `${full}.git`);
    }

    private auth(req: http.IncomingMessage): "basic" | "token" | undefined {
        const h = req.headers.authorization ?? "";
        if (h.startsWith("Basic ")) {
            const [u, ...rest] = Buffer.from(h.slice(6), "base64").toString("utf8").split(":");
            const p = rest.join(":");
            if (u === this.adminUser && p === this.adminPassword) return "basic";
            // Gitea takes a token as the password of basic auth too.
            if (this.tokens.some((t) => t.sha1 === p)) return "token";
            return undefined;
        }
        if (h.startsWith("token ") && this.tokens.some((t) => t.sha1 === h.slice(6))) return "token";
        return undefined;
    }

    private async body(req: http.IncomingMessage): Promise<Buffer> {
        const chunks: Buffer[] = [];
        for await (const c of req) chunks.push(c as Buffer);
        return Buffer.concat(chunks);
    }

    private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
        const url = new URL(req.url ?? "/", "http://x");
        const method = req.method ?? "GET";
        const p = url.pathname;
        this.requests.push(`${method} ${p}`);
        const json = (status: number, value?: unknown) => {
            res.statusCode = status;
            if (value !== undefined) {
                res.setHeader("Content-Type", "application/json");
                res.end(JSON.stringify(value));
            } else res.end();
        };
        if (p === "/api/healthz") return json(200, { status: "pass" });
        if (/^\/[^/]+\/[^/]+\.git\//.test(p)) return this.git(req, res, url);
        if (!p.startsWith("/api/v1/")) return json(404, { message: "not found" });
        const who = this.auth(req);
        if (req.headers.authorization && !who) return json(401, { message: "user does not exist or password is wrong" });
        const raw = (await this.body(req)).toString("utf8");
        const input = raw ? JSON.parse(raw) : {};
        let m: RegExpExecArray | null;

        if (p === "/api/v1/orgs" && method === "POST") {
            if (who !== "basic") return json(401, { message: "token is required" });
            if (this.orgs.has(input.username)) return json(422, { message: "user already exists" });
            this.orgs.add(input.username);
            return json(201, { id: this.nextId++, username: input.username, name: input.username, visibility: input.visibility });
        }
        if ((m = /^\/api\/v1\/orgs\/([^/]+)$/.exec(p))) {
            const org = m[1];
            if (!this.orgs.has(org)) return json(404, { message: "org not found" });
            if (method === "GET") return json(200, { id: 1, username: org, name: org });
            if (method === "DELETE") {
                if ([...this.repos.keys()].some((k) => k.startsWith(`${org}/`))) return json(422, { message: "organization still has ownership of repositories" });
                this.orgs.delete(org);
                return json(204);
            }
        }
        if ((m = /^\/api\/v1\/orgs\/([^/]+)\/repos$/.exec(p)) && method === "POST") {
            if (who !== "basic") return json(401, { message: "token is required" });
            const full = `${m[1]}/${input.name}`;
            if (!this.orgs.has(m[1])) return json(404, { message: "org not found" });
            if (this.repos.has(full)) return json(409, { message: "The repository with the same name already exists." });
            await run("git", ["init", "--quiet", "--bare", this.bareRepo(full)]);
            this.repos.set(full, input.default_branch ?? "main");
            return json(201, { id: this.nextId++, name: input.name, full_name: full, private: input.private === true, empty: true });
        }
        if ((m = /^\/api\/v1\/repos\/([^/]+)\/([^/]+)$/.exec(p))) {
            const full = `${m[1]}/${m[2]}`;
            if (!this.repos.has(full) || !who) return json(404, { message: "repo not found" }); // private: 404 without access
            if (method === "GET") return json(200, { name: m[2], full_name: full, default_branch: this.repos.get(full), private: true });
            if (method === "PATCH") {
                if (input.default_branch) this.repos.set(full, input.default_branch);
                return json(200, { name: m[2], full_name: full, default_branch: this.repos.get(full) });
            }
            if (method === "DELETE") {
                this.repos.delete(full);
                fs.rmSync(this.bareRepo(full), { recursive: true, force: true });
                return json(204);
            }
        }
        if ((m = /^\/api\/v1\/users\/([^/]+)\/tokens(?:\/([^/]+))?$/.exec(p))) {
            // reqBasicOrRevProxyAuth: tokens are managed with the user's password only.
            if (who !== "basic" || m[1] !== this.adminUser) return json(401, { message: "auth required" });
            if (!m[2] && method === "GET") return json(200, this.tokens.map((t) => ({ id: t.id, name: t.name, sha1: "", token_last_eight: t.sha1.slice(-8), scopes: t.scopes })));
            if (!m[2] && method === "POST") {
                if (this.tokens.some((t) => t.name === input.name)) return json(400, { message: "access token name has been used already" });
                const t = { id: this.nextId++, name: input.name, sha1: randomBytes(20).toString("hex"), scopes: input.scopes ?? [] };
                this.tokens.push(t);
                return json(201, { id: t.id, name: t.name, sha1: t.sha1, token_last_eight: t.sha1.slice(-8), scopes: t.scopes });
            }
            if (m[2] && method === "DELETE") {
                const i = this.tokens.findIndex((t) => t.name === m![2] || String(t.id) === m![2]);
                if (i < 0) return json(404, { message: "token not found" });
                this.tokens.splice(i, 1);
                return json(204);
            }
        }
        return json(404, { message: "not found" });
    }

    /** Git smart HTTP by the real `git http-backend` (CGI), behind basic auth like Gitea's. */
    private async git(req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> {
        const who = this.auth(req);
        const m = /^\/([^/]+)\/([^/]+)\.git(\/.*)$/.exec(url.pathname)!;
        if (!who || !this.repos.has(`${m[1]}/${m[2]}`)) {
            res.statusCode = 401;
            res.setHeader("WWW-Authenticate", 'Basic realm="Gitea"');
            res.end();
            return;
        }
        const input = await this.body(req);
        const child = spawn("git", ["http-backend"], {
            env: {
                ...process.env,
                GIT_PROJECT_ROOT: this.root,
                GIT_HTTP_EXPORT_ALL: "1",
                PATH_INFO: `/${m[1]}/${m[2]}.git${m[3]}`,
                REQUEST_METHOD: req.method ?? "GET",
                QUERY_STRING: url.search.replace(/^\?/, ""),
                CONTENT_TYPE: req.headers["content-type"] ?? "",
                CONTENT_LENGTH: String(input.length),
                REMOTE_USER: this.adminUser,
                REMOTE_ADDR: "127.0.0.1",
            },
        });
        child.stdin.end(input);
        const out: Buffer[] = [];
        for await (const c of child.stdout) out.push(c as Buffer);
        const buf = Buffer.concat(out);
        const sep = buf.indexOf("\r\n\r\n");
        const head = buf.subarray(0, sep).toString("utf8");
        res.statusCode = 200;
        for (const line of head.split("\r\n")) {
            const i = line.indexOf(":");
            const k = line.slice(0, i).trim();
            const v = line.slice(i + 1).trim();
            if (k.toLowerCase() === "status") res.statusCode = Number(v.split(" ")[0]);
            else if (k) res.setHeader(k, v);
        }
        res.end(buf.subarray(sep + 4));
    }
}

/** Runs a command to completion (asynchronously, so an in-process server keeps answering). */
export function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string; cwd?: string; timeoutMs?: number } = {}):
    Promise<{ status: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
        const child = spawn(cmd, args, { env: opts.env ?? process.env, cwd: opts.cwd });
        let stdout = "";
        let stderr = "";
        const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 60_000);
        child.stdout.on("data", (d) => (stdout += d));
        child.stderr.on("data", (d) => (stderr += d));
        child.on("error", reject);
        child.on("close", (status) => {
            clearTimeout(timer);
            resolve({ status, stdout, stderr });
        });
        child.stdin.end(opts.input ?? "");
    });
}
