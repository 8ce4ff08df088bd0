// The bench's judgement, apart from its measurements: times as multiples of a floor measured in the
// same run, so that a target means the same on a fast laptop and on a slow CI machine.
import { MIGRATIONS } from "../components/migrations";

/** What the floor process does: start node with the project's TypeScript hook and load every SDK the program uses. */
export const FLOOR_SCRIPT = [
    "@pulumi/pulumi", "@pulumi/kubernetes", "@pulumi/vault", "@pulumi/postgresql",
    "@pulumi/cloudflare", "@pulumi/gcp", "@pulumi/command",
].map((m) => `require(${JSON.stringify(m)});`).join("");

export const TARGETS = {
    /** The prod plan, as a multiple of the floor. */
    prodOverFloor: 2,
    /** Time per resource at the largest synthetic catalogue over the smallest. */
    growth: 1.5,
};

export interface BenchResult {
    floorMs: number;
    prodMs: number;
    /** Milliseconds per resource at each synthetic size, smallest first. */
    perResource: { instances: number; msPerResource: number }[];
}

export interface Verdict {
    name: string;
    value: number;
    target: number;
    met: boolean;
    line: string;
}

/** Each target, met or missed, with the measured ratio. */
export function verdicts(r: BenchResult): Verdict[] {
    const ratio = r.prodMs / r.floorMs;
    const first = r.perResource[0];
    const last = r.perResource[r.perResource.length - 1];
    const growth = last.msPerResource / first.msPerResource;
    const v = (name: string, value: number, target: number, what: string): Verdict => {
        const met = value <= target;
        return { name, value, target, met, line: `${met ? "met   " : "MISSED"} ${what}: ${value.toFixed(2)}x (target <= ${target}x)` };
    };
    return [
        v("prodOverFloor", ratio, TARGETS.prodOverFloor, `prod plan / floor (${r.prodMs.toFixed(0)} ms / ${r.floorMs.toFixed(0)} ms)`),
        v("growth", growth, TARGETS.growth, `time per resource at ${last.instances} instances / at ${first.instances}`),
    ];
}

/**
 * Prod's stack file with a synthetic catalogue of `instances` app instances (two envs per app):
 * new apps, so nothing of them is adopted (prod's own adoption list names its real apps), with
 * every migration on.
 */
export function syntheticStackDoc(prodDoc: { config: Record<string, unknown> }, instances: number): { config: Record<string, unknown> } {
    const apps: Record<string, unknown> = {};
    for (let i = 0; i < instances / 2; i++) apps[`app${String(i).padStart(3, "0")}`] = { public: i % 2 === 0, envs: ["prod", "sandbox"] };
    const config: Record<string, unknown> = { ...prodDoc.config, "homelab:apps": apps };
    const existing = { ...(config["homelab:existing"] as Record<string, unknown> | undefined ?? {}) };
    delete existing.instances;
    delete existing.dnsRecords;
    config["homelab:existing"] = existing;
    // new instances on prod are made with the database contract: every migration on (the program's full plan)
    config["homelab:migrations"] = [...MIGRATIONS];
    return { ...prodDoc, config };
}
