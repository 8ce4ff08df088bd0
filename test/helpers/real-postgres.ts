// A real PostgreSQL server for tests: Debian's `postgresql` package (installed by .ci/run), started
// with its own initdb/pg_ctl on loopback, in a temporary folder, as an unprivileged user (initdb
// refuses to run as root, and CI runs as root: there it runs as `nobody`), torn down after.
// Local (socket) connections are trusted; TCP connections on 127.0.0.1 need a password
// (scram-sha-256), so credentials are really checked.
import { spawnSync, SpawnSyncOptions } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { freePort } from "./child-lifecycle";

export const SUPERUSER = "postgres";

/** The bin folder of the newest PostgreSQL major Debian's packages installed, if any. */
export function findPgBin(): string | undefined {
    const root = "/usr/lib/postgresql";
    if (!fs.existsSync(root)) return undefined;
    const majors = fs.readdirSync(root).filter((d) => /^\d+$/.test(d)).sort((a, b) => Number(b) - Number(a));
    for (const m of majors) {
        const bin = path.join(root, m, "bin");
        if (["initdb", "pg_ctl", "psql", "pg_dump", "pg_restore", "pg_dumpall"].every((t) => fs.existsSync(path.join(bin, t)))) return bin;
    }
    return undefined;
}

export interface PsqlResult {
    status: number | null;
    stdout: string;
    stderr: string;
}

export class RealPostgres {
    readonly dir: string;
    readonly data: string;
    readonly socketDir: string;
    readonly superPassword = `pw-${Math.random().toString(36).slice(2)}`;
    port = 0;
    private readonly uid?: number;
    private readonly gid?: number;

    constructor(readonly bin: string) {
        this.dir = fs.mkdtempSync(path.join(os.tmpdir(), "real-pg-"));
        this.data = path.join(this.dir, "data");
        this.socketDir = path.join(this.dir, "socket");
        fs.mkdirSync(this.socketDir);
        if (process.getuid && process.getuid() === 0) {
            // nobody/nogroup on Debian: 65534
            this.uid = 65534;
            this.gid = 65534;
            fs.chmodSync(this.dir, 0o755);
            for (const d of [this.dir, this.socketDir]) fs.chownSync(d, this.uid, this.gid);
        }
    }

    private run(tool: string, args: string[], opts: SpawnSyncOptions = {}): PsqlResult {
        const r = spawnSync(path.join(this.bin, tool), args, {
            encoding: "utf8",
            timeout: 60_000,
            cwd: this.dir,
            ...(this.uid !== undefined ? { uid: this.uid, gid: this.gid } : {}),
            ...opts,
            env: { PATH: "/usr/bin:/bin", LANG: "C.UTF-8", ...(opts.env ?? {}) },
        });
        if (r.error) throw r.error;
        return { status: r.status, stdout: String(r.stdout), stderr: String(r.stderr) };
    }

    /** initdb, then the server on 127.0.0.1:<free port>; waits at most 30 s for it to answer. */
    async start(): Promise<void> {
        this.port = await freePort();
        const pwfile = path.join(this.dir, "pwfile");
        fs.writeFileSync(pwfile, `${this.superPassword}\n`, { mode: 0o600 });
        if (this.uid !== undefined) fs.chownSync(pwfile, this.uid, this.gid!);
        const init = this.run("initdb", ["-D", this.data, "-U", SUPERUSER, "--pwfile", pwfile, "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--no-sync"]);
        fs.rmSync(pwfile);
        if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr}`);
        const opts = `-c listen_addresses=127.0.0.1 -c port=${this.port} -c unix_socket_directories=${this.socketDir} -c fsync=off`;
        const start = this.run("pg_ctl", ["-D", this.data, "-l", path.join(this.dir, "server.log"), "-o", opts, "-w", "-t", "30", "start"]);
        if (start.status !== 0) {
            const log = fs.existsSync(path.join(this.dir, "server.log")) ? fs.readFileSync(path.join(this.dir, "server.log"), "utf8") : "";
            throw new Error(`pg_ctl start failed: ${start.stderr}\n${log}`);
        }
    }

    /** The environment a client needs to reach the server over TCP as `user`. */
    env(user = SUPERUSER, password = this.superPassword): Record<string, string> {
        return { PGHOST: "127.0.0.1", PGPORT: String(this.port), PGUSER: user, PGPASSWORD: password, PGCONNECT_TIMEOUT: "10" };
    }

    /** psql over TCP as a user (default: the superuser), the SQL on stdin, unaligned tuples only. */
    psql(db: string, sql: string, user = SUPERUSER, password = this.superPassword): PsqlResult {
        const r = spawnSync(path.join(this.bin, "psql"), ["-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-d", db], {
            input: sql,
            encoding: "utf8",
            timeout: 30_000,
            env: { PATH: "/usr/bin:/bin", ...this.env(user, password) },
        });
        if (r.error) throw r.error;
        return { status: r.status, stdout: r.stdout.trim(), stderr: r.stderr };
    }

    /** psql that must succeed. */
    sql(db: string, sql: string): string {
        const r = this.psql(db, sql);
        if (r.status !== 0) throw new Error(`psql on ${db} failed: ${r.stderr}\n${sql}`);
        return r.stdout;
    }

    stop(): void {
        if (fs.existsSync(path.join(this.data, "postmaster.pid"))) {
            this.run("pg_ctl", ["-D", this.data, "-m", "immediate", "-w", "-t", "30", "stop"]);
        }
        fs.rmSync(this.dir, { recursive: true, force: true });
    }
}
