// `npm run doctor -- <stack>`: what the operator's machine needs before `pulumi up` of a stack,
// read-only and offline (it runs local commands' version flags, binds free-port probes on loopback
// and reads environment variables; it contacts no host). One result per check, each with its fix.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { LabConfig, RCLONE_MIN_VERSION } from "../../components/config";
import { K3D_GITEA_PORT, K3D_MINIO_PORT, K3D_POSTGRES_PORT } from "../../components/metal/k3d";

export interface DoctorResult {
    name: string;
    ok: boolean;
    /** What was found (a version, a port, an amount). */
    detail: string;
    /** How to fix it (macOS first: the operator's laptop). */
    fix: string;
}

/** What the checks read of the machine; the tests give their own. */
export interface DoctorSystem {
    env: NodeJS.ProcessEnv;
    /** A command's output, or undefined when it is not on PATH. */
    run(cmd: string, args: string[]): { status: number | null; out: string } | undefined;
    portFree(port: number): Promise<boolean>;
    nodeVersion: string;
    cpus: number;
    memoryBytes: number;
    /** Free bytes where multipass keeps its VMs (the home folder's disk). */
    freeDiskBytes(): number | undefined;
}

export function realSystem(env: NodeJS.ProcessEnv = process.env): DoctorSystem {
    return {
        env,
        run(cmd, args) {
            const r = spawnSync(cmd, args, { env, encoding: "utf8", timeout: 15_000 });
            if (r.error && (r.error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
            return { status: r.error ? null : r.status, out: `${r.stdout ?? ""}${r.stderr ?? ""}` };
        },
        portFree: (port) => new Promise((resolve) => {
            const s = net.createServer();
            s.once("error", () => resolve(false));
            s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
        }),
        nodeVersion: process.versions.node,
        cpus: os.cpus().length,
        memoryBytes: os.totalmem(),
        freeDiskBytes() {
            try {
                const s = fs.statfsSync(env.HOME ?? os.homedir());
                return s.bavail * s.bsize;
            } catch {
                return undefined;
            }
        },
    };
}

const GIB = 1024 ** 3;
/** multipass sizes: 4G, 512M, 20G. */
export function sizeBytes(s: string): number {
    const m = /^(\d+(?:\.\d+)?)\s*([KMGT]?)i?B?$/i.exec(s.trim());
    if (!m) return NaN;
    return Number(m[1]) * ({ "": 1, K: 1024, M: 1024 ** 2, G: GIB, T: 1024 ** 4 } as Record<string, number>)[m[2].toUpperCase()];
}

/** The first x.y.z in a version line. */
export function versionIn(out: string): string | undefined {
    return /(\d+)\.(\d+)\.(\d+)/.exec(out)?.slice(0, 1)[0] ?? /(\d+)\.(\d+)/.exec(out)?.[0];
}

function atLeast(v: string, min: string): boolean {
    const a = v.split(".").map(Number);
    const b = min.split(".").map(Number);
    for (let i = 0; i < 3; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0);
    return true;
}

interface Tool { name: string; cmd: string; args: string[]; fix: string; min?: string; major?: number; why: string }

const TOOLS: Record<string, Tool> = {
    pulumi: { name: "Pulumi CLI", cmd: "pulumi", args: ["version"], fix: "brew install pulumi/tap/pulumi", why: "pulumi up, preview, stack output" },
    kubectl: { name: "kubectl", cmd: "kubectl", args: ["version", "--client"], fix: "brew install kubectl", why: "the runbooks' cluster commands, npm run restore" },
    jq: { name: "jq", cmd: "jq", args: ["--version"], fix: "brew install jq", why: "the runbooks read outputs with it" },
    curl: { name: "curl", cmd: "curl", args: ["--version"], fix: "brew install curl", why: "the runbooks' health checks" },
    vault: { name: "vault CLI", cmd: "vault", args: ["version"], fix: "brew install hashicorp/tap/vault", why: "docs/runbooks/drill-vault-seal.md, reach-services.md" },
    psql: { name: "psql", cmd: "psql", args: ["--version"], fix: "brew install libpq && brew link --force libpq", why: "docs/runbooks/reach-services.md, drill-db-restore.md" },
    rclone: { name: "rclone", cmd: "rclone", args: ["version"], min: RCLONE_MIN_VERSION, fix: "brew install rclone (or brew upgrade rclone)", why: `the laptop's backup job (sandbox-k3d) and docs/backups.md; ${RCLONE_MIN_VERSION}+ reads GCS back (rclone issue 6670)` },
    k3d: { name: "k3d", cmd: "k3d", args: ["version"], major: 5, fix: "brew install k3d", why: "the sandbox-k3d cluster" },
    multipass: { name: "multipass", cmd: "multipass", args: ["version"], min: "1.14.0", fix: "brew install --cask multipass (1.14+ for `multipass stop --force`)", why: "the sandbox-vms VMs" },
};

function toolCheck(sys: DoctorSystem, t: Tool): DoctorResult {
    const name = `${t.name} (${t.cmd})`;
    const r = sys.run(t.cmd, t.args);
    if (!r) return { name, ok: false, detail: `not found on PATH (needed: ${t.why})`, fix: t.fix };
    if (r.status !== 0) return { name, ok: false, detail: `\`${t.cmd} ${t.args.join(" ")}\` exited ${r.status ?? "(timed out)"}`, fix: t.fix };
    const v = versionIn(r.out);
    if (t.min && (!v || !atLeast(v, t.min))) return { name, ok: false, detail: `version ${v ?? "unknown"}, needs ${t.min} or later`, fix: t.fix };
    if (t.major !== undefined && (!v || Number(v.split(".")[0]) !== t.major)) return { name, ok: false, detail: `version ${v ?? "unknown"}, needs ${t.major}.x`, fix: t.fix };
    return { name, ok: true, detail: v ? `version ${v}` : "found", fix: t.fix };
}

/** Every check the stack needs, in the order an operator fixes them. */
export async function doctorChecks(cfg: LabConfig, sys: DoctorSystem): Promise<DoctorResult[]> {
    const out: DoctorResult[] = [];
    const nodeMajor = Number(sys.nodeVersion.split(".")[0]);
    out.push({ name: "Node.js 22", ok: nodeMajor >= 22, detail: `version ${sys.nodeVersion}`, fix: "brew install node@22 (package.json engines; the CI runs 22)" });
    for (const t of ["pulumi", "kubectl", "jq", "curl", "vault", "psql", "rclone"]) out.push(toolCheck(sys, TOOLS[t]));

    if (cfg.mode === "k3d") {
        const docker = sys.run("docker", ["info", "--format", "{{.ServerVersion}}"]);
        out.push(!docker
            ? { name: "Docker running (docker)", ok: false, detail: "docker is not on PATH", fix: "brew install --cask docker (or brew install colima docker && colima start)" }
            : { name: "Docker running (docker)", ok: docker.status === 0, detail: docker.status === 0 ? `server ${docker.out.trim()}` : "the Docker daemon does not answer", fix: "start Docker Desktop (or colima start)" });
        out.push(toolCheck(sys, TOOLS.k3d));
        const k = cfg.k3d!;
        const ports: [string, number][] = [["k3d API", k.apiPort], ["Vault", k.vaultPort], ["Argo CD", k.argoCdPort], ["ingress", k.ingressPort],
            ["Postgres", K3D_POSTGRES_PORT], ["Gitea", K3D_GITEA_PORT], ["MinIO", K3D_MINIO_PORT]];
        for (const [what, port] of ports) {
            const free = await sys.portFree(port);
            out.push({ name: `port ${port} free (${what})`, ok: free, detail: free ? "free on 127.0.0.1" : "in use on 127.0.0.1",
                fix: `lsof -nP -iTCP:${port} -sTCP:LISTEN shows who holds it; stop it, or change homelab:k3d in Pulumi.${cfg.stack}.yaml` });
        }
    }
    if (cfg.mode === "multipass") {
        out.push(toolCheck(sys, TOOLS.multipass));
        const vms = cfg.vms ?? [];
        const cpus = Math.max(...vms.map((v) => v.cpus), 0);
        const mem = vms.reduce((s, v) => s + sizeBytes(v.memory), 0);
        const disk = vms.reduce((s, v) => s + sizeBytes(v.disk), 0);
        out.push({ name: "CPU for the VMs", ok: sys.cpus >= cpus, detail: `${sys.cpus} cores; each VM takes ${cpus}`, fix: `lower homelab:vms[].cpus in Pulumi.${cfg.stack}.yaml` });
        out.push({ name: "memory for the VMs", ok: sys.memoryBytes >= mem + 2 * GIB, detail: `${(sys.memoryBytes / GIB).toFixed(1)} GiB; the VMs take ${(mem / GIB).toFixed(1)} GiB plus 2 GiB for the laptop`, fix: `close other applications, or lower homelab:vms[].memory in Pulumi.${cfg.stack}.yaml` });
        const free = sys.freeDiskBytes();
        out.push({ name: "disk for the VMs", ok: free !== undefined && free >= disk, detail: free === undefined ? "free space unknown" : `${(free / GIB).toFixed(1)} GiB free; the VMs' disks take up to ${(disk / GIB).toFixed(0)} GiB`, fix: `free disk space, or lower homelab:vms[].disk in Pulumi.${cfg.stack}.yaml` });
    }
    if (cfg.mode !== "k3d") {
        const agent = sys.run("ssh-add", ["-l"]);
        out.push({ name: "an SSH key in the agent (ssh-add -l)", ok: !!agent && agent.status === 0, detail: !agent ? "ssh-add is not on PATH" : agent.status === 0 ? `${agent.out.trim().split("\n").length} key(s)` : "no key in the agent (or no agent: SSH_AUTH_SOCK)",
            fix: "ssh-add ~/.ssh/id_ed25519 (the key the hosts authorise)" });
    }
    if (cfg.isProd) {
        const env = sys.env;
        const set = (k: string) => (env[k] ?? "").trim() !== "";
        const adc = path.join(env.HOME ?? os.homedir(), ".config", "gcloud", "application_default_credentials.json");
        const creds: [string, boolean, string][] = [
            ["VAULT_TOKEN (prod's existing Vault)", set("VAULT_TOKEN"), "export VAULT_TOKEN=... (a token of prod's Vault; never in a file of the repository)"],
            ["CLOUDFLARE_API_TOKEN (the DNS records)", set("CLOUDFLARE_API_TOKEN"), "export CLOUDFLARE_API_TOKEN=..."],
            ["Google credentials (the backup bucket)", set("GOOGLE_CREDENTIALS") || set("GOOGLE_APPLICATION_CREDENTIALS") || fs.existsSync(adc), "gcloud auth application-default login (or export GOOGLE_CREDENTIALS)"],
            ["PGPASSWORD or homelab:postgresAdminPassword (Postgres on pi2)", set("PGPASSWORD") || cfg.postgresAdminPassword !== undefined, "export PGPASSWORD=... (or pulumi config set --secret homelab:postgresAdminPassword -s prod)"],
        ];
        for (const [name, ok, fix] of creds) out.push({ name, ok, detail: ok ? "set" : "not set", fix });
    }
    return out;
}

/** One line per check: ok or MISSING, what was found, and the fix for a failed one. */
export function formatDoctor(stack: string, results: DoctorResult[]): string {
    const lines = results.map((r) => `${r.ok ? "ok     " : "MISSING"} ${r.name}: ${r.detail}${r.ok ? "" : ` -> fix: ${r.fix}`}`);
    const bad = results.filter((r) => !r.ok).length;
    lines.push(bad === 0 ? `${stack}: all ${results.length} checks hold` : `${stack}: ${bad} of ${results.length} checks fail; fix them, then run npm run doctor -- ${stack} again`);
    return lines.join("\n");
}
