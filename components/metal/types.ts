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
    ssh?: { host: pulumi.Output<string>; user: string };
}

/** What every metal mode hands to the platform layer. */
export interface MetalOutputs {
    /** Secret. Server address already rewritten to one the operator reaches. */
    kubeconfig: pulumi.Output<string>;
    nodes: pulumi.Output<NodeInfo[]>;
    postgres: PostgresEndpoint;
    gitea: GiteaEndpoint;
}
