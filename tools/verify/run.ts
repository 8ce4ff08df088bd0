// `npm run verify -- <stack>`: runs the checks one after another, each with its own timeout,
// prints one line per check and a summary (or one JSON document), and says how it ended:
// 0 every check holds, 1 one fails, 2 verify cannot run (and why).
import * as path from "path";
import { LabConfig, parseConfig, isConfigError, ProdIdentity } from "../../components/config";
import { readStackConfig, StackFileError } from "../../components/stack-config";
import { loadFingerprint } from "../../components/fingerprint";
import { withTimeout } from "../../components/guard/identity";
import { Check, CheckResult, checksFor, Failure, kubeReader, KubeReader, SeenIdentities, Skip } from "./checks";
import { CannotRun, readOutputsFile, readOutputsFromPulumi, StackOutputs } from "./outputs";

export { CannotRun } from "./outputs";

export interface VerifyOptions {
    stack: string;
    projectDir: string;
    /** Read the outputs from this file instead of the Pulumi CLI. */
    outputsFile?: string;
    json?: boolean;
    /** Seconds each check may take (default 60). */
    checkTimeoutSeconds?: number;
    /** Where lines go (stdout) and progress goes (stderr). */
    out?: (line: string) => void;
    progress?: (line: string) => void;
    /** Seconds between "still waiting" lines (default 5). */
    progressEverySeconds?: number;
    env?: NodeJS.ProcessEnv;
    /** For tests: another Kubernetes reader or fetch. */
    kube?: KubeReader;
    fetch?: typeof fetch;
}

export interface VerifyReport {
    stack: string;
    checks: CheckResult[];
    identities: SeenIdentities;
    summary: { passed: number; failed: number; skipped: number };
    exitCode: 0 | 1 | 2;
    error?: string;
}

const MARK: Record<CheckResult["status"], string> = { pass: "PASS", fail: "FAIL", skip: "SKIP" };

export function formatResult(r: CheckResult): string {
    return `${MARK[r.status]}  ${r.name}: ${r.detail}`;
}

async function runOne(check: Check, timeoutMs: number, progress: (l: string) => void, everyMs: number): Promise<CheckResult> {
    const start = Date.now();
    const ticker = setInterval(() => progress(`... ${check.name}: still checking (${Math.round((Date.now() - start) / 1000)}s of at most ${timeoutMs / 1000}s)`), everyMs);
    try {
        const detail = await withTimeout(check.run(), timeoutMs, "timed out");
        return { name: check.name, status: "pass", detail, ms: Date.now() - start };
    } catch (e) {
        const status = e instanceof Skip ? "skip" : "fail";
        const msg = e instanceof Failure || e instanceof Skip ? e.message : `cannot check: ${(e as Error).message ?? String(e)}`;
        return { name: check.name, status, detail: msg, ms: Date.now() - start };
    } finally {
        clearInterval(ticker);
    }
}

export async function runVerify(o: VerifyOptions): Promise<VerifyReport> {
    const out = o.out ?? ((l: string) => process.stdout.write(`${l}\n`));
    const progress = o.progress ?? ((l: string) => process.stderr.write(`${l}\n`));
    const env = o.env ?? process.env;
    const report: VerifyReport = { stack: o.stack, checks: [], identities: {}, summary: { passed: 0, failed: 0, skipped: 0 }, exitCode: 0 };
    const finish = (): VerifyReport => {
        if (o.json) out(JSON.stringify(report, null, 2));
        return report;
    };

    let cfg: LabConfig;
    let outputs: StackOutputs;
    // Prod is reached only once its identities are recorded: with a placeholder there, nothing it
    // answers could be told from another cluster's answer, so nothing is contacted (no outputs read either).
    let unrecorded: (keyof ProdIdentity)[] = [];
    try {
        cfg = parseConfig(o.stack, readStackConfig(o.projectDir, o.stack));
        unrecorded = cfg.isProd ? identityPlaceholders(cfg.identity) : [];
        if (unrecorded.length > 0) throw new CannotRun(unrecordedMessage(unrecorded));
        outputs = o.outputsFile ? readOutputsFile(path.resolve(o.outputsFile)) : await readOutputsFromPulumi(o.stack, o.projectDir);
    } catch (e) {
        if (e instanceof CannotRun || e instanceof StackFileError || isConfigError(e)) {
            report.exitCode = 2;
            report.error = (e as Error).message;
            if (!o.json) out(`verify ${o.stack}: cannot run: ${report.error}`);
            return finish();
        }
        throw e;
    }

    let kube = o.kube;
    if (!kube) {
        try {
            kube = await kubeReader(outputs.kubeconfig);
        } catch (e) {
            report.exitCode = 2;
            report.error = `the kubeconfig output is not usable: ${(e as Error).message}`;
            if (!o.json) out(`verify ${o.stack}: cannot run: ${report.error}`);
            return finish();
        }
    }
    const timeoutMs = (o.checkTimeoutSeconds ?? 60) * 1000;
    const checks = checksFor({
        stack: o.stack, cfg, outputs, kube,
        prodIdentity: loadFingerprint(o.projectDir).identity,
        giteaToken: env.GITEA_TOKEN || undefined,
        fetch: o.fetch ?? fetch,
        timeoutMs: Math.min(timeoutMs, 30_000),
    }, report.identities);
    if (!o.json) out(`verify ${o.stack}: ${checks.length} checks (read-only)`);
    for (const c of checks) {
        const r = await runOne(c, timeoutMs, progress, (o.progressEverySeconds ?? 5) * 1000);
        report.checks.push(r);
        if (!o.json) out(formatResult(r));
    }
    report.summary = {
        passed: report.checks.filter((c) => c.status === "pass").length,
        failed: report.checks.filter((c) => c.status === "fail").length,
        skipped: report.checks.filter((c) => c.status === "skip").length,
    };
    report.exitCode = report.summary.failed ? 1 : 0;
    if (!o.json) {
        const ids = report.identities;
        out(`identities seen: cluster ${ids.kubeSystemUid ?? "?"}, Vault ${ids.vaultClusterId ?? "?"}, Postgres ${ids.postgresSystemIdentifier ?? "?"}`);
        out(`${report.summary.passed} passed, ${report.summary.failed} failed, ${report.summary.skipped} skipped`);
    }
    return finish();
}

function unrecordedMessage(keys: (keyof ProdIdentity)[]): string {
    return `prod's recorded identities are placeholders (${keys.map((k) => `homelab:identity.${k}`).join(", ")} in Pulumi.prod.yaml): ` +
        "record them first with `npm run discover -- prod` (read-only); nothing was contacted";
}

/**
 * The identities still at their committed placeholder: the all-zero UUID, or a PostgreSQL system
 * identifier of the form 10...0 (a real one starts with the initdb time in seconds shifted left by
 * 32 bits: postgres/postgres src/backend/access/transam/xlog.c, BootStrapXLOG).
 */
export function identityPlaceholders(identity: ProdIdentity | undefined): (keyof ProdIdentity)[] {
    if (!identity) return ["kubeSystemUid", "vaultClusterId", "postgresSystemIdentifier"];
    const out: (keyof ProdIdentity)[] = [];
    for (const k of ["kubeSystemUid", "vaultClusterId"] as const) if (/^0{8}-0{4}-0{4}-0{4}-0{12}$/.test(identity[k] ?? "")) out.push(k);
    if (/^10*$/.test(identity.postgresSystemIdentifier ?? "")) out.push("postgresSystemIdentifier");
    return out;
}
