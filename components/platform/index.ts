// The platform layer: the providers built from the metal layer's outputs, and the shared
// Vault backends every app instance lives under.
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import * as postgresql from "@pulumi/postgresql";
import * as vault from "@pulumi/vault";
import { LabConfig } from "../config";
import { MetalOutputs } from "../metal/types";
import { shared } from "../naming";
import { AppBackends } from "../apps/app-instance";

export interface PlatformArgs {
    config: LabConfig;
    metal: MetalOutputs;
}

export class Platform extends pulumi.ComponentResource {
    readonly kubernetesProvider: k8s.Provider;
    readonly postgresqlProvider: postgresql.Provider;
    readonly vaultProvider: vault.Provider;
    readonly kvMount: vault.Mount;
    readonly databaseMount: vault.Mount;
    readonly kubernetesAuth: vault.AuthBackend;
    readonly backends: AppBackends;

    constructor(name: string, args: PlatformArgs, opts?: pulumi.ComponentResourceOptions) {
        super("lab:platform:Platform", name, {}, opts);
        const { config: cfg, metal } = args;
        const protect = cfg.isProd;

        // Providers: explicit, from the metal layer; never the operator's ambient context.
        this.kubernetesProvider = new k8s.Provider(`${name}-kubernetes`, {
            kubeconfig: metal.kubeconfig,
            // Stable identity: new certificates in the kubeconfig update the provider, not replace everything.
            clusterIdentifier: `${cfg.project}-${cfg.stack}`,
            enableServerSideApply: true,
        }, { parent: this });
        this.postgresqlProvider = new postgresql.Provider(`${name}-postgresql`, {
            host: metal.postgres.host,
            port: metal.postgres.port,
            username: metal.postgres.adminUser,
            password: metal.postgres.adminPassword,
            sslmode: "disable",
            superuser: true,
        }, { parent: this });
        this.vaultProvider = new vault.Provider(`${name}-vault`, {
            address: cfg.vaultAddress ?? "http://127.0.0.1:8200",
            skipChildToken: true,
        }, { parent: this });
        const vaultOpts = { parent: this, provider: this.vaultProvider };

        // Shared Vault backends.
        this.kvMount = new vault.Mount(`${name}-kv`, {
            path: shared.kvMount,
            type: "kv",
            options: { version: "2" },
            description: "App secrets, one folder per instance",
        }, { ...vaultOpts, protect });
        this.databaseMount = new vault.Mount(`${name}-database`, {
            path: shared.databaseMount,
            type: "database",
            description: "Dynamic PostgreSQL credentials, one connection and role per instance",
        }, { ...vaultOpts, protect });
        this.kubernetesAuth = new vault.AuthBackend(`${name}-kubernetes-auth`, {
            type: "kubernetes",
            path: shared.kubernetesAuthPath,
        }, vaultOpts);

        this.backends = {
            kubernetesProvider: this.kubernetesProvider,
            postgresqlProvider: this.postgresqlProvider,
            vaultProvider: this.vaultProvider,
            kvMount: this.kvMount,
            databaseMount: this.databaseMount,
            kubernetesAuth: this.kubernetesAuth,
            postgres: {
                clusterHost: metal.postgres.clusterHost,
                clusterPort: metal.postgres.clusterPort,
                adminUser: metal.postgres.adminUser,
                adminPassword: metal.postgres.adminPassword,
            },
            giteaClusterUrl: metal.gitea.clusterUrl,
            giteaOrg: cfg.giteaOrg,
        };
        this.registerOutputs({});
    }
}
