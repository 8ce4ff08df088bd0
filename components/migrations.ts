// Migrations: every deliberate change to prod is named, switched on by the operator one at a time in
// `homelab:migrations` (Pulumi.prod.yaml), and gated by its own golden plan diff, its drills and
// its rollback (docs/runbooks/migrations.md). With none on, the prod stack is the adoption baseline:
// it registers what exists, exactly as discovered (facts/prod.json), and changes nothing.
// Sandboxes have nothing to adopt: they always run with every migration on.
//
// This module imports nothing of the program (config.ts reads MIGRATIONS from here).

/** The migrations, in the order they are meant to be switched on. */
export const MIGRATIONS = ["database-contract", "helm-releases", "argocd", "backups", "argocd-autosync"] as const;
export type Migration = (typeof MIGRATIONS)[number];

export interface MigrationInfo {
    /** What it changes on prod, in one line (the full account: docs/runbooks/migrations.md). */
    summary: string;
    /** Migrations that must be on before this one. */
    requires: Migration[];
}

export const MIGRATION_INFO: Record<Migration, MigrationInfo> = {
    "database-contract": {
        summary: "the README's database contract: <app>_db_owner owns each database, <app>_role NOLOGIN, connection limits, "
            + "PUBLIC revoked on postgres, template1 and every app database, vault_admin and Vault's connections and roles moved to it, "
            + "the program's service accounts and VSO objects per instance",
        requires: [],
    },
    "helm-releases": {
        summary: "the program manages Longhorn and VSO: chart versions from the manifest, its values (Ansible's dropped), VSO's default VaultConnection",
        requires: [],
    },
    argocd: {
        summary: "Argo CD, its project, repo-creds and one Application per instance, with automated sync off",
        requires: [],
    },
    backups: {
        summary: "the data host's backup job (a systemd timer on pi2), Longhorn's backup target, its credentials and recurring jobs, the HMAC key and its IAM binding",
        // Longhorn's backup target is in the program's Longhorn values.
        requires: ["helm-releases"],
    },
    "argocd-autosync": {
        summary: "Argo CD's automated sync (prune, self-heal) as the catalogue says, after a first manual sync showed no diff",
        requires: ["argocd"],
    },
};

/** The configured list's problems (unknown, duplicate, missing requirement), as messages; empty when valid. */
export function migrationProblems(names: string[]): string[] {
    const out: string[] = [];
    const known = MIGRATIONS as readonly string[];
    names.forEach((n, i) => {
        if (!known.includes(n)) out.push(`migrations[${i}] is ${JSON.stringify(n)}: not a migration; the known ones are ${MIGRATIONS.join(", ")}`);
        else if (names.indexOf(n) !== i) out.push(`migrations[${i}] ${JSON.stringify(n)} is listed twice`);
    });
    for (const n of names) {
        const info = MIGRATION_INFO[n as Migration];
        for (const r of info?.requires ?? []) {
            if (!names.includes(r)) out.push(`migration ${JSON.stringify(n)} needs ${JSON.stringify(r)} switched on first (add it to homelab:migrations)`);
        }
    }
    return out;
}

/** Whether a migration is on: always on a sandbox, on prod only when listed. */
export function migrationOn(cfg: { isProd: boolean; migrations?: readonly string[] }, name: Migration): boolean {
    return !cfg.isProd || (cfg.migrations ?? []).includes(name);
}

/** The cumulative lists of the runbook's order: [], [m1], [m1, m2], ... (the golden diffs step through them). */
export function migrationSteps(): Migration[][] {
    return MIGRATIONS.map((_, i) => MIGRATIONS.slice(0, i + 1));
}
