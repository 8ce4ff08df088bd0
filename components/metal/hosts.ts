// hosts mode (prod, and sandbox-vms once its VMs exist: one code path for both): over SSH,
// install or verify k3s at the pinned version (server first, then the agents in parallel
// with the join token; one agent at a time when an upgrade is requested, see k3sUpgrade), read the kubeconfig back with the server address rewritten, and run
// Postgres and Gitea with docker compose on the data host.
//
// SSH: no private key in the configuration. The command provider authenticates with the
// operator's ssh-agent (SSH_AUTH_SOCK), and trusts only the host key each host is given.
// Scripts run as root through `sudo -n` when the SSH user is not root.
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { Role } from "../config";
import { DataHostInfo, GiteaEndpoint, MetalOutputs, NodeInfo, PostgresEndpoint } from "./types";
import { remoteScriptCommand } from "./scripts";
import { requireHostKey } from "../guard/ssh";
import { COMPOSE_DEFAULTS, DATA_COMPOSE_PROJECT, DATA_HOST_DIR, DATA_VOLUMES, MINIO_ROOT_USER, POSTGRES_ADMIN_USER, renderCompose } from "./render";

export interface HostTarget {
    name: string;
    role: Role;
    /** The address the operator's machine reaches over SSH (an Output for VMs). */
    address: pulumi.Input<string>;
    /**
     * The host's SSH public host key (`<type> <base64> [comment]`): prod's from Pulumi.prod.yaml,
     * a VM's from its launch. The command provider (pulumi/pulumi-command v1.2.1,
     * provider/pkg/provider/remote/connection.go) then accepts only this key
     * (ssh.FixedHostKey); without one it would accept any (ssh.InsecureIgnoreHostKey).
     */
    hostKey: pulumi.Input<string>;
}

/**
 * The packaged k3s components the server of a hosts-mode or multipass stack does not deploy.
 * Those stacks run Longhorn (platform's hasLonghorn), so k3s's local-path must not be a
 * (second) default StorageClass; k3s re-writes its packaged manifests at every start (k3s-io/k3s
 * pkg/deploy/stage.go), so only --disable=local-storage lasts, not a patch of the StorageClass.
 * Applied on a fresh install; a running server that differs is reported, never restarted
 * (k3s-install.sh).
 */
export const K3S_DISABLE_WITH_LONGHORN = ["local-storage"] as const;

/** Stands for the compose project's instance where the data host's services exist already. */
const EXISTING_DATA_INSTANCE = "existing";

export interface K3sHostsArgs {
    hosts: HostTarget[];
    /** The host (by name) that runs Postgres and Gitea in docker compose. */
    dataHost: string;
    sshUser: string;
    /** The k3s release of the version manifest, e.g. v1.34.3+k3s1. */
    k3sVersion: string;
    images: { postgres: string; gitea: string };
    /** A sandbox's MinIO image (its own backup target in the compose project); prod: none. */
    minioImage?: string;
    /** A fixed join token (secret); otherwise the server's own token is read back. */
    k3sToken?: pulumi.Input<string>;
    /** Packaged k3s components the server does not deploy (default K3S_DISABLE_WITH_LONGHORN). */
    k3sDisable?: readonly string[];
    /**
     * The data host's Postgres and Gitea already run there, in a compose project that is not the
     * program's (prod): used where they are, never composed. The Postgres admin password comes from
     * config (secret) or, absent, from the postgresql provider's PGPASSWORD.
     */
    existingData?: { postgresAdminPassword?: pulumi.Input<string> };
    /** The data host's compose project, where it is not the program's own. */
    composeProject?: string;
    /**
     * The version a host at another k3s version may be upgraded to (components/config/ decides: prod only
     * with homelab:k3sUpgradeTo, a sandbox always); it must be k3sVersion. Absent: such a host is
     * refused, untouched. Present: the commands carry K3S_UPGRADE (so the preview shows an
     * update), the agents run one at a time after the server, each with the admin kubeconfig on
     * stdin to cordon and drain itself.
     */
    k3sUpgrade?: string;
}

export class K3sHosts extends pulumi.ComponentResource implements MetalOutputs {
    readonly kubeconfig: pulumi.Output<string>;
    readonly nodes: pulumi.Output<NodeInfo[]>;
    readonly postgres: PostgresEndpoint;
    readonly gitea: GiteaEndpoint;
    readonly dataHost: DataHostInfo;
    /** The k3s install of the server, and of each agent by host name. */
    readonly server: command.remote.Command;
    readonly agents: Record<string, command.remote.Command>;
    /** The compose command, unless the data host's services exist already (prod). */
    readonly data?: command.remote.Command;

    constructor(name: string, args: K3sHostsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("lab:metal:K3sHosts", name, {}, opts);
        const servers = args.hosts.filter((h) => h.role === "server");
        if (servers.length !== 1) {
            throw new Error(`K3sHosts ${name}: expected exactly one host with role server, got ${servers.map((h) => h.name).join(", ") || "none"}`);
        }
        const server = servers[0];
        const dataHost = args.hosts.find((h) => h.name === args.dataHost);
        if (!dataHost) {
            throw new Error(`K3sHosts ${name}: dataHost ${JSON.stringify(args.dataHost)} is not one of the hosts (${args.hosts.map((h) => h.name).join(", ")})`);
        }
        if (args.k3sUpgrade !== undefined && args.k3sUpgrade !== args.k3sVersion) {
            throw new Error(`K3sHosts ${name}: k3sUpgrade ${args.k3sUpgrade} is not the pinned k3s version ${args.k3sVersion}`);
        }
        const upgrade: Record<string, string> = args.k3sUpgrade !== undefined ? { K3S_UPGRADE: args.k3sUpgrade } : {};
        const sudo = args.sshUser !== "root";
        const connection = (h: HostTarget): command.types.input.remote.ConnectionArgs => ({
            host: h.address,
            user: args.sshUser,
            hostKey: requireHostKey(`${name}-${h.name}`, h.hostKey),
        });
        // The host a command runs on, in plain sight: connection is a secret input (it may carry
        // credentials), so plans and previews show it redacted. A new host (or a VM launched
        // anew) replaces the command, as a changed connection does anyway.
        const target = (h: HostTarget): pulumi.Input<unknown[]> => [h.name, h.address];
        const token = args.k3sToken === undefined
            ? undefined
            : pulumi.secret(pulumi.output(args.k3sToken).apply((t) => `${t}\n`));

        // Every remote command: update re-runs the idempotent create (a host at the pinned
        // version is left untouched); no delete (destroying the stack never uninstalls k3s
        // or stops Postgres on a host).
        const serverCmd = remoteScriptCommand("k3s-install.sh", {
            K3S_VERSION: args.k3sVersion,
            K3S_ROLE: "server",
            NODE_NAME: server.name,
            NODE_IP: server.address,
            K3S_PRINT_TOKEN: "1",
            K3S_TOKEN_STDIN: token ? "1" : "0",
            K3S_DISABLE: (args.k3sDisable ?? K3S_DISABLE_WITH_LONGHORN).join(" "),
            ...upgrade,
        }, { sudo });
        // stdout is the node token: secret, not logged (progress is on stderr).
        this.server = new command.remote.Command(`${name}-k3s-${server.name}`, {
            connection: connection(server),
            triggers: target(server),
            create: serverCmd,
            update: serverCmd,
            stdin: token,
            logging: "stderr",
            addPreviousOutputInEnv: false,
        }, { parent: this, additionalSecretOutputs: ["stdout"] });

        const kubeconfigCmd = remoteScriptCommand("k3s-kubeconfig.sh", {
            SERVER_ADDRESS: server.address,
            NODE_NAME: server.name,
        }, { sudo });
        const kubeconfig = new command.remote.Command(`${name}-kubeconfig`, {
            connection: connection(server),
            triggers: target(server),
            create: kubeconfigCmd,
            update: kubeconfigCmd,
            logging: "none",
            addPreviousOutputInEnv: false,
        }, { parent: this, dependsOn: [this.server], additionalSecretOutputs: ["stdout"] });

        // Agents: the token goes through stdin. Without an upgrade requested, in parallel, each
        // depending on the server only. With one: one at a time after the server (k3s docs,
        // docs.k3s.io/upgrades/manual: servers first, then agents), each with the admin
        // kubeconfig after the token on stdin, to cordon, drain and uncordon its own node.
        const joinToken = token ?? pulumi.secret(this.server.stdout.apply((s) => `${(s ?? "").trim()}\n`));
        const agentStdin = args.k3sUpgrade === undefined
            ? joinToken
            : pulumi.secret(pulumi.all([joinToken, kubeconfig.stdout]).apply(([t, k]) => `${t}${(k ?? "").trim()}\n`));
        this.agents = {};
        let previous: command.remote.Command | undefined;
        for (const agent of args.hosts.filter((h) => h.role === "agent")) {
            const agentCmd = remoteScriptCommand("k3s-install.sh", {
                K3S_VERSION: args.k3sVersion,
                K3S_ROLE: "agent",
                NODE_NAME: agent.name,
                NODE_IP: agent.address,
                K3S_SERVER_URL: pulumi.interpolate`https://${server.address}:6443`,
                K3S_TOKEN_STDIN: "1",
                ...(args.k3sUpgrade !== undefined ? { ...upgrade, K3S_KUBECONFIG_STDIN: "1" } : {}),
            }, { sudo });
            this.agents[agent.name] = new command.remote.Command(`${name}-k3s-${agent.name}`, {
                connection: connection(agent),
                triggers: target(agent),
                create: agentCmd,
                update: agentCmd,
                stdin: agentStdin,
                addPreviousOutputInEnv: false,
            }, {
                parent: this,
                dependsOn: args.k3sUpgrade === undefined ? [this.server] : [this.server, kubeconfig, ...(previous ? [previous] : [])],
            });
            if (args.k3sUpgrade !== undefined) previous = this.agents[agent.name];
        }

        // The data host: Postgres and Gitea in docker compose, beside (not inside) k3s; or, where
        // they already run (prod), used as they are: no compose command touches them.
        const dataAddress = pulumi.output(dataHost.address);
        if (!args.existingData) {
            const dataCmd = remoteScriptCommand("data-compose.sh", {
                NODE_NAME: dataHost.name,
                SERVICE_PORTS: [COMPOSE_DEFAULTS.postgresPort, COMPOSE_DEFAULTS.giteaHttpPort, COMPOSE_DEFAULTS.giteaSshPort,
                    ...(args.minioImage ? [COMPOSE_DEFAULTS.minioPort] : [])].join(" "),
            }, { sudo });
            this.data = new command.remote.Command(`${name}-data`, {
                connection: connection(dataHost),
                triggers: target(dataHost),
                create: dataCmd,
                update: dataCmd,
                stdin: dataAddress.apply((a) => renderCompose({
                    postgresImage: args.images.postgres,
                    giteaImage: args.images.gitea,
                    giteaRootUrl: `http://${a}:${COMPOSE_DEFAULTS.giteaHttpPort}/`,
                    minioImage: args.minioImage,
                })),
                logging: "stderr",
                addPreviousOutputInEnv: false,
            }, { parent: this, additionalSecretOutputs: ["stdout"] });
        }
        const data = this.data;

        this.kubeconfig = pulumi.secret(kubeconfig.stdout.apply((s) => (s ?? "").trim()));
        this.nodes = pulumi.all(args.hosts.map((h) =>
            pulumi.output(h.address).apply((address): NodeInfo => ({ name: h.name, role: h.role, address }))));
        const ready = <T>(v: pulumi.Input<T>) => (data ? pulumi.all([data.id, v]).apply(([, x]) => x as T) : pulumi.output(v) as pulumi.Output<T>);
        this.postgres = {
            host: ready(dataAddress),
            port: ready(COMPOSE_DEFAULTS.postgresPort as number),
            clusterHost: ready(dataAddress),
            clusterPort: ready(COMPOSE_DEFAULTS.postgresPort as number),
            adminUser: pulumi.output(POSTGRES_ADMIN_USER),
            adminPassword: pulumi.secret(data
                ? data.stdout.apply((s) => (s ?? "").trim())
                : pulumi.output(args.existingData?.postgresAdminPassword ?? "")),
        };
        const giteaUrl = ready(pulumi.interpolate`http://${dataAddress}:${COMPOSE_DEFAULTS.giteaHttpPort}`);
        this.gitea = { url: giteaUrl, clusterUrl: giteaUrl, exec: { instance: data ? data.id : pulumi.output(EXISTING_DATA_INSTANCE), volume: DATA_VOLUMES.gitea, ssh: { host: dataAddress, user: args.sshUser, hostKey: dataHost.hostKey } } };
        this.dataHost = {
            ssh: { host: dataAddress, user: args.sshUser, sudo, name: dataHost.name, hostKey: dataHost.hostKey },
            composeProject: args.composeProject ?? DATA_COMPOSE_PROJECT,
            postgresContainer: "postgres",
            giteaContainer: "gitea",
            ready: data ? [data] : [],
            objectStore: args.minioImage ? {
                hostEndpoint: `http://127.0.0.1:${COMPOSE_DEFAULTS.minioPort}`,
                clusterEndpoint: pulumi.interpolate`http://${dataAddress}:${COMPOSE_DEFAULTS.minioPort}`,
                accessKeyId: MINIO_ROOT_USER,
                passwordEnvFile: `${DATA_HOST_DIR}/minio.env`,
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
