// homelab:backupSchedule (schema: definitions/config/properties/homelab:backupSchedule): how often
// Longhorn and the data host back up. The schema says the shape; the cron's shape is checked here.
import { Reader } from "./reader";
import { BackupSchedule, DataHostSchedule, RecurringSpec } from "./types";

/**
 * The hours between two runs of a cron expression, for the simple shapes a backup schedule has
 * (minute and hour fixed: daily; hour a step of N: every N hours; hour any: hourly; minute,
 * hour and weekday fixed: weekly); undefined for anything else.
 */
export function cronIntervalHours(cron: string): number | undefined {
    const f = cron.trim().split(/\s+/);
    if (f.length !== 5 || !/^\d{1,2}$/.test(f[0]) || f[2] !== "*" || f[3] !== "*") return undefined;
    if (f[1] === "*" && f[4] === "*") return 1;
    const every = /^\*\/(\d{1,2})$/.exec(f[1]);
    if (every && f[4] === "*" && Number(every[1]) >= 1 && Number(every[1]) <= 24) return Number(every[1]);
    if (/^\d{1,2}$/.test(f[1]) && f[4] === "*") return 24;
    if (/^\d{1,2}$/.test(f[1]) && /^[0-6]$/.test(f[4])) return 168;
    return undefined;
}

type Raw = { longhorn: { backup: RecurringSpec; snapshot: RecurringSpec; concurrency?: number }; dataHost: { schedule: DataHostSchedule; retain: number } };

/** A validated homelab:backupSchedule, with its defaults. */
export function readBackupSchedule(r: Reader, v: unknown): BackupSchedule {
    const o = v as Raw;
    for (const job of ["backup", "snapshot"] as const) {
        const cron = o.longhorn[job].cron;
        if (cronIntervalHours(cron) === undefined) {
            r.fail(`backupSchedule.longhorn.${job}.cron`, cron, "a cron of a simple shape whose interval the freshness check can read (\"M H * * *\", \"M */N * * *\", \"M * * * *\" or \"M H * * D\")");
        }
    }
    return {
        longhorn: {
            backup: { ...o.longhorn.backup },
            snapshot: { ...o.longhorn.snapshot },
            concurrency: o.longhorn.concurrency ?? 1,
        },
        dataHost: { schedule: o.dataHost.schedule, retain: o.dataHost.retain },
    };
}
