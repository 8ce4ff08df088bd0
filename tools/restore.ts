// npm run restore -- <stack> <instance> [--backup <id>] [--into <database>] [--yes-replace-prod]
// npm run restore -- <stack> --list                       (also: npm run lab -- restore ...)
//
// A thin command over components/backup/restore.ts (which the tests drive against a real
// PostgreSQL): it finds the stack's data host, target and cluster, and hands them to the module.
// The data host is reached the way the program reaches it (SSH as the stack's user, root through
// sudo; the laptop itself for k3d); the target's credentials stay there, in the backup job's env
// file. The cluster (Argo CD sync, workloads) through kubectl with the stack's kubeconfig output.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { LabConfig, parseConfig, PLACEHOLDER_MARK, SCHEDULE_HOURS, cronIntervalHours } from "../components/config";
import { readStackConfig, StackFileError } from "../components/stack-config";
import { CommandSpec, ConfigurationError, EXIT, flag, ParsedArgs, parseCommand, runCli, stringOption, UsageError } from "./cli";
import { instanceNames, InstanceNames, shared } from "../components/naming";
import { DATA_COMPOSE_PROJECT } from "../components/metal/render";
import { rclonePrefix, sandboxBucket } from "../components/backup";
import { hasLonghorn } from "../components/platform/releases";
import {
    DataHost, formatListing, listBackups, longhornListing, KindListing, LocalRunner, RestoreError, restoreInstance, Runner, SshRunner, Workloads,
} from "../components/backup/restore";

export interface RestoreArgs {
    stack: string;
    instance?: string;
    backup?: string;
    into?: string;
    list: boolean;
    confirmProd: boolean;
}

export const spec: CommandSpec = {
    name: "restore",
    summary: "restore an app instance's database from a backup, or list a stack's backups",
    usage: "<stack> <instance> [--backup <id>] [--into <database>] [--yes-replace-prod]\n<stack> --list",
    options: {
        list: { type: "boolean", description: "list the stack's backups per kind, newest first, and whether each kind is stale" },
        backup: { type: "string", valueName: "id", description: "the backup to restore (default: the newest complete one)" },
        into: { type: "string", valueName: "database", description: "restore into this scratch database; the live one stays as it is" },
        "yes-replace-prod": { type: "boolean", description: "on prod: replace the live database (without it, nothing is done: exit 2)" },
    },
    positionals: { min: 1, max: 2 },
    outcomes: { 0: "restored, or listed with every kind fresh", 1: "the restore failed (why is printed)", 2: "usage or configuration error; prod without --yes-replace-prod (nothing done)" },
    exits: { 3: "--list: a kind of backup is stale (older than its schedule allows, or none complete)" },
    configErrors: [StackFileError],
};

function restoreArgsOf(a: ParsedArgs): RestoreArgs {
    const out: RestoreArgs = { stack: a.positionals[0], list: flag(a, "list"), confirmProd: flag(a, "yes-replace-prod") };
    const backup = stringOption(a, "backup");
    const into = stringOption(a, "into");
    if (backup !== undefined) out.backup = backup;
    if (into !== undefined) out.into = into;
    if (a.positionals[1] !== undefined) out.instance = a.positionals[1];
    if (!out.list && out.instance === undefined) throw new UsageError("missing <instance> (or --list)");
    if (out.list && (out.instance !== undefined || backup !== undefined || into !== undefined || out.confirmProd)) {
        throw new UsageError("--list takes only a stack");
    }
    return out;
}

/** The arguments of a restore (throws UsageError). */
export function parseRestoreArgs(argv: string[]): RestoreArgs {
    return restoreArgsOf(parseCommand(spec, argv));
}

function findInstance(cfg: LabConfig, id: string): InstanceNames {
    const all = cfg.apps.flatMap((a) => a.envs.map((e) => instanceNames(a.name, e)));
    const n = all.find((x) => x.instance === id);
    if (!n) throw new ConfigurationError(`stack ${cfg.stack} has no instance ${id} (it has: ${all.map((x) => x.instance).join(", ")})`);
    return n;
}

/** A stack output through the Pulumi CLI (the operator's machine has it; this one may not). */
function stackOutput(stack: string, name: string, secret = false): string {
    const r = spawnSync("pulumi", ["stack", "output", name, "--stack", stack, ...(secret ? ["--show-secrets"] : [])], { encoding: "utf8", timeout: 60_000 });
    if (r.error || r.status !== 0) {
        throw new RestoreError(`cannot read the output ${name} of stack ${stack} (pulumi stack output ${name} --stack ${stack}): ${r.error?.message ?? r.stderr.trim()}`);
    }
    return r.stdout.trim();
}

const DISCOVER = "npm run discover -- prod";

/**
 * The stack's data host as the restore reaches it. Fail closed before any connection: a host is
 * reached only with its pinned SSH host key (prod: homelab:hosts[].hostKey; sandbox-vms: read from
 * the VM through multipass, not from the network), and prod's containers are found by its recorded
 * compose project (homelab:existing.dataHost.composeProject, as the backup job finds them); a
 * placeholder in either stops here, naming the key and how to record it.
 */
export function dataHostOf(cfg: LabConfig, vmHostKey: (vm: string) => string = multipassHostKey): DataHost {
    const bucket = cfg.backup?.bucket ?? sandboxBucket(cfg.stack);
    const target = rclonePrefix({ bucket }, cfg.stack);
    if (cfg.mode === "k3d") {
        const dir = path.join(process.env.XDG_CONFIG_HOME ?? path.join(os.homedir(), ".config"), "homelab", cfg.stack, "backup");
        return new DataHost(new LocalRunner(), { pgContainer: `k3d-${cfg.k3d!.clusterName}-postgres`, target, envFile: path.join(dir, "target.env"), jobEnvFile: path.join(dir, "job.env") });
    }
    const host = cfg.hosts?.find((h) => h.name === cfg.dataHost);
    let address = host?.address;
    if (!address) {
        const nodes = JSON.parse(stackOutput(cfg.stack, "nodes") || "[]") as { name: string; address: string }[];
        address = nodes.find((n) => n.name === cfg.dataHost)?.address;
        if (!address) throw new RestoreError(`stack ${cfg.stack}: the data host ${cfg.dataHost} is not among its nodes output`);
    }
    const hostKey = pinnedHostKey(cfg, cfg.dataHost!, vmHostKey);
    const placeholder = (v: string) => v.toUpperCase().includes(PLACEHOLDER_MARK);
    let composeProject = DATA_COMPOSE_PROJECT;
    if (cfg.isProd) {
        const recorded = cfg.existing?.dataHost?.composeProject;
        if (!recorded || placeholder(recorded)) {
            throw new RestoreError(`stack ${cfg.stack}: key "homelab:existing.dataHost.composeProject" is ${JSON.stringify(recorded ?? null)}; ` +
                `expected the compose project of the data host's Postgres and Gitea (the backup job finds the containers by it). Record it with \`${DISCOVER}\` ` +
                `(or read it on the data host: docker inspect -f '{{index .Config.Labels "com.docker.compose.project"}}' <postgres container>) into Pulumi.${cfg.stack}.yaml. Nothing was contacted.`);
        }
        composeProject = recorded;
    }
    const runner: Runner = new SshRunner(cfg.sshUser, address, hostKey, cfg.sshUser !== "root");
    return new DataHost(runner, { pgContainer: "postgres", composeProject, target, envFile: "/etc/homelab-backup/target.env", jobEnvFile: "/etc/homelab-backup/job.env" });
}

/**
 * The SSH host key a tool may accept for one of the stack's hosts: prod's pinned one
 * (homelab:hosts[].hostKey; a placeholder stops, saying how to record it), a VM's read through
 * multipass. Never learned from the network (no trust on first use).
 */
export function pinnedHostKey(cfg: LabConfig, name: string, vmHostKey: (vm: string) => string = multipassHostKey): string {
    const i = cfg.hosts?.findIndex((h) => h.name === name) ?? -1;
    if (!cfg.hosts || i < 0) {
        if (cfg.mode === "multipass") return vmHostKey(name);
        throw new RestoreError(`stack ${cfg.stack}: no host ${name} with a pinned SSH host key (homelab:hosts in Pulumi.${cfg.stack}.yaml)`);
    }
    const h = cfg.hosts[i];
    if (h.hostKey.toUpperCase().includes(PLACEHOLDER_MARK)) {
        throw new RestoreError(`stack ${cfg.stack}: key "homelab:hosts[${i}].hostKey" (${h.name}) is still the placeholder ${JSON.stringify(h.hostKey)}; ` +
            `a tool connects only to a host whose key is pinned. Record ${h.name}'s SSH host key with \`${DISCOVER}\` ` +
            `(or ssh-keyscan -t ed25519 ${h.address} from the lab's network, checked against the Pi's own /etc/ssh/ssh_host_ed25519_key.pub) into Pulumi.${cfg.stack}.yaml. Nothing was contacted.`);
    }
    return h.hostKey;
}

/** A sandbox VM's ed25519 host key, read inside the VM through multipass (not over the network). */
function multipassHostKey(vm: string): string {
    const r = spawnSync("multipass", ["exec", vm, "--", "cat", "/etc/ssh/ssh_host_ed25519_key.pub"], { encoding: "utf8", timeout: 60_000 });
    if (r.error || r.status !== 0) throw new RestoreError(`cannot read the SSH host key of VM ${vm} (multipass exec ${vm} -- cat /etc/ssh/ssh_host_ed25519_key.pub): ${r.error?.message ?? r.stderr.trim()}`);
    return r.stdout.trim();
}

function kubectl(kubeconfig: string, args: string[], input?: string): string {
    const r = spawnSync("kubectl", ["--kubeconfig", kubeconfig, "--request-timeout=30s", ...args], { encoding: "utf8", input, timeout: 60_000 });
    if (r.error || r.status !== 0) throw new RestoreError(`kubectl ${args.join(" ")} failed: ${r.error?.message ?? r.stderr.trim()}`);
    return r.stdout;
}

/** Pauses the instance's Argo CD auto-sync and scales its Deployments and StatefulSets to zero; puts both back. */
export class KubectlWorkloads implements Workloads {
    private automated?: unknown;
    private scaled: { kind: string; name: string; replicas: number }[] = [];
    constructor(private readonly kubeconfig: string, private readonly n: InstanceNames, private readonly log: (l: string) => void, private readonly timeoutSeconds = 180) {}

    async pause(): Promise<void> {
        const app = JSON.parse(kubectl(this.kubeconfig, ["-n", shared.argoCdNamespace, "get", "application", this.n.argoApplication, "-o", "json"]));
        this.automated = app.spec?.syncPolicy?.automated;
        if (this.automated !== undefined) {
            this.log(`Argo CD: auto-sync of ${this.n.argoApplication} off`);
            kubectl(this.kubeconfig, ["-n", shared.argoCdNamespace, "patch", "application", this.n.argoApplication, "--type", "json", "-p", '[{"op":"remove","path":"/spec/syncPolicy/automated"}]']);
        }
        const list = JSON.parse(kubectl(this.kubeconfig, ["-n", this.n.namespace, "get", "deployments,statefulsets", "-o", "json"]));
        for (const item of list.items ?? []) {
            const replicas = item.spec?.replicas ?? 1;
            if (replicas === 0) continue;
            this.scaled.push({ kind: item.kind.toLowerCase(), name: item.metadata.name, replicas });
            this.log(`scaling ${item.kind}/${item.metadata.name} from ${replicas} to 0`);
            kubectl(this.kubeconfig, ["-n", this.n.namespace, "scale", `${item.kind.toLowerCase()}/${item.metadata.name}`, "--replicas=0"]);
        }
        const deadline = Date.now() + this.timeoutSeconds * 1000;
        for (;;) {
            const now = JSON.parse(kubectl(this.kubeconfig, ["-n", this.n.namespace, "get", "deployments,statefulsets", "-o", "json"]));
            const running = (now.items ?? []).filter((i: any) => (i.status?.replicas ?? 0) > 0).map((i: any) => `${i.kind}/${i.metadata.name}`);
            if (running.length === 0) return;
            if (Date.now() > deadline) throw new RestoreError(`still running after ${this.timeoutSeconds} s: ${running.join(", ")}`);
            await new Promise((r) => setTimeout(r, 3000));
        }
    }

    async resume(): Promise<void> {
        for (const s of this.scaled) {
            this.log(`scaling ${s.kind}/${s.name} back to ${s.replicas}`);
            kubectl(this.kubeconfig, ["-n", this.n.namespace, "scale", `${s.kind}/${s.name}`, `--replicas=${s.replicas}`]);
        }
        if (this.automated !== undefined) {
            this.log(`Argo CD: auto-sync of ${this.n.argoApplication} back on`);
            kubectl(this.kubeconfig, ["-n", shared.argoCdNamespace, "patch", "application", this.n.argoApplication, "--type", "merge", "-p", JSON.stringify({ spec: { syncPolicy: { automated: this.automated } } })]);
        }
    }
}

/** A restore from a command line (throws UsageError, a configuration error, RestoreError). */
export async function main(argv: string[]): Promise<number> {
    return restore(parseRestoreArgs(argv));
}

/** Exit 0: restored (or listed); 1: the restore failed (why is printed); 2: a mistake, or prod without --yes-replace-prod; 3: --list found a stale kind. */
export async function run(a: ParsedArgs): Promise<number> {
    try {
        return await restore(restoreArgsOf(a));
    } catch (e) {
        if (!(e instanceof RestoreError)) throw e;
        console.error(`restore: ${e.message}`);
        return EXIT.failed;
    }
}

async function restore(args: RestoreArgs): Promise<number> {
    const cfg = parseConfig(args.stack, readStackConfig(path.resolve(__dirname, ".."), args.stack));
    const n = args.list ? undefined : findInstance(cfg, args.instance!);
    let dataHost: DataHost | undefined;
    const host = () => (dataHost ??= dataHostOf(cfg));
    const log = (l: string) => console.error(`[restore ${cfg.stack}] ${l}`);
    if (!n) {
        const s = cfg.backupSchedule;
        const hours = SCHEDULE_HOURS[s.dataHost.schedule];
        const listing: KindListing[] = await listBackups(host(), { postgres: hours, gitea: hours });
        if (hasLonghorn(cfg)) {
            const dir = fs.mkdtempSync(path.join(os.tmpdir(), "restore-"));
            try {
                const kubeconfig = path.join(dir, "kubeconfig");
                fs.writeFileSync(kubeconfig, stackOutput(cfg.stack, "kubeconfig", true), { mode: 0o600 });
                const items = JSON.parse(kubectl(kubeconfig, ["-n", shared.longhornNamespace, "get", "backups.longhorn.io", "-o", "json"])).items ?? [];
                listing.push(longhornListing(items, cronIntervalHours(s.longhorn.backup.cron)!));
            } catch (e) {
                console.error(`Longhorn's backups could not be listed (${(e as Error).message}); see its UI, Backup tab`);
            } finally {
                fs.rmSync(dir, { recursive: true, force: true });
            }
        }
        console.log(formatListing(cfg.stack, listing));
        return listing.some((k) => k.stale) ? 3 : 0;
    }
    const swap = args.into === undefined;
    if (cfg.isProd && swap) {
        // Said before anything is contacted; without the flag nothing else happens.
        console.error(`PROD: this replaces the live database ${n.database} of instance ${n.instance} with backup ${args.backup ?? "(the newest complete one)"}; ` +
            `its workloads in namespace ${n.namespace} are scaled to zero and Argo CD's auto-sync of ${n.argoApplication} is paused meanwhile. ` +
            "The current database is kept, renamed, with connections off.");
        if (!args.confirmProd) {
            console.error("Nothing done. Run again with --yes-replace-prod to do it, or restore into a scratch database with --into <name>.");
            return 2;
        }
        const size = (await host().psql("postgres", `SELECT pg_size_pretty(pg_database_size(datname)) FROM pg_database WHERE datname = '${n.database.replace(/'/g, "''")}'`)).trim();
        log(`the live ${n.database} is ${size || "absent"} now`);
    }
    let kubeconfigFile: string | undefined;
    try {
        let workloads: Workloads = { pause: async () => undefined, resume: async () => undefined };
        if (swap) {
            kubeconfigFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "restore-")), "kubeconfig");
            fs.writeFileSync(kubeconfigFile, stackOutput(cfg.stack, "kubeconfig", true), { mode: 0o600 });
            workloads = new KubectlWorkloads(kubeconfigFile, n, log);
        }
        const res = await restoreInstance({ host: host(), database: n.database, backup: args.backup, into: args.into, workloads, log });
        console.log(JSON.stringify(res, null, 2));
        return 0;
    } finally {
        if (kubeconfigFile) fs.rmSync(path.dirname(kubeconfigFile), { recursive: true, force: true });
    }
}

if (require.main === module) runCli(spec, process.argv.slice(2), run);
