// The backup layer's shell scripts live in ./scripts (shellcheck and the tests read exactly what
// runs on the data host).
import * as fs from "fs";
import * as path from "path";

export const BACKUP_SCRIPTS_DIR = path.join(__dirname, "scripts");
export const BACKUP_SCRIPT_NAMES = ["data-backup.sh", "backup-install.sh", "backup-uninstall.sh"] as const;
export type BackupScriptName = (typeof BACKUP_SCRIPT_NAMES)[number];

export function readBackupScript(name: BackupScriptName): string {
    const file = path.join(BACKUP_SCRIPTS_DIR, name);
    try {
        return fs.readFileSync(file, "utf8");
    } catch (e) {
        throw new Error(`backup: cannot read the script ${file}: ${(e as Error).message}`);
    }
}
