// The Vault bring-up component under pulumi.runtime mocks: what the probe (an invoke of
// vault-status.sh) is asked, how its answer drives the `triggers` of the bring-up commands, and
// what an edit of vault-dev-token.sh changes (nothing the engine compares).
import { strict as assert } from "assert";
import * as fs from "fs";
import * as pulumi from "@pulumi/pulumi";
import { MockMonitor, MockResourceArgs } from "@pulumi/pulumi/runtime/mocks";
import { scriptPath, VaultBootstrap } from "../components/platform/vault-bootstrap";

// eslint-disable-next-line @typescript-eslint/no-var-requires
const { waitForRPCs } = require("@pulumi/pulumi/runtime/settings") as { waitForRPCs: () => Promise<void> };
// eslint-disable-next-line @typescript-eslint/no-var-requires
const { getStore } = require("@pulumi/pulumi/runtime/state") as { getStore: () => { settings: { monitor: unknown } } };

const ADDRESS = "http://192.168.64.11:30820";

interface Rec {
    name: string;
    type: string;
    inputs: Record<string, any>;
    ignoreChanges: string[];
    deps: string[];
}
interface Invoke {
    token: string;
    inputs: Record<string, any>;
}

class Recorder extends MockMonitor {
    readonly recs: Rec[] = [];
    readonly invokes: Invoke[] = [];
    constructor(probeAnswer: string) {
        super({
            newResource: (args: MockResourceArgs) => ({
                id: args.custom ? `${args.name}-id` : undefined,
                state: args.type.startsWith("command:") ? { ...args.inputs, stdout: "" } : { ...args.inputs },
            }),
            call: (args) => {
                this.invokes.push({ token: args.token, inputs: args.inputs });
                return args.token === "command:local:run" ? { stdout: `${probeAnswer}\n`, stderr: "" } : {};
            },
        });
    }
    async registerResource(req: any, callback: (err: any, resp: any) => void): Promise<void> {
        const deps = new Set<string>(req.getDependenciesList());
        req.getPropertydependenciesMap().forEach((pd: any) => pd.getUrnsList().forEach((u: string) => deps.add(u)));
        this.recs.push({
            name: req.getName(),
            type: req.getType(),
            inputs: (req.getObject()?.toJavaScript() ?? {}) as Record<string, any>,
            ignoreChanges: req.getIgnorechangesList(),
            deps: [...deps],
        });
        return super.registerResource(req, callback);
    }
}

class FakeRelease extends pulumi.CustomResource {
    constructor(name: string) {
        super("kubernetes:helm.sh/v3:Release", name, {});
    }
}


async function build(mode: "dev" | "standalone", probeAnswer: string): Promise<Recorder> {
    const monitor = new Recorder(probeAnswer);
    await pulumi.runtime.setMocks(monitor.mocks, "homelab", "sandbox-test", false);
    getStore().settings.monitor = monitor;
    new VaultBootstrap("vb", {
        mode,
        kubeconfig: pulumi.secret("apiVersion: v1\n"),
        address: ADDRESS,
        namespace: "vault",
        releaseName: "vault",
        install: () => new FakeRelease("vault-release"),
    });
    await waitForRPCs();
    // the invoke resolves after the registrations it depends on
    await new Promise((r) => setTimeout(r, 50));
    await waitForRPCs();
    return monitor;
}

function rec(m: Recorder, name: string): Rec {
    const r = m.recs.find((x) => x.name === name);
    assert.ok(r, `no ${name}; have ${m.recs.map((x) => x.name).join(", ")}`);
    return r;
}

describe("VaultBootstrap (mocks)", function () {
    this.timeout(30_000);

    it("asks the probe, read-only, at the provider's address, with no secret and no previous output", async () => {
        const m = await build("standalone", "ready");
        const runs = m.invokes.filter((i) => i.token === "command:local:run");
        assert.equal(runs.length, 1);
        const probe = runs[0].inputs;
        assert.equal(probe.command, fs.readFileSync(scriptPath("vault-status.sh"), "utf8"));
        assert.deepEqual(probe.environment, { VAULT_ADDR: ADDRESS });
        assert.equal(probe.addPreviousOutputInEnv, false);
        assert.deepEqual(probe.interpreter, ["/bin/bash", "-c"]);
    });

    it("feeds the probe's line to the triggers of init and wait: the same while ready, new when Vault needs bringing up", async () => {
        const ready = await build("standalone", "ready");
        for (const n of ["vb-init", "vb-wait"]) assert.deepEqual(rec(ready, n).inputs.triggers, ["ready"], n);
        const again = await build("standalone", "ready");
        assert.deepEqual(rec(again, "vb-init").inputs.triggers, rec(ready, "vb-init").inputs.triggers, "ready twice: no change, nothing runs");
        const sealed = await build("standalone", "bring-up sealed 1700000000-42-7");
        for (const n of ["vb-init", "vb-wait"]) {
            assert.deepEqual(rec(sealed, n).inputs.triggers, ["bring-up sealed 1700000000-42-7"], n);
            assert.notDeepEqual(rec(sealed, n).inputs.triggers, rec(ready, n).inputs.triggers, `${n} runs again when sealed`);
        }
        assert.ok(rec(sealed, "vb-init").deps.some((d) => d.endsWith("::vault-release")), "init after the release");
        assert.ok(rec(sealed, "vb-wait").deps.some((d) => d.endsWith("::vb-init")), "wait after init");
    });

    it("in dev mode, waits for Vault after the release, triggered by the probe too", async () => {
        const m = await build("dev", "bring-up unreachable 1-2-3");
        const wait = rec(m, "vb-wait");
        assert.deepEqual(wait.inputs.triggers, ["bring-up unreachable 1-2-3"]);
        assert.ok(wait.deps.some((d) => d.endsWith("::vault-release")));
        assert.equal(wait.inputs.environment.VAULT_ADDR, ADDRESS);
    });

    it("an edit of vault-dev-token.sh changes only an input the engine ignores: the root token is not rotated", async () => {
        const before = rec(await build("dev", "ready"), "vb-dev-token");
        const file = scriptPath("vault-dev-token.sh");
        // The file itself is edited for the time of one build (mocha runs one test at a time), and restored.
        const original = fs.readFileSync(file, "utf8");
        let after: Rec;
        try {
            fs.writeFileSync(file, `${original}# an edited comment\n`);
            after = rec(await build("dev", "ready"), "vb-dev-token");
        } finally {
            fs.writeFileSync(file, original);
        }
        assert.notEqual(after.inputs.create, before.inputs.create, "the edit reached the registration");
        assert.deepEqual(after.ignoreChanges, ["create"]);
        const compared = (r: Rec) => Object.fromEntries(Object.entries(r.inputs).filter(([k]) => !r.ignoreChanges.includes(k)));
        assert.deepEqual(compared(after), compared(before), "what the engine compares is unchanged");
        assert.equal(after.inputs.addPreviousOutputInEnv, false);
    });
});
