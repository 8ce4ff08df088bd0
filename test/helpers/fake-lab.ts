// A simulated sandbox for the drills: VMs that stop and start, nodes Ready while their VM runs,
// Longhorn volumes with a replica on each VM (degraded with one down, faulted with two), a Vault
// that seals and unseals, databases that drop and come back from a backup, a test volume. Every
// call is logged in order; a call can be made to fail (`fail`) or never to answer (`hang`).
import { Lab, Probe, Topology, VolumeInfo } from "../../tools/drill/lab";

export class FakeLab implements Lab {
    readonly topology: Topology;
    readonly calls: string[] = [];
    readonly fail = new Set<string>();
    readonly hang = new Set<string>();
    vms: Record<string, string> = {};
    sealed = false;
    databases: Set<string>;
    /** Node readiness follows the VM after this many reads of nodes() (the node monitor's grace). */
    nodeLag = 1;
    /** A VM stopped by the fault, ignored (the "hard stop" that does not stop). */
    stopIgnored = false;
    private lagCount = 0;
    private nodeReady: Record<string, boolean> = {};
    private rebuildReads = 0;
    private testVolume?: string;
    private backup?: string;

    constructor(readonly stack: string, readonly instances: string[] = ["erp", "cms"], vms: Topology = { server: "pi1", agents: ["pi2", "pi3"], dataHost: "pi2" }) {
        this.topology = vms;
        for (const v of [vms.server, ...vms.agents]) if (v) {
            this.vms[v] = "Running";
            this.nodeReady[v] = true;
        }
        this.databases = new Set(instances);
    }

    private async call<T>(name: string, f: () => T): Promise<T> {
        this.calls.push(name);
        if (this.hang.has(name.split(" ")[0])) return new Promise<T>(() => undefined);
        if (this.fail.has(name.split(" ")[0])) throw new Error(`${name.split(" ")[0]} failed (injected)`);
        return f();
    }

    private down(): string[] {
        return Object.keys(this.vms).filter((v) => this.vms[v] !== "Running");
    }

    verify(): Promise<Probe> {
        return this.call("verify", () => {
            const problems = [
                ...this.down().map((v) => `node ${v} down`),
                ...(this.sealed ? ["Vault sealed"] : []),
                ...this.instances.filter((i) => !this.databases.has(i)).map((i) => `${i}: no database`),
            ];
            return problems.length ? { ok: false, detail: problems.join("; ") } : { ok: true, detail: "all checks pass" };
        });
    }
    vmStop(names: string[]): Promise<void> {
        return this.call(`vmStop ${names.join(",")}`, () => {
            if (!this.stopIgnored) for (const n of names) this.vms[n] = "Stopped";
        });
    }
    vmStart(name: string): Promise<void> {
        return this.call(`vmStart ${name}`, () => {
            this.vms[name] = "Running";
            this.rebuildReads = 2;
        });
    }
    vmStates(): Promise<Record<string, string>> {
        return this.call("vmStates", () => ({ ...this.vms }));
    }
    nodes(): Promise<{ name: string; ready: boolean }[]> {
        return this.call("nodes", () => {
            if (++this.lagCount >= this.nodeLag) {
                this.lagCount = 0;
                for (const v of Object.keys(this.vms)) this.nodeReady[v] = this.vms[v] === "Running";
            }
            return Object.keys(this.vms).map((name) => ({ name, ready: this.nodeReady[name] }));
        });
    }
    volumes(): Promise<VolumeInfo[]> {
        return this.call("volumes", () => {
            const down = this.down().length;
            let robustness = down === 0 ? "healthy" : down === 1 ? "degraded" : "faulted";
            // replicas rebuild a few reads after the node is back
            if (down === 0 && this.rebuildReads > 0) {
                this.rebuildReads--;
                robustness = "degraded";
            }
            return [{ name: "pvc-erp", robustness, state: "attached" }, { name: "pvc-idle", robustness: "unknown", state: "detached" }];
        });
    }
    /** The apps' namespaces with a pod on each node (node-kill leaves them out while it is down). */
    podsOn: Record<string, string[]> = {};
    appNamespacesOn(node: string): Promise<string[]> {
        return this.call(`appNamespacesOn ${node}`, () => this.podsOn[node] ?? []);
    }
    appsServing(except: string[] = []): Promise<Probe> {
        return this.call("appsServing", () => {
            // an app whose pod was on a stopped node is down (Longhorn's do-nothing, 300 s to eviction)
            const lost = this.down().flatMap((n) => this.podsOn[n] ?? []).filter((ns) => !except.includes(ns));
            return this.down().length < 2 && lost.length === 0 ? { ok: true, detail: "2 workload(s) serving" } : { ok: false, detail: `down: ${lost.join(", ") || "most"}` };
        });
    }
    vaultStatus(): Promise<{ initialized: boolean; sealed: boolean }> {
        return this.call("vaultStatus", () => ({ initialized: true, sealed: this.sealed }));
    }
    vaultSeal(): Promise<void> {
        return this.call("vaultSeal", () => void (this.sealed = true));
    }
    vaultUnseal(): Promise<string> {
        return this.call("vaultUnseal", () => {
            this.sealed = false;
            return "unsealed";
        });
    }
    vaultLogin(): Promise<{ sealedRefusal: boolean; detail: string }> {
        return this.call("vaultLogin", () => (this.sealed ? { sealedRefusal: true, detail: "HTTP 503 Vault is sealed" } : { sealedRefusal: false, detail: "HTTP 403 permission denied" }));
    }
    deliveredSecrets(): Promise<Record<string, string>> {
        return this.call("deliveredSecrets", () => Object.fromEntries(this.instances.map((i) => [`${i}/${i}-db-credentials`, "abc"])));
    }
    newestBackup(): Promise<string> {
        return this.call("newestBackup", () => "20261123T050000Z");
    }
    dropDatabase(instance: string): Promise<void> {
        return this.call(`dropDatabase ${instance}`, () => void this.databases.delete(instance));
    }
    credentialsWork(instance: string): Promise<Probe> {
        return this.call(`credentialsWork ${instance}`, () => (this.databases.has(instance) ? { ok: true, detail: "may connect" } : { ok: false, detail: "database does not exist" }));
    }
    restoreDatabase(instance: string): Promise<string> {
        return this.call(`restoreDatabase ${instance}`, () => {
            this.databases.add(instance);
            return "backup 20261123T050000Z restored";
        });
    }
    dataHostReady(): Promise<Probe> {
        return this.call("dataHostReady", () => {
            const up = this.vms[this.topology.dataHost!] === "Running";
            return { ok: up, detail: up ? "Postgres answers" : "no route to host" };
        });
    }
    createTestVolume(marker: string): Promise<void> {
        return this.call("createTestVolume", () => void (this.testVolume = marker));
    }
    testVolumeMarker(): Promise<string | undefined> {
        return this.call("testVolumeMarker", () => this.testVolume);
    }
    backupTestVolume(): Promise<string> {
        return this.call("backupTestVolume", () => {
            this.backup = this.testVolume;
            return "drill-1";
        });
    }
    testBackupDone(): Promise<Probe> {
        return this.call("testBackupDone", () => ({ ok: !!this.backup, detail: "Completed" }));
    }
    deleteTestVolume(): Promise<void> {
        return this.call("deleteTestVolume", () => void (this.testVolume = undefined));
    }
    testVolumeGone(): Promise<boolean> {
        return this.call("testVolumeGone", () => this.testVolume === undefined);
    }
    restoreTestVolume(): Promise<void> {
        return this.call("restoreTestVolume", () => void (this.testVolume = this.backup));
    }
    removeTestVolume(): Promise<void> {
        return this.call("removeTestVolume", () => void (this.testVolume = undefined));
    }
}
