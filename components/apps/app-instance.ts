// The per-app layer: one AppInstance per (app, env). Every name comes from naming.ts.
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import * as postgresql from "@pulumi/postgresql";
import * as vault from "@pulumi/vault";
import * as cloudflare from "@pulumi/cloudflare";
import { AppSpec } from "../config";
import * as naming from "../naming";

/** The shared backends every instance lives under: inputs, never created here. */
export interface AppBackends {
    kubernetesProvider: k8s.Provider;
    postgresqlProvider: postgresql.Provider;
    vaultProvider: vault.Provider;
    /** KV v2 mount for app secrets. */
    kvMount: vault.Mount;
    /** Database secrets engine mount. */
    databaseMount: vault.Mount;
    /** Kubernetes auth backend. */
    kubernetesAuth: vault.AuthBackend;
    /** Postgres as Vault (inside the cluster) reaches it, with the admin credentials (secret). */
    postgres: {
        clusterHost: pulumi.Input<string>;
        clusterPort: pulumi.Input<number>;
        adminUser: pulumi.Input<string>;
        adminPassword: pulumi.Input<string>;
    };
    /** The Gitea base URL Argo CD clones from, and the organisation owning the app repos. */
    giteaClusterUrl: pulumi.Input<string>;
    giteaOrg: string;
    /** Where Argo CD runs: its Applications live there. */
    argoCdNamespace: string;
    /** What installs the VSO and Argo CD CRDs: the custom resources wait for them. */
    vsoReady?: pulumi.Input<pulumi.Resource>[];
    argoCdReady?: pulumi.Input<pulumi.Resource>[];
}

/** Prod's public edge: only given to prod instances of public apps. */
export interface PublicDns {
    provider: cloudflare.Provider;
    zone: string;
    zoneId: string;
    /** What the record points at (the Cloudflare tunnel's hostname). */
    target: pulumi.Input<string>;
}

export interface AppInstanceArgs {
    app: AppSpec;
    env: string;
    backends: AppBackends;
    /** protect the instance's state (database, owner role): prod. */
    protectState: boolean;
    dns?: PublicDns;
}

const DB_CREDENTIALS_TTL = 3600;
const DB_CREDENTIALS_MAX_TTL = 86400;

/** The Vault policy of one instance, as JSON: its own KV folder and its own database credentials. */
export function instancePolicy(app: string, env: string): string {
    const n = naming.instanceNames(app, env);
    const read = { capabilities: ["read"] };
    return JSON.stringify({
        path: {
            [`${naming.shared.kvMount}/data/${n.kvPath}`]: read,
            [`${naming.shared.kvMount}/data/${n.kvPath}/*`]: read,
            [`${naming.shared.databaseMount}/creds/${n.databaseSecretsRole}`]: read,
        },
    }, null, 2);
}

export class AppInstance extends pulumi.ComponentResource {
    readonly names: naming.InstanceNames;
    readonly namespace: k8s.core.v1.Namespace;
    readonly database: postgresql.Database;
    readonly ownerRole: postgresql.Role;
    readonly application: k8s.apiextensions.CustomResource;
    readonly dnsRecord?: cloudflare.DnsRecord;

    constructor(name: string, args: AppInstanceArgs, opts?: pulumi.ComponentResourceOptions) {
        super("lab:apps:AppInstance", name, { app: args.app.name, env: args.env }, opts);
        const { app, env, backends: b } = args;
        const n = naming.instanceNames(app.name, env);
        this.names = n;
        const k8sOpts = { parent: this, provider: b.kubernetesProvider };
        const pgOpts = { parent: this, provider: b.postgresqlProvider };
        const vaultOpts = { parent: this, provider: b.vaultProvider };
        const labels = {
            "app.kubernetes.io/part-of": app.name,
            "lab.home/env": env,
            "lab.home/instance": n.instance,
        };

        // Kubernetes: the namespace and the identity the instance authenticates to Vault with.
        this.namespace = new k8s.core.v1.Namespace(`${name}-namespace`, {
            metadata: { name: n.namespace, labels },
        }, k8sOpts);
        const serviceAccount = new k8s.core.v1.ServiceAccount(`${name}-service-account`, {
            metadata: { name: n.serviceAccount, namespace: this.namespace.metadata.name, labels },
        }, k8sOpts);

        // PostgreSQL: the instance's own database, its owner, and no CONNECT for anyone else.
        this.ownerRole = new postgresql.Role(`${name}-owner-role`, {
            name: n.ownerRole,
            login: true,
        }, { ...pgOpts, protect: args.protectState });
        this.database = new postgresql.Database(`${name}-database`, {
            name: n.database,
            owner: this.ownerRole.name,
        }, { ...pgOpts, protect: args.protectState });
        new postgresql.Grant(`${name}-revoke-public-connect`, {
            database: this.database.name,
            role: "public",
            objectType: "database",
            privileges: [],
        }, pgOpts);

        // Vault: a connection to this database only, a role issuing members of the owner role,
        // a policy reading only this instance's paths, and a Kubernetes-auth role bound to its namespace.
        const connection = new vault.database.SecretBackendConnection(`${name}-db-connection`, {
            backend: b.databaseMount.path,
            name: n.databaseConnection,
            allowedRoles: [n.databaseSecretsRole],
            verifyConnection: true,
            postgresql: {
                connectionUrl: pulumi.interpolate`postgresql://{{username}}:{{password}}@${b.postgres.clusterHost}:${b.postgres.clusterPort}/${this.database.name}?sslmode=disable`,
                username: b.postgres.adminUser,
                password: b.postgres.adminPassword,
            },
        }, vaultOpts);
        new vault.database.SecretBackendRole(`${name}-db-role`, {
            backend: b.databaseMount.path,
            name: n.databaseSecretsRole,
            dbName: connection.name,
            creationStatements: [
                `CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}' IN ROLE "${n.ownerRole}";`,
            ],
            revocationStatements: [`DROP ROLE IF EXISTS "{{name}}";`],
            defaultTtl: DB_CREDENTIALS_TTL,
            maxTtl: DB_CREDENTIALS_MAX_TTL,
        }, { ...vaultOpts, dependsOn: [this.ownerRole] });
        const policy = new vault.Policy(`${name}-vault-policy`, {
            name: n.vaultPolicy,
            policy: instancePolicy(app.name, env),
        }, { ...vaultOpts, dependsOn: [b.kvMount] });
        new vault.kubernetes.AuthBackendRole(`${name}-vault-k8s-role`, {
            backend: b.kubernetesAuth.path,
            roleName: n.kubernetesAuthRole,
            boundServiceAccountNames: [n.serviceAccount],
            boundServiceAccountNamespaces: [n.namespace],
            tokenPolicies: [policy.name],
            tokenTtl: DB_CREDENTIALS_TTL,
        }, vaultOpts);

        // Vault Secrets Operator: authenticate as the instance, deliver its database credentials.
        const vsoOpts = { ...k8sOpts, dependsOn: [serviceAccount, ...(b.vsoReady ?? [])] };
        const vaultAuth = new k8s.apiextensions.CustomResource(`${name}-vault-auth`, {
            apiVersion: "secrets.hashicorp.com/v1beta1",
            kind: "VaultAuth",
            metadata: { name: n.vaultAuth, namespace: this.namespace.metadata.name, labels },
            spec: {
                method: "kubernetes",
                mount: b.kubernetesAuth.path,
                kubernetes: {
                    role: n.kubernetesAuthRole,
                    serviceAccount: n.serviceAccount,
                },
            },
        }, vsoOpts);
        new k8s.apiextensions.CustomResource(`${name}-db-credentials`, {
            apiVersion: "secrets.hashicorp.com/v1beta1",
            kind: "VaultDynamicSecret",
            metadata: { name: n.dynamicSecret, namespace: this.namespace.metadata.name, labels },
            spec: {
                vaultAuthRef: vaultAuth.metadata.name,
                mount: b.databaseMount.path,
                path: `creds/${n.databaseSecretsRole}`,
                destination: { name: n.dbCredentialsSecret, create: true },
                // VSO renews and, at the lease's end, replaces the credentials; Vault then drops the
                // old user. Workloads that read them only at start are rolled out again by VSO
                // (VaultDynamicSecret spec.rolloutRestartTargets, vault-secrets-operator v1.4.1).
                ...(app.rolloutRestartTargets.length ? { rolloutRestartTargets: app.rolloutRestartTargets.map((t) => ({ ...t })) } : {}),
            },
        }, vsoOpts);

        // Argo CD: the app's shared repo, per-env value files and sync policy.
        const sync = app.sync[env];
        this.application = new k8s.apiextensions.CustomResource(`${name}-argocd-application`, {
            apiVersion: "argoproj.io/v1alpha1",
            kind: "Application",
            metadata: { name: n.argoApplication, namespace: b.argoCdNamespace, labels },
            spec: {
                project: naming.shared.argoProject,
                source: {
                    repoURL: pulumi.output(b.giteaClusterUrl).apply((u) => naming.giteaRepoUrl(u, b.giteaOrg, app.name)),
                    path: "chart",
                    targetRevision: "HEAD",
                    helm: { valueFiles: n.valueFiles },
                },
                destination: { server: "https://kubernetes.default.svc", namespace: this.namespace.metadata.name },
                syncPolicy: sync.automated ? { automated: { prune: sync.prune, selfHeal: sync.selfHeal } } : {},
            },
        }, { ...k8sOpts, dependsOn: b.argoCdReady ?? [] });

        // Edge: prod instances of public apps only.
        if (args.dns) {
            this.dnsRecord = new cloudflare.DnsRecord(`${name}-dns`, {
                zoneId: args.dns.zoneId,
                name: naming.publicHostname(app.name, args.dns.zone),
                type: "CNAME",
                content: args.dns.target,
                proxied: true,
                ttl: 1,
            }, { parent: this, provider: args.dns.provider });
        }

        this.registerOutputs({
            namespace: this.namespace.metadata.name,
            database: this.database.name,
            application: n.argoApplication,
        });
    }
}
