// Pure renderers for the documents the metal layer hands to machines: the cloud-init of
// each multipass VM and the docker compose file of the data host. Exported so that the
// tests can write them out and run the real validators (cloud-init schema,
// docker-compose config) on them.
import * as YAML from "yaml";

/** Replaced by the VM launch script with the operator's SSH public key, read at run time. */
export const SSH_KEY_PLACEHOLDER = "__SSH_PUBLIC_KEY__";

const HOSTNAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export interface CloudInitOptions {
    /** The VM's hostname (the lab's host name, e.g. pi1). */
    hostname: string;
    /** The data host also gets Docker and the compose plugin for Postgres and Gitea. */
    dataHost: boolean;
    /** The authorized key line; defaults to the placeholder the launch script substitutes. */
    sshAuthorizedKey?: string;
}

/** Packages every VM gets: the Longhorn prerequisites. */
export const LONGHORN_PACKAGES = ["open-iscsi", "nfs-common"];
/** Packages the data host gets on top (Ubuntu 24.04 names). (rclone, for the backups, is installed by the backup job's installer, as on prod.) */
export const DATA_HOST_PACKAGES = ["docker.io", "docker-compose-v2"];

/**
 * The cloud-config of one sandbox VM: the operator's SSH key for the default user (ubuntu),
 * the Longhorn prerequisites (open-iscsi with iscsid enabled and running, the iscsi_tcp
 * module loaded at boot, nfs-common), and Docker with compose on the data host.
 */
export function renderCloudInit(o: CloudInitOptions): string {
    if (!HOSTNAME.test(o.hostname) || o.hostname.length > 63) {
        throw new Error(`renderCloudInit: hostname ${JSON.stringify(o.hostname)} is not a DNS label`);
    }
    const key = o.sshAuthorizedKey ?? SSH_KEY_PLACEHOLDER;
    if (/[\r\n]/.test(key)) throw new Error("renderCloudInit: the SSH key must be one line");
    const runcmd: string[][] = [
        ["modprobe", "iscsi_tcp"],
        ["systemctl", "enable", "--now", "iscsid"],
    ];
    if (o.dataHost) runcmd.push(["systemctl", "enable", "--now", "docker"]);
    const doc = {
        hostname: o.hostname,
        ssh_authorized_keys: [key],
        package_update: true,
        packages: [...LONGHORN_PACKAGES, ...(o.dataHost ? DATA_HOST_PACKAGES : [])],
        write_files: [
            {
                path: "/etc/modules-load.d/iscsi_tcp.conf",
                content: "iscsi_tcp\n",
                permissions: "0644",
            },
        ],
        runcmd,
    };
    return `#cloud-config\n# Rendered by the homelab Pulumi program for ${o.hostname}.\n${YAML.stringify(doc)}`;
}

export interface ComposeOptions {
    postgresImage: string;
    giteaImage: string;
    /** Gitea's public URL (ROOT_URL), e.g. http://192.168.1.202:3000/ */
    giteaRootUrl: string;
    postgresPort?: number;
    giteaHttpPort?: number;
    giteaSshPort?: number;
    /** A sandbox's own S3-compatible backup target (MinIO); prod has none (it backs up to GCS). */
    minioImage?: string;
    minioPort?: number;
}

export const COMPOSE_DEFAULTS = { postgresPort: 5432, giteaHttpPort: 3000, giteaSshPort: 2222, minioPort: 9000 } as const;
export const POSTGRES_ADMIN_USER = "postgres";
/** Named volumes of the data host (fixed names, independent of the compose project). */
export const DATA_VOLUMES = { postgres: "homelab-postgres-data", gitea: "homelab-gitea-data", minio: "homelab-minio-data" } as const;
/** MinIO's root user on a sandbox (its password is generated on the host, never in the program). */
export const MINIO_ROOT_USER = "homelab-backup";
/** Where data-compose.sh keeps the compose file and its env files on the data host (its DATA_DIR default). */
export const DATA_HOST_DIR = "/opt/homelab/data";
/** The compose project of the data host (data-compose.sh's default) and its services. */
export const DATA_COMPOSE_PROJECT = "homelab-data";

/** Where the official postgres image keeps its data: /var/lib/postgresql/data up to 17, /var/lib/postgresql from 18. */
export function postgresDataPath(image: string): string {
    const tag = image.slice(image.lastIndexOf(":") + 1);
    const major = Number(/^(\d+)/.exec(tag)?.[1] ?? "0");
    return major >= 18 ? "/var/lib/postgresql" : "/var/lib/postgresql/data";
}

/**
 * The compose file of the data host: Postgres (admin password from postgres.env beside the
 * file, generated on the host) and Gitea (SQLite in its volume, install wizard locked), both
 * with their data in named volumes.
 */
export function renderCompose(o: ComposeOptions): string {
    const p = { ...COMPOSE_DEFAULTS, ...stripUndefined(o) };
    let root: URL;
    try {
        root = new URL(o.giteaRootUrl);
    } catch {
        throw new Error(`renderCompose: giteaRootUrl ${JSON.stringify(o.giteaRootUrl)} is not a URL`);
    }
    const services: Record<string, unknown> = {
            postgres: {
                image: o.postgresImage,
                restart: "unless-stopped",
                env_file: ["postgres.env"],
                environment: { POSTGRES_USER: POSTGRES_ADMIN_USER },
                ports: [port(p.postgresPort, 5432)],
                volumes: [`postgres-data:${postgresDataPath(o.postgresImage)}`],
                healthcheck: {
                    test: ["CMD", "pg_isready", "-U", POSTGRES_ADMIN_USER],
                    interval: "10s",
                    timeout: "5s",
                    retries: 6,
                },
            },
            gitea: {
                image: o.giteaImage,
                restart: "unless-stopped",
                environment: {
                    USER_UID: "1000",
                    USER_GID: "1000",
                    GITEA__database__DB_TYPE: "sqlite3",
                    GITEA__server__ROOT_URL: root.toString(),
                    GITEA__server__SSH_PORT: String(p.giteaSshPort),
                    GITEA__security__INSTALL_LOCK: "true",
                },
                ports: [port(p.giteaHttpPort, 3000), port(p.giteaSshPort, 22)],
                volumes: ["gitea-data:/data"],
            },
    };
    const volumes: Record<string, unknown> = {
        "postgres-data": { name: DATA_VOLUMES.postgres },
        "gitea-data": { name: DATA_VOLUMES.gitea },
    };
    if (o.minioImage) {
        // The root password comes from minio.env beside the file, generated on the host by data-compose.sh.
        services.minio = {
            image: o.minioImage,
            restart: "unless-stopped",
            command: ["server", "/data"],
            env_file: ["minio.env"],
            environment: { MINIO_ROOT_USER },
            ports: [port(p.minioPort, 9000)],
            volumes: ["minio-data:/data"],
        };
        volumes["minio-data"] = { name: DATA_VOLUMES.minio };
    }
    const doc = { services, volumes };
    return `# Postgres and Gitea on the data host, outside k3s.\n# Rendered by the homelab Pulumi program: edits on the host are overwritten.\n${YAML.stringify(doc)}`;
}

/**
 * A port mapping, double-quoted: YAML 1.1 parsers (docker-compose v1 uses PyYAML) read an
 * unquoted 2222:22 as the base-60 integer 133342.
 */
function port(published: number, target: number): YAML.Scalar<string> {
    const s = new YAML.Scalar(`${published}:${target}`);
    s.type = "QUOTE_DOUBLE";
    return s;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
    return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
