// The metal keys (schema: homelab:mode, hosts, vms, vmImage, k3d, dataHost, sshUser, k3sToken,
// k3sUpgradeTo; the schema's if/then says which mode needs or forbids which). Here: what spans
// several fields (one server, unique names and addresses, the data host is one of the machines, the
// host key parses, the k3d ports do not clash, an upgrade approval names the pinned version).
import * as pulumi from "@pulumi/pulumi";
import { K3D_GITEA_PORT, K3D_MINIO_PORT, K3D_POSTGRES_PORT } from "../metal/k3d";
import { PLACEHOLDER_MARK } from "./errors";
import { Reader } from "./reader";
import { configNode, fmtSize, laptopTotals, sizeBytes } from "./schema";
import { DockerRuntime, HostSpec, K3dSpec, LabConfig, Role, VmSpec } from "./types";

const HOST_KEY_TYPES = [
    "ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "ssh-rsa",
] as const;
const HOST_KEY = /^(\S+) ([A-Za-z0-9+/]+={0,2})( [^\r\n]*)?$/;

/**
 * Whether a line is an OpenSSH public key as the command provider reads a hostKey: it hands it
 * to golang.org/x/crypto/ssh ParseAuthorizedKey (pulumi/pulumi-command v1.2.1,
 * provider/pkg/provider/remote/connection.go). Checked here: a host key type, and base64 whose
 * wire format starts with that same type name (RFC 4253 6.6: string type, then the key).
 */
export function isOpenSshPublicKey(line: string): boolean {
    const m = HOST_KEY.exec(line);
    if (!m || !(HOST_KEY_TYPES as readonly string[]).includes(m[1])) return false;
    const blob = Buffer.from(m[2], "base64");
    if (blob.length < 4 + m[1].length || blob.toString("base64") !== m[2]) return false;
    const n = blob.readUInt32BE(0);
    return n === m[1].length && blob.subarray(4, 4 + n).toString("latin1") === m[1] && blob.length > 4 + n;
}

function checkRoles(r: Reader, key: string, nodes: { name: string; role: Role }[]): void {
    const servers = nodes.filter((n) => n.role === "server");
    if (servers.length !== 1) r.fail(key, nodes.map((n) => `${n.name}:${n.role}`), "exactly one node with role server");
}

export function readHosts(r: Reader, v: unknown): HostSpec[] {
    const hosts = (v as HostSpec[]).map((h, i) => {
        const expected = configNode().properties["homelab:hosts"].items.properties.hostKey["x-expected"] as string;
        if (!isOpenSshPublicKey(h.hostKey)) r.fail(`hosts[${i}].hostKey`, h.hostKey, expected);
        // A well-formed key whose comment says REPLACE-ME stands for one not yet scanned: a real
        // run of prod refuses it like any other placeholder.
        if (h.hostKey.toUpperCase().includes(PLACEHOLDER_MARK)) r.placeholders.push({ key: `homelab:hosts[${i}].hostKey`, value: h.hostKey });
        return { name: h.name, hostname: h.hostname, address: h.address, role: h.role, hostKey: h.hostKey };
    });
    r.unique("hosts", hosts.map((h) => h.name), "host name");
    r.unique("hosts", hosts.map((h) => h.address), "host address");
    checkRoles(r, "hosts", hosts);
    return hosts;
}

/** What the laptop can give (schema: homelab:vms x-laptop for all the VMs, x-size for each one's memory and disk). */
function checkLaptop(r: Reader, vms: VmSpec[]): void {
    const node = configNode().properties["homelab:vms"];
    vms.forEach((m, i) => {
        for (const field of ["memory", "disk"] as const) {
            const f = node.items.properties[field];
            const b = f["x-size"] as { min: string; max: string };
            const bytes = sizeBytes(m[field]);
            if (bytes < sizeBytes(b.min) || bytes > sizeBytes(b.max)) r.fail(`vms[${i}].${field}`, m[field], f["x-expected"]);
        }
    });
    const b = node["x-laptop"] as { cpus: number; memory: string; disk: string };
    const t = laptopTotals(vms);
    if (t.cpus > b.cpus || t.memory > sizeBytes(b.memory) || t.disk > sizeBytes(b.disk)) {
        r.fail("vms", `${t.cpus} CPUs, ${fmtSize(t.memory)} memory, ${fmtSize(t.disk)} disk in all`,
            `VMs that fit the laptop together: at most ${b.cpus} CPUs, ${b.memory} memory and ${b.disk} disk in all (components/config/homelab-config.schema.json x-laptop)`);
    }
}

export function readVms(r: Reader, v: unknown): VmSpec[] {
    const vms = (v as VmSpec[]).map((m) => ({ name: m.name, role: m.role, cpus: m.cpus, memory: m.memory, disk: m.disk }));
    checkLaptop(r, vms);
    r.unique("vms", vms.map((h) => h.name), "VM name");
    checkRoles(r, "vms", vms);
    return vms;
}

const K3D_DEFAULTS = () => configNode().properties["homelab:k3d"].properties as Record<string, { default: unknown }>;
const PORT_KEYS = ["apiPort", "vaultPort", "argoCdPort", "ingressPort"] as const;

/** homelab:k3d with the schema's defaults; its laptop ports distinct and clear of the sandbox's own. */
export function readK3d(r: Reader, v: unknown): K3dSpec {
    const o = (v ?? {}) as Partial<K3dSpec>;
    const d = K3D_DEFAULTS();
    const pick = <K extends keyof K3dSpec>(k: K): K3dSpec[K] => (o[k] ?? d[k].default) as K3dSpec[K];
    const k3d: K3dSpec = {
        clusterName: pick("clusterName"),
        apiPort: pick("apiPort"),
        vaultPort: pick("vaultPort"),
        argoCdPort: pick("argoCdPort"),
        ingressPort: pick("ingressPort"),
        waitTimeoutSeconds: pick("waitTimeoutSeconds"),
        dockerRuntime: pick("dockerRuntime") as DockerRuntime,
    };
    // Every port the sandbox publishes on the laptop's loopback: two users of one port would
    // fail at bring-up (or worse, reach the wrong service).
    const taken = new Map<number, string>([
        [K3D_POSTGRES_PORT, "the sandbox's Postgres (components/metal/k3d.ts)"],
        [K3D_GITEA_PORT, "the sandbox's Gitea (components/metal/k3d.ts)"],
        [K3D_MINIO_PORT, "the sandbox's MinIO (components/metal/k3d.ts)"],
    ]);
    for (const k of PORT_KEYS) {
        const port = k3d[k];
        const other = taken.get(port);
        if (other) r.fail(`k3d.${k}`, port, `a laptop port no other part of the sandbox uses (${port} is already ${other})`);
        taken.set(port, `k3d.${k}${o[k] === undefined ? " (its default)" : ""}`);
    }
    return k3d;
}

/** hosts and multipass: the data host, the SSH user, the join token, the k3s upgrade approval. */
export function readSshMetal(r: Reader, cfg: LabConfig, values: Record<string, unknown>): void {
    const nodes = cfg.hosts ?? cfg.vms ?? [];
    cfg.dataHost = values.dataHost as string;
    if (!nodes.some((n) => n.name === cfg.dataHost)) {
        r.fail("dataHost", cfg.dataHost, `one of the hosts (${nodes.map((n) => n.name).join(", ")})`);
    }
    if (values.sshUser !== undefined) cfg.sshUser = values.sshUser as string;
    if (values.k3sToken !== undefined) cfg.k3sToken = pulumi.secret(values.k3sToken as string);
    // An upgrade approval names the version it approves: a later bump of versions.k3s is
    // not approved by a stale key, it stops here until the operator updates or removes it.
    const to = values.k3sUpgradeTo as string | undefined;
    if (to !== undefined && to !== cfg.versions.k3s) {
        r.fail("k3sUpgradeTo", to, `the version the manifest pins, ${cfg.versions.k3s} (versions.k3s in Pulumi.yaml): an upgrade approval names the version it approves; set it to ${cfg.versions.k3s} to approve that upgrade, or remove it`);
    }
    cfg.k3sUpgrade = cfg.isProd ? (to !== undefined ? cfg.versions.k3s : undefined) : cfg.versions.k3s;
}
