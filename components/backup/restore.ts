// Restoring one instance's database from the stack's backup target (what `npm run restore` runs).
// The data host is reached through a shell runner (locally for k3d, over SSH for the hosts), and
// everything there goes through the same tools the backup used: rclone for the target (its
// credentials stay on the data host, in the env file of mode 600) and the running Postgres
// container's own psql and pg_restore (`docker exec`). The tests drive exactly this code against a
// real PostgreSQL, with fake docker and rclone on PATH.
//
// The order: the backup's manifest; a fresh database created with the owner, connection limit and
// database grants the manifest recorded; pg_restore into it; row counts per table checked against
// the manifest; only then (unless --into) the instance's Argo CD sync is paused and its workloads
// scaled to zero, the live database renamed aside (kept, never dropped) and the restored one
// renamed in; finally the workloads and the sync come back, also when something failed.
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

export const KINDS = ["postgres", "gitea"] as const;
export type Kind = (typeof KINDS)[number];

/** Backup ids are UTC timestamps: 20261123T051000Z. */
const BACKUP_ID = /^\d{8}T\d{6}Z$/;
const PG_IDENTIFIER_MAX_BYTES = 63;

export interface FileEntry {
    file: string;
    bytes: number;
    sha256: string;
}

export interface DatabaseEntry {
    dump: FileEntry;
    owner: string;
    /** pg_database.datacl as text, e.g. {=Tc/postgres,erp_role=c/postgres}; empty = defaults. */
    acl: string;
    connectionLimit: number;
    /** Rows per table ("schema.table") as the dump holds them. */
    tables: Record<string, number>;
}

export interface PostgresManifest {
    kind: "postgres";
    stack: string;
    id: string;
    createdAt: string;
    serverVersion: string;
    globals: FileEntry;
    databases: Record<string, DatabaseEntry>;
}

export interface BackupEntry {
    kind: Kind;
    id: string;
    /** A manifest exists: the upload finished. */
    complete: boolean;
}

/** Runs a bash script somewhere (the data host): stdout, or an error with stderr. */
export interface Runner {
    run(script: string, input?: string | Buffer): Promise<string>;
    /** Where it runs, for messages. */
    readonly where: string;
}

export class RestoreError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "RestoreError";
    }
}

/** Single-quotes a string for bash. */
export function q(s: string): string {
    return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** A PostgreSQL identifier, double-quoted. */
export function ident(s: string): string {
    return `"${s.replace(/"/g, '""')}"`;
}

/** A PostgreSQL string literal. */
export function literal(s: string): string {
    return `'${s.replace(/'/g, "''")}'`;
}

/** Runs scripts with bash on this machine (k3d: the data host is the laptop; tests). */
export class LocalRunner implements Runner {
    readonly where = "this machine";
    constructor(private readonly env: NodeJS.ProcessEnv = process.env, private readonly timeoutMs = 30 * 60_000) {}
    run(script: string, input?: string | Buffer): Promise<string> {
        return runProcess("bash", ["-c", `set -euo pipefail\n${script}`], this.env, input, this.timeoutMs, this.where);
    }
}

/**
 * Runs scripts on a host over SSH as root (`sudo -n bash -c`), like the program's remote commands.
 * With a host key (the stack's `homelab:hosts[].hostKey`), ssh trusts that key only: a known_hosts
 * file of its own holding just it, StrictHostKeyChecking=yes, the operator's files unused (as the
 * program's commands do with connection.hostKey).
 */
export class SshRunner implements Runner {
    readonly where: string;
    constructor(private readonly destination: string, private readonly sudo: boolean, private readonly timeoutMs = 30 * 60_000,
        private readonly hostKey?: string) {
        this.where = destination;
    }
    /** The ssh options that pin the host key, and the folder holding its known_hosts (removed after the run). */
    private pin(): { options: string[]; dir?: string } {
        if (!this.hostKey) return { options: [] };
        const [type, key] = this.hostKey.trim().split(/\s+/);
        const host = this.destination.slice(this.destination.lastIndexOf("@") + 1);
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "homelab-ssh-"));
        const file = path.join(dir, "known_hosts");
        fs.writeFileSync(file, `${host} ${type} ${key}\n`, { mode: 0o600 });
        return { options: ["-o", "StrictHostKeyChecking=yes", "-o", `UserKnownHostsFile=${file}`, "-o", "GlobalKnownHostsFile=/dev/null"], dir };
    }
    async run(script: string, input?: string | Buffer): Promise<string> {
        const remote = `${this.sudo ? "sudo -n " : ""}bash -c ${q(`set -euo pipefail\n${script}`)}`;
        const pin = this.pin();
        try {
            return await runProcess("ssh", ["-o", "BatchMode=yes", "-o", "ConnectTimeout=15", ...pin.options, this.destination, remote], process.env, input, this.timeoutMs, this.where);
        } finally {
            if (pin.dir) fs.rmSync(pin.dir, { recursive: true, force: true });
        }
    }
}

function runProcess(cmd: string, args: string[], env: NodeJS.ProcessEnv, input: string | Buffer | undefined, timeoutMs: number, where: string): Promise<string> {
    return new Promise((resolve, reject) => {
        const child = spawn(cmd, args, { env, stdio: ["pipe", "pipe", "pipe"] });
        const out: Buffer[] = [];
        const err: Buffer[] = [];
        const timer = setTimeout(() => child.kill("SIGTERM"), timeoutMs);
        child.stdout.on("data", (d: Buffer) => out.push(d));
        child.stderr.on("data", (d: Buffer) => err.push(d));
        child.on("error", (e) => {
            clearTimeout(timer);
            reject(new RestoreError(`cannot run ${cmd} on ${where}: ${e.message}`));
        });
        child.on("close", (code, signal) => {
            clearTimeout(timer);
            if (code === 0) resolve(Buffer.concat(out).toString("utf8"));
            else {
                const why = signal ? `was stopped after ${Math.round(timeoutMs / 1000)} s` : `exited ${code}`;
                reject(new RestoreError(`a step on ${where} ${why}: ${Buffer.concat(err).toString("utf8").trim()}`));
            }
        });
        child.stdin.on("error", () => undefined); // the process may exit before reading everything
        child.stdin.end(input ?? "");
    });
}

export interface DataHostOptions {
    /** The running Postgres container, or its compose service when composeProject is set. */
    pgContainer: string;
    /** The data host's compose project: the container is found by the labels compose sets. */
    composeProject?: string;
    pgUser?: string;
    /** The rclone path of the stack's prefix on its target, e.g. target:homelab-backups/prod. */
    target: string;
    /** The env file (mode 600, on the data host) that defines rclone's remote "target". */
    envFile?: string;
}

/** The data host as the restore sees it: the backup target, and the Postgres container. */
export class DataHost {
    constructor(readonly runner: Runner, readonly o: DataHostOptions) {}

    private prelude(): string {
        return this.o.envFile ? `set -a; . ${q(this.o.envFile)}; set +a\n` : "";
    }

    /** The container, as a shell word (found by compose labels at run time when composeProject is set). */
    private container(): string {
        if (!this.o.composeProject) return q(this.o.pgContainer);
        return `"$(docker ps --quiet --filter ${q(`label=com.docker.compose.project=${this.o.composeProject}`)} --filter ${q(`label=com.docker.compose.service=${this.o.pgContainer}`)} | head -n 1)"`;
    }

    private psqlCommand(db: string): string {
        return `docker exec -i ${this.container()} psql -X -A -t -q -v ON_ERROR_STOP=1 -U ${q(this.o.pgUser ?? "postgres")} -d ${q(db)}`;
    }

    /** Runs SQL (on stdin) in a database; unaligned tuples, `|`-separated. */
    psql(db: string, sql: string): Promise<string> {
        return this.runner.run(this.psqlCommand(db), sql);
    }

    async listBackups(kind: Kind): Promise<BackupEntry[]> {
        const out = await this.runner.run(`${this.prelude()}rclone lsf -R --files-only ${q(`${this.o.target}/${kind}/`)}`);
        const ids = new Map<string, boolean>();
        for (const line of out.split("\n")) {
            const m = /^(\d{8}T\d{6}Z)\/(.+)$/.exec(line.trim());
            if (!m) continue;
            ids.set(m[1], (ids.get(m[1]) ?? false) || m[2] === "manifest.json");
        }
        return [...ids.entries()].map(([id, complete]) => ({ kind, id, complete })).sort((a, b) => b.id.localeCompare(a.id));
    }

    readFile(kind: Kind, id: string, file: string): Promise<string> {
        return this.runner.run(`${this.prelude()}rclone cat ${q(`${this.o.target}/${kind}/${id}/${file}`)}`);
    }

    async readManifest<T = PostgresManifest>(kind: Kind, id: string): Promise<T> {
        const text = await this.readFile(kind, id, "manifest.json");
        try {
            return JSON.parse(text) as T;
        } catch {
            throw new RestoreError(`the manifest of ${kind} backup ${id} is not valid JSON`);
        }
    }

    /** Streams a dump from the target into pg_restore of the running container. */
    pgRestore(id: string, file: string, db: string): Promise<string> {
        const src = q(`${this.o.target}/postgres/${id}/${file}`);
        return this.runner.run(`${this.prelude()}rclone cat ${src} | docker exec -i ${this.container()} pg_restore --exit-on-error -U ${q(this.o.pgUser ?? "postgres")} -d ${q(db)}`);
    }
}

/** What pauses and resumes an instance around the swap (Argo CD sync and workloads). */
export interface Workloads {
    pause(): Promise<void>;
    resume(): Promise<void>;
}

/** An ACL item of pg_database.datacl: grantee (empty = PUBLIC), privileges. */
export function parseDatabaseAcl(acl: string): { grantee: string; privileges: string[] }[] {
    const body = acl.trim().replace(/^\{/, "").replace(/\}$/, "");
    if (body === "") return [];
    const items: string[] = [];
    let cur = "";
    let quoted = false;
    for (const ch of body) {
        if (ch === '"') quoted = !quoted;
        if (ch === "," && !quoted) {
            items.push(cur);
            cur = "";
        } else cur += ch;
    }
    items.push(cur);
    const names: Record<string, string> = { c: "CONNECT", C: "CREATE", T: "TEMPORARY" };
    return items.map((raw) => {
        const item = raw.replace(/^"(.*)"$/, "$1").replace(/\\"/g, '"');
        const m = /^(.*)=([A-Za-z*]*)\/(.+)$/.exec(item);
        if (!m) throw new RestoreError(`cannot read the database ACL item ${JSON.stringify(raw)} of the manifest`);
        const grantee = m[1].replace(/^"(.*)"$/, "$1").replace(/""/g, '"');
        const privileges = m[2].replace(/\*/g, "").split("").map((p) => {
            const n = names[p];
            if (!n) throw new RestoreError(`unknown database privilege ${JSON.stringify(p)} in ${JSON.stringify(raw)}`);
            return n;
        });
        return { grantee, privileges };
    });
}

/** The SQL that gives a fresh database the owner, limit and grants the manifest recorded. */
export function databaseSetupSql(db: string, entry: DatabaseEntry): string[] {
    const stmts = [
        `CREATE DATABASE ${ident(db)} OWNER ${ident(entry.owner)} CONNECTION LIMIT ${Number(entry.connectionLimit)}`,
    ];
    if (entry.acl.trim() !== "") {
        // An explicit ACL replaces the defaults (PUBLIC's CONNECT and TEMPORARY): revoke, then grant.
        stmts.push(`REVOKE ALL ON DATABASE ${ident(db)} FROM PUBLIC`);
        stmts.push(`REVOKE ALL ON DATABASE ${ident(db)} FROM ${ident(entry.owner)}`);
        for (const a of parseDatabaseAcl(entry.acl)) {
            if (a.privileges.length === 0) continue;
            const to = a.grantee === "" ? "PUBLIC" : ident(a.grantee);
            stmts.push(`GRANT ${a.privileges.join(", ")} ON DATABASE ${ident(db)} TO ${to}`);
        }
    }
    return stmts;
}

/** The roles a database entry needs to exist before it can be restored. */
export function rolesOf(entry: DatabaseEntry): string[] {
    const roles = new Set<string>([entry.owner]);
    if (entry.acl.trim() !== "") for (const a of parseDatabaseAcl(entry.acl)) if (a.grantee !== "") roles.add(a.grantee);
    return [...roles].sort();
}

/**
 * The statements of `pg_dumpall --globals-only` that create the given roles (CREATE ROLE, ALTER
 * ROLE, and memberships between them and existing roles): only what is missing is recreated, so
 * a restore never resets the password of a role that exists. Login users (Vault's short-lived
 * ones) are not recreated: Vault issues new ones.
 */
export function globalsFor(globals: string, missing: string[], existing: Set<string>): string[] {
    const want = new Set(missing);
    const known = (r: string) => want.has(r) || existing.has(r);
    const name = (s: string) => s.replace(/^"(.*)"$/, "$1").replace(/""/g, '"');
    const out: string[] = [];
    for (const line of globals.split("\n")) {
        let m = /^(CREATE|ALTER) ROLE ("(?:[^"]|"")+"|[^\s;]+)[\s;]/.exec(line);
        if (m && want.has(name(m[2]))) {
            out.push(line.replace(/;\s*$/, ""));
            continue;
        }
        m = /^GRANT ("(?:[^"]|"")+"|[^\s;]+) TO ("(?:[^"]|"")+"|[^\s;]+)/.exec(line);
        // memberships that involve a recreated role, between roles that will exist
        if (m && (want.has(name(m[1])) || want.has(name(m[2]))) && known(name(m[1])) && known(name(m[2]))) {
            out.push(line.replace(/;\s*$/, ""));
        }
    }
    return out;
}

/** The name of the fresh database a backup is restored into, checked against PostgreSQL's limit. */
export function restoreDatabaseName(db: string, id: string, what = "restore"): string {
    const name = `${db}_${what}_${id.toLowerCase()}`;
    if (Buffer.byteLength(name) > PG_IDENTIFIER_MAX_BYTES) {
        throw new RestoreError(`the database name ${name} would be longer than ${PG_IDENTIFIER_MAX_BYTES} bytes; name a scratch database with --into`);
    }
    return name;
}

export interface RestoreOptions {
    host: DataHost;
    /** The instance's database (naming.ts databaseName). */
    database: string;
    /** A backup id; default the newest complete one. */
    backup?: string;
    /** Restore into this scratch database only (no swap). */
    into?: string;
    /** Pauses the instance's sync and workloads around the swap. */
    workloads: Workloads;
    log?: (line: string) => void;
}

export interface RestoreResult {
    backup: string;
    /** Where the backup was restored. */
    restoredInto: string;
    /** The live database as it was before the swap, kept under this name (swap only). */
    previousKeptAs?: string;
    tables: Record<string, number>;
}

/** The newest complete backup of a kind, or the named one (which must be complete). */
export async function pickBackup(host: DataHost, kind: Kind, id?: string): Promise<string> {
    const list = await host.listBackups(kind);
    if (id !== undefined) {
        if (!BACKUP_ID.test(id)) throw new RestoreError(`--backup ${JSON.stringify(id)} is not a backup id (like 20261123T051000Z); see --list`);
        const b = list.find((e) => e.id === id);
        if (!b) throw new RestoreError(`no ${kind} backup ${id} on the target; see --list`);
        if (!b.complete) throw new RestoreError(`${kind} backup ${id} is incomplete (no manifest: its upload did not finish)`);
        return id;
    }
    const newest = list.find((e) => e.complete);
    if (!newest) throw new RestoreError(`no complete ${kind} backup on the target yet`);
    return newest.id;
}

async function exists(host: DataHost, db: string): Promise<boolean> {
    return (await host.psql("postgres", `SELECT 1 FROM pg_database WHERE datname = ${literal(db)}`)).trim() === "1";
}

/** Exact row counts of the tables the manifest lists, in a database. */
export async function countRows(host: DataHost, db: string, tables: string[]): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    if (tables.length === 0) return out;
    const sql = tables.map((t) => {
        const [schema, ...rest] = t.split(".");
        const table = rest.join(".");
        const rel = `${ident(schema.replace(/^"(.*)"$/, "$1"))}.${ident(table.replace(/^"(.*)"$/, "$1"))}`;
        return `SELECT ${literal(t)} || '|' || count(*) FROM ${rel}`;
    }).join("\nUNION ALL\n");
    const res = await host.psql(db, sql);
    for (const line of res.split("\n")) {
        const i = line.lastIndexOf("|");
        if (i > 0) out[line.slice(0, i)] = Number(line.slice(i + 1));
    }
    return out;
}

/** Restores one instance's database; see the module comment for the order of things. */
export async function restoreInstance(o: RestoreOptions): Promise<RestoreResult> {
    const log = o.log ?? (() => undefined);
    const id = await pickBackup(o.host, "postgres", o.backup);
    const manifest = await o.host.readManifest<PostgresManifest>("postgres", id);
    const entry = manifest.databases?.[o.database];
    if (!entry) {
        throw new RestoreError(`backup ${id} holds no database ${o.database} (it holds: ${Object.keys(manifest.databases ?? {}).join(", ") || "none"})`);
    }
    const fresh = o.into ?? restoreDatabaseName(o.database, id);
    if (o.into !== undefined && o.into === o.database) throw new RestoreError(`--into must name a scratch database, not the instance's own ${o.database}`);
    if (await exists(o.host, fresh)) {
        throw new RestoreError(`database ${fresh} already exists; drop it (DROP DATABASE "${fresh}") or name another with --into`);
    }

    // Roles first: only the missing ones come from the backup's globals.
    const existing = new Set((await o.host.psql("postgres", "SELECT rolname FROM pg_roles")).split("\n").map((s) => s.trim()));
    const missing = rolesOf(entry).filter((r) => !existing.has(r));
    if (missing.length > 0) {
        log(`recreating missing roles from the backup's globals: ${missing.join(", ")}`);
        const stmts = globalsFor(await o.host.readFile("postgres", id, manifest.globals.file), missing, existing);
        await o.host.psql("postgres", stmts.map((s) => `${s};`).join("\n"));
    }

    log(`creating ${fresh} (owner ${entry.owner}) and restoring ${o.database} from backup ${id} (${manifest.createdAt})`);
    for (const s of databaseSetupSql(fresh, entry)) await o.host.psql("postgres", s);
    await o.host.pgRestore(id, entry.dump.file, fresh);

    log("checking row counts against the manifest");
    const counts = await countRows(o.host, fresh, Object.keys(entry.tables));
    const wrong = Object.entries(entry.tables).filter(([t, n]) => counts[t] !== n)
        .map(([t, n]) => `${t}: ${counts[t] ?? "missing"} rows, the manifest says ${n}`);
    if (wrong.length > 0) {
        throw new RestoreError(`the restored ${fresh} does not match backup ${id} (${wrong.join("; ")}); nothing was swapped, ${fresh} is left for inspection`);
    }
    if (o.into !== undefined) {
        log(`restored into ${fresh}; the instance's database was not touched`);
        return { backup: id, restoredInto: fresh, tables: counts };
    }

    const aside = restoreDatabaseName(o.database, id, "replaced");
    if (await exists(o.host, aside)) throw new RestoreError(`database ${aside} already exists (an earlier restore of the same backup); drop or rename it first`);
    log(`pausing the instance (Argo CD sync, workloads) to swap ${fresh} in`);
    await o.workloads.pause();
    try {
        const live = await exists(o.host, o.database);
        if (live) {
            // No new sessions, then end the remaining ones (Vault-issued users, a stray psql).
            await o.host.psql("postgres", `ALTER DATABASE ${ident(o.database)} ALLOW_CONNECTIONS false`);
            await o.host.psql("postgres", `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = ${literal(o.database)} AND pid <> pg_backend_pid()`);
            await o.host.psql("postgres", `ALTER DATABASE ${ident(o.database)} RENAME TO ${ident(aside)}`);
        }
        try {
            await o.host.psql("postgres", `ALTER DATABASE ${ident(fresh)} RENAME TO ${ident(o.database)}`);
        } catch (e) {
            if (live) {
                await o.host.psql("postgres", `ALTER DATABASE ${ident(aside)} RENAME TO ${ident(o.database)}`);
                await o.host.psql("postgres", `ALTER DATABASE ${ident(o.database)} ALLOW_CONNECTIONS true`);
            }
            throw e;
        }
        log(live ? `swapped: ${o.database} is backup ${id}; the previous one is kept as ${aside} (connections off)` : `${o.database} did not exist; it is now backup ${id}`);
        return { backup: id, restoredInto: o.database, previousKeptAs: live ? aside : undefined, tables: counts };
    } finally {
        log("resuming the instance (workloads, Argo CD sync)");
        await o.workloads.resume();
    }
}

export interface ListedBackup {
    kind: Kind | "longhorn";
    id: string;
    complete: boolean;
    createdAt?: string;
    ageHours?: number;
    bytes?: number;
}

export interface KindListing {
    kind: Kind | "longhorn";
    backups: ListedBackup[];
    /** The newest complete backup is older than twice the schedule (or there is none). */
    stale: boolean;
    newestAgeHours?: number;
    staleAfterHours: number;
}

/** The backup id's time (ids are UTC timestamps). */
export function idTime(id: string): Date {
    const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(id);
    if (!m) throw new RestoreError(`not a backup id: ${id}`);
    return new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]));
}

/** What `--list` shows: per kind, the backups with their age, and whether the newest is stale. */
export async function listBackups(host: DataHost, intervalHours: Record<Kind, number>, now = new Date()): Promise<KindListing[]> {
    const out: KindListing[] = [];
    for (const kind of KINDS) {
        const list = await host.listBackups(kind);
        const backups: ListedBackup[] = list.map((b) => ({ ...b, ageHours: (now.getTime() - idTime(b.id).getTime()) / 3_600_000 }));
        const newest = backups.find((b) => b.complete);
        const staleAfterHours = 2 * intervalHours[kind];
        out.push({ kind, backups, newestAgeHours: newest?.ageHours, staleAfterHours, stale: !newest || newest.ageHours! > staleAfterHours });
    }
    return out;
}

/** A Longhorn Backup object as `kubectl get backups.longhorn.io -o json` lists it. */
export interface LonghornBackupItem {
    metadata: { name: string };
    status?: { volumeName?: string; state?: string; backupCreatedAt?: string; size?: string };
}

/**
 * Longhorn's backups, newest per volume (status.volumeName, status.state "Completed",
 * status.backupCreatedAt: longhorn/longhorn v1.10.1 chart/templates/crds.yaml, backups.longhorn.io);
 * stale when any volume's newest completed backup is older than twice the schedule.
 */
export function longhornListing(items: LonghornBackupItem[], intervalHours: number, now = new Date()): KindListing {
    const newest = new Map<string, ListedBackup>();
    for (const i of items) {
        const s = i.status ?? {};
        if (s.state !== "Completed" || !s.backupCreatedAt || !s.volumeName) continue;
        const ageHours = (now.getTime() - new Date(s.backupCreatedAt).getTime()) / 3_600_000;
        const cur = newest.get(s.volumeName);
        if (!cur || ageHours < cur.ageHours!) newest.set(s.volumeName, { kind: "longhorn", id: `${s.volumeName}/${i.metadata.name}`, complete: true, ageHours });
    }
    const backups = [...newest.values()].sort((a, b) => a.id.localeCompare(b.id));
    const oldest = backups.reduce<number | undefined>((m, b) => (m === undefined || b.ageHours! > m ? b.ageHours : m), undefined);
    const staleAfterHours = 2 * intervalHours;
    return { kind: "longhorn", backups, newestAgeHours: oldest, staleAfterHours, stale: oldest === undefined || oldest > staleAfterHours };
}

/** The listing as text for people. */
export function formatListing(stack: string, listing: KindListing[]): string {
    const lines: string[] = [];
    for (const k of listing) {
        const what = k.kind === "longhorn" ? "the oldest of the volumes' newest backups" : "the newest complete backup";
        const head = k.stale
            ? `STALE: ${k.newestAgeHours === undefined ? "no complete backup" : `${what} is ${k.newestAgeHours.toFixed(1)} h old`} (stale after ${k.staleAfterHours} h)`
            : `fresh: ${what} is ${k.newestAgeHours!.toFixed(1)} h old (stale after ${k.staleAfterHours} h)`;
        lines.push(`${stack} ${k.kind}: ${head}`);
        for (const b of k.backups) lines.push(`  ${b.id}  ${b.ageHours!.toFixed(1).padStart(7)} h ago${b.complete ? "" : "  INCOMPLETE (no manifest)"}`);
    }
    return lines.join("\n");
}
