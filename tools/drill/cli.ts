// `npm run drill -- <stack> <drill> [--outputs <file>]`, `npm run drill -- [<stack>] --list`,
// `npm run drill -- --report`. Exit 0: the drill passed (or the listing/report printed); 1: it
// failed (its record says where and what state the sandbox is in); 2: it may not or cannot run
// (prod, a drill the stack does not have, no outputs).
import * as path from "path";
import { CommandSpec, flag, ParsedArgs, runCommand, stringOption, UsageError } from "../cli";
import { isConfigError, parseConfig } from "../../components/config";
import { readStackConfig, StackFileError } from "../../components/stack-config";
import { CannotRun, readOutputsFile, readOutputsFromPulumi, StackOutputs } from "../verify/outputs";
import { DRILLS, findDrill } from "./catalogue";
import { appendRecord, formatReport, gitState } from "./evidence";
import { CliLab, Lab } from "./lab";
import { DrillRefused, refuseProd, refuseStack, runDrill } from "./run";

export const spec: CommandSpec = {
    name: "drill",
    summary: "a failure drill on a sandbox (never prod), recorded as evidence for the gate",
    usage: "<stack> <drill> [--outputs <file>]\n[<stack>] --list\n--report",
    options: {
        outputs: { type: "string", valueName: "file", description: "the stack's outputs from this file instead of the Pulumi CLI" },
        list: { type: "boolean", description: "list the drills (of a stack)" },
        report: { type: "boolean", description: "the evidence so far, per stack and drill" },
    },
    positionals: { min: 0, max: 2 },
    outcomes: { 0: "the drill passed, or the listing or report printed", 1: "the drill failed (its record says where and what state the sandbox is in)", 2: "usage error, or it may not or cannot run (prod, a drill the stack lacks, no outputs)" },
    exits: { 130: "interrupted twice (Ctrl-C): left at once, the sandbox as it is (the first Ctrl-C runs the safe recovery)" },
    epilog: () => `drills:\n${formatList().replace(/^/gm, "  ")}`,
};

export interface DrillCliOptions {
    projectDir: string;
    out?: (l: string) => void;
    err?: (l: string) => void;
    /** For tests: the sandbox to drill (default CliLab over the stack's outputs). */
    makeLab?: (stack: string, outputs: StackOutputs | undefined) => Lab;
    timeScale?: number;
    /** For tests: stands for Ctrl-C. */
    signal?: AbortSignal;
}

export function formatList(stack?: string): string {
    const rows = DRILLS.filter((d) => !stack || d.stacks.includes(stack));
    const w = Math.max(...rows.map((d) => d.name.length));
    return rows.map((d) => `${d.name.padEnd(w)}  [${d.stacks.join(", ")}]  ${d.proves} (docs/runbooks/${d.runbook})`).join("\n");
}

/** The drill command over given options (tests): usage and help through o.out and o.err. */
export function drillMain(argv: string[], o: DrillCliOptions): Promise<number> {
    const lines = (f: (l: string) => void) => (t: string) => t.replace(/\n$/, "").split("\n").forEach((l) => f(l));
    const out = o.out ?? ((l: string) => process.stdout.write(`${l}\n`));
    const err = o.err ?? ((l: string) => process.stderr.write(`${l}\n`));
    return runCommand(spec, argv, (a) => drill(a, o), { out: lines(out), err: lines(err) });
}

/** Exit 0: the drill passed (or the listing/report printed); 1: it failed; 2: it may not or cannot run. */
export async function drill(a: ParsedArgs, o: DrillCliOptions): Promise<number> {
    const out = o.out ?? ((l: string) => process.stdout.write(`${l}\n`));
    const err = o.err ?? ((l: string) => process.stderr.write(`${l}\n`));
    const positional = a.positionals;
    const list = flag(a, "list");
    const report = flag(a, "report");
    const outputsFile = stringOption(a, "outputs");
    try {
        // Prod first, before anything else is read: no flag, variable or file lifts this.
        if (positional[0] !== undefined) refuseProd(positional[0]);
        if (report) {
            out(formatReport(o.projectDir));
            return 0;
        }
        if (list) {
            if (positional.length > 1) throw new UsageError("--list takes at most a stack");
            out(formatList(positional[0]));
            return 0;
        }
        if (positional.length !== 2) throw new UsageError(positional.length === 0 ? "missing <stack> <drill> (or --list, --report)" : "missing <drill>");
        const [stack, name] = positional;
        const drill = findDrill(name);
        if (!drill) throw new DrillRefused(`no drill ${name}; the drills: ${DRILLS.map((d) => d.name).join(", ")}`);
        refuseStack(drill, stack);
        const cfg = parseConfig(stack, readStackConfig(o.projectDir, stack));
        if (cfg.isProd) throw new DrillRefused(`stack ${stack} is prod: drills never run on prod`);
        const git = gitState(o.projectDir);
        let lab: Lab;
        let close = () => undefined as void;
        if (o.makeLab) lab = o.makeLab(stack, outputsFile ? readOutputsFile(path.resolve(outputsFile)) : undefined);
        else {
            const outputs = outputsFile ? readOutputsFile(path.resolve(outputsFile)) : await readOutputsFromPulumi(stack, o.projectDir);
            const cli = new CliLab(cfg, outputs, { projectDir: o.projectDir, outputsFile: outputsFile && path.resolve(outputsFile) });
            lab = cli;
            close = () => cli.close();
        }
        if (git.dirty) err(`drill: the working tree has uncommitted changes: the record says dirty, and the gate will not count it`);
        // Ctrl-C: the step running fails as interrupted and the safe recovery runs; a second one leaves at once.
        const interrupt = new AbortController();
        const onInt = () => {
            err("drill: interrupted: stopping, then the safe recovery steps (Ctrl-C again to leave now, the sandbox as it is)");
            interrupt.abort();
            process.once("SIGINT", () => process.exit(130));
        };
        if (!o.makeLab) process.once("SIGINT", onInt);
        try {
            const record = await runDrill({ drill, lab, commit: git.commit, dirty: git.dirty, versions: cfg.versions, out, timeScale: o.timeScale, signal: o.signal ?? interrupt.signal });
            const file = appendRecord(o.projectDir, record);
            out(`evidence: appended to ${path.relative(o.projectDir, file)} (commit it: it is the evidence trail)`);
            return record.verdict === "pass" ? 0 : 1;
        } finally {
            process.off("SIGINT", onInt);
            close();
        }
    } catch (e) {
        if (e instanceof DrillRefused || e instanceof CannotRun || e instanceof StackFileError || isConfigError(e)) {
            err(`drill: ${(e as Error).message}`);
            return 2;
        }
        throw e;
    }
}
