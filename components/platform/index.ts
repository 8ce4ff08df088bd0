// The platform layer: explicit providers from the metal layer's outputs, the Helm releases
// (Longhorn, Vault, Vault Secrets Operator, Argo CD), Vault brought up and configured.
import * as pulumi from "@pulumi/pulumi";
import { kubeconfigProblem, requireCredential } from "../guard/credentials";
import * as k8s from "@pulumi/kubernetes";
import * as postgresql from "@pulumi/postgresql";
import * as vault from "@pulumi/vault";
import * as YAML from "yaml";
import { ChartKey, LabConfig } from "../config";
import { ARGOCD_NODE_PORT, MetalOutputs, serverAddress, VAULT_NODE_PORT } from "../metal/types";
import { shared } from "../naming";
import { AppBackends } from "../apps/app-instance";
import { BackupTarget } from "../edge/backups";
import { longhornRecurringJobs } from "../backup";
import {
    argoCdValues, BACKUP_CREDENTIALS_SECRET, hasLonghorn, longhornValues,
    releaseLocation, vaultLocation, vaultMode, vaultValues, vsoValues,
} from "./releases";
import { adopt, importIds } from "../adoption";
import { Baseline, KUBE_METADATA_IGNORED } from "../baseline";
import { migrationOn } from "../migrations";
import { VaultBootstrap } from "./vault-bootstrap";
import { OutsideClusterAuth, VaultConfig } from "./vault-config";
import { PostgresAccess } from "./postgres-access";

export interface PlatformArgs {
    config: LabConfig;
    metal: MetalOutputs;
    /** Where Longhorn backs up to (prod's bucket, or a sandbox's own); none when absent. */
    backupTarget?: BackupTarget;
    /** Guard layer 3: the Vault provider's address passes through this check of Vault's identity. */
    guardVault?: (address: pulumi.Input<string>, token: pulumi.Input<string> | undefined, ready: pulumi.Resource[]) => pulumi.Output<string>;
    /** Prod: what exists, as discovered (facts/prod.json); the adoption baseline registers it as it is. */
    baseline?: Baseline;
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
    /** The operator's URL of the stack's Vault. */
    readonly vaultAddress: pulumi.Output<string>;
    /** Secret: the root token of a sandbox's own Vault; prod's comes from the operator's VAULT_TOKEN. */
    readonly vaultRootToken?: pulumi.Output<string>;
    /** The operator's URL of Argo CD. */
    readonly argoCdUrl: pulumi.Output<string>;

    constructor(name: string, args: PlatformArgs, opts?: pulumi.ComponentResourceOptions) {
        super("lab:platform:Platform", name, {}, opts);
        const { config: cfg, metal } = args;

        // Providers: explicit, from the metal layer; never the operator's ambient kube context.
        // A sandbox's providers fail closed (components/guard/credentials.ts): no empty credential,
        // no setting left to the environment.
        const own = <T extends string | undefined>(provider: string, key: string, v: pulumi.Input<T>, check?: (x: string | undefined) => string | undefined) =>
            (cfg.isProd ? pulumi.output(v) : requireCredential(provider, key, v, check));
        this.kubernetesProvider = new k8s.Provider(`${name}-kubernetes-provider`, {
            kubeconfig: own("kubernetes", "kubeconfig", metal.kubeconfig, kubeconfigProblem),
            // Stable identity: new certificates in the kubeconfig update the provider instead of
            // replacing it (and everything under it).
            clusterIdentifier: `${cfg.project}-${cfg.stack}`,
            enableServerSideApply: true,
            // A sandbox whose cluster is already gone (VMs deleted, k3d cluster removed) can still be
            // destroyed: its Kubernetes objects leave the state. Never on prod, whose unreachable
            // API server means an outage, not objects that are gone.
            deleteUnreachable: !cfg.isProd,
        }, { parent: this });
        this.postgresqlProvider = new postgresql.Provider(`${name}-postgresql-provider`, {
            host: metal.postgres.host,
            port: metal.postgres.port,
            username: metal.postgres.adminUser,
            // prod: empty where an existing data host's password is not in config: the provider's
            // PGPASSWORD. A sandbox: its own, never empty.
            password: cfg.isProd ? metal.postgres.adminPassword.apply((p) => p || undefined) : own("postgresql", "password", metal.postgres.adminPassword),
            sslmode: "disable",
            superuser: true,
            // PGDATABASE would be read otherwise (cyrilgdn/terraform-provider-postgresql postgresql/provider.go)
            ...(cfg.isProd ? {} : { database: "postgres" }),
        }, { parent: this });
        const k8sOpts = { parent: this, provider: this.kubernetesProvider };
        // Prod changes only through migrations (components/migrations.ts); a sandbox runs them all.
        const on = (m: Parameters<typeof migrationOn>[1]) => migrationOn(cfg, m);
        const baseline = cfg.isProd ? args.baseline : undefined;
        // Vault's own (non-superuser) login and the shared databases closed to instance credentials:
        // the database contract (on prod, its migration).
        const postgresAccess = on("database-contract")
            ? new PostgresAccess(`${name}-postgres-access`, { provider: this.postgresqlProvider }, { parent: this })
            : undefined;

        // A release prod already has is imported where it is; every prod release is kept on delete.
        const release = (key: ChartKey, values: pulumi.Input<Record<string, unknown>>,
            extra: pulumi.CustomResourceOptions = {}, createNamespace = true) => {
            const chart = cfg.versions.charts[key];
            const { namespace, name: releaseName } = releaseLocation(cfg, key);
            const existing = cfg.existing?.releases[key] !== undefined;
            // The adoption baseline: prod's release exactly as Helm's release Secret has it (chart,
            // version, user-supplied values), until the helm-releases migration.
            if (existing && baseline && !on("helm-releases")) {
                const r = new k8s.helm.v3.Release(`${name}-${shared.releases[key]}`,
                    baseline.releaseInputs(namespace, releaseName, chart.repo) as unknown as k8s.helm.v3.ReleaseArgs, {
                        ...k8sOpts, protect: cfg.isProd && STATEFUL_CHARTS.includes(key), ...extra,
                        ...adopt(cfg, { exists: true, id: importIds.namespacedObject(namespace, releaseName), stateful: true }),
                    });
                this.releases[key] = r;
                return r;
            }
            const r = new k8s.helm.v3.Release(`${name}-${shared.releases[key]}`, {
                name: releaseName,
                chart: chart.chart,
                version: chart.version,
                repositoryOpts: { repo: chart.repo },
                namespace,
                createNamespace,
                atomic: false,
                timeout: 900,
                values,
            }, {
                ...k8sOpts, protect: cfg.isProd && STATEFUL_CHARTS.includes(key), ...extra,
                ...adopt(cfg, { exists: existing, id: importIds.namespacedObject(namespace, releaseName), stateful: true }),
            });
            this.releases[key] = r;
            return r;
        };

        // Storage: Longhorn (not on k3d), and exactly one default StorageClass.
        let longhorn: k8s.helm.v3.Release | undefined;
        if (hasLonghorn(cfg)) {
            // The namespace is a resource of its own, so that the backup Secret can be created in it
            // before the release (Helm's createNamespace would come too late for the Secret).
            const where = releaseLocation(cfg, "longhorn");
            const namespace = new k8s.core.v1.Namespace(`${name}-longhorn-namespace`, {
                metadata: { name: where.namespace },
            }, {
                ...k8sOpts, protect: cfg.isProd,
                // what the program does not set stays as prod has it (see components/baseline.ts)
                ...(cfg.isProd ? { ignoreChanges: [...KUBE_METADATA_IGNORED, "spec"] } : {}),
                ...adopt(cfg, { exists: cfg.existing?.releases.longhorn !== undefined, id: importIds.clusterObject(where.namespace), stateful: true }),
            });
            const deps: pulumi.Resource[] = [namespace];
            if (args.backupTarget) {
                deps.push(new k8s.core.v1.Secret(`${name}-longhorn-backup-credentials`, {
                    metadata: { name: BACKUP_CREDENTIALS_SECRET, namespace: namespace.metadata.name },
                    stringData: args.backupTarget.credentials,
                }, k8sOpts));
            }
            const values = longhornValues(args.backupTarget?.url, !cfg.isProd);
            if (baseline && !args.backupTarget) {
                // Managed before the backups migration: Longhorn keeps the backup target prod has.
                const discovered = baseline.release(where.namespace, releaseLocation(cfg, "longhorn").name).values.defaultBackupStore;
                if (discovered === undefined) delete values.defaultBackupStore;
                else values.defaultBackupStore = discovered;
            }
            longhorn = release("longhorn", values, { dependsOn: deps }, false);
            // No local-path beside it: k3s runs with --disable=local-storage where Longhorn does
            // (metal's K3S_DISABLE_WITH_LONGHORN); a patch would not outlast a k3s restart.
            // Backups and snapshots of every volume on a schedule: the default group's recurring jobs
            // (on prod, with the backups migration).
            for (const job of on("backups") ? longhornRecurringJobs(cfg.backupSchedule) : []) {
                if (job.task === "backup" && !args.backupTarget) continue;
                new k8s.apiextensions.CustomResource(`${name}-longhorn-recurring-${job.task}`, {
                    apiVersion: "longhorn.io/v1beta2",
                    kind: "RecurringJob",
                    metadata: { name: job.name, namespace: where.namespace },
                    spec: job,
                }, { ...k8sOpts, dependsOn: [longhorn] });
            }
        }

        // Vault: dev mode on k3d, standalone (init + unseal automated) on the VMs, existing on prod.
        const mode = vaultMode(cfg);
        let vaultAddress: pulumi.Input<string>;
        let vaultToken: pulumi.Input<string> | undefined;
        let vaultReady: pulumi.Resource[] = [];
        const location = vaultLocation(cfg);
        if (mode === "external") {
            vaultAddress = cfg.vaultAddress!;
            vaultToken = undefined; // VAULT_TOKEN from the operator's environment
        } else {
            vaultAddress = cfg.vaultAddress ?? (cfg.mode === "k3d"
                ? `http://127.0.0.1:${cfg.k3d!.vaultPort}`
                : metal.nodes.apply((nodes) => `http://${serverAddress(nodes)}:${VAULT_NODE_PORT}`));
            const bootstrap = new VaultBootstrap(`${name}-vault-bootstrap`, {
                mode,
                kubeconfig: metal.kubeconfig,
                address: vaultAddress,
                namespace: shared.vaultNamespace,
                releaseName: shared.releases.vault,
                install: (devRootToken) => {
                    const values = vaultValues(mode, cfg) as { server: Record<string, any> };
                    if (devRootToken) values.server.dev.devRootToken = devRootToken;
                    // standalone Vault keeps its data on a Longhorn volume: Longhorn first
                    return release("vault", values, { dependsOn: longhorn ? [longhorn] : [] });
                },
            }, { parent: this });
            vaultToken = bootstrap.rootToken;
            this.vaultRootToken = bootstrap.rootToken;
            vaultReady = [bootstrap.ready];
        }
        this.vaultProvider = new vault.Provider(`${name}-vault-provider`, {
            address: args.guardVault ? args.guardVault(vaultAddress, vaultToken, vaultReady) : vaultAddress,
            // a sandbox: its own root token, never empty (else $VAULT_TOKEN or ~/.vault-token)
            token: cfg.isProd ? vaultToken : own("vault", "token", vaultToken ?? ""),
            skipChildToken: true,
        }, { parent: this, dependsOn: vaultReady });

        // Vault Secrets Operator and its default connection to the stack's Vault.
        // (On prod, the connection comes with the helm-releases migration: the program's values
        // turn the chart's own default connection off.)
        const vso = release("vaultSecretsOperator", vsoValues());
        const vaultConnection = on("helm-releases") ? new k8s.apiextensions.CustomResource(`${name}-vault-connection`, {
            apiVersion: "secrets.hashicorp.com/v1beta1",
            kind: "VaultConnection",
            // VSO resolves a VaultAuth's default connection in its own namespace.
            metadata: { name: shared.vaultConnection, namespace: releaseLocation(cfg, "vaultSecretsOperator").namespace },
            spec: { address: location.address, skipTLSVerify: false },
        }, { ...k8sOpts, dependsOn: [vso] }) : undefined;

        // Argo CD with its CRDs, and the project the per-app Applications belong to (on prod, with
        // the argocd migration).
        const argoCdNamespace = releaseLocation(cfg, "argoCd").namespace;
        const argocd = on("argocd") ? release("argoCd", argoCdValues(!cfg.isProd)) : undefined;
        const project = argocd && new k8s.apiextensions.CustomResource(`${name}-apps-project`, {
            apiVersion: "argoproj.io/v1alpha1",
            kind: "AppProject",
            metadata: { name: shared.argoProject, namespace: argoCdNamespace },
            spec: {
                description: "The lab's applications, one Application per (app, env)",
                sourceRepos: [pulumi.interpolate`${metal.gitea.clusterUrl}/${cfg.giteaOrg}/*`],
                destinations: [{ server: "https://kubernetes.default.svc", namespace: "*" }],
                clusterResourceWhitelist: [],
                namespaceResourceBlacklist: [{ group: "", kind: "ResourceQuota" }, { group: "", kind: "LimitRange" }],
            },
        }, { ...k8sOpts, dependsOn: [argocd] });

        // A Vault outside the cluster reviews Kubernetes tokens with a reviewer of its own.
        const outside = location.kind === "outside" ? this.tokenReviewer(name, metal.kubeconfig, k8sOpts) : undefined;

        // Vault's own configuration, once Vault is up.
        this.vaultConfig = new VaultConfig(`${name}-vault-config`, {
            config: cfg,
            provider: this.vaultProvider,
            ready: vaultReady,
            location,
            outside,
            baseline,
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
                vaultAccess: postgresAccess && {
                    user: postgresAccess.vaultUser,
                    password: postgresAccess.vaultPassword,
                    role: postgresAccess.vaultRole,
                },
            },
            giteaClusterUrl: metal.gitea.clusterUrl,
            giteaOrg: cfg.giteaOrg,
            argoCdNamespace,
            vsoReady: vaultConnection ? [vso, vaultConnection] : [vso],
            argoCdReady: argocd && project ? [argocd, project] : undefined,
            baseline,
        };
        this.vaultAddress = pulumi.output(vaultAddress);
        this.argoCdUrl = pulumi.output(argocd ? argoCdUrl(cfg, metal) : "");
        this.registerOutputs({ vaultAddress: this.vaultAddress, argoCdUrl: this.argoCdUrl });
    }

    /**
     * For a Vault outside the cluster: a service account allowed to review tokens
     * (`system:auth-delegator`), its long-lived token, and the API address and CA from the
     * kubeconfig, which is where Vault's Kubernetes auth must send its TokenReviews.
     */
    private tokenReviewer(name: string, kubeconfig: pulumi.Output<string>, k8sOpts: pulumi.CustomResourceOptions): OutsideClusterAuth {
        const reviewer = shared.vaultTokenReviewer;
        const account = new k8s.core.v1.ServiceAccount(`${name}-vault-token-reviewer`, {
            metadata: { name: reviewer.serviceAccount, namespace: reviewer.namespace },
        }, k8sOpts);
        new k8s.rbac.v1.ClusterRoleBinding(`${name}-vault-token-reviewer-binding`, {
            metadata: { name: reviewer.serviceAccount },
            roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "system:auth-delegator" },
            subjects: [{ kind: "ServiceAccount", name: reviewer.serviceAccount, namespace: reviewer.namespace }],
        }, k8sOpts);
        const tokenSecret = new k8s.core.v1.Secret(`${name}-vault-token-reviewer-token`, {
            metadata: {
                name: reviewer.tokenSecret,
                namespace: reviewer.namespace,
                annotations: { "kubernetes.io/service-account.name": account.metadata.name },
            },
            type: "kubernetes.io/service-account-token",
        }, k8sOpts);
        // The token controller fills the Secret after it is created: read it back once it exists.
        const filled = k8s.core.v1.Secret.get(`${name}-vault-token-reviewer-token-read`, tokenSecret.id, {
            ...k8sOpts, dependsOn: [tokenSecret],
        });
        const cluster = kubeconfig.apply(clusterOfKubeconfig);
        return {
            kubernetesHost: cluster.apply((c) => c.server),
            kubernetesCaCert: cluster.apply((c) => c.caCert),
            tokenReviewerJwt: pulumi.secret(filled.data.apply((d) => Buffer.from(d?.token ?? "", "base64").toString("utf8"))),
        };
    }
}

/** The API server and its CA of a kubeconfig's current context (the metal layer writes one). */
export function clusterOfKubeconfig(kubeconfig: string): { server: string; caCert: string } {
    // Empty only in the offline plan, whose mocked commands print nothing.
    if (kubeconfig.trim() === "") return { server: "", caCert: "" };
    const doc = YAML.parse(kubeconfig) as {
        "current-context"?: string;
        contexts?: { name: string; context: { cluster: string } }[];
        clusters?: { name: string; cluster: { server: string; "certificate-authority-data"?: string } }[];
    };
    const context = doc.contexts?.find((c) => c.name === doc["current-context"]) ?? doc.contexts?.[0];
    const cluster = doc.clusters?.find((c) => c.name === context?.context.cluster) ?? doc.clusters?.[0];
    if (!cluster?.cluster.server) throw new Error("the kubeconfig names no cluster server");
    const ca = cluster.cluster["certificate-authority-data"];
    return { server: cluster.cluster.server, caCert: ca ? Buffer.from(ca, "base64").toString("utf8") : "" };
}

/** Where the operator opens Argo CD: the sandboxes publish its NodePort; prod's is port-forwarded. */
export function argoCdUrl(cfg: LabConfig, metal: MetalOutputs): pulumi.Input<string> {
    if (cfg.mode === "k3d") return `http://127.0.0.1:${cfg.k3d!.argoCdPort}`;
    const argo = releaseLocation(cfg, "argoCd");
    if (cfg.isProd) return `http://127.0.0.1:${ARGOCD_PORT_FORWARD} (kubectl -n ${argo.namespace} port-forward svc/${argo.name}-server ${ARGOCD_PORT_FORWARD}:80)`;
    return metal.nodes.apply((nodes) => `http://${serverAddress(nodes)}:${ARGOCD_NODE_PORT}`);
}

/** The local port prod's Argo CD is port-forwarded to. */
const ARGOCD_PORT_FORWARD = 8080;

