// The backup layer: what every stack backs up, where, and how often (docs/backups.md).
// - The stack's target: prod's GCS bucket (components/edge/backups.ts), or a sandbox's own MinIO
//   that the metal layer runs (never prod's bucket: the guard and the policy pack see to that).
// - The data host's job (DataHostBackup): data-backup.sh installed with its schedule, its
//   settings and the target's credentials by backup-install.sh, over SSH on a Linux data host
//   (systemd timer) or on the laptop for k3d (crontab line).
// - Longhorn's recurring jobs (longhornRecurringJobs), created by the platform layer.
import { createHash } from "crypto";
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { requireHostKey } from "../guard/ssh";
import { BackupSchedule, cronIntervalHours, LabConfig, SCHEDULE_HOURS } from "../config";
import { DataHostInfo } from "../metal/types";
import { BackupTarget } from "../edge/backups";
import { LOCAL_INTERPRETER, shellQuote } from "../metal/scripts";
import { readBackupScript } from "./scripts";
import { shared } from "../naming";
import { RCLONE_MIN_VERSION } from "../config";

export { BACKUP_SCRIPTS_DIR, readBackupScript } from "./scripts";

/** MinIO's default region (what a MinIO server answers unless configured otherwise). */
export const MINIO_REGION = "us-east-1";
/** The rclone remote the job's env file defines (RCLONE_CONFIG_TARGET_*). */
export const RCLONE_REMOTE = "target";
/** What the data host backs up, each under <bucket>/<stack>/<kind>/<id>/. */
export const DATA_KINDS = ["postgres", "gitea"] as const;

/** A sandbox's own bucket in its own MinIO. */
export function sandboxBucket(stack: string): string {
    return `homelab-backups-${stack}`;
}

/** The rclone path of a stack's prefix on its target: target:<bucket>/<stack>. */
export function rclonePrefix(target: Pick<BackupTarget, "bucket">, stack: string): string {
    return `${RCLONE_REMOTE}:${target.bucket}/${stack}`;
}

/**
 * A sandbox's own target: the MinIO its metal layer runs. Longhorn's S3 target format is
 * s3://<bucket>@<region>/<path>, and its credential Secret holds AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY and AWS_ENDPOINTS (longhorn/longhorn v1.10.1:
 * deploy/backupstores/minio-backupstore.yaml; enhancements/20210525-async-pull-backups.md).
 */
export function sandboxTarget(cfg: LabConfig, dataHost: DataHostInfo): BackupTarget {
    const store = dataHost.objectStore;
    if (!store) throw new Error(`stack ${cfg.stack}: no backup target (no homelab:backup bucket and no MinIO of its own)`);
    const bucket = sandboxBucket(cfg.stack);
    return {
        url: `s3://${bucket}@${MINIO_REGION}/`,
        credentials: {
            AWS_ACCESS_KEY_ID: store.accessKeyId,
            ...(store.secretAccessKey ? { AWS_SECRET_ACCESS_KEY: store.secretAccessKey } : {}),
            AWS_ENDPOINTS: store.clusterEndpoint,
        },
        bucket,
        region: MINIO_REGION,
        provider: "Minio",
        hostEndpoint: store.hostEndpoint,
        accessKeyId: store.accessKeyId,
        secretAccessKey: store.secretAccessKey,
        secretEnvFile: store.secretAccessKey ? undefined : store.passwordEnvFile,
        createBucket: true,
    };
}

/** The Longhorn RecurringJob specs (longhorn.io/v1beta2) of the default group. */
export interface RecurringJobSpec {
    name: string;
    task: "backup" | "snapshot";
    cron: string;
    retain: number;
    concurrency: number;
    groups: string[];
    labels: Record<string, string>;
}

/**
 * Longhorn's recurring jobs: a backup and a snapshot job in the `default` group, which Longhorn
 * applies to every volume that has no recurring-job label of its own (longhorn/longhorn v1.10.1:
 * enhancements/20210624-label-driven-recurring-job.md, "Default recurring jobs"); `retain` is how
 * many backups or snapshots the job keeps, `concurrency` how many volumes it works on at once
 * (the CRD: ../shared/crds/longhorn.io_recurringjobs.yaml).
 */
export function longhornRecurringJobs(s: BackupSchedule): RecurringJobSpec[] {
    const job = (task: "backup" | "snapshot", name: string, j: { cron: string; retain: number }): RecurringJobSpec => ({
        name, task, cron: j.cron, retain: j.retain, concurrency: s.longhorn.concurrency,
        groups: ["default"], labels: { "app.kubernetes.io/managed-by": "homelab" },
    });
    return [
        job("backup", shared.longhornRecurringJobs.backup, s.longhorn.backup),
        job("snapshot", shared.longhornRecurringJobs.snapshot, s.longhorn.snapshot),
    ];
}

/** Per kind: how often it is backed up and when its newest backup counts as stale (twice that). */
export interface FreshnessKind {
    schedule: string;
    intervalHours: number;
    staleAfterHours: number;
    retain: number;
    where: string;
}

export function freshnessPolicy(cfg: LabConfig, target: BackupTarget | undefined, longhorn: boolean): Record<string, FreshnessKind> {
    const s = cfg.backupSchedule;
    const out: Record<string, FreshnessKind> = {};
    if (longhorn && target) {
        const h = cronIntervalHours(s.longhorn.backup.cron)!;
        out.longhorn = { schedule: s.longhorn.backup.cron, intervalHours: h, staleAfterHours: 2 * h, retain: s.longhorn.backup.retain, where: `${target.url}backupstore/` };
    }
    if (target) {
        const h = SCHEDULE_HOURS[s.dataHost.schedule];
        for (const kind of DATA_KINDS) {
            out[kind] = { schedule: s.dataHost.schedule, intervalHours: h, staleAfterHours: 2 * h, retain: s.dataHost.retain, where: `s3://${target.bucket}/${cfg.stack}/${kind}/` };
        }
    }
    return out;
}

export interface DataHostBackupArgs {
    config: LabConfig;
    dataHost: DataHostInfo;
    target: BackupTarget;
}

/** The data host's scheduled backup job, installed by backup-install.sh. */
export class DataHostBackup extends pulumi.ComponentResource {
    readonly install: command.remote.Command | command.local.Command;
    /** The target with every Longhorn credential filled (a sandbox's MinIO key comes back from the host). */
    readonly target: BackupTarget;

    constructor(name: string, args: DataHostBackupArgs, opts?: pulumi.ComponentResourceOptions) {
        super("lab:backup:DataHostBackup", name, {}, opts);
        const { config: cfg, dataHost: d, target: t } = args;
        const env: Record<string, string> = {
            STACK: cfg.stack,
            TARGET: rclonePrefix(t, cfg.stack),
            TARGET_PROVIDER: t.provider,
            TARGET_ENDPOINT: t.hostEndpoint,
            TARGET_REGION: t.region,
            CREATE_BUCKET: t.createBucket ? "1" : "0",
            SECRET_ENV_FILE: t.secretEnvFile ?? "",
            COMPOSE_PROJECT: d.composeProject ?? "",
            PG_CONTAINER: d.postgresContainer,
            GITEA_CONTAINER: d.giteaContainer,
            SCHEDULE: cfg.backupSchedule.dataHost.schedule,
            RETAIN: String(cfg.backupSchedule.dataHost.retain),
            INSTALL: d.ssh ? "systemd" : "cron",
            // the rclone the job and the restore use (an older one cannot read GCS back: rclone issue 6670)
            RCLONE_VERSION: cfg.versions.rclone.version,
            RCLONE_SHA256: cfg.versions.rclone.sha256LinuxArm64,
            RCLONE_MIN_VERSION,
        };
        // Secrets only on stdin; the secret key is absent when the host holds it (SECRET_ENV_FILE).
        const stdin = pulumi.secret(pulumi.all([t.accessKeyId, t.secretAccessKey ?? ""]).apply(([id, key]) =>
            `TARGET_ACCESS_KEY_ID=${id}\n${key ? `TARGET_SECRET_ACCESS_KEY=${key}\n` : ""}`));
        const backupScript = readBackupScript("data-backup.sh");
        const installScript = readBackupScript("backup-install.sh");
        // What defines the job: a change re-runs the idempotent install.
        const triggers = [...Object.entries(env).map(([k, v]) => `${k}=${v}`), sha(backupScript), sha(installScript)];
        const printsSecret = env.SECRET_ENV_FILE !== "";
        if (d.ssh) {
            const ssh = d.ssh;
            const assignments = Object.keys(env).sort().map((k) => `${k}=${shellQuote(env[k])}`);
            const create = `${ssh.sudo ? "sudo -n " : ""}env ${assignments.join(" ")} BACKUP_SCRIPT=${shellQuote(backupScript)} bash -c ${shellQuote(installScript)} backup-install.sh`;
            this.install = new command.remote.Command(`${name}-install`, {
                // The data host's pinned key: without one the command provider accepts any
                // (pulumi/pulumi-command v1.2.1 provider/pkg/provider/remote/connection.go).
                connection: { host: ssh.host, user: ssh.user, hostKey: requireHostKey(`${name}`, ssh.hostKey) },
                triggers: [ssh.name, ssh.host, ...triggers],
                create,
                update: create,
                stdin,
                logging: "stderr",
                addPreviousOutputInEnv: false,
            }, { parent: this, dependsOn: d.ready, additionalSecretOutputs: ["stdout"] });
        } else {
            this.install = new command.local.Command(`${name}-install`, {
                interpreter: LOCAL_INTERPRETER,
                create: installScript,
                update: installScript,
                // a destroyed sandbox leaves no crontab line behind (prod's and the VMs' jobs have no delete)
                delete: readBackupScript("backup-uninstall.sh"),
                environment: { ...env, BACKUP_SCRIPT: backupScript },
                stdin,
                triggers,
                logging: "stderr",
                addPreviousOutputInEnv: false,
            }, { parent: this, dependsOn: d.ready, additionalSecretOutputs: ["stdout"] });
        }
        const secret = t.secretAccessKey ?? (printsSecret
            ? pulumi.secret(this.install.stdout.apply((s) => (s ?? "").trim().split("\n").pop() ?? ""))
            : undefined);
        this.target = {
            ...t,
            secretAccessKey: secret,
            credentials: { ...t.credentials, ...(secret ? { AWS_SECRET_ACCESS_KEY: secret } : {}) },
        };
        this.registerOutputs({});
    }
}

function sha(s: string): string {
    return `sha256:${createHash("sha256").update(s).digest("hex").slice(0, 16)}`;
}
