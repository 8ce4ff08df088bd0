// Prod changes only through migrations the operator switches on (homelab:migrations): the
// baseline (none on) registers what exists; each migration's plan diff is a golden file; with the
// migrations on, the policy pack passes; the gate knows which drills each migration needs.
import { strict as assert } from "assert";
import * as fs from "fs";
import { parseConfig } from "../components/config";
import { readStackConfig } from "../components/stack-config";
import { MIGRATIONS, migrationOn, migrationProblems, MIGRATION_INFO } from "../components/migrations";
import { migrationDiffs, migrationGoldenPath } from "../tools/migrations";
import { migrationChange, MIGRATION_DRILLS } from "../tools/drill/gate";
import { DRILL_NAMES } from "../tools/drill/model";
import { PlanDocument } from "../tools/plan-types";
import { planOf, ROOT } from "./helpers/plan";

const raw = (stack: string, migrations?: unknown) => {
    const r = readStackConfig(ROOT, stack);
    if (migrations !== undefined) r["homelab:migrations"] = JSON.stringify(migrations);
    return r;
};
const prodWith = (migrations: string[]): PlanDocument => planOf("prod", { "homelab:migrations": migrations });
/** The "done when" list. */
const DONE_WHEN = ["database-contract", "helm-releases", "argocd", "backups"];

describe("homelab:migrations: the configuration", () => {
    it("names exactly the issue's migrations, each with a summary; prod starts with none on", () => {
        assert.deepEqual([...MIGRATIONS].sort(), ["argocd", "argocd-autosync", "backups", "database-contract", "helm-releases"]);
        for (const m of MIGRATIONS) assert.ok(MIGRATION_INFO[m].summary.length > 20, m);
        const prod = parseConfig("prod", raw("prod"));
        assert.deepEqual(prod.migrations, []);
        for (const m of MIGRATIONS) assert.equal(migrationOn(prod, m), false, m);
    });

    it("runs every migration on a sandbox, and refuses the key in a sandbox's file", () => {
        for (const stack of ["sandbox-k3d", "sandbox-vms"]) {
            const cfg = parseConfig(stack, raw(stack));
            assert.deepEqual(cfg.migrations, [...MIGRATIONS]);
            for (const m of MIGRATIONS) assert.equal(migrationOn(cfg, m), true, `${stack} ${m}`);
            assert.throws(() => parseConfig(stack, raw(stack, [])), /homelab:migrations.*a sandbox always runs with every migration on/);
        }
    });

    it("refuses an unknown name, listing the known ones; a duplicate; a migration without what it requires", () => {
        assert.throws(() => parseConfig("prod", raw("prod", ["database-contract", "argo-cd"])),
            (e: Error) => /migrations\[1\] is "argo-cd": not a migration; the known ones are database-contract, helm-releases, argocd, backups, argocd-autosync/.test(e.message)
                && /Pulumi\.prod\.yaml/.test(e.message) && (e as { isConfigError?: boolean }).isConfigError === true);
        assert.throws(() => parseConfig("prod", raw("prod", ["argocd", "argocd"])), /"argocd" is listed twice/);
        assert.throws(() => parseConfig("prod", raw("prod", ["argocd-autosync"])), /"argocd-autosync" needs "argocd" switched on first/);
        assert.throws(() => parseConfig("prod", raw("prod", ["backups"])), /"backups" needs "helm-releases"/);
        assert.throws(() => parseConfig("prod", raw("prod", "argocd")), /homelab:migrations/);
        assert.deepEqual(migrationProblems([...MIGRATIONS]), []);
        assert.deepEqual(parseConfig("prod", raw("prod", DONE_WHEN)).migrations, DONE_WHEN);
    });
});

describe("prod's migrations: golden diffs and policies", function () {
    this.timeout(300_000);

    it("each migration, switched on after the ones before it, changes exactly what its golden file says", () => {
        const steps = migrationDiffs(prodWith);
        assert.deepEqual(steps.map((s) => s.name), [...MIGRATIONS]);
        for (const step of steps) {
            const file = migrationGoldenPath(step.name);
            assert.ok(fs.existsSync(file), `${file}: npm run plan:migrations -- --update`);
            assert.equal(step.diff, fs.readFileSync(file, "utf8"), `${step.name}: npm run plan:migrations -- --update if meant`);
            assert.ok(step.diff.split("\n").filter((l) => /^[+~-] /.test(l)).length > 0, `${step.name} changes something`);
            assert.deepEqual(step.violations.filter((v) => v.enforcement === "mandatory"), [], `policy with [${step.on.join(", ")}]`);
        }
    });

    it("passes the policy pack with the issue's list [database-contract, helm-releases, argocd, backups], and with none", () => {
        for (const list of [DONE_WHEN, []]) {
            assert.deepEqual(prodWith(list).violations, [], `[${list.join(", ")}]`);
        }
    });

    it("database-contract: the README's contract arrives (owner roles, grants, vault_admin); the VSO objects become the program's", () => {
        const before = prodWith([]);
        const after = prodWith(["database-contract"]);
        const names = (p: PlanDocument, type: string) => p.resources.filter((r) => r.type === type).map((r) => r.name);
        assert.deepEqual(names(before, "postgresql:index/grant:Grant"), []);
        assert.deepEqual(names(before, "postgresql:index/grantRole:GrantRole"), []);
        assert.ok(names(after, "postgresql:index/grant:Grant").includes("platform-postgres-access-revoke-public-template1"));
        assert.equal(names(after, "postgresql:index/grantRole:GrantRole").length, 6);
        const db = after.resources.find((r) => r.name === "erp-database")!;
        assert.deepEqual([db.inputs.owner, db.inputs.connectionLimit], ["erp_db_owner", 20]);
        const conn = after.resources.find((r) => r.name === "erp-db-connection")!;
        assert.equal((conn.inputs.postgresql as Record<string, unknown>).username, "vault_admin");
    });

    it("argocd: Argo CD arrives on prod with automated sync off; argocd-autosync turns it on as the catalogue says", () => {
        const apps = (p: PlanDocument) => p.resources.filter((r) => r.type === "kubernetes:argoproj.io/v1alpha1:Application");
        assert.deepEqual(apps(prodWith(["database-contract", "helm-releases"])), []);
        const manual = apps(prodWith(DONE_WHEN));
        assert.equal(manual.length, 6);
        for (const a of manual) assert.deepEqual((a.inputs.spec as Record<string, unknown>).syncPolicy, {}, a.name);
        const auto = apps(prodWith([...DONE_WHEN, "argocd-autosync"]));
        for (const a of auto) assert.deepEqual((a.inputs.spec as Record<string, unknown>).syncPolicy, { automated: { prune: true, selfHeal: true } }, a.name);
        // a sandbox runs every migration: automated as before
        for (const a of apps(planOf("sandbox-vms"))) assert.ok(((a.inputs.spec as Record<string, any>).syncPolicy).automated, a.name);
    });

    it("backups: the job on pi2, the HMAC key, Longhorn's target and recurring jobs only with it; before it, Longhorn keeps its discovered target", () => {
        const without = prodWith(["database-contract", "helm-releases", "argocd"]);
        const has = (p: PlanDocument, re: RegExp) => p.resources.some((r) => re.test(r.type) || re.test(r.name));
        for (const re of [/^gcp:/, /^data-backup/, /longhorn\.io\/v1beta2:RecurringJob/, /longhorn-backup-credentials/]) {
            assert.equal(has(without, re), false, `${re} before backups`);
            assert.equal(has(prodWith(DONE_WHEN), re), true, `${re} with backups`);
        }
        const longhorn = without.resources.find((r) => r.name === "platform-longhorn")!;
        const facts = JSON.parse(fs.readFileSync(`${ROOT}/facts/prod.json`, "utf8"));
        assert.deepEqual((longhorn.inputs.values as Record<string, unknown>).defaultBackupStore,
            facts.helmReleases["longhorn-system/longhorn"].values.defaultBackupStore, "managed before backups: Longhorn's target stays what prod has");
    });
});

describe("the gate knows migrations", () => {
    it("names existing drills for every migration", () => {
        for (const m of MIGRATIONS) {
            assert.ok(MIGRATION_DRILLS[m].length > 0, m);
            for (const d of MIGRATION_DRILLS[m]) assert.ok(DRILL_NAMES.includes(d), `${m}: ${d}`);
        }
    });

    it("sees which migrations a Pulumi.prod.yaml change switches on or off, and whether it changes anything else", () => {
        const file = (migrations: string[], extra = "") => `config:\n  homelab:mode: hosts\n${extra}  homelab:migrations: ${JSON.stringify(migrations)}\n`;
        assert.deepEqual(migrationChange(file([]), file(["database-contract"])), { on: ["database-contract"], off: [], onlyMigrations: true });
        assert.deepEqual(migrationChange(file(["database-contract", "argocd"]), file(["database-contract"])), { on: [], off: ["argocd"], onlyMigrations: true });
        assert.equal(migrationChange(file([]), file(["argocd"], "  homelab:sshUser: pi\n")).onlyMigrations, false);
    });
});
