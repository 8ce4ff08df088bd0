// npm run bench (also: npm run lab -- bench): the offline plan's speed per stack and on synthetic catalogues, and how
// parallel each stack's bring-up is (the longest chain of commands).
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { PROJECT_DIR } from "./plan-runner";
import { PlanDocument } from "./plan-types";
import { longestCommandChain } from "./plan-graph";
import { FLOOR_SCRIPT, syntheticStackDoc, verdicts } from "./bench-lib";
import { CommandSpec, runCli } from "./cli";

export const spec: CommandSpec = {
    name: "bench",
    summary: "the offline plan's speed per stack and on synthetic catalogues, as multiples of a floor (about 100 s)",
    usage: "",
    positionals: { min: 0, max: 0 },
    exits: {},
    outcomes: { 0: "measured (a missed target is printed, not failed: times differ between machines)", 1: "a plan could not run (its error is printed)" },
};

const STACKS = ["prod", "sandbox-k3d", "sandbox-vms"];
const SIZES = [50, 200, 500];

/** The floor: a node process with the same TypeScript hook that only loads the SDKs the program uses. */
function floor(): number {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(process.execPath, ["-r", path.join(__dirname, "register.js"), "-e", FLOOR_SCRIPT], { cwd: PROJECT_DIR, encoding: "utf8" });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (r.status !== 0) throw new Error(`the floor process failed (${r.status}): ${r.stderr}`);
    return ms;
}

/** The median of a few runs: one process start is noisy. */
function median(xs: number[]): number {
    const s = [...xs].sort((a, b) => a - b);
    return s[Math.floor(s.length / 2)];
}

function plan(stack: string, configFile?: string): { ms: number; plan: PlanDocument } {
    const args = ["-r", path.join(__dirname, "register.js"), path.join(__dirname, "plan.ts"), stack, "--json"];
    if (configFile) args.push("--config-file", configFile);
    const t0 = process.hrtime.bigint();
    const r = spawnSync(process.execPath, args, { cwd: PROJECT_DIR, encoding: "utf8", maxBuffer: 1024 * 1024 * 1024 });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (r.status !== 0 && r.status !== 1) throw new Error(`plan ${stack} failed (${r.status}): ${r.stderr}`);
    return { ms, plan: JSON.parse(r.stdout) as PlanDocument };
}

/** A prod stack file whose catalogue has `instances` app instances (two envs per app). */
function syntheticStack(instances: number): string {
    const doc = syntheticStackDoc(YAML.parse(fs.readFileSync(path.join(PROJECT_DIR, "Pulumi.prod.yaml"), "utf8")), instances);
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "lab-bench-")), "Pulumi.prod.yaml");
    fs.writeFileSync(file, YAML.stringify(doc));
    return file;
}

const row = (cells: (string | number)[]) => cells.map((c, i) => (i === 0 ? String(c).padEnd(24) : String(c).padStart(12))).join("");

/** Prints the measurements and each target met or missed; exit 0 (it does not fail a build on a machine's speed). */
export function run(): number {
    console.log(`offline plan, wall time of one process (node ${process.version}, ${os.cpus().length} cores)`);
    const floorMs = median([floor(), floor(), floor()]);
    console.log(`floor (node + the TypeScript hook + the SDKs the program loads): ${floorMs.toFixed(0)} ms`);
    console.log(row(["case", "resources", "ms", "x floor", "ms/resource", "cmd chain", "commands"]));
    const chains: string[] = [];
    let prodMs = 0;
    for (const stack of STACKS) {
        const runs = [plan(stack), plan(stack), plan(stack)];
        const ms = median(runs.map((x) => x.ms));
        const p = runs[0].plan;
        if (stack === "prod") prodMs = ms;
        const chain = longestCommandChain(p);
        console.log(row([stack, p.resources.length, ms.toFixed(0), (ms / floorMs).toFixed(2), (ms / p.resources.length).toFixed(2), chain.steps, chain.commands]));
        chains.push(`longest command chain of ${stack}: ${chain.steps} sequential steps of ${chain.commands} commands: ${chain.chain.join(" -> ") || "(none)"}`);
    }
    chains.forEach((c) => console.log(c));
    const perResource: { instances: number; msPerResource: number }[] = [];
    for (const n of SIZES) {
        const { ms, plan: p } = plan("prod", syntheticStack(n));
        perResource.push({ instances: n, msPerResource: ms / p.resources.length });
        console.log(row([`synthetic ${n} instances`, p.resources.length, ms.toFixed(0), (ms / floorMs).toFixed(2), (ms / p.resources.length).toFixed(2), "", ""]));
    }
    for (const v of verdicts({ floorMs, prodMs, perResource })) console.log(v.line);
    // The bench reports; it does not fail a build on a machine's speed.
    return 0;
}

if (require.main === module) runCli(spec, process.argv.slice(2), run);
