// The offline plan: runs the real program (index.ts) for one stack under Pulumi's mocks and
// records every registration as the engine would see it. No CLI, cluster or credentials.
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { MockMonitor } from "@pulumi/pulumi/runtime/mocks";
import * as rpc from "@pulumi/pulumi/runtime/rpc";
// Internal to the SDK but exported: waits until every registration has been answered.
const { waitForRPCs } = require("@pulumi/pulumi/runtime/settings") as { waitForRPCs(): Promise<void> };
import { PlanDocument, PlanResource, SECRET_PLACEHOLDER } from "./plan-types";
import { markOfflinePlan, setOfflineStackFile } from "../components/offline";

export const PROJECT_DIR = path.resolve(__dirname, "..");

const STACK_TYPE = "pulumi:pulumi:Stack";
const UNKNOWN_PLACEHOLDER = "[unknown]";

/**
 * Turns the wire form of a property value into plain JSON, references as urns; secrets hidden,
 * or revealed (for the policy pack, which sees plain values under the real CLI too).
 */
export function plainValue(v: unknown, reveal = false): unknown {
    if (v === rpc.unknownValue) return UNKNOWN_PLACEHOLDER;
    if (Array.isArray(v)) return v.map((x) => plainValue(x, reveal));
    if (v && typeof v === "object") {
        const o = v as Record<string, unknown>;
        const sig = o[rpc.specialSigKey];
        if (sig === rpc.specialSecretSig) return reveal ? plainValue(o.value, reveal) : SECRET_PLACEHOLDER;
        if (sig === rpc.specialResourceSig) return o.urn;
        if (sig === rpc.specialOutputValueSig) {
            if (o.secret && !reveal) return SECRET_PLACEHOLDER;
            return "value" in o ? plainValue(o.value, reveal) : UNKNOWN_PLACEHOLDER;
        }
        if (sig !== undefined) return `[${String(sig)}]`;
        const out: Record<string, unknown> = {};
        for (const k of Object.keys(o).sort()) out[k] = plainValue(o[k], reveal);
        return out;
    }
    return v;
}

/**
 * A loopback-only kubeconfig for the offline plan: the sandbox providers refuse an empty one
 * (components/guard/credentials.ts), so the plan's mocked commands must print a realistic one.
 * Nothing connects to it: the offline plan reads no identity and registers against mocks.
 */
export const OFFLINE_KUBECONFIG = [
    "apiVersion: v1", "kind: Config",
    "clusters:", "- name: offline-plan", "  cluster:", "    server: https://127.0.0.1:6443",
    "contexts:", "- name: offline-plan", "  context:", "    cluster: offline-plan", "    user: offline-plan",
    "current-context: offline-plan",
    "users:", "- name: offline-plan", "  user:", "    token: offline-plan-token",
].join("\n");

/** What the credential-producing commands print under the mocks (realistic, loopback, not secret); others print nothing. */
function mockStdout(name: string): string {
    if (/-kubeconfig$/.test(name)) return OFFLINE_KUBECONFIG;
    if (/-k3d-postgres$|-hosts-data$/.test(name)) return "offline-plan-postgres-admin-password";
    if (/-vault-bootstrap-dev-token$/.test(name)) return "hvs.offline-plan-root-token";
    if (/-vault-bootstrap-init$/.test(name)) return JSON.stringify({ rootToken: "hvs.offline-plan-root-token", unsealKey: "offline-plan-unseal-key" });
    return "";
}

/** What the mocked providers answer: the inputs echoed back, plus stand-in outputs where a type needs one. */
function mockState(type: string, name: string, inputs: Record<string, unknown>): Record<string, unknown> {
    const state: Record<string, unknown> = { ...inputs };
    if (type.startsWith("command:")) state.stdout = mockStdout(name);
    if (type === "vault:index/mount:Mount" || type === "vault:index/authBackend:AuthBackend") {
        state.path = inputs.path ?? name;
        state.accessor = `${name}-accessor`;
    }
    return state;
}

/** A mock monitor that also records parent, provider, protect and dependencies of each registration. */
class RecordingMonitor extends MockMonitor {
    readonly records = new Map<string, PlanResource>();
    /** The same records with secret inputs in plain text: never printed, only evaluated. */
    readonly revealed = new Map<string, PlanResource>();
    /** The stack's outputs (what `pulumi stack output` would list), secrets hidden. */
    outputs: Record<string, unknown> = {};
    private readonly stackName: string;
    private readonly projectName: string;

    constructor(stack: string, project: string) {
        super({
            newResource: (args) => ({
                id: args.custom ? `${args.name}-id` : undefined,
                state: mockState(args.type, args.name, args.inputs),
            }),
            call: () => ({}),
        });
        this.stackName = stack;
        this.projectName = project;
        // The base class names its responses with its own (single-level) newUrn: use the engine's form.
        (this as any).newUrn = (parent: string, type: string, name: string) => this.urnOf(parent, type, name);
    }

    /** The engine's urn: the parent's qualified type chain, except under the root stack. */
    private urnOf(parent: string, type: string, name: string): string {
        let qualified = type;
        if (parent) {
            const parentQualified = parent.split("::")[2];
            if (parentQualified !== STACK_TYPE) qualified = `${parentQualified}$${type}`;
        }
        return `urn:pulumi:${this.stackName}::${this.projectName}::${qualified}::${name}`;
    }

    async registerResource(req: any, callback: (err: any, resp: any) => void): Promise<void> {
        const type: string = req.getType();
        const name: string = req.getName();
        const parent: string = req.getParent();
        const urn = this.urnOf(parent, type, name);
        const deps = new Set<string>(req.getDependenciesList());
        req.getPropertydependenciesMap().forEach((pd: any) => {
            for (const u of pd.getUrnsList()) deps.add(u);
        });
        deps.delete(urn);
        const providerRef: string = req.getProvider() || "";
        const provider = providerRef ? providerRef.slice(0, providerRef.lastIndexOf("::")) : null;
        if (type !== STACK_TYPE) {
            // converted once from the wire: plainValue builds new objects, never changes its input
            const object = req.getObject()?.toJavaScript() ?? {};
            const rec: PlanResource = {
                urn,
                type,
                name,
                parent: parent && !parent.includes(`::${STACK_TYPE}::`) ? parent : null,
                provider,
                protect: req.getProtect() === true,
                dependsOn: [...deps].filter((d) => !d.includes(`::${STACK_TYPE}::`)).sort(),
                inputs: plainValue(object) as Record<string, unknown>,
                import: req.getImportid() || null,
                retainOnDelete: req.getRetainondelete() === true,
            };
            if (req.getDeletebeforereplace()) rec.deleteBeforeReplace = true;
            const aso: string[] = req.getAdditionalsecretoutputsList();
            if (aso.length) rec.additionalSecretOutputs = [...aso].sort();
            const roc: string[] = req.getReplaceonchangesList();
            if (roc.length) rec.replaceOnChanges = [...roc].sort();
            const ic: string[] = req.getIgnorechangesList();
            if (ic.length) rec.ignoreChanges = [...ic].sort();
            if (this.records.has(urn)) {
                callback(new Error(`duplicate resource urn ${urn}`), undefined);
                return;
            }
            this.records.set(urn, rec);
            this.revealed.set(urn, { ...rec, inputs: plainValue(object, true) as Record<string, unknown> });
        }
        return super.registerResource(req, callback);
    }

    async registerResourceOutputs(req: any, callback: (err: any, resp: any) => void): Promise<void> {
        const urn: string = req.getUrn();
        if (urn.includes(`::${STACK_TYPE}::`)) {
            this.outputs = plainValue(req.getOutputs()?.toJavaScript() ?? {}) as Record<string, unknown>;
        }
        return super.registerResourceOutputs(req, callback);
    }
}

export interface RunPlanOptions {
    stack: string;
    /** Raw config (full keys to strings) the program sees. */
    config: Record<string, string>;
    /** The program's entry module. */
    program?: string;
    project?: string;
    /** The stack file the config was read from (--config-file), when not the project's. */
    stackFile?: string;
}

export interface PlanRun {
    /** What is printed: secret inputs replaced by "[secret]". */
    plan: PlanDocument;
    /** The same resources with secrets in plain text, for the policy pack only. */
    revealed: PlanResource[];
}

/**
 * Runs the program under mocks and returns the plan. Call once per process: Pulumi's runtime
 * state is global.
 */
export async function runPlan(opts: RunPlanOptions): Promise<PlanRun> {
    const project = opts.project ?? "homelab";
    const monitor = new RecordingMonitor(opts.stack, project);
    // setMocks turns on the features the mock monitor supports; then swap in our recording monitor.
    await pulumi.runtime.setMocks(monitor.mocks, project, opts.stack, false);
    pulumi.runtime.setMockOptions(monitor, project, opts.stack, false);
    pulumi.runtime.setAllConfig(opts.config);

    const program = opts.program ?? path.join(PROJECT_DIR, "index.ts");
    markOfflinePlan();
    setOfflineStackFile(opts.stackFile);
    const failures: unknown[] = [];
    const onRejection = (e: unknown) => failures.push(e);
    process.on("unhandledRejection", onRejection);
    try {
        await pulumi.runtime.runInPulumiStack(async () => require(program));
        await waitForRPCs();
        // A registration whose inputs fail (an apply that throws) rejects outside the RPCs that
        // waitForRPCs counts: give such rejections a turn to arrive, so that the plan fails
        // instead of silently leaving the resource out.
        await new Promise((resolve) => setTimeout(resolve, 50));
    } finally {
        process.off("unhandledRejection", onRejection);
    }
    if (failures.length) throw failures[0];

    const byUrn = (a: PlanResource, b: PlanResource) => (a.urn < b.urn ? -1 : a.urn > b.urn ? 1 : 0);
    const resources = [...monitor.records.values()].sort(byUrn);
    return {
        plan: { stack: opts.stack, project, resources, outputs: monitor.outputs, violations: [] },
        revealed: [...monitor.revealed.values()].sort(byUrn),
    };
}
