// Vault's own configuration: the shared mounts and auth backends every app instance lives
// under, and the JWT backend for Gitea CI with one role per app repository.
import * as pulumi from "@pulumi/pulumi";
import * as vault from "@pulumi/vault";
import { GiteaOidc, LabConfig } from "../config";
import { instanceNames, PROD_ENV, shared, vaultCiRoleName } from "../naming";
import { VaultLocation } from "./releases";
import { adopt, importIds } from "../adoption";
import { Baseline } from "../baseline";

/** What a Vault outside the cluster needs to review the cluster's service-account tokens. */
export interface OutsideClusterAuth {
    /** The cluster's API server as Vault reaches it. */
    kubernetesHost: pulumi.Input<string>;
    /** PEM of the CA that signed the API server's certificate. */
    kubernetesCaCert: pulumi.Input<string>;
    /** Secret: a token of a service account bound to system:auth-delegator. */
    tokenReviewerJwt: pulumi.Input<string>;
}

export interface VaultConfigArgs {
    config: LabConfig;
    provider: vault.Provider;
    /** Vault is initialized and unsealed once these exist. */
    ready: pulumi.Resource[];
    /** Where the stack's Vault runs, relative to the cluster it authenticates for. */
    location: VaultLocation;
    /** Required when the location is outside the cluster. */
    outside?: OutsideClusterAuth;
    /** Prod: Vault's mounts, auth backend and its configuration as discovered (facts/prod.json). */
    baseline?: Baseline;
}

/**
 * Vault's Kubernetes auth configuration. Inside the cluster, Vault reviews tokens with its own
 * pod's service account, CA and the in-cluster API (vault `disable_local_ca_jwt` false: the
 * hashicorp/vault-plugin-auth-kubernetes path_config.go default reads the mounted token and CA).
 * Outside, it has none of those: the API address, its CA and a reviewer JWT are given, and the
 * local files are not looked for.
 */
export function kubernetesAuthConfig(location: VaultLocation, outside?: OutsideClusterAuth): {
    kubernetesHost: pulumi.Input<string>; kubernetesCaCert?: pulumi.Input<string>;
    tokenReviewerJwt?: pulumi.Input<string>; disableLocalCaJwt: boolean;
} {
    if (location.kind === "in-cluster") return { kubernetesHost: KUBERNETES_IN_CLUSTER_HOST, disableLocalCaJwt: false };
    if (!outside) throw new Error("a Vault outside the cluster needs the cluster's API address, CA and a token reviewer");
    return { ...outside, disableLocalCaJwt: true };
}

/** The API server as a pod sees it. */
export const KUBERNETES_IN_CLUSTER_HOST = "https://kubernetes.default.svc:443";

/**
 * The JWT backend's issuer settings for Gitea CI tokens. Vault compares `iss` with
 * `bound_issuer` exactly, and with OIDC discovery go-oidc requires the discovery document's
 * `issuer` to equal the URL given (hashicorp/vault-plugin-auth-jwt path_config.go, as bundled
 * by Vault 1.21): both are Gitea's ROOT_URL with its trailing slash.
 */
export function giteaJwtSettings(oidc: GiteaOidc): { boundIssuer: string; jwksUrl?: string; oidcDiscoveryUrl?: string } {
    return oidc.jwksUrl
        ? { boundIssuer: oidc.issuer, jwksUrl: oidc.jwksUrl }
        : { boundIssuer: oidc.issuer, oidcDiscoveryUrl: oidc.issuer };
}

/**
 * What one app's CI may do: write the secrets of its app's prod instance, nothing else. It does
 * not follow the app's envs, so that adding a sibling env changes nothing that prod has.
 */
export function ciPolicy(app: string): string {
    const n = instanceNames(app, PROD_ENV);
    return JSON.stringify({
        path: { [`${shared.kvMount}/data/${n.kvPath}/*`]: { capabilities: ["create", "update", "read"] } },
    }, null, 2);
}

export class VaultConfig extends pulumi.ComponentResource {
    readonly kvMount: vault.Mount;
    readonly databaseMount: vault.Mount;
    readonly kubernetesAuth: vault.AuthBackend;
    /** Only where an issuer is configured (`homelab:giteaOidc`). */
    readonly giteaJwt?: vault.jwt.AuthBackend;

    constructor(name: string, args: VaultConfigArgs, opts?: pulumi.ComponentResourceOptions) {
        super("lab:platform:VaultConfig", name, {}, opts);
        const cfg = args.config;
        const vaultOpts = { parent: this, provider: args.provider, dependsOn: args.ready };
        const protect = cfg.isProd;

        // Prod's mounts and auth backends exist (OpenTofu): imported by path, kept on delete, and
        // registered exactly as discovered (facts/prod.json): no migration changes them.
        const exists = cfg.existing?.vault === true;
        const found = exists && cfg.isProd ? args.baseline : undefined;
        this.kvMount = new vault.Mount(`${name}-kv`, (found?.mountInputs(shared.kvMount) as unknown as vault.MountArgs) ?? {
            path: shared.kvMount,
            type: "kv",
            options: { version: "2" },
            description: "App secrets, one folder per instance",
        }, { ...vaultOpts, protect, ...adopt(cfg, { exists, id: importIds.vaultMount(shared.kvMount), stateful: true }) });
        this.databaseMount = new vault.Mount(`${name}-database`, (found?.mountInputs(shared.databaseMount) as unknown as vault.MountArgs) ?? {
            path: shared.databaseMount,
            type: "database",
            description: "Dynamic PostgreSQL credentials, one connection and role per instance",
        }, { ...vaultOpts, protect, ...adopt(cfg, { exists, id: importIds.vaultMount(shared.databaseMount), stateful: true }) });

        this.kubernetesAuth = new vault.AuthBackend(`${name}-kubernetes-auth`, (found?.authInputs(shared.kubernetesAuthPath) as unknown as vault.AuthBackendArgs) ?? {
            type: "kubernetes",
            path: shared.kubernetesAuthPath,
        }, { ...vaultOpts, ...adopt(cfg, { exists, id: importIds.vaultAuthBackend(shared.kubernetesAuthPath), stateful: true }) });
        new vault.kubernetes.AuthBackendConfig(`${name}-kubernetes-auth-config`, found
            ? { ...(found.kubernetesAuthConfigInputs(shared.kubernetesAuthPath) as unknown as vault.kubernetes.AuthBackendConfigArgs), backend: this.kubernetesAuth.path }
            : { backend: this.kubernetesAuth.path, ...kubernetesAuthConfig(args.location, args.outside) },
        { ...vaultOpts, ...adopt(cfg, { exists, id: importIds.vaultKubernetesAuthConfig(shared.kubernetesAuthPath), stateful: false }) });

        // Gitea CI: only with a configured issuer. Without one (Gitea 1.25 issues no OIDC tokens
        // to Actions jobs, go-gitea/gitea issue 26383) a backend nobody can log in to is left out.
        if (cfg.giteaOidc) this.giteaJwt = this.giteaCi(name, cfg, cfg.giteaOidc, vaultOpts);
        this.registerOutputs({});
    }

    private giteaCi(name: string, cfg: LabConfig, oidc: GiteaOidc, vaultOpts: pulumi.CustomResourceOptions): vault.jwt.AuthBackend {
        const backend = new vault.jwt.AuthBackend(`${name}-gitea-jwt`, {
            type: "jwt",
            path: shared.giteaJwtAuthPath,
            description: "Gitea CI OIDC tokens, one role per app repository",
            ...giteaJwtSettings(oidc),
        }, vaultOpts);
        for (const app of cfg.apps) {
            const role = vaultCiRoleName(app.name);
            const policy = new vault.Policy(`${name}-${role}-policy`, {
                name: role,
                policy: ciPolicy(app.name),
            }, vaultOpts);
            new vault.jwt.AuthBackendRole(`${name}-${role}`, {
                backend: backend.path.apply((p) => p ?? shared.giteaJwtAuthPath),
                roleName: role,
                roleType: "jwt",
                userClaim: "repository",
                // Vault refuses a token carrying `aud` when the role binds none
                // (vault-plugin-auth-jwt path_login.go): bind the configured audience.
                boundAudiences: [oidc.audience],
                boundClaims: { repository: `${cfg.giteaOrg}/${app.name}` },
                tokenPolicies: [policy.name],
                tokenTtl: 900,
            }, vaultOpts);
        }
        return backend;
    }
}
