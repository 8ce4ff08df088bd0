// The join key: every per-application name derives from (app, env), here and nowhere else.
// See ARCHITECTURE.md, "The join key". Names are validated where they are made.

export const PROD_ENV = "prod";

const KEBAB = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_LABEL_MAX = 63;
const PG_IDENTIFIER_MAX_BYTES = 63;

/** Thrown when (app, env) cannot make a valid name. Names the app, the env and the rule broken. */
export class NamingError extends Error {
    constructor(readonly app: string, readonly env: string, readonly rule: string) {
        super(`invalid name for app "${app}", env "${env}": ${rule}`);
        this.name = "NamingError";
    }
}

export function validateApp(app: string, env: string = PROD_ENV): void {
    if (!KEBAB.test(app)) {
        throw new NamingError(app, env, `app must be kebab-case (${KEBAB.source})`);
    }
}

export function validateEnv(app: string, env: string): void {
    if (!KEBAB.test(env)) {
        throw new NamingError(app, env, `env must be kebab-case (${KEBAB.source})`);
    }
}

function k8sName(app: string, env: string, what: string, name: string): string {
    if (name.length > DNS_LABEL_MAX || !DNS_LABEL.test(name)) {
        throw new NamingError(app, env,
            `${what} "${name}" must be a DNS-1123 label of at most ${DNS_LABEL_MAX} characters (it has ${name.length})`);
    }
    return name;
}

function pgIdentifier(app: string, env: string, what: string, name: string): string {
    const bytes = Buffer.byteLength(name, "utf8");
    if (bytes > PG_IDENTIFIER_MAX_BYTES) {
        throw new NamingError(app, env,
            `PostgreSQL ${what} "${name}" is ${bytes} bytes; PostgreSQL identifiers are at most ${PG_IDENTIFIER_MAX_BYTES} bytes (longer ones are silently truncated and could collide)`);
    }
    return name;
}

/** `app` when env is prod (the elision rule), else `app-env`. */
export function instanceId(app: string, env: string): string {
    validateApp(app, env);
    validateEnv(app, env);
    return env === PROD_ENV ? app : `${app}-${env}`;
}

export function namespaceName(app: string, env: string): string {
    return k8sName(app, env, "Kubernetes namespace", instanceId(app, env));
}

export function argoApplicationName(app: string, env: string): string {
    return k8sName(app, env, "Argo CD Application name", instanceId(app, env));
}

export function helmValueFiles(app: string, env: string): string[] {
    instanceId(app, env);
    return env === PROD_ENV ? ["values.yaml"] : ["values.yaml", `values-${env}.yaml`];
}

export function databaseName(app: string, env: string): string {
    return pgIdentifier(app, env, "database name", instanceId(app, env));
}

/**
 * The snake-case exception: `erp_role`, `url_shortener_sandbox_role`. The NOLOGIN group role the
 * instance's Vault-issued users act as (SET ROLE) and that owns its tables.
 */
export function ownerRoleName(app: string, env: string): string {
    return pgIdentifier(app, env, "role name", `${instanceId(app, env).replace(/-/g, "_")}_role`);
}

/**
 * The NOLOGIN role that owns the instance's database (`erp_db_owner`), apart from the role the
 * credentials act as, so that a credential can neither re-grant, alter nor drop its database.
 */
export function databaseOwnerRoleName(app: string, env: string): string {
    return pgIdentifier(app, env, "role name", `${instanceId(app, env).replace(/-/g, "_")}_db_owner`);
}

export function vaultPolicyName(app: string, env: string): string {
    return instanceId(app, env);
}

export function kubernetesAuthRoleName(app: string, env: string): string {
    return instanceId(app, env);
}

export function databaseSecretsRoleName(app: string, env: string): string {
    return instanceId(app, env);
}

/** The Vault database secrets engine connection of one instance (to its own database only). */
export function databaseConnectionName(app: string, env: string): string {
    return instanceId(app, env);
}

/** One CI role per repository, shared by every env of the app. */
export function vaultCiRoleName(app: string): string {
    validateApp(app);
    return `gitea_cicd_${app}`;
}

/** The instance's own KV v2 folder, under the shared KV mount. */
export function kvPath(app: string, env: string): string {
    return instanceId(app, env);
}

/** VSO objects inside the instance's namespace. */
export function vaultAuthName(app: string, env: string): string {
    return k8sName(app, env, "VaultAuth name", instanceId(app, env));
}

export function dynamicSecretName(app: string, env: string): string {
    return k8sName(app, env, "VaultDynamicSecret name", `${instanceId(app, env)}-db`);
}

/** The Kubernetes Secret that VSO writes the database credentials into. */
export function dbCredentialsSecretName(app: string, env: string): string {
    return k8sName(app, env, "Secret name", `${instanceId(app, env)}-db-credentials`);
}

/** The service account the instance's pods (and VSO, on their behalf) authenticate to Vault with. */
export function serviceAccountName(app: string, env: string): string {
    return k8sName(app, env, "service account name", instanceId(app, env));
}

/** The public hostname of an app in the prod zone (prod instances only). */
export function publicHostname(app: string, zone: string): string {
    validateApp(app);
    return `${app}.${zone}`;
}

/** The app's repository in the shared Gitea (one repo per app, shared by its envs). */
export function giteaRepoUrl(giteaUrl: string, org: string, app: string): string {
    validateApp(app);
    return `${giteaUrl.replace(/\/+$/, "")}/${org}/${app}.git`;
}

/** Shared (non per-app) names: the Vault mounts and auth paths every instance lives under. */
export const shared = {
    kvMount: "apps",
    databaseMount: "database",
    kubernetesAuthPath: "kubernetes",
    giteaJwtAuthPath: "gitea-jwt",
    argoCdNamespace: "argocd",
    vaultNamespace: "vault",
    vsoNamespace: "vault-secrets-operator",
    longhornNamespace: "longhorn-system",
    /** Longhorn's recurring jobs of the default group (components/backup). */
    longhornRecurringJobs: { backup: "lab-backup", snapshot: "lab-snapshot" },
    argoProject: "apps",
    /** A sandbox Gitea's admin account (owner of the organisation and of Argo CD's token). */
    giteaAdminUser: "lab-admin",
    /** Argo CD's access token in Gitea, and the Secret Argo CD reads the repositories with. */
    argoCdTokenName: "argocd",
    repoCredsSecret: "gitea-repo-creds",
    /** Where k3s runs its packaged Traefik. */
    traefik: { namespace: "kube-system", deployment: "traefik" },
    /** A Vault outside the cluster reviews Kubernetes tokens as this service account. */
    vaultTokenReviewer: { namespace: "kube-system", serviceAccount: "vault-token-reviewer", tokenSecret: "vault-token-reviewer-token" },
    /** Vault's own PostgreSQL login (not a superuser): creates and drops the instances' users. */
    vaultPostgresRole: "vault_admin",
    /** The VaultConnection every VaultAuth uses when it names none (VSO's convention). */
    vaultConnection: "default",
    /** Helm release names of the platform's charts (keys of the version manifest's charts). */
    releases: {
        longhorn: "longhorn",
        vault: "vault",
        vaultSecretsOperator: "vault-secrets-operator",
        argoCd: "argocd",
    },
} as const;

/** Every derived name of one instance, in one object (what the tests and the policy compare against). */
export interface InstanceNames {
    app: string;
    env: string;
    instance: string;
    namespace: string;
    argoApplication: string;
    valueFiles: string[];
    database: string;
    ownerRole: string;
    databaseOwnerRole: string;
    vaultPolicy: string;
    kubernetesAuthRole: string;
    databaseSecretsRole: string;
    databaseConnection: string;
    kvPath: string;
    vaultAuth: string;
    dynamicSecret: string;
    dbCredentialsSecret: string;
    serviceAccount: string;
}

export function instanceNames(app: string, env: string): InstanceNames {
    return {
        app,
        env,
        instance: instanceId(app, env),
        namespace: namespaceName(app, env),
        argoApplication: argoApplicationName(app, env),
        valueFiles: helmValueFiles(app, env),
        database: databaseName(app, env),
        ownerRole: ownerRoleName(app, env),
        databaseOwnerRole: databaseOwnerRoleName(app, env),
        vaultPolicy: vaultPolicyName(app, env),
        kubernetesAuthRole: kubernetesAuthRoleName(app, env),
        databaseSecretsRole: databaseSecretsRoleName(app, env),
        databaseConnection: databaseConnectionName(app, env),
        kvPath: kvPath(app, env),
        vaultAuth: vaultAuthName(app, env),
        dynamicSecret: dynamicSecretName(app, env),
        dbCredentialsSecret: dbCredentialsSecretName(app, env),
        serviceAccount: serviceAccountName(app, env),
    };
}
