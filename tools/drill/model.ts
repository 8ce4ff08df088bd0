// A drill is data: a name, the stacks it may run on, what it proves, its runbook, and its steps in
// sections (preconditions, the fault, the observations with their deadlines, the recovery, verify).
// The runner (run.ts) executes any drill the same way; the five drills are declared in catalogue.ts.
import { Lab } from "./lab";

export const DRILL_NAMES = ["node-kill", "vault-seal", "db-restore", "volume-restore", "power-cut"] as const;
export type DrillName = (typeof DRILL_NAMES)[number];

export const SECTIONS = ["precondition", "fault", "observe", "recovery", "verify"] as const;
export type Section = (typeof SECTIONS)[number];

/** What steps share during one run (the VM that was stopped, the rows written before the fault...). */
export type DrillState = Record<string, unknown>;

export interface StepContext {
    lab: Lab;
    stack: string;
    state: DrillState;
    /** A progress line (prefixed with the elapsed time by the runner). */
    log(line: string): void;
}

/** A step fails by throwing; its result is one line of detail. */
export interface Step {
    section: Section;
    name: string;
    /** The longest the step may take; a wait's deadline. */
    timeoutSeconds: number;
    /** For waits: seconds between two probes (a progress line each). */
    pollSeconds?: number;
    /** A wait probes until it answers ok, or fails at the deadline with the last answer. */
    probe?: (ctx: StepContext) => Promise<{ ok: boolean; detail: string }>;
    /** An action runs once. */
    run?: (ctx: StepContext) => Promise<string>;
    /**
     * Recovery steps only: also run after a failed step, to bring the sandbox back (idempotent,
     * cannot make things worse: starting a stopped VM, unsealing).
     */
    safe?: boolean;
}

export interface Drill {
    name: DrillName;
    /** The stacks the drill may run on (never prod). */
    stacks: string[];
    /** What a pass proves, for --list. */
    proves: string;
    /** docs/runbooks/<file>: the same steps, by hand. */
    runbook: string;
    steps: Step[];
}

/** An action: runs once within its timeout. */
export function action(section: Section, name: string, timeoutSeconds: number, run: Step["run"], opts: { safe?: boolean } = {}): Step {
    return { section, name, timeoutSeconds, run, ...opts };
}

/** A wait: probes every pollSeconds until ok, at most timeoutSeconds. */
export function waitUntil(section: Section, name: string, timeoutSeconds: number, pollSeconds: number, probe: NonNullable<Step["probe"]>, opts: { safe?: boolean } = {}): Step {
    return { section, name, timeoutSeconds, pollSeconds, probe, ...opts };
}

/** A drill's declaration is checked when the catalogue loads: sections in order, a verify at the end. */
export function checkDrill(d: Drill): Drill {
    let last = -1;
    for (const s of d.steps) {
        const i = SECTIONS.indexOf(s.section);
        if (i < last) throw new Error(`drill ${d.name}: step "${s.name}" (${s.section}) comes after a later section`);
        last = i;
        if (!(s.timeoutSeconds > 0)) throw new Error(`drill ${d.name}: step "${s.name}" has no timeout`);
        if (!!s.run === !!s.probe) throw new Error(`drill ${d.name}: step "${s.name}" must be an action or a wait`);
        if (s.safe && s.section !== "recovery") throw new Error(`drill ${d.name}: only recovery steps can be safe ("${s.name}")`);
    }
    for (const need of ["precondition", "fault", "observe", "recovery", "verify"] as Section[]) {
        if (!d.steps.some((s) => s.section === need)) throw new Error(`drill ${d.name}: no ${need} step`);
    }
    if (d.stacks.includes("prod")) throw new Error(`drill ${d.name}: a drill never runs on prod`);
    return d;
}
