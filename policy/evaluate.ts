// Runs the pack's policies without the Pulumi CLI, over the resources of an offline plan, with the
// arguments @pulumi/policy's analyzer (server.js) builds for them: resource policies get
// {urn, type, name, props (behind unknownCheckingProxy), opts, provider, stackTags, isType, asType,
// getConfig, notApplicable} per resource; stack policies get {resources, stackTags, getConfig,
// notApplicable} once. As in the analyzer: a policy's enforcementLevel decides its violations'
// enforcement ("disabled" skips it), notApplicable() skips, and a read of a value unknown during
// preview makes an advisory "can't run during preview" violation.
import { Policies, Policy, PolicyProviderResource, PolicyResource, PolicyResourceOptions, ResourceValidationArgs, ResourceValidationPolicy, StackValidationArgs, StackValidationPolicy } from "@pulumi/policy";
import * as rpc from "@pulumi/pulumi/runtime/rpc";
import { PlanResource, Violation } from "../tools/plan-types";
import { restack, useProjectDir, useStackConfig } from "./context";
import { buildPolicies } from "./policies";
import { getPulumiType, isResourcePolicy, isStackPolicy, unknownCheckingProxy, UnknownValueError } from "./runtime";

export interface EvaluateOptions {
    /** The environment the pack runs in (LAB_I_MEAN_PROD). Default: process.env. */
    env?: NodeJS.ProcessEnv;
    /** Evaluate as this stack: rewrites the stack of every urn (default: the stack the urns name). */
    stack?: string;
    /** The policies to run (default: the pack's). */
    policies?: Policies;
    /** Read the configuration (fingerprint, catalogue, manifest) of this project instead of the pack's own. */
    projectDir?: string;
    /** A stack's raw configuration to judge with, instead of its stack file (the offline plan's --config-file). */
    stackConfig?: { stack: string; raw: Record<string, string> };
}

/** The offline plan's stand-in for an unknown value, and the engine's sentinel for it. */
const PLAN_UNKNOWN = "[unknown]";

class NotApplicable extends Error {
    constructor(readonly reason?: string) {
        super(reason ?? "Policy does not apply");
    }
}

function throwNotApplicable(reason?: string): never {
    throw new NotApplicable(reason);
}

/** Plan inputs as the analyzer deserializes them: plain JSON, unknowns as the engine's sentinel. */
function engineValue(v: unknown): unknown {
    if (v === PLAN_UNKNOWN) return rpc.unknownValue;
    if (Array.isArray(v)) return v.map(engineValue);
    if (v && typeof v === "object") {
        const out: Record<string, unknown> = {};
        for (const [k, x] of Object.entries(v as Record<string, unknown>)) if (x !== undefined) out[k] = engineValue(x);
        return out;
    }
    return v;
}

function proxied(inputs: Record<string, unknown> | undefined): Record<string, unknown> {
    return unknownCheckingProxy(engineValue(inputs ?? {}) as Record<string, unknown>);
}

function options(r: PlanResource): PolicyResourceOptions {
    const o: PolicyResourceOptions = {
        protect: r.protect === true,
        ignoreChanges: [],
        aliases: [],
        customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
        additionalSecretOutputs: r.additionalSecretOutputs ?? [],
    };
    if (r.deleteBeforeReplace !== undefined) o.deleteBeforeReplace = r.deleteBeforeReplace;
    if (r.parent) o.parent = r.parent;
    return o;
}

function isTypeOf(type: string, resourceClass: unknown): boolean {
    const t = getPulumiType(resourceClass);
    if (t) return type === t;
    const isInstance = (resourceClass as { isInstance?: (o: unknown) => boolean } | undefined)?.isInstance;
    return typeof isInstance === "function" && isInstance({ __pulumiType: type }) === true;
}

function getConfigOf(p: Policy): () => Record<string, unknown> {
    const defaults: Record<string, unknown> = {};
    for (const [k, schema] of Object.entries(p.configSchema?.properties ?? {})) {
        if ((schema as { default?: unknown }).default !== undefined) defaults[k] = (schema as { default?: unknown }).default;
    }
    return () => ({ ...defaults });
}

const EMPTY_TAGS: ReadonlyMap<string, string> = new Map();

function compare(a: Violation, b: Violation): number {
    const keys: [string, string][] = [
        [a.policy, b.policy],
        [a.urn ?? "", b.urn ?? ""],
        [a.message, b.message],
        [a.enforcement, b.enforcement],
    ];
    for (const [x, y] of keys) if (x !== y) return x < y ? -1 : 1;
    return 0;
}

/** Normalizes a plan resource (hand-made files may leave fields out) and moves it to `stack` if given. */
function normalize(r: PlanResource, stack?: string): PlanResource {
    const move = (u: string | null | undefined) => (u && stack ? restack(u, stack) : u ?? null);
    return {
        ...r,
        urn: move(r.urn)!,
        parent: move(r.parent),
        provider: move(r.provider),
        protect: r.protect === true,
        dependsOn: (r.dependsOn ?? []).map((d) => move(d)!),
        inputs: r.inputs ?? {},
    };
}

/** Runs every policy over the plan's resources and returns the violations, sorted. */
export function evaluatePolicies(resources: PlanResource[], opts: EvaluateOptions = {}): Violation[] {
    if (opts.stackConfig !== undefined) {
        const previous = useStackConfig(opts.stackConfig);
        try {
            return evaluatePolicies(resources, { ...opts, stackConfig: undefined });
        } finally {
            useStackConfig(previous);
        }
    }
    if (opts.projectDir === undefined) return evaluate(resources, opts);
    const previous = useProjectDir(opts.projectDir);
    try {
        return evaluate(resources, opts);
    } finally {
        useProjectDir(previous);
    }
}

function evaluate(resources: PlanResource[], opts: EvaluateOptions): Violation[] {
    const policies = opts.policies ?? buildPolicies(opts.env ?? process.env);
    const plan = resources.map((r) => normalize(r, opts.stack));
    const byUrn = new Map(plan.map((r) => [r.urn, r]));
    const violations: Violation[] = [];

    const providerOf = (r: PlanResource): PolicyProviderResource | undefined => {
        const p = r.provider ? byUrn.get(r.provider) : undefined;
        return p ? { type: p.type, props: proxied(p.inputs), urn: p.urn, name: p.name } : undefined;
    };

    for (const p of policies) {
        const level = p.enforcementLevel ?? "advisory";
        if (level === "disabled") continue;
        const enforcement: Violation["enforcement"] = level === "advisory" ? "advisory" : "mandatory";
        const getConfig = getConfigOf(p);
        const cantRun = (urn: string | null, e: Error) => violations.push({
            policy: p.name, enforcement: "advisory", urn, message: `can't run policy '${p.name}' during preview: ${e.message}`,
        });

        if (isResourcePolicy(p)) {
            const rp = p as ResourceValidationPolicy;
            if (!rp.validateResource) continue;
            const validations = Array.isArray(rp.validateResource) ? rp.validateResource : [rp.validateResource];
            for (const r of plan) {
                for (const validate of validations) {
                    const typed = getPulumiType(validate);
                    if (typed && typed !== r.type) continue;
                    const props = proxied(r.inputs);
                    const args: ResourceValidationArgs = {
                        type: r.type,
                        props,
                        urn: r.urn,
                        name: r.name,
                        opts: options(r),
                        stackTags: EMPTY_TAGS,
                        isType: (cls) => isTypeOf(r.type, cls),
                        asType: ((cls: unknown) => (isTypeOf(r.type, cls) ? props : undefined)) as ResourceValidationArgs["asType"],
                        getConfig: getConfig as ResourceValidationArgs["getConfig"],
                        notApplicable: throwNotApplicable,
                    };
                    const provider = providerOf(r);
                    if (provider) args.provider = provider;
                    try {
                        const result = validate(args, (message, urn) => violations.push({ policy: p.name, enforcement, urn: urn ?? r.urn, message }));
                        if (result && typeof (result as Promise<void>).then === "function") {
                            throw new Error(`policy "${p.name}" is asynchronous; the offline evaluator runs synchronous policies only`);
                        }
                    } catch (e) {
                        if (e instanceof NotApplicable) continue;
                        if (e instanceof UnknownValueError) {
                            cantRun(r.urn, e);
                            continue;
                        }
                        throw new Error(`policy "${p.name}" failed on ${r.urn}: ${(e as Error)?.message ?? String(e)}`);
                    }
                }
            }
        } else if (isStackPolicy(p)) {
            const sp = p as StackValidationPolicy;
            const typed = getPulumiType(sp.validateStack);
            if (typed && !plan.some((r) => r.type === typed)) continue;
            const all: PolicyResource[] = plan.map((r) => {
                const props = proxied(r.inputs);
                const res: PolicyResource = {
                    type: r.type,
                    props,
                    urn: r.urn,
                    name: r.name,
                    opts: options(r),
                    dependencies: [],
                    propertyDependencies: {},
                    isType: (cls) => isTypeOf(r.type, cls),
                    asType: ((cls: unknown) => (isTypeOf(r.type, cls) ? props : undefined)) as PolicyResource["asType"],
                };
                const provider = providerOf(r);
                if (provider) res.provider = provider;
                return res;
            });
            const resByUrn = new Map(all.map((x) => [x.urn, x]));
            plan.forEach((r, i) => {
                if (r.parent && resByUrn.has(r.parent)) all[i].parent = resByUrn.get(r.parent);
                all[i].dependencies = (r.dependsOn ?? []).map((d) => resByUrn.get(d)).filter((d): d is PolicyResource => !!d);
            });
            const args: StackValidationArgs = {
                resources: all,
                stackTags: EMPTY_TAGS,
                getConfig: getConfig as StackValidationArgs["getConfig"],
                notApplicable: throwNotApplicable,
            };
            try {
                const result = sp.validateStack(args, (message, urn) => violations.push({ policy: p.name, enforcement, urn: urn ?? null, message }));
                if (result && typeof (result as Promise<void>).then === "function") {
                    throw new Error(`policy "${p.name}" is asynchronous; the offline evaluator runs synchronous policies only`);
                }
            } catch (e) {
                if (e instanceof NotApplicable) continue;
                if (e instanceof UnknownValueError) {
                    cantRun(null, e);
                    continue;
                }
                throw new Error(`policy "${p.name}" failed: ${(e as Error)?.message ?? String(e)}`);
            }
        }
    }
    return violations.sort(compare);
}
