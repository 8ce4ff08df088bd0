// Runs one drill: its steps in order, each within its deadline, a progress line per step (and per
// probe of a wait) with the elapsed time. A failed step stops the drill; the recovery steps marked
// safe then run (starting VMs, unsealing, restoring: they cannot make things worse), verify says
// what state the sandbox is left in, and the record (evidence.ts) says it too.
import { Versions } from "../../components/config";
import { DrillRecord, RECORD_SCHEMA, StepRecord } from "./evidence";
import { Lab } from "./lab";
import { Drill, DrillState, Step, StepContext } from "./model";

/** Exit 2: the drill may not run here (prod, a stack it does not apply to). */
export class DrillRefused extends Error {
    constructor(message: string) {
        super(message);
        this.name = "DrillRefused";
    }
}

/** Refuses prod whatever the environment says: there is no flag or variable that lifts this. */
export function refuseProd(stack: string): void {
    if (stack === "prod" || stack.startsWith("prod")) {
        throw new DrillRefused(`drills never run on ${stack}: they inject real faults. Rehearse on sandbox-vms or sandbox-k3d; on prod, follow docs/runbooks/ by hand in a real incident.`);
    }
}

export function refuseStack(drill: Drill, stack: string): void {
    refuseProd(stack);
    if (!drill.stacks.includes(stack)) throw new DrillRefused(`drill ${drill.name} runs on ${drill.stacks.join(", ")}, not on ${stack}`);
}

export interface RunOptions {
    drill: Drill;
    lab: Lab;
    commit: string;
    dirty: boolean;
    versions: Versions;
    out?: (line: string) => void;
    /** Aborted (Ctrl-C): the current step fails as interrupted, then the safe recovery runs. */
    signal?: AbortSignal;
    /** Multiplies every deadline and poll interval (tests: 0.001). */
    timeScale?: number;
    now?: () => number;
}

function sleep(ms: number): Promise<void> {
    return new Promise((r) => setTimeout(r, ms));
}

class StepTimeout extends Error {}

class Interrupted extends Error {}

async function within<T>(p: Promise<T>, ms: number, what: string, signal?: AbortSignal): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    try {
        const racers: Promise<T>[] = [p, new Promise<T>((_, reject) => { timer = setTimeout(() => reject(new StepTimeout(what)), ms); })];
        if (signal) {
            racers.push(new Promise<T>((_, reject) => {
                onAbort = () => reject(new Interrupted("interrupted by the operator (Ctrl-C)"));
                if (signal.aborted) onAbort();
                else signal.addEventListener("abort", onAbort, { once: true });
            }));
        }
        return await Promise.race(racers);
    } finally {
        clearTimeout(timer);
        if (signal && onAbort) signal.removeEventListener("abort", onAbort);
    }
}

export async function runDrill(o: RunOptions): Promise<DrillRecord> {
    refuseStack(o.drill, o.lab.stack);
    const now = o.now ?? Date.now;
    const scale = o.timeScale ?? 1;
    const t0 = now();
    const write = o.out ?? ((l: string) => process.stdout.write(`${l}\n`));
    const elapsed = () => `+${((now() - t0) / 1000).toFixed(1)}s`;
    const say = (l: string) => write(`[${o.drill.name} ${o.lab.stack} ${elapsed()}] ${l}`);
    const state: DrillState = {};
    const ctx: StepContext = { lab: o.lab, stack: o.lab.stack, state, log: (l) => say(`  ${l}`) };
    const steps: StepRecord[] = [];
    let faultEnd: number | undefined;

    const runStep = async (s: Step, section: StepRecord["section"]): Promise<StepRecord> => {
        // The safe recovery after a failure is not interrupted by the first Ctrl-C.
        const signal = section === "after-failure" ? undefined : o.signal;
        const start = now();
        const limit = s.timeoutSeconds * scale * 1000;
        say(`${section} ${s.name} (at most ${s.timeoutSeconds}s)`);
        let outcome: StepRecord["outcome"] = "pass";
        let detail: string;
        try {
            if (s.run) {
                detail = await within(s.run(ctx), limit, `did not finish within ${s.timeoutSeconds}s`, signal);
            } else {
                const deadline = start + limit;
                let last = "no answer yet";
                for (;;) {
                    const left = deadline - now();
                    if (left <= 0) throw new StepTimeout(`not within ${s.timeoutSeconds}s: ${last}`);
                    let p: { ok: boolean; detail: string } | undefined;
                    try {
                        p = await within(s.probe!(ctx), left, `not within ${s.timeoutSeconds}s: ${last}`, signal);
                    } catch (e) {
                        if (e instanceof StepTimeout || e instanceof Interrupted) throw e;
                        // A probe that throws on purpose (a faulted volume) fails the wait at once;
                        // a probe that cannot read (the API down during a fault) is an answer "not yet".
                        if ((e as Error).message.startsWith("volume(s) faulted")) throw e;
                        p = { ok: false, detail: `cannot read: ${(e as Error).message}` };
                    }
                    last = p.detail;
                    if (p.ok) {
                        detail = p.detail;
                        break;
                    }
                    say(`  ... ${s.name}: ${p.detail} (${((now() - start) / 1000).toFixed(0)}s of at most ${s.timeoutSeconds}s)`);
                    await within(sleep(Math.min((s.pollSeconds ?? 5) * scale * 1000, Math.max(0, deadline - now()))), limit, "", signal);
                }
            }
        } catch (e) {
            outcome = "fail";
            detail = (e as Error).message;
        }
        const seconds = (now() - start) / 1000;
        const r: StepRecord = { section, name: s.name, outcome, seconds, detail: detail! };
        say(`${outcome === "pass" ? "ok  " : "FAIL"} ${s.name} (${seconds.toFixed(1)}s): ${detail!}`);
        return r;
    };

    const start = new Date(now()).toISOString();
    say(`drill ${o.drill.name} on ${o.lab.stack}: ${o.drill.steps.length} steps; runbook docs/runbooks/${o.drill.runbook}`);
    let failedAt = -1;
    for (let i = 0; i < o.drill.steps.length; i++) {
        const s = o.drill.steps[i];
        const r = await runStep(s, s.section);
        steps.push(r);
        if (s.section === "fault" && r.outcome === "pass") faultEnd = now();
        if (r.outcome === "fail") {
            failedAt = i;
            break;
        }
    }

    let leftState: string;
    if (failedAt < 0) {
        leftState = "recovered: verify passes";
    } else {
        const failed = o.drill.steps[failedAt];
        const faultDone = o.drill.steps.slice(0, failedAt + 1).some((s) => s.section === "fault") && failed.section !== "precondition";
        for (const s of o.drill.steps.slice(failedAt + 1)) steps.push({ section: s.section, name: s.name, outcome: "not-run", seconds: 0, detail: "the drill stopped" });
        if (!faultDone) {
            leftState = `untouched: the drill stopped at "${failed.name}" before any fault`;
            say(`stopped before the fault: nothing to recover`);
        } else {
            const safe = o.drill.steps.filter((s, i) => s.safe && (i > failedAt || s.section === "recovery"));
            say(`stopped at "${failed.name}": running the ${safe.length} safe recovery step(s)`);
            const notDone: string[] = [];
            for (const s of safe) {
                const r = await runStep(s, "after-failure");
                steps.push(r);
                if (r.outcome !== "pass") notDone.push(`${s.name}: ${r.detail}`);
            }
            let v: { ok: boolean; detail: string };
            try {
                v = await within(o.lab.verify(), 600 * scale * 1000, "verify did not finish within 600s");
            } catch (e) {
                v = { ok: false, detail: (e as Error).message };
            }
            steps.push({ section: "after-failure", name: "verify", outcome: v.ok ? "pass" : "fail", seconds: 0, detail: v.detail });
            leftState = v.ok
                ? "recovered by the safe steps: verify passes"
                : `NOT recovered: verify fails (${v.detail})${notDone.length ? `; failed recovery: ${notDone.join("; ")}` : ""}; continue by hand with docs/runbooks/${o.drill.runbook}`;
        }
    }
    const verdict = failedAt < 0 ? "pass" : "fail";
    const end = now();
    const record: DrillRecord = {
        schema: RECORD_SCHEMA, drill: o.drill.name, stack: o.lab.stack, commit: o.commit, dirty: o.dirty, versions: o.versions,
        start, end: new Date(end).toISOString(), steps, verdict,
        ...(verdict === "pass" && faultEnd !== undefined ? { recoverySeconds: (end - faultEnd) / 1000 } : {}),
        leftState,
    };
    say(`${verdict === "pass" ? "PASS" : "FAIL"} ${o.drill.name} on ${o.lab.stack} in ${((end - t0) / 1000).toFixed(1)}s${record.recoverySeconds !== undefined ? ` (recovery ${record.recoverySeconds.toFixed(1)}s)` : ""}; sandbox ${leftState}`);
    return record;
}
