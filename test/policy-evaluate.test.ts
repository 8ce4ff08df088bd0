// The offline evaluator builds the arguments @pulumi/policy's analyzer builds, and treats
// enforcement levels, notApplicable and preview unknowns the way the analyzer does.
import * as assert from "assert";
import { Policies, PolicyResource, ResourceValidationArgs, StackValidationArgs } from "@pulumi/policy";
import { evaluatePolicies } from "../policy/evaluate";
import { buildPolicies } from "../policy/policies";
import { resource } from "./fixtures/policy/harness";

const S = "sandbox-k3d";
const provider = resource(S, "pulumi:providers:kubernetes", "platform-kubernetes", { kubeconfig: "[secret]", clusterIdentifier: "homelab-sandbox-k3d" },
    { parentType: "lab:platform:Platform", parentName: "platform" });
const ns = resource(S, "kubernetes:core/v1:Namespace", "platform-vault-ns", { metadata: { name: "vault", labels: { a: "[unknown]" } } },
    { parentType: "lab:platform:Platform", parentName: "platform", provider: provider.urn, protect: true, dependsOn: [provider.urn], additionalSecretOutputs: ["data"] });

describe("policy pack: the offline evaluator", () => {
    it("runs the pack's five policies", () => {
        assert.deepStrictEqual(buildPolicies({}).map((p) => [p.name, p.enforcementLevel]), [
            ["no-prod-references", "mandatory"],
            ["sibling-isolation", "mandatory"],
            ["prod-state-protected", "mandatory"],
            ["join-key-names", "mandatory"],
            ["version-parity", "mandatory"],
        ]);
        assert.strictEqual(buildPolicies({ LAB_I_MEAN_PROD: "true" })[0].enforcementLevel, "advisory");
    });

    it("gives resource policies the analyzer's arguments", () => {
        const seen: ResourceValidationArgs[] = [];
        const policies: Policies = [{ name: "probe", description: "d", enforcementLevel: "advisory", validateResource: (args) => { seen.push(args); } }];
        evaluatePolicies([provider, ns], { policies });
        const a = seen.find((x) => x.urn === ns.urn)!;
        assert.strictEqual(a.type, "kubernetes:core/v1:Namespace");
        assert.strictEqual(a.name, "platform-vault-ns");
        assert.deepStrictEqual({ ...a.opts }, {
            protect: true, ignoreChanges: [], aliases: [], customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
            additionalSecretOutputs: ["data"], parent: `urn:pulumi:${S}::homelab::lab:platform:Platform::platform`,
        });
        assert.strictEqual(a.provider!.urn, provider.urn);
        assert.strictEqual(a.provider!.type, "pulumi:providers:kubernetes");
        assert.strictEqual(a.provider!.props.clusterIdentifier, "homelab-sandbox-k3d");
        assert.strictEqual(a.props.metadata.name, "vault");
        assert.strictEqual((a.props as any).__isSpecialProxy, true, "props are behind unknownCheckingProxy");
        assert.deepStrictEqual(a.getConfig(), {});
        assert.strictEqual(a.stackTags.size, 0);
        assert.throws(() => a.notApplicable("x"));
        assert.strictEqual(seen.find((x) => x.urn === provider.urn)!.provider, undefined);
    });

    it("reading a value unknown during preview makes an advisory can't-run violation, as the analyzer does", () => {
        const policies: Policies = [{ name: "reads-labels", description: "d", enforcementLevel: "mandatory", validateResource: (args) => { void args.props.metadata.labels.a; } }];
        assert.deepStrictEqual(evaluatePolicies([ns], { policies }), [{
            policy: "reads-labels", enforcement: "advisory", urn: ns.urn,
            message: "can't run policy 'reads-labels' during preview: string value at .metadata.labels.a can't be known during preview",
        }]);
    });

    it("enforcement: the policy's level; disabled is skipped; notApplicable is not a violation", () => {
        const report = (msg: string) => (_: unknown, rv: (m: string) => void) => rv(msg);
        const policies: Policies = [
            { name: "m", description: "d", enforcementLevel: "mandatory", validateResource: report("m") },
            { name: "a", description: "d", enforcementLevel: "advisory", validateResource: report("a") },
            { name: "r", description: "d", enforcementLevel: "remediate", validateResource: report("r") },
            { name: "off", description: "d", enforcementLevel: "disabled", validateResource: report("off") },
            { name: "na", description: "d", enforcementLevel: "mandatory", validateResource: (args) => args.notApplicable("no") },
        ];
        assert.deepStrictEqual(evaluatePolicies([ns], { policies }).map((v) => [v.policy, v.enforcement]), [["a", "advisory"], ["m", "mandatory"], ["r", "mandatory"]]);
    });

    it("config defaults from each policy's schema", () => {
        let got: unknown;
        const policies: Policies = [{
            name: "cfg", description: "d", enforcementLevel: "advisory",
            configSchema: { properties: { limit: { type: "number", default: 3 }, name: { type: "string" } } },
            validateStack: (args) => { got = args.getConfig(); },
        }];
        evaluatePolicies([ns], { policies });
        assert.deepStrictEqual(got, { limit: 3 });
    });

    it("gives stack policies every resource, with parent and dependencies as resources", () => {
        let resources: PolicyResource[] = [];
        const policies: Policies = [{ name: "s", description: "d", enforcementLevel: "advisory", validateStack: (args: StackValidationArgs) => { resources = args.resources; } }];
        const platform = resource(S, "lab:platform:Platform", "platform", {});
        evaluatePolicies([platform, provider, ns], { policies });
        const n = resources.find((r) => r.urn === ns.urn)!;
        assert.strictEqual(n.parent!.urn, platform.urn);
        assert.deepStrictEqual(n.dependencies.map((d) => d.urn), [provider.urn]);
        assert.strictEqual(n.provider!.urn, provider.urn);
        assert.strictEqual(n.opts.protect, true);
    });

    it("--stack moves every urn (resource, parent, provider, dependencies) to that stack", () => {
        let urns: string[] = [];
        const policies: Policies = [{ name: "s", description: "d", enforcementLevel: "advisory",
            validateStack: (args) => { urns = args.resources.flatMap((r) => [r.urn, r.opts.parent ?? "", r.provider?.urn ?? "", ...r.dependencies.map((d) => d.urn)]); } }];
        evaluatePolicies([provider, ns], { policies, stack: "prod" });
        assert.ok(urns.filter(Boolean).every((u) => u.startsWith("urn:pulumi:prod::homelab::")), urns.join("\n"));
    });

    it("sorts violations: policy, urn, message", () => {
        const policies: Policies = [
            { name: "b", description: "d", enforcementLevel: "mandatory", validateResource: (_, rv) => { rv("2"); rv("1"); } },
            { name: "a", description: "d", enforcementLevel: "mandatory", validateStack: (_, rv) => rv("stack") },
        ];
        assert.deepStrictEqual(evaluatePolicies([ns, provider], { policies }).map((v) => `${v.policy} ${v.urn?.split("::").pop() ?? null} ${v.message}`),
            ["a null stack", "b platform-vault-ns 1", "b platform-vault-ns 2", "b platform-kubernetes 1", "b platform-kubernetes 2"]);
    });

    it("a policy that throws is an error naming the policy and the resource, not a silent pass", () => {
        const policies: Policies = [{ name: "boom", description: "d", enforcementLevel: "mandatory", validateResource: () => { throw new Error("bad"); } }];
        assert.throws(() => evaluatePolicies([ns], { policies }), /policy "boom" failed on urn:pulumi:sandbox-k3d::homelab::lab:platform:Platform\$kubernetes:core\/v1:Namespace::platform-vault-ns: bad/);
    });
});
