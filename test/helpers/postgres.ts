// A real, throwaway PostgreSQL for tests: Debian's packaged server (apt-get install postgresql),
// initialised in a temporary folder and run as an unprivileged user (the `postgres` account when
// the tests run as root: initdb refuses root) on loopback only, with a generated superuser
// password, bounded waits, and removed at the end. Skips outside CI when no server is installed;
// CI=true never skips (.ci/run installs it).
import { execFileSync, spawnSync } from "child_process";
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";

export interface TestPostgres {
    host: string;
    port: number;
    user: string;
    password: string;
    /** PostgreSQL's major version. */
    version: number;
    stop(): void;
}

/** The newest installed Debian server's bin folder (/usr/lib/postgresql/<major>/bin), if any. */
export function findPostgresBin(): string | undefined {
    const root = "/usr/lib/postgresql";
    if (!fs.existsSync(root)) return undefined;
    const majors = fs.readdirSync(root).filter((d) => /^\d+$/.test(d)).map(Number).sort((a, b) => b - a);
    for (const m of majors) {
        const bin = path.join(root, String(m), "bin");
        if (fs.existsSync(path.join(bin, "initdb")) && fs.existsSync(path.join(bin, "pg_ctl"))) return bin;
    }
    return undefined;
}

function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const s = net.createServer();
        s.once("error", reject);
        s.listen(0, "127.0.0.1", () => {
            const port = (s.address() as net.AddressInfo).port;
            s.close(() => resolve(port));
        });
    });
}

/** Skips the suite (outside CI) when there is no server; starts one otherwise. */
export async function startTestPostgres(ctx: Mocha.Context, startTimeoutSeconds = 30): Promise<TestPostgres | undefined> {
    const bin = findPostgresBin();
    if (!bin) {
        if (process.env.CI === "true") throw new Error("CI: no PostgreSQL server installed (apt-get install postgresql; .ci/run does)");
        console.log("      (skipped: no PostgreSQL server installed; apt-get install postgresql)");
        ctx.skip();
        return undefined;
    }
    const asRoot = process.getuid?.() === 0;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "test-pg-"));
    const data = path.join(dir, "data");
    const password = randomBytes(18).toString("hex");
    const pwfile = path.join(dir, "pwfile");
    fs.writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
    const run = (cmd: string, args: string[], timeoutMs: number) => {
        const full = asRoot ? ["runuser", ["-u", "postgres", "--", cmd, ...args]] as const : [cmd, args] as const;
        const r = spawnSync(full[0], full[1] as string[], { encoding: "utf8", timeout: timeoutMs });
        if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (${r.status ?? r.signal}): ${r.stderr || r.stdout}`);
        return r.stdout;
    };
    if (asRoot) execFileSync("chown", ["-R", "postgres:postgres", dir]);
    fs.chmodSync(dir, 0o700);
    run(path.join(bin, "initdb"), ["-D", data, "-U", "postgres", "--auth=scram-sha-256", `--pwfile=${pwfile}`, "--no-sync", "-E", "UTF8"], 60_000);
    fs.rmSync(pwfile);
    const port = await freePort();
    const opts = `-c listen_addresses=127.0.0.1 -c port=${port} -c unix_socket_directories=${dir} -c fsync=off`;
    run(path.join(bin, "pg_ctl"), ["-D", data, "-o", opts, "-l", path.join(dir, "log"), "-w", "-t", String(startTimeoutSeconds), "start"], (startTimeoutSeconds + 10) * 1000);
    const version = Number(path.basename(path.dirname(bin)));
    return {
        host: "127.0.0.1", port, user: "postgres", password, version,
        stop: () => {
            try {
                run(path.join(bin, "pg_ctl"), ["-D", data, "-m", "immediate", "-w", "-t", "20", "stop"], 30_000);
            } finally {
                fs.rmSync(dir, { recursive: true, force: true });
            }
        },
    };
}
