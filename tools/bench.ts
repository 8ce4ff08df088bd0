// npm run bench: the offline plan's speed per stack and on synthetic catalogues, and how
// parallel each stack's bring-up is (the longest chain of commands).
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { PROJECT_DIR } from "./plan-runner";
import { PlanDocument } from "./plan-types";
import { longestCommandChain } from "./plan-graph";

const STACKS = ["prod", "sandbox-k3d", "sandbox-vms"];
const SIZES = [50, 200, 500];
const TARGET_PROD_MS = 3000;
const TARGET_GROWTH = 1.5;

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
    const apps: Record<string, unknown> = {};
    for (let i = 0; i < instances / 2; i++) apps[`app${String(i).padStart(3, "0")}`] = { public: i % 2 === 0, envs: ["prod", "sandbox"] };
    const doc = YAML.parse(fs.readFileSync(path.join(PROJECT_DIR, "Pulumi.prod.yaml"), "utf8"));
    doc.config["homelab:apps"] = apps;
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "lab-bench-")), "Pulumi.prod.yaml");
    fs.writeFileSync(file, YAML.stringify(doc));
    return file;
}

const row = (cells: (string | number)[]) => cells.map((c, i) => (i === 0 ? String(c).padEnd(24) : String(c).padStart(12))).join("");

function main(): number {
    let ok = true;
    console.log(`offline plan, wall time of one process (node ${process.version}, ${os.cpus().length} cores)`);
    console.log(row(["case", "resources", "ms", "ms/resource", "cmd chain", "commands"]));
    const chains: string[] = [];
    for (const stack of STACKS) {
        const { ms, plan: p } = plan(stack);
        const chain = longestCommandChain(p);
        console.log(row([stack, p.resources.length, ms.toFixed(0), (ms / p.resources.length).toFixed(2), chain.steps, chain.commands]));
        chains.push(`longest command chain of ${stack}: ${chain.steps} sequential steps of ${chain.commands} commands: ${chain.chain.join(" -> ") || "(none)"}`);
        if (stack === "prod" && ms > TARGET_PROD_MS) {
            console.log(`  ! prod plan took ${ms.toFixed(0)} ms, target < ${TARGET_PROD_MS} ms`);
            ok = false;
        }
    }
    chains.forEach((c) => console.log(c));
    const perResource: number[] = [];
    for (const n of SIZES) {
        const { ms, plan: p } = plan("prod", syntheticStack(n));
        perResource.push(ms / p.resources.length);
        console.log(row([`synthetic ${n} instances`, p.resources.length, ms.toFixed(0), (ms / p.resources.length).toFixed(2), "", ""]));
    }
    const growth = perResource[perResource.length - 1] / perResource[0];
    console.log(`time per resource at ${SIZES[SIZES.length - 1]} instances / at ${SIZES[0]}: ${growth.toFixed(2)} (target <= ${TARGET_GROWTH})`);
    if (growth > TARGET_GROWTH) ok = false;
    console.log(ok ? "bench: targets met" : "bench: TARGET MISSED");
    return ok ? 0 : 1;
}

process.exit(main());
