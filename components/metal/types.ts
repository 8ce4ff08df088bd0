// The contract between the metal layer and the layers above it.
import * as pulumi from "@pulumi/pulumi";
import { Role } from "../config";

/** The NodePort a sandbox's Vault API is published on (k3d maps it to the laptop's loopback). */
export const VAULT_NODE_PORT = 30820;
/** The NodePort a sandbox's Argo CD UI and API are published on (likewise). */
export const ARGOCD_NODE_PORT = 30880;

export interface NodeInfo {
    name: string;
    role: Role;
    address: string;
}

/** The k3s server's address among a stack's nodes (where NodePorts and Traefik answer the laptop). */
export function serverAddress(nodes: NodeInfo[]): string {
    const server = nodes.find((n) => n.role === "server");
    return server ? server.address : "unknown-server";
}

export interface PostgresEndpoint {
    /** Where the operator's machine (the postgresql provider) reaches Postgres. */
    host: pulumi.Output<string>;
    port: pulumi.Output<number>;
    /** Where workloads inside the cluster (Vault's database engine) reach Postgres. */
    clusterHost: pulumi.Output<string>;
    clusterPort: pulumi.Output<number>;
    adminUser: pulumi.Output<string>;
    /** Secret. */
    adminPassword: pulumi.Output<string>;
}

export interface GiteaEndpoint {
    /** The operator's URL. */
    url: pulumi.Output<string>;
    /** The URL Argo CD uses from inside the cluster. */
    clusterUrl: pulumi.Output<string>;
    /** Where Gitea's CLI is reached (`docker exec` into its container), for a sandbox's bootstrap. */
    exec: GiteaExec;
}

/** Gitea's container: by name on the laptop's Docker (k3d), or by its data volume on the data host over SSH. */
export interface GiteaExec {
    /** Changes when Gitea's container (k3d) or the data stack (hosts) is made anew: the bootstrap runs again. */
    instance: pulumi.Output<string>;
    container?: string;
    volume?: string;
    /** hostKey: the data host's pinned SSH host key (the command provider accepts no other). */
    ssh?: { host: pulumi.Output<string>; user: string; hostKey: pulumi.Input<string> };
}

/** A sandbox's own S3-compatible backup target (MinIO) that the metal layer runs. */
export interface ObjectStoreEndpoint {
    /** Where the data host's backup job reaches it. */
    hostEndpoint: string;
    /** Where Longhorn, inside the cluster, reaches it. */
    clusterEndpoint: pulumi.Output<string>;
    accessKeyId: string;
    /** Secret, when the program knows it (k3d); otherwise it stays on the data host, in passwordEnvFile. */
    secretAccessKey?: pulumi.Output<string>;
    /** On the data host: the env file (mode 600) whose MINIO_ROOT_PASSWORD is the secret key. */
    passwordEnvFile?: string;
}

/** Where the data host's backup job runs and what it backs up. */
export interface DataHostInfo {
    /** hosts and multipass: reached over SSH; k3d: none (the data host is this machine). */
    /** hostKey: the data host's pinned SSH host key (the command provider accepts no other). */
    ssh?: { host: pulumi.Output<string>; user: string; sudo: boolean; name: string; hostKey: pulumi.Input<string> };
    /** The Postgres and Gitea containers: compose services of this project, or container names. */
    composeProject?: string;
    postgresContainer: string;
    giteaContainer: string;
    /** The data services are up (the backup job is installed after them). */
    ready: pulumi.Resource[];
    objectStore?: ObjectStoreEndpoint;
}

/** What every metal mode hands to the platform layer. */
export interface MetalOutputs {
    /** Secret. Server address already rewritten to one the operator reaches. */
    kubeconfig: pulumi.Output<string>;
    nodes: pulumi.Output<NodeInfo[]>;
    postgres: PostgresEndpoint;
    gitea: GiteaEndpoint;
    dataHost: DataHostInfo;
}
