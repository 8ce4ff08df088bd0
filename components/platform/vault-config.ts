// Vault's own configuration: the shared mounts and auth backends every app instance lives
// under, and the JWT backend for Gitea CI with one role per app repository.
import * as pulumi from "@pulumi/pulumi";
import * as vault from "@pulumi/vault";
import { LabConfig } from "../config";
import { instanceNames, PROD_ENV, shared, vaultCiRoleName } from "../naming";

export interface VaultConfigArgs {
    config: LabConfig;
    provider: vault.Provider;
    /** Vault is initialized and unsealed once these exist. */
    ready: pulumi.Resource[];
    /** Gitea as seen from the cluster (the JWT issuer of its Actions). */
    giteaUrl: pulumi.Input<string>;
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
    readonly giteaJwt: vault.jwt.AuthBackend;

    constructor(name: string, args: VaultConfigArgs, opts?: pulumi.ComponentResourceOptions) {
        super("lab:platform:VaultConfig", name, {}, opts);
        const cfg = args.config;
        const vaultOpts = { parent: this, provider: args.provider, dependsOn: args.ready };
        const protect = cfg.isProd;

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
        // Vault runs in the cluster it authenticates for: it reviews tokens with its own
        // service account against the in-cluster API.
        new vault.kubernetes.AuthBackendConfig(`${name}-kubernetes-auth-config`, {
            backend: this.kubernetesAuth.path,
            kubernetesHost: "https://kubernetes.default.svc:443",
        }, vaultOpts);

        this.giteaJwt = new vault.jwt.AuthBackend(`${name}-gitea-jwt`, {
            type: "jwt",
            path: shared.giteaJwtAuthPath,
            description: "Gitea Actions OIDC tokens, one role per app repository",
            jwksUrl: pulumi.interpolate`${args.giteaUrl}/login/oauth/keys`,
            boundIssuer: args.giteaUrl,
        }, vaultOpts);
        for (const app of cfg.apps) {
            const role = vaultCiRoleName(app.name);
            const policy = new vault.Policy(`${name}-${role}-policy`, {
                name: role,
                policy: ciPolicy(app.name),
            }, vaultOpts);
            new vault.jwt.AuthBackendRole(`${name}-${role}`, {
                backend: this.giteaJwt.path.apply((p) => p ?? shared.giteaJwtAuthPath),
                roleName: role,
                roleType: "jwt",
                userClaim: "repository",
                boundClaims: { repository: `${cfg.giteaOrg}/${app.name}` },
                tokenPolicies: [policy.name],
                tokenTtl: 900,
            }, vaultOpts);
        }
        this.registerOutputs({});
    }
}
