// Dependency analysis of a plan: how sequential is a bring-up?
import { PlanDocument, PlanResource } from "./plan-types";

export const isCommand = (r: PlanResource) => r.type.startsWith("command:");

/**
 * The number of commands on the longest dependency chain. A dependency on a component is a
 * dependency on everything under it (that is what the engine waits for); non-command resources
 * on the way cost nothing.
 */
export function longestCommandChain(plan: PlanDocument): { steps: number; commands: number; chain: string[] } {
    const byUrn = new Map(plan.resources.map((r) => [r.urn, r]));
    const children = new Map<string, string[]>();
    for (const r of plan.resources) {
        if (r.parent) children.set(r.parent, [...(children.get(r.parent) ?? []), r.urn]);
    }
    const descendants = (urn: string): string[] => (children.get(urn) ?? []).flatMap((c) => [c, ...descendants(c)]);
    const deps = (r: PlanResource): string[] =>
        r.dependsOn.flatMap((d) => (children.has(d) ? [d, ...descendants(d)] : [d])).filter((d) => byUrn.has(d));

    const memo = new Map<string, { steps: number; chain: string[] }>();
    const visiting = new Set<string>();
    const best = (urn: string): { steps: number; chain: string[] } => {
        const hit = memo.get(urn);
        if (hit) return hit;
        if (visiting.has(urn)) throw new Error(`dependency cycle through ${urn}`);
        visiting.add(urn);
        const r = byUrn.get(urn)!;
        let longest = { steps: 0, chain: [] as string[] };
        for (const d of deps(r)) {
            const b = best(d);
            if (b.steps > longest.steps) longest = b;
        }
        visiting.delete(urn);
        const own = isCommand(r) ? 1 : 0;
        const result = { steps: longest.steps + own, chain: own ? [...longest.chain, r.name] : longest.chain };
        memo.set(urn, result);
        return result;
    };
    let top = { steps: 0, chain: [] as string[] };
    for (const r of plan.resources) {
        const b = best(r.urn);
        if (b.steps > top.steps) top = b;
    }
    return { steps: top.steps, commands: plan.resources.filter(isCommand).length, chain: top.chain };
}
