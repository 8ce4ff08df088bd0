// k3d mode (stack sandbox-k3d): one k3d cluster on the operator's laptop, pinned to the k3s
// image of the version manifest, and Postgres and Gitea as containers on the cluster's
// Docker network (outside k3s, as on prod), their data in named volumes.
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { DockerRuntime, K3dSpec } from "../config";
import { DataHostInfo, GiteaEndpoint, MetalOutputs, NodeInfo, PostgresEndpoint } from "./types";
import { LOCAL_INTERPRETER, readScript } from "./scripts";
import { MINIO_ROOT_USER, POSTGRES_ADMIN_USER, postgresDataPath } from "./render";

/** Where the operator reaches the sandbox's Postgres and Gitea (loopback only; off the usual ports to avoid a local Postgres). */
export const K3D_POSTGRES_PORT = 15432;
export const K3D_GITEA_PORT = 13000;
/** The sandbox's own backup target (MinIO), on the laptop's loopback. */
export const K3D_MINIO_PORT = 19000;

/** The k3s image of a k3s release: `v1.34.3+k3s1` -> `rancher/k3s:v1.34.3-k3s1` (Docker tags have no `+`). */
export function k3sImage(k3sVersion: string): string {
    return `rancher/k3s:${k3sVersion.replace(/\+/g, "-")}`;
}

/**
 * K3D_FIX_DNS per Docker runtime ("" = not set: k3d decides). k3d-io/k3d v5.9.0
 * pkg/types/fixes/fixes.go (PR 1595, re-opening 1584): with K3D_FIX_DNS unset, the DNS fix is
 * on except when `docker info` names the runtime "colima", where it breaks DNS; v5.8.3 turns
 * it on everywhere. An explicit value overrides that detection, so it is set only where the
 * operator names the runtime: on for Docker Desktop (the runtime the fix exists for), off for
 * Colima (any profile, any k3d 5.x).
 */
export const K3D_FIX_DNS: Record<DockerRuntime, string> = {
    "auto": "",
    "docker-desktop": "1",
    "colima": "0",
};

export interface K3dClusterArgs {
    /** The Pulumi stack: labels what the scripts create and names the laptop's state folder. */
    stack: string;
    cluster: K3dSpec;
    /** The k3s release of the version manifest, e.g. v1.34.3+k3s1. */
    k3sVersion: string;
    images: { postgres: string; gitea: string };
    /** The sandbox's own backup target: MinIO as a container beside the cluster; none when absent. */
    minioImage?: string;
    /** NodePorts of the cluster to publish on the laptop's loopback: laptop port -> NodePort. */
    nodePorts?: Record<number, number>;
}

interface ContainerSpec {
    part: string;
    containerName: string;
    image: string;
    volumePath: string;
    publish: string;
    env: string[];
    passwordEnv?: string;
    readyCheck: string;
    /** Arguments after the image (the container's command), space-separated, not secret. */
    args?: string;
}

export class K3dCluster extends pulumi.ComponentResource implements MetalOutputs {
    readonly kubeconfig: pulumi.Output<string>;
    readonly nodes: pulumi.Output<NodeInfo[]>;
    readonly postgres: PostgresEndpoint;
    readonly gitea: GiteaEndpoint;
    readonly dataHost: DataHostInfo;
    /** The k3d cluster command (create/delete). */
    readonly cluster: command.local.Command;

    constructor(name: string, args: K3dClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("lab:metal:K3dCluster", name, {}, opts);
        const c = args.cluster;
        const image = k3sImage(args.k3sVersion);
        const create = readScript("k3d-cluster-create.sh");
        const nodePorts = Object.entries(args.nodePorts ?? {}).map(([laptop, node]) => `${laptop}:${node}`).join(" ");

        // update re-runs the idempotent create; what defines the cluster is in triggers, whose
        // change replaces it, deleting the old one first (the name is fixed).
        this.cluster = new command.local.Command(`${name}-cluster`, {
            interpreter: LOCAL_INTERPRETER,
            create,
            update: create,
            delete: readScript("k3d-cluster-delete.sh"),
            environment: {
                CLUSTER_NAME: c.clusterName,
                K3S_IMAGE: image,
                API_PORT: String(c.apiPort),
                WAIT_TIMEOUT: String(c.waitTimeoutSeconds),
                NODE_PORTS: nodePorts,
                FIX_DNS: K3D_FIX_DNS[c.dockerRuntime],
                INGRESS_PORT: String(c.ingressPort),
            },
            // The DNS fix is set up when k3d creates the nodes: another setting recreates the cluster.
            triggers: [c.clusterName, image, c.apiPort, nodePorts, K3D_FIX_DNS[c.dockerRuntime], c.ingressPort],
        }, { parent: this, deleteBeforeReplace: true });

        const kubeconfigScript = readScript("k3d-kubeconfig.sh");
        const kubeconfigCmd = new command.local.Command(`${name}-kubeconfig`, {
            interpreter: LOCAL_INTERPRETER,
            create: kubeconfigScript,
            update: kubeconfigScript,
            environment: { CLUSTER_NAME: c.clusterName, API_PORT: String(c.apiPort) },
            triggers: [this.cluster.id],
            logging: "none",
            addPreviousOutputInEnv: false,
        }, { parent: this, dependsOn: [this.cluster], additionalSecretOutputs: ["stdout"] });

        // Depends on the cluster's output, so a replaced cluster replaces its containers too.
        const network = this.cluster.id.apply(() => `k3d-${c.clusterName}`);
        const container = (s: ContainerSpec): command.local.Command => {
            const createScript = readScript("k3d-container-create.sh");
            const volumeName = `${s.containerName}-data`;
            const containerEnv = s.env.join("\n");
            return new command.local.Command(`${name}-${s.part}`, {
                interpreter: LOCAL_INTERPRETER,
                create: createScript,
                update: createScript,
                delete: readScript("k3d-container-delete.sh"),
                environment: {
                    STACK: args.stack,
                    CONTAINER_NAME: s.containerName,
                    IMAGE: s.image,
                    NETWORK: network,
                    VOLUME_NAME: volumeName,
                    VOLUME_PATH: s.volumePath,
                    PUBLISH: s.publish,
                    CONTAINER_ENV: containerEnv,
                    PASSWORD_ENV: s.passwordEnv ?? "",
                    READY_CHECK: s.readyCheck,
                    ...(s.args ? { CONTAINER_ARGS: s.args } : {}),
                },
                triggers: [this.cluster.id, s.containerName, s.image, volumeName, s.volumePath, s.publish, containerEnv, s.passwordEnv ?? "", ...(s.args ? [s.args] : [])],
                logging: s.passwordEnv ? "stderr" : "stdoutAndStderr",
                addPreviousOutputInEnv: false,
            }, {
                parent: this,
                dependsOn: [this.cluster],
                deleteBeforeReplace: true,
                additionalSecretOutputs: s.passwordEnv ? ["stdout"] : [],
            });
        };

        const pgName = `k3d-${c.clusterName}-postgres`;
        const pg = container({
            part: "postgres",
            containerName: pgName,
            image: args.images.postgres,
            volumePath: postgresDataPath(args.images.postgres),
            publish: `127.0.0.1:${K3D_POSTGRES_PORT}:5432`,
            env: [`POSTGRES_USER=${POSTGRES_ADMIN_USER}`],
            passwordEnv: "POSTGRES_PASSWORD",
            readyCheck: `pg_isready -U ${POSTGRES_ADMIN_USER} -h 127.0.0.1`,
        });
        const giteaName = `k3d-${c.clusterName}-gitea`;
        const giteaUrl = `http://127.0.0.1:${K3D_GITEA_PORT}`;
        const gitea = container({
            part: "gitea",
            containerName: giteaName,
            image: args.images.gitea,
            volumePath: "/data",
            publish: `127.0.0.1:${K3D_GITEA_PORT}:3000`,
            env: [
                "GITEA__database__DB_TYPE=sqlite3",
                `GITEA__server__ROOT_URL=${giteaUrl}/`,
                "GITEA__server__DISABLE_SSH=true",
                "GITEA__security__INSTALL_LOCK=true",
            ],
            readyCheck: "curl -fsS -o /dev/null http://127.0.0.1:3000/api/healthz",
        });

        // MinIO's image runs `minio` with no subcommand by default (CMD ["minio"] in minio/minio's
        // Dockerfile.release): the server and its data folder are given as arguments.
        const minioName = `k3d-${c.clusterName}-minio`;
        const minio = args.minioImage ? container({
            part: "minio",
            containerName: minioName,
            image: args.minioImage,
            volumePath: "/data",
            publish: `127.0.0.1:${K3D_MINIO_PORT}:9000`,
            env: [`MINIO_ROOT_USER=${MINIO_ROOT_USER}`],
            passwordEnv: "MINIO_ROOT_PASSWORD",
            readyCheck: "",
            args: "server /data",
        }) : undefined;

        this.kubeconfig = pulumi.secret(kubeconfigCmd.stdout.apply((s) => (s ?? "").trim()));
        this.nodes = this.cluster.id.apply(() => [
            { name: `k3d-${c.clusterName}-server-0`, role: "server" as const, address: "127.0.0.1" },
        ]);
        this.postgres = {
            host: pg.id.apply(() => "127.0.0.1"),
            port: pg.id.apply(() => K3D_POSTGRES_PORT),
            clusterHost: pg.id.apply(() => pgName),
            clusterPort: pulumi.output(5432),
            adminUser: pulumi.output(POSTGRES_ADMIN_USER),
            adminPassword: pulumi.secret(pg.stdout.apply((s) => (s ?? "").trim())),
        };
        this.gitea = {
            url: gitea.id.apply(() => giteaUrl),
            clusterUrl: gitea.id.apply(() => `http://${giteaName}:3000`),
            exec: { instance: gitea.id, container: giteaName },
        };
        this.dataHost = {
            postgresContainer: pgName,
            giteaContainer: giteaName,
            ready: [pg, gitea, ...(minio ? [minio] : [])],
            objectStore: minio ? {
                hostEndpoint: `http://127.0.0.1:${K3D_MINIO_PORT}`,
                clusterEndpoint: minio.id.apply(() => `http://${minioName}:9000`),
                accessKeyId: MINIO_ROOT_USER,
                secretAccessKey: pulumi.secret(minio.stdout.apply((s) => (s ?? "").trim())),
            } : undefined,
        };
        this.registerOutputs({
            kubeconfig: this.kubeconfig,
            nodes: this.nodes,
            postgres: this.postgres,
            gitea: this.gitea,
        });
    }
}
