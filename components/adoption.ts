// Adoption of prod: what Ansible and OpenTofu already built is imported, never created again, and
// nothing that holds the business's state is ever deleted by Pulumi. The id each provider expects
// is derived here, in one place, from the join key and the configuration (`homelab:existing` in
// Pulumi.prod.yaml); components only say which kind of thing a resource is.
import * as pulumi from "@pulumi/pulumi";
import { LabConfig } from "./config";

/**
 * Import ids in each provider's documented format (the "Import" section of each resource in the
 * pinned SDKs: @pulumi/vault 7.8.0, @pulumi/kubernetes 4.34.2, @pulumi/cloudflare 6.22.1; for
 * PostgreSQL, cyrilgdn/terraform-provider-postgresql v1.25.0 postgresql/resource_postgresql_role.go
 * and resource_postgresql_database.go import by name with ImportStatePassthroughContext, while
 * resource_postgresql_grant.go, _grant_role.go and _default_privileges.go have no importer: those
 * are created, and their SQL is idempotent).
 */
export const importIds = {
    /** kubernetes: a cluster-scoped object by name. */
    clusterObject: (name: string) => name,
    /** kubernetes: a namespaced object, Helm releases included (`<namespace>/<name>`). */
    namespacedObject: (namespace: string, name: string) => `${namespace}/${name}`,
    postgresDatabase: (name: string) => name,
    postgresRole: (name: string) => name,
    vaultMount: (path: string) => path,
    vaultAuthBackend: (path: string) => path,
    vaultPolicy: (name: string) => name,
    vaultKubernetesAuthConfig: (backend: string) => `auth/${backend}/config`,
    vaultKubernetesAuthRole: (backend: string, role: string) => `auth/${backend}/role/${role}`,
    vaultDatabaseConnection: (mount: string, name: string) => `${mount}/config/${name}`,
    vaultDatabaseRole: (mount: string, name: string) => `${mount}/roles/${name}`,
    dnsRecord: (zoneId: string, recordId: string) => `${zoneId}/${recordId}`,
};

/**
 * The options of a prod resource: `import` with its id when prod already has it, and
 * `retainOnDelete` when it is adopted or holds state: removing it from the program, or `destroy`,
 * only drops it from the state (deliberate removal is a runbook); what Pulumi did not create,
 * Pulumi never deletes. Sandboxes import and retain nothing.
 */
export function adopt(cfg: Pick<LabConfig, "isProd">, opts: { exists: boolean; id: string; stateful: boolean }): pulumi.CustomResourceOptions {
    if (!cfg.isProd) return {};
    const out: pulumi.CustomResourceOptions = {};
    if (opts.exists) out.import = opts.id;
    if (opts.exists || opts.stateful) out.retainOnDelete = true;
    return out;
}

/** A new prod resource that holds state: created, then kept on delete like the adopted ones. */
export function retained(cfg: Pick<LabConfig, "isProd">): pulumi.CustomResourceOptions {
    return cfg.isProd ? { retainOnDelete: true } : {};
}

/** Whether prod already has this instance (its database, roles, namespace and Vault objects). */
export function instanceExists(cfg: LabConfig, instance: string): boolean {
    return cfg.isProd && (cfg.existing?.instances ?? []).includes(instance);
}
