// npm run restore -- <stack> <instance> [--backup <id>] [--into <database>] [--yes-replace-prod]
// npm run restore -- <stack> --list
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
import { isConfigError, LabConfig, parseConfig, SCHEDULE_HOURS, cronIntervalHours } from "../components/config";
import { readStackConfig } from "../components/stack-config";
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

const USAGE = "usage: npm run restore -- <stack> <instance> [--backup <id>] [--into <database>] [--yes-replace-prod]\n" +
    "       npm run restore -- <stack> --list";

export function parseRestoreArgs(argv: string[]): RestoreArgs {
    const positional: string[] = [];
    const out: RestoreArgs = { stack: "", list: false, confirmProd: false };
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        const value = () => {
            const v = argv[++i];
            if (v === undefined || v.startsWith("--")) throw new RestoreError(`${a} needs a value\n${USAGE}`);
            return v;
        };
        if (a === "--list") out.list = true;
        else if (a === "--backup") out.backup = value();
        else if (a === "--into") out.into = value();
        else if (a === "--yes-replace-prod") out.confirmProd = true;
        else if (a.startsWith("--")) throw new RestoreError(`unknown option ${a}\n${USAGE}`);
        else positional.push(a);
    }
    if (positional.length < 1 || (!out.list && positional.length !== 2) || positional.length > 2) throw new RestoreError(USAGE);
    out.stack = positional[0];
    if (positional[1] !== undefined) out.instance = positional[1];
    return out;
}

function findInstance(cfg: LabConfig, id: string): InstanceNames {
    const all = cfg.apps.flatMap((a) => a.envs.map((e) => instanceNames(a.name, e)));
    const n = all.find((x) => x.instance === id);
    if (!n) throw new RestoreError(`stack ${cfg.stack} has no instance ${id} (it has: ${all.map((x) => x.instance).join(", ")})`);
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

function dataHostOf(cfg: LabConfig): DataHost {
    const bucket = cfg.backup?.bucket ?? sandboxBucket(cfg.stack);
    const target = rclonePrefix({ bucket }, cfg.stack);
    if (cfg.mode === "k3d") {
        const dir = path.join(process.env.XDG_CONFIG_HOME ?? path.join(os.homedir(), ".config"), "homelab", cfg.stack, "backup");
        return new DataHost(new LocalRunner(), { pgContainer: `k3d-${cfg.k3d!.clusterName}-postgres`, target, envFile: path.join(dir, "target.env") });
    }
    const host = cfg.hosts?.find((h) => h.name === cfg.dataHost);
    // A Pi's key comes from the stack file; a placeholder is refused like in a real run of prod.
    if (host && cfg.placeholders.some((p) => p.value === host.hostKey)) {
        throw new RestoreError(`stack ${cfg.stack}: homelab:hosts hostKey of ${host.name} is still a REPLACE-ME placeholder in Pulumi.${cfg.stack}.yaml; `
            + `record the real key (ssh-keyscan, checked on the console) before restore connects to it`);
    }
    let address = host?.address;
    if (!address) {
        const nodes = JSON.parse(stackOutput(cfg.stack, "nodes") || "[]") as { name: string; address: string }[];
        address = nodes.find((n) => n.name === cfg.dataHost)?.address;
        if (!address) throw new RestoreError(`stack ${cfg.stack}: the data host ${cfg.dataHost} is not among its nodes output`);
    }
    const runner: Runner = new SshRunner(`${cfg.sshUser}@${address}`, cfg.sshUser !== "root", undefined, host?.hostKey);
    return new DataHost(runner, { pgContainer: "postgres", composeProject: DATA_COMPOSE_PROJECT, target, envFile: "/etc/homelab-backup/target.env" });
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

export async function main(argv: string[]): Promise<number> {
    const args = parseRestoreArgs(argv);
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

if (require.main === module) {
    main(process.argv.slice(2)).then((code) => process.exit(code), (e: unknown) => {
        if (e instanceof RestoreError || isConfigError(e)) console.error((e as Error).message);
        else console.error(e);
        process.exit(1);
    });
}
