// The per-app layer: one AppInstance per (app, env). Every name comes from naming.ts.
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import * as postgresql from "@pulumi/postgresql";
import * as vault from "@pulumi/vault";
import * as cloudflare from "@pulumi/cloudflare";
import { AppSpec, ConfigError } from "../config";
import * as naming from "../naming";
import { adopt, importIds, retained } from "../adoption";
import { Baseline, KUBE_METADATA_IGNORED } from "../baseline";
import { Migration } from "../migrations";

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
    /** Postgres as Vault (inside the cluster) reaches it, with Vault's own login (not a superuser). */
    postgres: {
        clusterHost: pulumi.Input<string>;
        clusterPort: pulumi.Input<number>;
        /** Vault's own login: the database contract (absent on prod before its migration). */
        vaultAccess?: {
            user: pulumi.Input<string>;
            /** Secret. */
            password: pulumi.Input<string>;
            /** Vault's login role: granted ADMIN OPTION on each instance's role. */
            role: postgresql.Role;
        };
    };
    /** The Gitea base URL Argo CD clones from, and the organisation owning the app repos. */
    giteaClusterUrl: pulumi.Input<string>;
    giteaOrg: string;
    /** Where Argo CD runs: its Applications live there. */
    argoCdNamespace: string;
    /** What installs the VSO and Argo CD CRDs: the custom resources wait for them. */
    vsoReady?: pulumi.Input<pulumi.Resource>[];
    /** Absent where Argo CD is not installed (prod before the argocd migration): no Applications. */
    argoCdReady?: pulumi.Input<pulumi.Resource>[];
    /** Prod: what exists, as discovered (facts/prod.json). */
    baseline?: Baseline;
}

/** Prod's public edge: only given to prod instances of public apps. */
export interface PublicDns {
    provider: cloudflare.Provider;
    zone: string;
    zoneId: string;
    /** Cloudflare ids of the records prod already has, by app (imported). */
    existingRecordIds: Record<string, string>;
    /** What the record points at (the Cloudflare tunnel's hostname). */
    target: pulumi.Input<string>;
}

export interface AppInstanceArgs {
    app: AppSpec;
    env: string;
    backends: AppBackends;
    /** protect the instance's state (database, owner role), keep it on delete: prod. */
    protectState: boolean;
    /** Prod already has this instance (OpenTofu made it): what exists is imported, not created. */
    exists: boolean;
    dns?: PublicDns;
    /** Whether a migration is on (always, on a sandbox). */
    migrationOn: (m: Migration) => boolean;
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

/**
 * What Vault runs, as the connection's user (Vault's own login) in the instance's database, to
 * issue a credential: a user that may log in until its lease ends, is a member of the instance's
 * role and acts as it from login on (so what it creates belongs to the lasting role). Setting
 * createrole_self_grant for the transaction gives Vault's login the privileges of the user it
 * creates, which revocation needs on PostgreSQL 16+ (REASSIGN OWNED / DROP OWNED).
 * Vault splits each statement on ';' (plugins/database/postgresql/postgresql.go, NewUser).
 */
export function creationStatements(ownerRole: string): string[] {
    return [
        "SET LOCAL createrole_self_grant = 'set, inherit';",
        `CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}' IN ROLE "${ownerRole}";`,
        `ALTER ROLE "{{name}}" SET role = '${ownerRole}';`,
    ];
}

/**
 * What Vault runs to revoke a credential: what the user still owns goes to the instance's role
 * (never lost), its remaining privileges go, then the user. Vault retries a revocation that failed,
 * so a user that is already gone is not an error. The first statement contains END: Vault runs it
 * whole instead of splitting it on ';' (containsMultilineStatement in the same file).
 */
export function revocationStatements(ownerRole: string): string[] {
    return [
        "DO $$\nBEGIN\n"
        + "  IF EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = '{{name}}') THEN\n"
        + `    EXECUTE format('REASSIGN OWNED BY %I TO %I', '{{name}}', '${ownerRole}');\n`
        + "    EXECUTE format('DROP OWNED BY %I', '{{name}}');\n"
        + "  END IF;\nEND\n$$;",
        `DROP ROLE IF EXISTS "{{name}}";`,
    ];
}

/** The privileges of the instance's role on its own database and on the database's public schema. */
export const OWNER_ROLE_DATABASE_PRIVILEGES = ["CONNECT", "TEMPORARY"];
export const OWNER_ROLE_SCHEMA_PRIVILEGES = ["CREATE", "USAGE"];

export class AppInstance extends pulumi.ComponentResource {
    readonly names: naming.InstanceNames;
    readonly namespace: k8s.core.v1.Namespace;
    readonly database: postgresql.Database;
    readonly ownerRole: postgresql.Role;
    /** The database's owner under the contract (absent on prod before its migration). */
    readonly databaseOwnerRole?: postgresql.Role;
    /** Absent where Argo CD is not (prod before the argocd migration). */
    readonly application?: k8s.apiextensions.CustomResource;
    readonly dnsRecord?: cloudflare.DnsRecord;

    constructor(name: string, args: AppInstanceArgs, opts?: pulumi.ComponentResourceOptions) {
        super("lab:apps:AppInstance", name, { app: args.app.name, env: args.env }, opts);
        const { app, env, backends: b } = args;
        const n = naming.instanceNames(app.name, env);
        this.names = n;
        const k8sOpts = { parent: this, provider: b.kubernetesProvider };
        const pgOpts = { parent: this, provider: b.postgresqlProvider };
        const vaultOpts = { parent: this, provider: b.vaultProvider };
        // Prod: what the instance already has is imported by the id its provider expects, and what
        // holds state is kept on delete (adoption.ts derives both).
        const prod = { isProd: args.protectState };
        const adopted = (id: string, stateful: boolean) => adopt(prod, { exists: args.exists, id, stateful });
        // The adoption baseline (components/baseline.ts): an existing prod instance is registered as
        // discovered until the database-contract migration makes it the README's contract.
        const contract = args.migrationOn("database-contract");
        const found = args.exists && args.protectState ? b.baseline : undefined;
        if (args.exists && args.protectState && !found) throw new Error(`instance ${n.instance}: prod adopts it, but no facts were given (components/baseline.ts)`);
        const asFound = found && !contract ? found : undefined;
        if (!args.exists && !contract) {
            throw new ConfigError("prod", "migrations", `instance ${n.instance} is new on prod (not in homelab:existing.instances): it is created with the database contract, `
                + "so the database-contract migration must be on (homelab:migrations in Pulumi.prod.yaml; docs/runbooks/migrations.md)");
        }
        const b2 = b.postgres.vaultAccess;
        const labels = {
            "app.kubernetes.io/part-of": app.name,
            "lab.home/env": env,
            "lab.home/instance": n.instance,
        };

        // Kubernetes: the namespace and the identity the instance authenticates to Vault with.
        // (An imported namespace keeps its spec and annotations; its labels come with the contract.)
        this.namespace = new k8s.core.v1.Namespace(`${name}-namespace`, {
            metadata: asFound ? { name: n.namespace } : { name: n.namespace, labels },
        }, {
            ...k8sOpts, ...adopted(importIds.clusterObject(n.namespace), true),
            ...(found ? { ignoreChanges: asFound ? [...KUBE_METADATA_IGNORED, "spec"] : ["metadata.annotations", "spec"] } : {}),
        });
        // The service account and VSO objects: prod's own are imported as they are (spec as
        // discovered) before the contract, and made the program's with it; missing ones are created
        // only with the contract (a second set beside an app's own would be a second credential).
        const kube = (part: string, kind: string, objName: string, program: () => Record<string, unknown>, deps: pulumi.Input<pulumi.Resource>[] = [],
            ignored: string[] = []) => {
            const existing = found?.kubeObject(n.namespace, kind, objName);
            if (!contract && !existing) return undefined;
            const opts: pulumi.CustomResourceOptions = {
                ...k8sOpts, dependsOn: deps,
                ...adopt(prod, { exists: existing !== undefined, id: importIds.namespacedObject(n.namespace, objName), stateful: false }),
                ...(existing ? { ignoreChanges: contract ? ["metadata.annotations", ...ignored] : [...KUBE_METADATA_IGNORED, ...ignored] } : {}),
            };
            const inputs = contract || !existing ? program() : {
                apiVersion: existing.apiVersion, kind: existing.kind,
                metadata: { name: objName, namespace: n.namespace },
                ...(existing.spec !== undefined ? { spec: existing.spec } : {}),
            };
            return kind === "ServiceAccount"
                ? new k8s.core.v1.ServiceAccount(`${name}-${part}`, inputs as k8s.core.v1.ServiceAccountArgs, opts)
                : new k8s.apiextensions.CustomResource(`${name}-${part}`, inputs as k8s.apiextensions.CustomResourceArgs, opts);
        };
        const serviceAccount = kube("service-account", "ServiceAccount", n.serviceAccount, () => ({
            metadata: { name: n.serviceAccount, namespace: this.namespace.metadata.name, labels },
        }), [], ["secrets", "imagePullSecrets", "automountServiceAccountToken"]);

        // PostgreSQL: the instance's own database, owned by a role nobody logs in as; the role its
        // credentials act as (it owns the tables), also NOLOGIN; no CONNECT for anyone else.
        // Before the contract, prod's role and database as discovered (a role's password is never
        // registered: readRolePassword reads it back from pg_shadow, see components/baseline.ts).
        this.ownerRole = new postgresql.Role(`${name}-owner-role`, (asFound?.roleAttributes(n.ownerRole) as unknown as postgresql.RoleArgs) ?? {
            name: n.ownerRole,
            login: false,
        }, {
            ...pgOpts, protect: args.protectState, ...adopted(importIds.postgresRole(n.ownerRole), true),
            ...(found ? { ignoreChanges: ["password"] } : {}),
        });
        if (asFound) {
            this.database = new postgresql.Database(`${name}-database`, asFound.databaseInputs(n.database) as unknown as postgresql.DatabaseArgs,
                { ...pgOpts, protect: args.protectState, ...adopted(importIds.postgresDatabase(n.database), true) });
        } else {
            if (!b2) throw new Error(`instance ${n.instance}: the database contract needs Vault's own login (PostgresAccess)`);
            this.databaseOwnerRole = new postgresql.Role(`${name}-database-owner-role`, {
                name: n.databaseOwnerRole,
                login: false,
                // new with the database contract: created on prod too, then kept
            }, { ...pgOpts, protect: args.protectState, ...retained(prod) });
            this.database = new postgresql.Database(`${name}-database`, {
                name: n.database,
                owner: this.databaseOwnerRole.name,
                connectionLimit: app.connectionLimit,
            }, { ...pgOpts, protect: args.protectState, ...adopted(importIds.postgresDatabase(n.database), true) });
        }
        const grants: pulumi.Resource[] = [];
        if (!asFound && b2) {
            grants.push(new postgresql.Grant(`${name}-revoke-public-connect`, {
                database: this.database.name,
                role: "public",
                objectType: "database",
                privileges: [],
            }, pgOpts));
            grants.push(new postgresql.Grant(`${name}-owner-role-connect`, {
                database: this.database.name,
                role: this.ownerRole.name,
                objectType: "database",
                privileges: OWNER_ROLE_DATABASE_PRIVILEGES,
            }, pgOpts));
            grants.push(new postgresql.Grant(`${name}-owner-role-schema`, {
                database: this.database.name,
                schema: "public",
                role: this.ownerRole.name,
                objectType: "schema",
                privileges: OWNER_ROLE_SCHEMA_PRIVILEGES,
            }, pgOpts));
        }
        // Vault's login: CONNECT here, and ADMIN OPTION on the instance's role (to make its users
        // members of it, PostgreSQL 16+), with its privileges (to reassign what a user owned to it).
        const vaultGrants: pulumi.Resource[] = [];
        if (!asFound && b2) {
            vaultGrants.push(new postgresql.Grant(`${name}-vault-connect`, {
                database: this.database.name,
                role: b2.role.name,
                objectType: "database",
                privileges: ["CONNECT"],
            }, pgOpts));
            vaultGrants.push(new postgresql.GrantRole(`${name}-vault-admin`, {
                role: b2.role.name,
                grantRole: this.ownerRole.name,
                withAdminOption: true,
            }, pgOpts));
        }

        // Vault: a connection to this database only, as Vault's own login; a role issuing users
        // that act as the instance's role; a policy reading only this instance's paths, and a
        // Kubernetes-auth role bound to its namespace. Before the contract: prod's, as discovered
        // (the connection's password unset: Vault never returns it).
        const mount = naming.shared.databaseMount;
        const connection = new vault.database.SecretBackendConnection(`${name}-db-connection`, asFound
            ? { ...(asFound.connectionInputs(mount, n.databaseConnection) as unknown as vault.database.SecretBackendConnectionArgs), backend: b.databaseMount.path }
            : {
                backend: b.databaseMount.path,
                name: n.databaseConnection,
                allowedRoles: [n.databaseSecretsRole],
                verifyConnection: true,
                postgresql: {
                    connectionUrl: pulumi.interpolate`postgresql://{{username}}:{{password}}@${b.postgres.clusterHost}:${b.postgres.clusterPort}/${this.database.name}?sslmode=disable`,
                    username: b2!.user,
                    password: b2!.password,
                },
            }, { ...vaultOpts, dependsOn: vaultGrants, ...adopted(importIds.vaultDatabaseConnection(mount, n.databaseConnection), false) });
        new vault.database.SecretBackendRole(`${name}-db-role`, asFound
            ? { ...(asFound.roleInputs(mount, n.databaseSecretsRole) as unknown as vault.database.SecretBackendRoleArgs), backend: b.databaseMount.path, dbName: connection.name }
            : {
                backend: b.databaseMount.path,
                name: n.databaseSecretsRole,
                dbName: connection.name,
                creationStatements: creationStatements(n.ownerRole),
                revocationStatements: revocationStatements(n.ownerRole),
                defaultTtl: DB_CREDENTIALS_TTL,
                maxTtl: DB_CREDENTIALS_MAX_TTL,
            }, { ...vaultOpts, dependsOn: [this.ownerRole, ...grants], ...adopted(importIds.vaultDatabaseRole(mount, n.databaseSecretsRole), false) });
        const policy = new vault.Policy(`${name}-vault-policy`, (asFound?.policyInputs(n.vaultPolicy) as unknown as vault.PolicyArgs) ?? {
            name: n.vaultPolicy,
            policy: instancePolicy(app.name, env),
        }, { ...vaultOpts, dependsOn: [b.kvMount], ...adopted(importIds.vaultPolicy(n.vaultPolicy), false) });
        new vault.kubernetes.AuthBackendRole(`${name}-vault-k8s-role`, asFound
            ? { ...(asFound.kubernetesAuthRoleInputs(naming.shared.kubernetesAuthPath, n.kubernetesAuthRole) as unknown as vault.kubernetes.AuthBackendRoleArgs), backend: b.kubernetesAuth.path }
            : {
                backend: b.kubernetesAuth.path,
                roleName: n.kubernetesAuthRole,
                boundServiceAccountNames: [n.serviceAccount],
                boundServiceAccountNamespaces: [n.namespace],
                tokenPolicies: [policy.name],
                tokenTtl: DB_CREDENTIALS_TTL,
            }, { ...vaultOpts, dependsOn: [policy], ...adopted(importIds.vaultKubernetesAuthRole(naming.shared.kubernetesAuthPath, n.kubernetesAuthRole), false) });

        // Vault Secrets Operator: authenticate as the instance, deliver its database credentials.
        const vsoDeps = [...(serviceAccount ? [serviceAccount] : []), ...(b.vsoReady ?? [])];
        const vaultAuth = kube("vault-auth", "VaultAuth", n.vaultAuth, () => ({
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
        }), vsoDeps);
        kube("db-credentials", "VaultDynamicSecret", n.dynamicSecret, () => ({
            apiVersion: "secrets.hashicorp.com/v1beta1",
            kind: "VaultDynamicSecret",
            metadata: { name: n.dynamicSecret, namespace: this.namespace.metadata.name, labels },
            spec: {
                vaultAuthRef: vaultAuth ? (vaultAuth as k8s.apiextensions.CustomResource).metadata.name : n.vaultAuth,
                mount: b.databaseMount.path,
                path: `creds/${n.databaseSecretsRole}`,
                destination: { name: n.dbCredentialsSecret, create: true },
                // VSO renews and, at the lease's end, replaces the credentials; Vault then drops the
                // old user. Workloads that read them only at start are rolled out again by VSO
                // (VaultDynamicSecret spec.rolloutRestartTargets, vault-secrets-operator v1.4.1).
                ...(app.rolloutRestartTargets.length ? { rolloutRestartTargets: app.rolloutRestartTargets.map((t) => ({ ...t })) } : {}),
            },
        }), [...vsoDeps, ...(vaultAuth ? [vaultAuth] : [])]);

        // Argo CD: the app's shared repo, per-env value files and sync policy. On prod, with the
        // argocd migration, and its automated sync only with argocd-autosync.
        if (b.argoCdReady) {
            const sync = app.sync[env];
            const automated = sync.automated && args.migrationOn("argocd-autosync");
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
                    syncPolicy: automated ? { automated: { prune: sync.prune, selfHeal: sync.selfHeal } } : {},
                },
            }, { ...k8sOpts, dependsOn: b.argoCdReady });
        }

        // Edge: prod instances of public apps only; an existing record as discovered (no migration
        // changes DNS).
        if (args.dns) {
            const existingId = args.dns.existingRecordIds[app.name];
            const record = existingId !== undefined ? found?.dnsRecord(app.name) : undefined;
            if (existingId !== undefined && found && !record) {
                throw new ConfigError("prod", "facts", `facts/prod.json has no DNS record for ${app.name} (dnsRecords), which prod adopts: re-run \`npm run discover -- prod\``);
            }
            this.dnsRecord = new cloudflare.DnsRecord(`${name}-dns`, record ? {
                zoneId: args.dns.zoneId,
                name: record.name,
                type: record.type,
                content: record.content,
                proxied: record.proxied,
                ttl: record.ttl,
            } : {
                zoneId: args.dns.zoneId,
                name: naming.publicHostname(app.name, args.dns.zone),
                type: "CNAME",
                content: args.dns.target,
                proxied: true,
                ttl: 1,
            }, {
                parent: this, provider: args.dns.provider,
                ...adopt(prod, { exists: existingId !== undefined, id: importIds.dnsRecord(args.dns.zoneId, existingId ?? ""), stateful: true }),
            });
        }

        this.registerOutputs({
            // the join key stays in the component's state: the policy pack reads it from there
            app: app.name,
            env,
            namespace: this.namespace.metadata.name,
            database: this.database.name,
            application: n.argoApplication,
        });
    }
}
