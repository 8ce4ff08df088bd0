// What the drills do to a sandbox and read from it: one interface, so that the drills are data over
// it (catalogue.ts), the tests drive them against a simulated sandbox (test/helpers/fake-lab.ts),
// and CliLab does it for real through the laptop's tools: multipass (VMs), kubectl (the cluster,
// Vault's pod, Longhorn's objects), the program's own scripts (vault-init.sh unseals), the data
// host's Postgres (components/backup/restore.ts's DataHost) and `npm run verify`'s module.
import { execFile } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { LabConfig } from "../../components/config";
import { DATA_COMPOSE_PROJECT } from "../../components/metal/render";
import { instanceNames, shared } from "../../components/naming";
import { scriptPath } from "../../components/platform/vault-bootstrap";
import { rclonePrefix, sandboxBucket } from "../../components/backup";
import { DataHost, ident, LocalRunner, literal, pickBackup, restoreInstance, SshRunner } from "../../components/backup/restore";
import { StackOutputs } from "../verify/outputs";
import { runVerify } from "../verify/run";
import { pinnedHostKey } from "../restore";

export interface Probe {
    ok: boolean;
    detail: string;
}

/** The sandbox's machines by role (multipass names; k3d has none). */
export interface Topology {
    server?: string;
    agents: string[];
    dataHost?: string;
}

export interface VolumeInfo {
    name: string;
    /** Longhorn: healthy | degraded | faulted | unknown (detached). */
    robustness: string;
    state: string;
}

export interface Lab {
    readonly stack: string;
    readonly topology: Topology;
    /** The instances of the stack (naming.ts instance ids), first one is the drills' subject. */
    readonly instances: string[];
    /** `npm run verify` (read-only): ok when it exits 0; detail names the failing checks. */
    verify(): Promise<Probe>;
    /** Stops VMs hard (multipass stop --force), all in one call. */
    vmStop(names: string[]): Promise<void>;
    vmStart(name: string): Promise<void>;
    vmStates(): Promise<Record<string, string>>;
    nodes(): Promise<{ name: string; ready: boolean }[]>;
    volumes(): Promise<VolumeInfo[]>;
    /** The apps' workloads keep serving (every Deployment/StatefulSet of the instances available). */
    /** Serving apps, leaving out the namespaces given (their pods were on a node that is down). */
    appsServing(except?: string[]): Promise<Probe>;
    /** The instances' namespaces with a pod scheduled on a node. */
    appNamespacesOn(node: string): Promise<string[]>;
    vaultStatus(): Promise<{ initialized: boolean; sealed: boolean }>;
    vaultSeal(): Promise<void>;
    /** The program's own unseal path (sandbox-vms: vault-init.sh). */
    vaultUnseal(): Promise<string>;
    /** A new Kubernetes-auth login: refused while sealed (503), accepted or denied otherwise. */
    vaultLogin(): Promise<{ sealedRefusal: boolean; detail: string }>;
    /** The Secrets VSO delivered into the instances' namespaces: "<ns>/<name>" -> digest of their data. */
    deliveredSecrets(): Promise<Record<string, string>>;
    /** The newest complete Postgres backup on the stack's target. */
    newestBackup(): Promise<string>;
    dropDatabase(instance: string): Promise<void>;
    /** The instance's delivered credentials log in to its database. */
    credentialsWork(instance: string): Promise<Probe>;
    /** `npm run restore -- <stack> <instance>` (the newest backup): backup id and row counts checked. */
    restoreDatabase(instance: string): Promise<string>;
    /** The data host's Postgres answers (power-cut: it comes first). */
    dataHostReady(): Promise<Probe>;
    /** volume-restore: a test workload with a PVC holding a marker, and a Longhorn backup of it. */
    createTestVolume(marker: string): Promise<void>;
    testVolumeMarker(): Promise<string | undefined>;
    backupTestVolume(): Promise<string>;
    testBackupDone(): Promise<Probe>;
    deleteTestVolume(): Promise<void>;
    testVolumeGone(): Promise<boolean>;
    restoreTestVolume(): Promise<void>;
    removeTestVolume(): Promise<void>;
}

/** What volume-restore creates (a namespace of its own, removed at the end). */
export const TEST_VOLUME = {
    namespace: "drill-volume", pvc: "drill-data", pod: "drill-writer", file: "/data/marker",
    /** The test volume's own class: reclaimPolicy Delete, so that deleting the PVC really loses the
     * volume (the program's `longhorn` class retains: Retain keeps the PV and the Longhorn volume). */
    sourceStorageClass: "drill-volume",
    /** The class that restores from the backup (fromBackup). */
    storageClass: "drill-restore",
} as const;

/** The first instance of the stack, the subject of db-restore. */
export function instancesOf(cfg: LabConfig): string[] {
    return cfg.apps.flatMap((a) => a.envs.map((e) => instanceNames(a.name, e).instance));
}

export function topologyOf(cfg: LabConfig): Topology {
    const vms = cfg.vms ?? [];
    return {
        server: vms.find((v) => v.role === "server")?.name,
        agents: vms.filter((v) => v.role === "agent").map((v) => v.name),
        dataHost: cfg.dataHost,
    };
}

function run(cmd: string, args: string[], o: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<string> {
    return new Promise((resolve, reject) => {
        const child = execFile(cmd, args, { timeout: o.timeoutMs ?? 60_000, maxBuffer: 32 * 1024 * 1024, env: o.env ?? process.env }, (err, stdout, stderr) => {
            if (err) {
                const why = (err as NodeJS.ErrnoException).code === "ENOENT" ? `${cmd} is not installed or not on PATH` : (stderr || err.message).trim().split("\n").slice(-3).join(" ");
                reject(new Error(`${cmd} ${args.filter((a) => !a.includes("kubeconfig")).slice(0, 4).join(" ")}: ${why}`));
            } else resolve(stdout);
        });
        child.stdin?.on("error", () => undefined); // the command may exit before reading its input
        child.stdin?.end(o.input ?? "");
    });
}

/** The real sandbox, through the laptop's tools. */
export class CliLab implements Lab {
    readonly stack: string;
    readonly topology: Topology;
    readonly instances: string[];
    private readonly dir: string;
    private readonly kubeconfig: string;
    private dataHostCache?: DataHost;
    private backupUrl?: string;

    constructor(private readonly cfg: LabConfig, private readonly outputs: StackOutputs, private readonly o: { projectDir: string; outputsFile?: string; env?: NodeJS.ProcessEnv }) {
        this.stack = cfg.stack;
        this.topology = topologyOf(cfg);
        this.instances = instancesOf(cfg);
        this.dir = fs.mkdtempSync(path.join(os.tmpdir(), "drill-"));
        this.kubeconfig = path.join(this.dir, "kubeconfig");
        fs.writeFileSync(this.kubeconfig, outputs.kubeconfig, { mode: 0o600 });
    }

    close(): void {
        fs.rmSync(this.dir, { recursive: true, force: true });
    }

    private kubectl(args: string[], input?: string): Promise<string> {
        return run("kubectl", ["--kubeconfig", this.kubeconfig, "--request-timeout=20s", ...args], { input, timeoutMs: 60_000, env: this.o.env });
    }

    private async kubectlJson(args: string[]): Promise<any> {
        return JSON.parse(await this.kubectl([...args, "-o", "json"]));
    }

    async verify(): Promise<Probe> {
        const lines: string[] = [];
        const report = await runVerify({
            stack: this.stack, projectDir: this.o.projectDir, outputsFile: this.o.outputsFile, json: false,
            out: (l) => lines.push(l), progress: () => undefined,
        });
        const failed = report.checks.filter((c) => c.status === "fail").map((c) => c.name);
        if (report.exitCode === 0) return { ok: true, detail: `${report.summary.passed} checks pass` };
        return { ok: false, detail: report.error ?? `failing: ${failed.join("; ")}` };
    }

    async vmStop(names: string[]): Promise<void> {
        // --force: power off at once, like pulling the plug (multipass 1.14+, `multipass help stop`).
        await run("multipass", ["stop", "--force", ...names], { timeoutMs: 180_000, env: this.o.env });
    }

    async vmStart(name: string): Promise<void> {
        await run("multipass", ["start", name], { timeoutMs: 600_000, env: this.o.env });
    }

    async vmStates(): Promise<Record<string, string>> {
        const out = await run("multipass", ["list", "--format", "csv"], { env: this.o.env });
        const states: Record<string, string> = {};
        for (const line of out.trim().split("\n").slice(1)) {
            const [name, state] = line.split(",");
            if (name) states[name] = state;
        }
        return states;
    }

    async nodes(): Promise<{ name: string; ready: boolean }[]> {
        const list = await this.kubectlJson(["get", "nodes"]);
        return (list.items ?? []).map((n: any) => ({
            name: n.metadata.name,
            ready: (n.status?.conditions ?? []).some((c: any) => c.type === "Ready" && c.status === "True"),
        }));
    }

    async volumes(): Promise<VolumeInfo[]> {
        // volumes.longhorn.io v1beta2: status.robustness healthy | degraded | faulted | unknown, status.state.
        const list = await this.kubectlJson(["-n", shared.longhornNamespace, "get", "volumes.longhorn.io"]);
        return (list.items ?? []).map((v: any) => ({ name: v.metadata.name, robustness: v.status?.robustness ?? "unknown", state: v.status?.state ?? "unknown" }));
    }

    async appNamespacesOn(node: string): Promise<string[]> {
        const list = await this.kubectlJson(["get", "pods", "--all-namespaces", "--field-selector", `spec.nodeName=${node}`]);
        const mine = new Set(this.instances.map((id) => this.names(id).namespace));
        return [...new Set<string>((list.items ?? []).map((p: any) => p.metadata?.namespace).filter((ns: string) => mine.has(ns)))].sort();
    }

    async appsServing(except: string[] = []): Promise<Probe> {
        const down: string[] = [];
        let count = 0;
        for (const id of this.instances) {
            const ns = this.names(id).namespace;
            if (except.includes(ns)) continue;
            const list = await this.kubectlJson(["-n", ns, "get", "deployments,statefulsets"]);
            for (const w of list.items ?? []) {
                count++;
                const want = w.spec?.replicas ?? 1;
                const have = w.kind === "Deployment" ? w.status?.availableReplicas ?? 0 : w.status?.readyReplicas ?? 0;
                if (want > 0 && have < 1) down.push(`${ns}/${w.metadata.name}`);
            }
        }
        return down.length ? { ok: false, detail: `not serving: ${down.join(", ")}` } : { ok: true, detail: `${count} workload(s) serving` };
    }

    async vaultStatus(): Promise<{ initialized: boolean; sealed: boolean }> {
        // GET /v1/sys/seal-status answers unauthenticated, sealed or not (hashicorp/vault http/sys_seal.go,
        // handleSysSealStatus; read at a recent commit, not at the v1.21.1 tag).
        const res = await fetch(`${this.outputs.vaultAddress.replace(/\/+$/, "")}/v1/sys/seal-status`, { signal: AbortSignal.timeout(15_000) });
        const body = (await res.json()) as { initialized: boolean; sealed: boolean };
        return { initialized: body.initialized, sealed: body.sealed };
    }

    async vaultSeal(): Promise<void> {
        // PUT /v1/sys/seal with the root token, in a header (never on a command line).
        const token = this.outputs.vaultRootToken;
        if (!token) throw new Error("the stack has no vaultRootToken output: cannot seal its Vault");
        const res = await fetch(`${this.outputs.vaultAddress.replace(/\/+$/, "")}/v1/sys/seal`, { method: "PUT", headers: { "X-Vault-Token": token }, signal: AbortSignal.timeout(30_000) });
        if (res.status !== 204 && res.status !== 200) throw new Error(`sealing Vault answered ${res.status}: ${(await res.text()).slice(0, 200)}`);
    }

    async vaultUnseal(): Promise<string> {
        if (this.cfg.mode === "k3d") {
            // Dev mode (in memory) prints its single unseal key at start, "Unseal Key: <base64>"
            // (hashicorp/vault command/server.go, dev init output): read from the pod's log, sent
            // in the body of PUT sys/unseal, never printed nor on a command line.
            const log = await this.kubectl(["-n", shared.vaultNamespace, "logs", `${shared.releases.vault}-0`]);
            const key = [...log.matchAll(/^Unseal Key: (\S+)$/gm)].pop()?.[1];
            if (!key) throw new Error(`the dev Vault's log holds no unseal key: kubectl -n ${shared.vaultNamespace} delete pod vault-0, then pulumi up -s ${this.stack}`);
            const res = await fetch(`${this.outputs.vaultAddress.replace(/\/+$/, "")}/v1/sys/unseal`, { method: "PUT", body: JSON.stringify({ key }), signal: AbortSignal.timeout(30_000) });
            if (res.status !== 200) throw new Error(`unsealing the dev Vault answered ${res.status}`);
            return "dev Vault unsealed with the key it printed at start";
        }
        // sandbox-vms: the program's own path, idempotent (the key kept in the vault-init-keys Secret).
        await run("bash", [scriptPath("vault-init.sh")], {
            timeoutMs: 360_000,
            env: { ...(this.o.env ?? process.env), KUBECONFIG_DATA: this.outputs.kubeconfig, VAULT_NAMESPACE: shared.vaultNamespace, VAULT_POD: `${shared.releases.vault}-0`, WAIT_SECONDS: "300" },
        });
        return "vault-init.sh: unsealed with the kept key";
    }

    async vaultLogin(): Promise<{ sealedRefusal: boolean; detail: string }> {
        const res = await fetch(`${this.outputs.vaultAddress.replace(/\/+$/, "")}/v1/auth/${shared.kubernetesAuthPath}/login`, {
            method: "POST", body: JSON.stringify({ role: this.instances[0], jwt: "drill-probe" }), signal: AbortSignal.timeout(15_000),
        });
        const text = (await res.text()).slice(0, 200);
        return { sealedRefusal: res.status === 503 && /sealed/i.test(text), detail: `HTTP ${res.status} ${text.trim()}` };
    }

    async deliveredSecrets(): Promise<Record<string, string>> {
        const out: Record<string, string> = {};
        for (const a of this.cfg.apps) for (const e of a.envs) {
            const n = instanceNames(a.name, e);
            const s = await this.kubectlJson(["-n", n.namespace, "get", "secret", n.dbCredentialsSecret]);
            out[`${n.namespace}/${n.dbCredentialsSecret}`] = crypto.createHash("sha256").update(JSON.stringify(s.data ?? {})).digest("hex").slice(0, 16);
        }
        return out;
    }

    private dataHost(): DataHost {
        if (this.dataHostCache) return this.dataHostCache;
        const target = rclonePrefix({ bucket: this.cfg.backup?.bucket ?? sandboxBucket(this.stack) }, this.stack);
        if (this.cfg.mode === "k3d") {
            const dir = path.join(process.env.XDG_CONFIG_HOME ?? path.join(os.homedir(), ".config"), "homelab", this.stack, "backup");
            return (this.dataHostCache = new DataHost(new LocalRunner(), { pgContainer: `k3d-${this.cfg.k3d!.clusterName}-postgres`, target, envFile: path.join(dir, "target.env"), jobEnvFile: path.join(dir, "job.env") }));
        }
        const address = this.outputs.nodes.find((n) => n.name === this.cfg.dataHost)?.address;
        if (!address) throw new Error(`the data host ${this.cfg.dataHost} is not among the nodes output`);
        // only with the VM's pinned host key (read through multipass), never plain ssh
        const hostKey = pinnedHostKey(this.cfg, this.cfg.dataHost!);
        return (this.dataHostCache = new DataHost(new SshRunner(this.cfg.sshUser, address, hostKey, this.cfg.sshUser !== "root", 120_000), {
            pgContainer: "postgres", composeProject: DATA_COMPOSE_PROJECT, target, envFile: "/etc/homelab-backup/target.env", jobEnvFile: "/etc/homelab-backup/job.env",
        }));
    }

    private names(instance: string) {
        for (const a of this.cfg.apps) for (const e of a.envs) if (instanceNames(a.name, e).instance === instance) return instanceNames(a.name, e);
        throw new Error(`no instance ${instance} in stack ${this.stack}`);
    }

    newestBackup(): Promise<string> {
        return pickBackup(this.dataHost(), "postgres");
    }

    async dropDatabase(instance: string): Promise<void> {
        // WITH (FORCE) ends the sessions first (PostgreSQL 13+, DROP DATABASE).
        await this.dataHost().psql("postgres", `DROP DATABASE IF EXISTS ${ident(this.names(instance).database)} WITH (FORCE)`);
    }

    async credentialsWork(instance: string): Promise<Probe> {
        const n = this.names(instance);
        const s = await this.kubectlJson(["-n", n.namespace, "get", "secret", n.dbCredentialsSecret]);
        const user = Buffer.from(s.data?.username ?? "", "base64").toString("utf8");
        const exists = (await this.dataHost().psql("postgres", `SELECT count(*) FROM pg_database WHERE datname = ${literal(n.database)}`)).trim() === "1";
        if (!exists) return { ok: false, detail: `database ${n.database} does not exist` };
        const member = (await this.dataHost().psql("postgres", `SELECT pg_has_role(${literal(user)}, ${literal(n.ownerRole)}, 'MEMBER') AND has_database_privilege(${literal(user)}, ${literal(n.database)}, 'CONNECT')`)).trim();
        return member === "t" ? { ok: true, detail: `${user} may connect to ${n.database} as ${n.ownerRole}` } : { ok: false, detail: `${user} cannot connect to ${n.database}` };
    }

    async restoreDatabase(instance: string): Promise<string> {
        const n = this.names(instance);
        const res = await restoreInstance({ host: this.dataHost(), database: n.database, workloads: { pause: async () => undefined, resume: async () => undefined }, log: () => undefined });
        return `backup ${res.backup} restored into ${res.restoredInto} (${Object.keys(res.tables).length} table(s), row counts checked)`;
    }

    async dataHostReady(): Promise<Probe> {
        try {
            const v = (await this.dataHost().psql("postgres", "SELECT 1")).trim();
            return { ok: v === "1", detail: v === "1" ? "Postgres answers" : `Postgres answered ${v}` };
        } catch (e) {
            return { ok: false, detail: (e as Error).message.slice(0, 200) };
        }
    }

    async createTestVolume(marker: string): Promise<void> {
        const t = TEST_VOLUME;
        const manifest = {
            apiVersion: "v1", kind: "List", items: [
                { apiVersion: "v1", kind: "Namespace", metadata: { name: t.namespace } },
                // reclaimPolicy Delete: the CSI provisioner deletes the PV and Longhorn its volume with the PVC
                // (longhorn/longhorn v1.10.1 chart/templates/storageclass.yaml: provisioner driver.longhorn.io,
                // reclaimPolicy "{{ .Values.persistence.reclaimPolicy }}"; components/platform/releases.ts sets Retain)
                { apiVersion: "storage.k8s.io/v1", kind: "StorageClass", metadata: { name: t.sourceStorageClass }, provisioner: "driver.longhorn.io", reclaimPolicy: "Delete", parameters: { numberOfReplicas: "3" } },
                { apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: { name: t.pvc, namespace: t.namespace }, spec: { accessModes: ["ReadWriteOnce"], storageClassName: t.sourceStorageClass, resources: { requests: { storage: "1Gi" } } } },
                writerPod(t.pvc, marker),
            ],
        };
        await this.kubectl(["apply", "-f", "-"], JSON.stringify(manifest));
    }

    async testVolumeMarker(): Promise<string | undefined> {
        try {
            return (await this.kubectl(["-n", TEST_VOLUME.namespace, "exec", TEST_VOLUME.pod, "--", "cat", TEST_VOLUME.file])).trim() || undefined;
        } catch {
            return undefined;
        }
    }

    /** The test PVC's volume: the PV's name is the Longhorn volume's (Longhorn's CSI driver names it after the PV). */
    private testVolume?: string;
    private async testVolumeName(): Promise<string> {
        if (this.testVolume) return this.testVolume;
        const pvc = await this.kubectlJson(["-n", TEST_VOLUME.namespace, "get", "pvc", TEST_VOLUME.pvc]);
        const v = pvc.spec?.volumeName;
        if (!v) throw new Error(`PVC ${TEST_VOLUME.namespace}/${TEST_VOLUME.pvc} is not bound`);
        return (this.testVolume = v);
    }

    async backupTestVolume(): Promise<string> {
        // A Snapshot, then a Backup of it: longhorn.io/v1beta2 Snapshot spec.volume and
        // spec.createSnapshot, Backup spec.snapshotName, status.state/url (longhorn/longhorn v1.10.1
        // chart/templates/crds.yaml); the Backup names its volume in the label "backup-volume"
        // (longhorn/longhorn-manager, BackupController.getBackupVolumeName, types.LonghornLabelBackupVolume).
        const volume = await this.testVolumeName();
        const name = `drill-${Date.now()}`;
        await this.kubectl(["apply", "-f", "-"], JSON.stringify({
            apiVersion: "v1", kind: "List", items: [
                { apiVersion: "longhorn.io/v1beta2", kind: "Snapshot", metadata: { name, namespace: shared.longhornNamespace }, spec: { volume, createSnapshot: true } },
                { apiVersion: "longhorn.io/v1beta2", kind: "Backup", metadata: { name, namespace: shared.longhornNamespace, labels: { "backup-volume": volume } }, spec: { snapshotName: name } },
            ],
        }));
        this.backupName = name;
        return name;
    }
    private backupName?: string;

    async testBackupDone(): Promise<Probe> {
        const b = await this.kubectlJson(["-n", shared.longhornNamespace, "get", "backups.longhorn.io", this.backupName!]);
        this.backupUrl = b.status?.url;
        const state = b.status?.state ?? "?";
        return { ok: state === "Completed" && !!this.backupUrl, detail: `backup ${this.backupName}: ${state}` };
    }

    async deleteTestVolume(): Promise<void> {
        const volume = await this.testVolumeName();
        await this.kubectl(["-n", TEST_VOLUME.namespace, "delete", "pod", TEST_VOLUME.pod, "--wait=true", "--timeout=120s"]);
        await this.kubectl(["-n", TEST_VOLUME.namespace, "delete", "pvc", TEST_VOLUME.pvc, "--wait=true", "--timeout=120s"]);
        // Delete reclaims both; deleting them by name as well makes the loss certain (and leaks nothing
        // if the class was changed): the PV, then the volumes.longhorn.io object (longhorn.io/v1beta2, namespaced in
        // longhorn-system: longhorn/longhorn v1.10.1 chart/templates/crds.yaml; not among the schemas in the shared crds folder).
        await this.kubectl(["delete", "pv", volume, "--ignore-not-found", "--wait=true", "--timeout=120s"]);
        await this.kubectl(["-n", shared.longhornNamespace, "delete", "volumes.longhorn.io", volume, "--ignore-not-found", "--wait=true", "--timeout=180s"]);
    }

    /** Gone for real: no PVC, no PV, no Longhorn volume (its replicas' data with it). */
    async testVolumeGone(): Promise<boolean> {
        const volume = await this.testVolumeName();
        const pvc = await this.kubectl(["-n", TEST_VOLUME.namespace, "get", "pvc", TEST_VOLUME.pvc, "--ignore-not-found", "-o", "name"]);
        const pv = await this.kubectl(["get", "pv", volume, "--ignore-not-found", "-o", "name"]);
        const lh = await this.kubectl(["-n", shared.longhornNamespace, "get", "volumes.longhorn.io", volume, "--ignore-not-found", "-o", "name"]);
        return pvc.trim() === "" && pv.trim() === "" && lh.trim() === "";
    }

    async restoreTestVolume(): Promise<void> {
        // A StorageClass whose fromBackup parameter (a backup URL) makes Longhorn restore that backup
        // into each volume made from it (parameters.fromBackup: longhorn/longhorn v1.10.1
        // chart/templates/storageclass.yaml), then the same PVC and pod.
        if (!this.backupUrl) throw new Error("no backup URL recorded for the test volume");
        const t = TEST_VOLUME;
        await this.kubectl(["apply", "-f", "-"], JSON.stringify({
            apiVersion: "v1", kind: "List", items: [
                { apiVersion: "storage.k8s.io/v1", kind: "StorageClass", metadata: { name: t.storageClass }, provisioner: "driver.longhorn.io", reclaimPolicy: "Delete", parameters: { numberOfReplicas: "3", fromBackup: this.backupUrl } },
                { apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: { name: t.pvc, namespace: t.namespace }, spec: { accessModes: ["ReadWriteOnce"], storageClassName: t.storageClass, resources: { requests: { storage: "1Gi" } } } },
                writerPod(t.pvc),
            ],
        }));
    }

    async removeTestVolume(): Promise<void> {
        await this.kubectl(["delete", "namespace", TEST_VOLUME.namespace, "--ignore-not-found", "--wait=true", "--timeout=180s"]);
        await this.kubectl(["delete", "storageclass", TEST_VOLUME.storageClass, TEST_VOLUME.sourceStorageClass, "--ignore-not-found"]);
    }
}

/** The test workload's pod: writes the marker when given one, then keeps the volume mounted. */
function writerPod(pvc: string, marker?: string): object {
    const script = marker ? `[ -s ${TEST_VOLUME.file} ] || printf '%s' "$MARKER" > ${TEST_VOLUME.file}; sync; sleep 1000000` : "sleep 1000000";
    return {
        apiVersion: "v1", kind: "Pod", metadata: { name: TEST_VOLUME.pod, namespace: TEST_VOLUME.namespace },
        spec: {
            containers: [{ name: "writer", image: "busybox:1.37", command: ["sh", "-c", script], env: marker ? [{ name: "MARKER", value: marker }] : [], volumeMounts: [{ name: "data", mountPath: "/data" }] }],
            volumes: [{ name: "data", persistentVolumeClaim: { claimName: pvc } }],
        },
    };
}
