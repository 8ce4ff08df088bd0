// The metal layer: the hosts and k3s. One component per mode, and Metal, which picks the
// stack's mode and exposes what the platform layer needs (MetalOutputs).
import * as pulumi from "@pulumi/pulumi";
import { LabConfig } from "../config";
import { ARGOCD_NODE_PORT, DataHostInfo, GiteaEndpoint, MetalOutputs, NodeInfo, PostgresEndpoint, VAULT_NODE_PORT } from "./types";
import { K3dCluster } from "./k3d";
import { MultipassVms } from "./multipass";
import { K3sHosts } from "./hosts";

export * from "./types";
export { K3dCluster, k3sImage, K3D_GITEA_PORT, K3D_POSTGRES_PORT } from "./k3d";
export type { K3dClusterArgs } from "./k3d";
export { MultipassVms, parseVmLaunch } from "./multipass";
export type { MultipassVmsArgs, VmLaunch } from "./multipass";
export { K3sHosts, K3S_DISABLE_WITH_LONGHORN } from "./hosts";
export type { K3sHostsArgs, HostTarget } from "./hosts";
export {
    renderCloudInit, renderCompose, SSH_KEY_PLACEHOLDER, COMPOSE_DEFAULTS, DATA_VOLUMES,
    POSTGRES_ADMIN_USER, postgresDataPath,
} from "./render";
export type { CloudInitOptions, ComposeOptions } from "./render";
export { SCRIPTS_DIR, SCRIPT_NAMES, readScript } from "./scripts";
export type { ScriptName } from "./scripts";

export interface MetalArgs {
    config: LabConfig;
}

export class Metal extends pulumi.ComponentResource implements MetalOutputs {
    readonly kubeconfig: pulumi.Output<string>;
    readonly nodes: pulumi.Output<NodeInfo[]>;
    readonly postgres: PostgresEndpoint;
    readonly gitea: GiteaEndpoint;
    readonly dataHost: DataHostInfo;
    /** The mode's component. */
    readonly impl: K3dCluster | MultipassVms | K3sHosts;

    constructor(name: string, args: MetalArgs, opts?: pulumi.ComponentResourceOptions) {
        super("lab:metal:Metal", name, {}, opts);
        const cfg = args.config;
        const images = { postgres: cfg.versions.images.postgres, gitea: cfg.versions.images.gitea };
        const missing = (what: string): never => {
            throw new Error(`Metal ${name}: stack ${cfg.stack} is in ${cfg.mode} mode but its configuration has no ${what}`);
        };
        switch (cfg.mode) {
            case "k3d": {
                const k3d = cfg.k3d ?? missing("k3d");
                this.impl = new K3dCluster(`${name}-k3d`, {
                    stack: cfg.stack,
                    cluster: k3d,
                    k3sVersion: cfg.versions.k3s,
                    images,
                    minioImage: cfg.backup ? undefined : cfg.versions.images.minio,
                    // the sandbox's Vault (for the operator and the vault provider) and Argo CD, on loopback
                    nodePorts: { [k3d.vaultPort]: VAULT_NODE_PORT, [k3d.argoCdPort]: ARGOCD_NODE_PORT },
                }, { parent: this });
                break;
            }
            case "multipass":
                this.impl = new MultipassVms(`${name}-vms`, {
                    vms: cfg.vms ?? missing("vms"),
                    image: cfg.vmImage,
                    sshPublicKeyFile: cfg.sshPublicKeyFile,
                    sshUser: cfg.sshUser,
                    dataHost: cfg.dataHost ?? missing("dataHost"),
                    k3sVersion: cfg.versions.k3s,
                    images,
                    minioImage: cfg.backup ? undefined : cfg.versions.images.minio,
                    k3sToken: cfg.k3sToken,
                    k3sUpgrade: cfg.k3sUpgrade,
                }, { parent: this });
                break;
            case "hosts":
                this.impl = new K3sHosts(`${name}-hosts`, {
                    hosts: (cfg.hosts ?? missing("hosts")).map((h) => ({ name: h.name, role: h.role, address: h.address, hostKey: h.hostKey })),
                    dataHost: cfg.dataHost ?? missing("dataHost"),
                    sshUser: cfg.sshUser,
                    k3sVersion: cfg.versions.k3s,
                    images,
                    // prod backs up to GCS; a sandbox in hosts mode runs its own MinIO
                    minioImage: cfg.isProd || cfg.backup ? undefined : cfg.versions.images.minio,
                    k3sToken: cfg.k3sToken,
                    existingData: cfg.existing?.dataHost ? { postgresAdminPassword: cfg.postgresAdminPassword } : undefined,
                    composeProject: cfg.existing?.dataHost?.composeProject,
                    k3sUpgrade: cfg.k3sUpgrade,
                }, { parent: this });
                break;
            default: {
                const never: never = cfg.mode;
                throw new Error(`Metal ${name}: unknown mode ${String(never)}`);
            }
        }
        this.kubeconfig = this.impl.kubeconfig;
        this.nodes = this.impl.nodes;
        this.postgres = this.impl.postgres;
        this.gitea = this.impl.gitea;
        this.dataHost = this.impl.dataHost;
        this.registerOutputs({
            kubeconfig: this.kubeconfig,
            nodes: this.nodes,
            postgres: this.postgres,
            gitea: this.gitea,
        });
    }
}
