// The platform layer: explicit providers from the metal layer's outputs, the Helm releases
// (Longhorn, Vault, Vault Secrets Operator, Argo CD), Vault brought up and configured.
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import * as postgresql from "@pulumi/postgresql";
import * as vault from "@pulumi/vault";
import { ChartKey, LabConfig } from "../config";
import { MetalOutputs, VAULT_NODE_PORT } from "../metal/types";
import { shared } from "../naming";
import { AppBackends } from "../apps/app-instance";
import { BackupTarget } from "../edge/backups";
import {
    argoCdValues, BACKUP_CREDENTIALS_SECRET, hasLonghorn, K3S_LOCAL_PATH_STORAGE_CLASS, longhornValues,
    VAULT_CLUSTER_ADDRESS, vaultMode, vaultValues, vsoValues,
} from "./releases";
import { VaultBootstrap } from "./vault-bootstrap";
import { VaultConfig } from "./vault-config";
import { PostgresAccess } from "./postgres-access";

export interface PlatformArgs {
    config: LabConfig;
    metal: MetalOutputs;
    /** Where Longhorn backs up to (prod's bucket, or a sandbox's own); none when absent. */
    backupTarget?: BackupTarget;
}

/** Charts whose releases hold state: protected on prod. */
const STATEFUL_CHARTS: ChartKey[] = ["longhorn", "vault"];

export class Platform extends pulumi.ComponentResource {
    readonly kubernetesProvider: k8s.Provider;
    readonly postgresqlProvider: postgresql.Provider;
    readonly vaultProvider: vault.Provider;
    readonly releases: Partial<Record<ChartKey, k8s.helm.v3.Release>> = {};
    readonly vaultConfig: VaultConfig;
    readonly backends: AppBackends;

    constructor(name: string, args: PlatformArgs, opts?: pulumi.ComponentResourceOptions) {
        super("lab:platform:Platform", name, {}, opts);
        const { config: cfg, metal } = args;

        // Providers: explicit, from the metal layer; never the operator's ambient kube context.
        this.kubernetesProvider = new k8s.Provider(`${name}-kubernetes-provider`, {
            kubeconfig: metal.kubeconfig,
            // Stable identity: new certificates in the kubeconfig update the provider instead of
            // replacing it (and everything under it).
            clusterIdentifier: `${cfg.project}-${cfg.stack}`,
            enableServerSideApply: true,
        }, { parent: this });
        this.postgresqlProvider = new postgresql.Provider(`${name}-postgresql-provider`, {
            host: metal.postgres.host,
            port: metal.postgres.port,
            username: metal.postgres.adminUser,
            password: metal.postgres.adminPassword,
            sslmode: "disable",
            superuser: true,
        }, { parent: this });
        const k8sOpts = { parent: this, provider: this.kubernetesProvider };
        // Vault's own (non-superuser) login and the shared databases closed to instance credentials.
        const postgresAccess = new PostgresAccess(`${name}-postgres-access`, { provider: this.postgresqlProvider }, { parent: this });

        const release = (key: ChartKey, namespace: string, values: pulumi.Input<Record<string, unknown>>,
            extra: pulumi.CustomResourceOptions = {}) => {
            const chart = cfg.versions.charts[key];
            const releaseName = shared.releases[key];
            const r = new k8s.helm.v3.Release(`${name}-${releaseName}`, {
                name: releaseName,
                chart: chart.chart,
                version: chart.version,
                repositoryOpts: { repo: chart.repo },
                namespace,
                createNamespace: true,
                atomic: false,
                timeout: 900,
                values,
            }, { ...k8sOpts, protect: cfg.isProd && STATEFUL_CHARTS.includes(key), ...extra });
            this.releases[key] = r;
            return r;
        };

        // Storage: Longhorn (not on k3d), and exactly one default StorageClass.
        let longhorn: k8s.helm.v3.Release | undefined;
        if (hasLonghorn(cfg)) {
            const deps: pulumi.Resource[] = [];
            if (args.backupTarget) {
                deps.push(new k8s.core.v1.Secret(`${name}-longhorn-backup-credentials`, {
                    metadata: { name: BACKUP_CREDENTIALS_SECRET, namespace: shared.longhornNamespace },
                    stringData: args.backupTarget.credentials,
                }, k8sOpts));
            }
            longhorn = release("longhorn", shared.longhornNamespace,
                longhornValues(args.backupTarget?.url), { dependsOn: deps });
            // k3s makes local-path the default; with Longhorn there, it must not stay one.
            new k8s.storage.v1.StorageClassPatch(`${name}-local-path-not-default`, {
                metadata: {
                    name: K3S_LOCAL_PATH_STORAGE_CLASS,
                    annotations: { "storageclass.kubernetes.io/is-default-class": "false" },
                },
            }, { ...k8sOpts, dependsOn: [longhorn] });
        }

        // Vault: dev mode on k3d, standalone (init + unseal automated) on the VMs, existing on prod.
        const mode = vaultMode(cfg);
        let vaultAddress: pulumi.Input<string>;
        let vaultToken: pulumi.Input<string> | undefined;
        let vaultReady: pulumi.Resource[] = [];
        let vaultClusterAddress: string;
        if (mode === "external") {
            vaultAddress = cfg.vaultAddress!;
            vaultClusterAddress = cfg.vaultAddress!;
            vaultToken = undefined; // VAULT_TOKEN from the operator's environment
        } else {
            const bootstrap = new VaultBootstrap(`${name}-vault-bootstrap`, {
                mode,
                kubeconfig: metal.kubeconfig,
                namespace: shared.vaultNamespace,
                releaseName: shared.releases.vault,
                install: (devRootToken) => {
                    const values = vaultValues(mode, cfg) as { server: Record<string, any> };
                    if (devRootToken) values.server.dev.devRootToken = devRootToken;
                    // standalone Vault keeps its data on a Longhorn volume: Longhorn first
                    return release("vault", shared.vaultNamespace, values, { dependsOn: longhorn ? [longhorn] : [] });
                },
            }, { parent: this });
            vaultToken = bootstrap.rootToken;
            vaultReady = [bootstrap.ready];
            vaultClusterAddress = VAULT_CLUSTER_ADDRESS;
            vaultAddress = cfg.vaultAddress ?? (cfg.mode === "k3d"
                ? `http://127.0.0.1:${cfg.k3d!.vaultPort}`
                : metal.nodes.apply((nodes) => {
                    const server = nodes.find((n) => n.role === "server");
                    return `http://${server ? server.address : "unknown-server"}:${VAULT_NODE_PORT}`;
                }));
        }
        this.vaultProvider = new vault.Provider(`${name}-vault-provider`, {
            address: vaultAddress,
            token: vaultToken,
            skipChildToken: true,
        }, { parent: this, dependsOn: vaultReady });

        // Vault Secrets Operator and its default connection to the stack's Vault.
        const vso = release("vaultSecretsOperator", shared.vsoNamespace, vsoValues());
        const vaultConnection = new k8s.apiextensions.CustomResource(`${name}-vault-connection`, {
            apiVersion: "secrets.hashicorp.com/v1beta1",
            kind: "VaultConnection",
            metadata: { name: shared.vaultConnection, namespace: shared.vsoNamespace },
            spec: { address: vaultClusterAddress, skipTLSVerify: false },
        }, { ...k8sOpts, dependsOn: [vso] });

        // Argo CD with its CRDs, and the project the per-app Applications belong to.
        const argocd = release("argoCd", shared.argoCdNamespace, argoCdValues());
        const project = new k8s.apiextensions.CustomResource(`${name}-apps-project`, {
            apiVersion: "argoproj.io/v1alpha1",
            kind: "AppProject",
            metadata: { name: shared.argoProject, namespace: shared.argoCdNamespace },
            spec: {
                description: "The lab's applications, one Application per (app, env)",
                sourceRepos: [pulumi.interpolate`${metal.gitea.clusterUrl}/${cfg.giteaOrg}/*`],
                destinations: [{ server: "https://kubernetes.default.svc", namespace: "*" }],
                clusterResourceWhitelist: [],
                namespaceResourceBlacklist: [{ group: "", kind: "ResourceQuota" }, { group: "", kind: "LimitRange" }],
            },
        }, { ...k8sOpts, dependsOn: [argocd] });

        // Vault's own configuration, once Vault is up.
        this.vaultConfig = new VaultConfig(`${name}-vault-config`, {
            config: cfg,
            provider: this.vaultProvider,
            ready: vaultReady,
            giteaUrl: metal.gitea.clusterUrl,
        }, { parent: this });

        this.backends = {
            kubernetesProvider: this.kubernetesProvider,
            postgresqlProvider: this.postgresqlProvider,
            vaultProvider: this.vaultProvider,
            kvMount: this.vaultConfig.kvMount,
            databaseMount: this.vaultConfig.databaseMount,
            kubernetesAuth: this.vaultConfig.kubernetesAuth,
            postgres: {
                clusterHost: metal.postgres.clusterHost,
                clusterPort: metal.postgres.clusterPort,
                vaultUser: postgresAccess.vaultUser,
                vaultPassword: postgresAccess.vaultPassword,
                vaultRole: postgresAccess.vaultRole,
            },
            giteaClusterUrl: metal.gitea.clusterUrl,
            giteaOrg: cfg.giteaOrg,
            vsoReady: [vso, vaultConnection],
            argoCdReady: [argocd, project],
        };
        this.registerOutputs({ vaultAddress });
    }
}
