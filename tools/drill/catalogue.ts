// The five drills, as data: each step's section, name, deadline, and what it does through the Lab.
// The runbooks in docs/runbooks/drill-<name>.md are the same steps, by hand (also on prod, in an
// incident). Deadlines: k3s marks a node NotReady after the node monitor grace period (50 s by
// default since Kubernetes 1.32, kube-controller-manager --node-monitor-grace-period: kubernetes/kubernetes
// PR 126287, "increased to 50s (earlier 40s)"; k3s v1.34 carries it); pods on a NotReady node are
// evicted only after 300 s (the default not-ready toleration), and Longhorn's
// node-down-pod-deletion-policy defaults to do-nothing (longhorn/longhorn-manager v1.10.1 types/setting.go,
// SettingDefinitionNodeDownPodDeletionPolicy Default NodeDownPodDeletionPolicyDoNothing; longhorn/longhorn v1.10.1
// chart/values.yaml leaves defaultSettings.nodeDownPodDeletionPolicy unset), so an app whose pod was on a stopped node stays down for minutes.
// The rest are generous bounds for three small VMs on a laptop.
import { Drill, DrillName, DrillState, StepContext, action, checkDrill, waitUntil } from "./model";
import { Probe } from "./lab";

const verifyPasses = (section: "precondition" | "verify") =>
    waitUntil(section, section === "precondition" ? "verify passes before the fault" : "verify passes after the recovery", section === "precondition" ? 300 : 600, 15, (c) => c.lab.verify());

const nodesReady = (name: string, timeoutSeconds: number, opts: { safe?: boolean } = {}) =>
    waitUntil("recovery", name, timeoutSeconds, 10, async (c) => {
        const nodes = await c.lab.nodes();
        const notReady = nodes.filter((n) => !n.ready).map((n) => n.name);
        return { ok: nodes.length > 0 && notReady.length === 0, detail: notReady.length ? `not Ready: ${notReady.join(", ")}` : `${nodes.length}/${nodes.length} Ready` };
    }, opts);

const volumesHealthy = (section: "precondition" | "recovery", name: string, timeoutSeconds: number) =>
    waitUntil(section, name, timeoutSeconds, 15, async (c): Promise<Probe> => {
        // Detached volumes report robustness "unknown": only attached ones count.
        const attached = (await c.lab.volumes()).filter((v) => v.state === "attached");
        const bad = attached.filter((v) => v.robustness !== "healthy").map((v) => `${v.name} ${v.robustness}`);
        return { ok: bad.length === 0, detail: bad.length ? `not healthy: ${bad.join(", ")}` : `${attached.length} attached volume(s) healthy (full replicas)` };
    });

const vaultUnsealed = (name: string) => waitUntil("recovery", name, 120, 5, async (c) => {
    const s = await c.lab.vaultStatus();
    return { ok: s.initialized && !s.sealed, detail: s.sealed ? "sealed" : "unsealed" };
});

/** The agent stopped by node-kill: one that does not run Postgres and Gitea. */
function victimOf(c: StepContext): string {
    const agent = c.lab.topology.agents.find((a) => a !== c.lab.topology.dataHost) ?? c.lab.topology.agents[0];
    if (!agent) throw new Error(`stack ${c.stack} has no agent VM`);
    return agent;
}

const str = (s: DrillState, k: string) => s[k] as string;

export const DRILLS: Drill[] = [
    checkDrill({
        name: "node-kill",
        stacks: ["sandbox-vms"],
        proves: "an agent lost hard leaves the cluster and the apps' volumes serving (Longhorn degraded, not faulted); back, its replicas rebuild",
        runbook: "drill-node-kill.md",
        steps: [
            verifyPasses("precondition"),
            volumesHealthy("precondition", "every attached Longhorn volume healthy", 120),
            action("fault", "stop an agent VM hard (multipass stop --force)", 180, async (c) => {
                c.state.victim = victimOf(c);
                // which apps had a pod there: they are expected down until the node returns (above)
                c.state.onVictim = await c.lab.appNamespacesOn(str(c.state, "victim"));
                await c.lab.vmStop([str(c.state, "victim")]);
                const on = c.state.onVictim as string[];
                return `${str(c.state, "victim")} powered off${on.length ? `; its apps ${on.join(", ")} are expected down until it returns` : "; no app pod ran there"}`;
            }),
            waitUntil("observe", "the node goes NotReady", 180, 10, async (c) => {
                const n = (await c.lab.nodes()).find((x) => x.name === str(c.state, "victim"));
                return { ok: !!n && !n.ready, detail: n ? (n.ready ? "still Ready" : "NotReady") : "node absent" };
            }),
            waitUntil("observe", "Longhorn volumes degraded, none faulted", 300, 15, async (c) => {
                const vols = await c.lab.volumes();
                const faulted = vols.filter((v) => v.robustness === "faulted").map((v) => v.name);
                if (faulted.length) throw new Error(`volume(s) faulted: ${faulted.join(", ")} (data unavailable)`);
                const degraded = vols.filter((v) => v.robustness === "degraded").length;
                return { ok: degraded > 0, detail: `${degraded} degraded, 0 faulted` };
            }),
            // The apps elsewhere must keep serving: a failure here is a real dependency on the lost node
            // (a volume that faulted, a service only it ran), not where a pod happened to be scheduled.
            waitUntil("observe", "the apps not on the stopped node keep serving", 120, 10, async (c) => {
                const on = (c.state.onVictim as string[] | undefined) ?? [];
                const p = await c.lab.appsServing(on);
                return { ...p, detail: `${p.detail}${on.length ? ` (left out, on the stopped node: ${on.join(", ")})` : ""}` };
            }),
            action("recovery", "start the agent VM", 600, async (c) => {
                const victim = (c.state.victim as string | undefined) ?? victimOf(c);
                await c.lab.vmStart(victim);
                return `${victim} started`;
            }, { safe: true }),
            nodesReady("every node Ready again", 600, { safe: true }),
            volumesHealthy("recovery", "volumes rebuilt to full replicas (healthy)", 1800),
            verifyPasses("verify"),
        ],
    }),
    checkDrill({
        name: "vault-seal",
        stacks: ["sandbox-vms", "sandbox-k3d"],
        proves: "a sealed Vault keeps the delivered Secrets, refuses new logins, and comes back with the program's own unseal path",
        runbook: "drill-vault-seal.md",
        steps: [
            verifyPasses("precondition"),
            action("precondition", "record the Secrets VSO delivered", 60, async (c) => {
                c.state.secrets = await c.lab.deliveredSecrets();
                return `${Object.keys(c.state.secrets as object).length} Secret(s)`;
            }),
            action("fault", "seal Vault (PUT sys/seal)", 60, async (c) => {
                await c.lab.vaultSeal();
                return "seal requested";
            }),
            waitUntil("observe", "Vault reports sealed", 60, 5, async (c) => {
                const s = await c.lab.vaultStatus();
                return { ok: s.sealed, detail: s.sealed ? "sealed" : "still unsealed" };
            }),
            waitUntil("observe", "new logins are refused (Vault is sealed)", 60, 5, async (c) => {
                const l = await c.lab.vaultLogin();
                return { ok: l.sealedRefusal, detail: l.detail };
            }),
            action("observe", "the delivered Secrets stay", 60, async (c) => {
                const before = c.state.secrets as Record<string, string>;
                const now = await c.lab.deliveredSecrets();
                const changed = Object.keys(before).filter((k) => now[k] !== before[k]);
                if (changed.length) throw new Error(`changed or gone: ${changed.join(", ")}`);
                return `${Object.keys(before).length} Secret(s) unchanged`;
            }),
            action("recovery", "unseal with the program's own path (vault-init.sh; k3d: the dev key)", 360, (c) => c.lab.vaultUnseal(), { safe: true }),
            vaultUnsealed("Vault unsealed"),
            verifyPasses("verify"),
        ],
    }),
    checkDrill({
        name: "db-restore",
        stacks: ["sandbox-vms", "sandbox-k3d"],
        proves: "an instance whose database is lost comes back from the newest backup with `npm run restore`; its credentials work again",
        runbook: "drill-db-restore.md",
        steps: [
            verifyPasses("precondition"),
            action("precondition", "a complete backup exists", 120, async (c) => {
                c.state.instance = c.lab.instances[0];
                c.state.backup = await c.lab.newestBackup();
                return `newest Postgres backup ${str(c.state, "backup")}; subject: instance ${str(c.state, "instance")}`;
            }),
            action("fault", "drop the instance's database", 60, async (c) => {
                await c.lab.dropDatabase(str(c.state, "instance"));
                return `database of ${str(c.state, "instance")} dropped`;
            }),
            waitUntil("observe", "the instance's credentials no longer reach its database", 60, 5, async (c) => {
                const p = await c.lab.credentialsWork(str(c.state, "instance"));
                return { ok: !p.ok, detail: p.detail };
            }),
            // Safe after a failure because it restores only a database that is gone: a database
            // still there (the drop failed) is left as it is.
            action("recovery", "npm run restore (the newest backup)", 1800, async (c) => {
                const instance = (c.state.instance as string | undefined) ?? c.lab.instances[0];
                const now = await c.lab.credentialsWork(instance);
                if (now.ok) return `nothing to restore: ${now.detail}`;
                return c.lab.restoreDatabase(instance);
            }, { safe: true }),
            waitUntil("recovery", "the instance's credentials work again", 120, 5, (c) => c.lab.credentialsWork(str(c.state, "instance"))),
            verifyPasses("verify"),
        ],
    }),
    checkDrill({
        name: "volume-restore",
        stacks: ["sandbox-vms"],
        proves: "a Longhorn volume whose data is deleted comes back from the backup target",
        runbook: "drill-volume-restore.md",
        steps: [
            verifyPasses("precondition"),
            action("precondition", "create a test workload with a Longhorn volume", 60, async (c) => {
                c.state.marker = `drill-${Date.now().toString(36)}`;
                await c.lab.createTestVolume(str(c.state, "marker"));
                return `marker ${str(c.state, "marker")}`;
            }),
            waitUntil("precondition", "the marker is written on the volume", 300, 10, async (c) => {
                const m = await c.lab.testVolumeMarker();
                return { ok: m === c.state.marker, detail: m ? `read ${m}` : "not yet" };
            }),
            action("precondition", "back the volume up to the target", 60, async (c) => `backup ${await c.lab.backupTestVolume()} requested`),
            waitUntil("precondition", "the backup completes", 600, 10, (c) => c.lab.testBackupDone()),
            action("fault", "delete the volume (its workload and PVC)", 300, async (c) => {
                await c.lab.deleteTestVolume();
                return "deleted";
            }),
            waitUntil("observe", "the volume is gone", 180, 10, async (c) => {
                const gone = await c.lab.testVolumeGone();
                return { ok: gone, detail: gone ? "gone" : "still there" };
            }),
            action("recovery", "restore the volume from the backup", 120, async (c) => {
                await c.lab.restoreTestVolume();
                return "restoring PVC created";
            }),
            waitUntil("recovery", "the restored volume holds the marker", 900, 15, async (c) => {
                const m = await c.lab.testVolumeMarker();
                return { ok: m === c.state.marker, detail: m ? `read ${m}` : "not yet" };
            }),
            action("recovery", "remove the test workload", 300, async (c) => {
                await c.lab.removeTestVolume();
                return "removed";
            }, { safe: true }),
            verifyPasses("verify"),
        ],
    }),
    checkDrill({
        name: "power-cut",
        stacks: ["sandbox-vms"],
        proves: "after all hosts lose power at once, the cold-start runbook (data host, server, agents, unseal) brings everything back; time to recovery recorded",
        runbook: "cold-start.md",
        steps: [
            verifyPasses("precondition"),
            action("fault", "stop all VMs at once (multipass stop --force)", 180, async (c) => {
                const all = allVms(c);
                await c.lab.vmStop(all);
                return `${all.join(", ")} powered off`;
            }),
            waitUntil("observe", "every VM is stopped", 120, 5, async (c) => {
                const states = await c.lab.vmStates();
                const up = allVms(c).filter((v) => states[v] !== "Stopped");
                return { ok: up.length === 0, detail: up.length ? `still up: ${up.map((v) => `${v} ${states[v]}`).join(", ")}` : "all stopped" };
            }),
            action("recovery", "start the data host first", 600, async (c) => {
                await c.lab.vmStart(c.lab.topology.dataHost!);
                return `${c.lab.topology.dataHost} started`;
            }, { safe: true }),
            waitUntil("recovery", "the data host's Postgres answers", 600, 10, (c) => c.lab.dataHostReady()),
            action("recovery", "start the server", 600, async (c) => {
                await c.lab.vmStart(c.lab.topology.server!);
                return `${c.lab.topology.server} started`;
            }, { safe: true }),
            action("recovery", "start the agents", 600, async (c) => {
                const rest = c.lab.topology.agents.filter((a) => a !== c.lab.topology.dataHost);
                for (const a of rest) await c.lab.vmStart(a);
                return `${rest.join(", ") || "(none besides the data host)"} started`;
            }, { safe: true }),
            nodesReady("every node Ready", 900, { safe: true }),
            action("recovery", "unseal Vault (vault-init.sh)", 360, (c) => c.lab.vaultUnseal(), { safe: true }),
            vaultUnsealed("Vault unsealed"),
            volumesHealthy("recovery", "Longhorn volumes healthy", 1800),
            verifyPasses("verify"),
        ],
    }),
];

function allVms(c: StepContext): string[] {
    const t = c.lab.topology;
    return [...new Set([t.dataHost, t.server, ...t.agents].filter((v): v is string => !!v))];
}

export function findDrill(name: string): Drill | undefined {
    return DRILLS.find((d) => d.name === (name as DrillName));
}
