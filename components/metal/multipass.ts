// multipass mode (stack sandbox-vms): three arm64 VMs standing for pi1/pi2/pi3, launched in
// parallel with a cloud-init rendered here, then handed to K3sHosts: the same code path as
// prod from there on, which is what makes the sandbox a rehearsal of prod.
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { isOpenSshPublicKey, VmSpec } from "../config";
import { DataHostInfo, GiteaEndpoint, MetalOutputs, NodeInfo, PostgresEndpoint } from "./types";
import { LOCAL_INTERPRETER, readScript } from "./scripts";
import { renderCloudInit } from "./render";
import { K3sHosts } from "./hosts";

export interface MultipassVmsArgs {
    vms: VmSpec[];
    /** Pinned Ubuntu release, e.g. 24.04 (never the moving `lts` alias). */
    image: string;
    /** The operator's SSH public key file (may start with ~/), read by the launch script at run time. */
    sshPublicKeyFile: string;
    /** The VMs' SSH user (ubuntu, the image's default user). */
    sshUser: string;
    dataHost: string;
    k3sVersion: string;
    images: { postgres: string; gitea: string };
    /** The sandbox's own backup target (MinIO in the data host's compose project). */
    minioImage?: string;
    k3sToken?: pulumi.Input<string>;
    /** The version a VM at another k3s version may be upgraded to (K3sHostsArgs.k3sUpgrade). */
    k3sUpgrade?: string;
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** An ed25519 key of 32 zero bytes: well-formed, and no real host has it (so SSH to it fails). */
const NO_HOST_KEY = "AAAAC3NzaC1lZDI1NTE5AAAAIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

export interface VmLaunch {
    address: string;
    /** The VM's SSH host key, as the command provider's connection.hostKey takes it. */
    hostKey: string;
}

/**
 * What the launch script printed: its last two lines, the VM's address and its SSH host key
 * (read inside the VM through multipass, not over SSH). Throws, naming the VM, on anything
 * else. An empty stdout never comes from a real run (the script prints both or fails); it
 * comes from mocks such as the offline plan, and maps to `<vm>.address-unknown.invalid`, a
 * name that never resolves (RFC 2606), and a host key no host has.
 */
export function parseVmLaunch(vm: string, stdout: string | undefined): VmLaunch {
    const lines = (stdout ?? "").split("\n").map((l) => l.trim()).filter((l) => l.length > 0);
    if (lines.length === 0) {
        return { address: `${vm}.address-unknown.invalid`, hostKey: `ssh-ed25519 ${NO_HOST_KEY} ${vm}.host-key-unknown.invalid` };
    }
    const [address, hostKey] = lines.length >= 2 ? lines.slice(-2) : [lines[0], ""];
    const m = IPV4.exec(address);
    if (!m || m.slice(1).some((o) => Number(o) > 255)) {
        throw new Error(`VM ${vm}: the launch script printed no IPv4 address (got ${JSON.stringify(address)})`);
    }
    if (!isOpenSshPublicKey(hostKey)) {
        throw new Error(`VM ${vm}: the launch script printed no SSH host key after the address (got ${JSON.stringify(hostKey)})`);
    }
    return { address, hostKey };
}

export class MultipassVms extends pulumi.ComponentResource implements MetalOutputs {
    readonly kubeconfig: pulumi.Output<string>;
    readonly nodes: pulumi.Output<NodeInfo[]>;
    readonly postgres: PostgresEndpoint;
    readonly gitea: GiteaEndpoint;
    readonly dataHost: DataHostInfo;
    /** One launch command per VM, by name. */
    readonly vms: Record<string, command.local.Command>;
    readonly hosts: K3sHosts;

    constructor(name: string, args: MultipassVmsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("lab:metal:MultipassVms", name, {}, opts);
        const create = readScript("multipass-vm-create.sh");
        const del = readScript("multipass-vm-delete.sh");
        this.vms = {};
        const targets = args.vms.map((vm) => {
            const cloudInit = renderCloudInit({ hostname: vm.name, dataHost: vm.name === args.dataHost });
            // No dependsOn between VMs: they launch in parallel. A change of what defines the VM
            // (triggers) deletes it first and launches it anew; anything else re-runs the
            // idempotent create (update), which leaves a running VM alone.
            const launch = new command.local.Command(`${name}-vm-${vm.name}`, {
                interpreter: LOCAL_INTERPRETER,
                create,
                update: create,
                delete: del,
                environment: {
                    VM_NAME: vm.name,
                    VM_CPUS: String(vm.cpus),
                    VM_MEMORY: vm.memory,
                    VM_DISK: vm.disk,
                    VM_IMAGE: args.image,
                    SSH_PUBLIC_KEY_FILE: args.sshPublicKeyFile,
                    CLOUD_INIT: cloudInit,
                },
                triggers: [vm.name, args.image, vm.cpus, vm.memory, vm.disk, cloudInit],
            }, { parent: this, deleteBeforeReplace: true });
            this.vms[vm.name] = launch;
            // The VM's host key comes from its launch: SSH then trusts that key only.
            const launched = launch.stdout.apply((s) => parseVmLaunch(vm.name, s));
            return { name: vm.name, role: vm.role, address: launched.address, hostKey: launched.hostKey };
        });

        this.hosts = new K3sHosts(`${name}-hosts`, {
            hosts: targets,
            dataHost: args.dataHost,
            sshUser: args.sshUser,
            k3sVersion: args.k3sVersion,
            images: args.images,
            minioImage: args.minioImage,
            k3sToken: args.k3sToken,
            k3sUpgrade: args.k3sUpgrade,
        }, { parent: this });

        this.kubeconfig = this.hosts.kubeconfig;
        this.nodes = this.hosts.nodes;
        this.postgres = this.hosts.postgres;
        this.gitea = this.hosts.gitea;
        this.dataHost = this.hosts.dataHost;
        this.registerOutputs({
            kubeconfig: this.kubeconfig,
            nodes: this.nodes,
            postgres: this.postgres,
            gitea: this.gitea,
        });
    }
}
