// The adoption baseline: with a migration off, prod's existing things are registered with exactly
// the inputs discovered on prod (facts/prod.json), write-only fields (passwords) left unset, so that
// each provider's Diff after Read is empty and the first `up` changes nothing. What the provider
// reads back and compares, per resource type, at the pinned versions (the reason each mapping below
// is what it is):
//
// - The engine (pulumi/pulumi >= v3.174.0, "New eventual state import system", #19339): an `import`
//   runs the provider's Read, then ordinary step generation against the imported state
//   (pkg/resource/deploy/step_generator.go, continueStepsFromImport; at v3.259.0 lines 1244-1267):
//   Diff, and an update in the same `up` when inputs differ. A mismatch is no longer an error
//   (v3.173.0's step.go "inputs to import do not match the existing resource" is gone), it is a
//   change. `ignoreChanges` is applied there too: processIgnoreChanges copies the imported value of
//   each ignored path into the inputs before Diff (same file).
// - helm.v3.Release (pulumi/pulumi-kubernetes provider/pkg/provider/helm_release.go; the mirror
//   holds master after v4.32.0, 4.34.2's tag is not in it): Read on import sets the inputs to name,
//   namespace, chart (`<helm repo name>/<chart>` when the operator's Helm repositories hold that
//   chart version, else the bare name: importRelease), version, the user-supplied values
//   (release.Config) and the default timeout (setDefaults: 300). Diff is a three-way merge patch of
//   old inputs, new inputs (after Check, which drops zero values such as atomic=false) and state: any
//   key the program adds (repositoryOpts, timeout, createNamespace) is a change. So the baseline
//   passes exactly name, namespace, `<repo>/<chart>`, version and values.
// - Kubernetes objects (same repo, provider.go Read and Diff): an import's inputs are the live object's
//   input properties (metadata with server-set labels, spec with server defaults), and Diff is a JSON
//   merge patch from the pruned live state to the new inputs, so a field left out is a deletion. The
//   facts carry the spec, not metadata: metadata.labels and metadata.annotations (and a Namespace's
//   spec, a ServiceAccount's token fields) are `ignoreChanges` in the baseline.
// - Vault (hashicorp/terraform-provider-vault v5.8.0, bridged by @pulumi/vault 7.8.0): each Read
//   sets every field Vault returns (vault/resource_mount.go, resource_auth_backend.go,
//   resource_policy.go, resource_kubernetes_auth_backend_config.go, _role.go,
//   resource_database_secret_backend_connection.go, _role.go); Diff is Terraform's plan of config
//   against that state, so the baseline passes every field discovered. Fields Vault never returns
//   stay unset: the connection's password (getDBConnectionConfig keeps the state's, empty after an
//   import) and the Kubernetes auth token_reviewer_jwt (resource_kubernetes_auth_backend_config.go
//   "Vault does not return the token_reviewer_jwt").
// - PostgreSQL (cyrilgdn/terraform-provider-postgresql v1.25.0, bridged by @pulumi/postgresql
//   3.18.1): resource_postgresql_role.go Read sets every attribute from pg_roles, and the password
//   from pg_shadow when the role can log in and the provider is a superuser (readRolePassword): the
//   baseline passes the attributes and ignores `password`; resource_postgresql_database.go Read sets
//   owner, encoding, connection limit (schema default -1): passed as discovered. Grants have no
//   importer (resource_postgresql_grant.go, _grant_role.go): the baseline registers none.
// - Cloudflare DNS records (@pulumi/cloudflare 6.22.1): Read returns type, name, content, proxied,
//   ttl: passed as discovered.
import * as path from "path";
import { ConfigError, LabConfig } from "./config";
import {
    DnsRecordFacts, FACTS_FILE, FactsError, HelmReleaseFacts, KubeObjectFacts, PostgresDatabaseFacts,
    PostgresRoleFacts, ProdFacts, readFacts, VaultDatabaseConnectionFacts, VaultDatabaseRoleFacts, VaultMountFacts,
} from "./facts";
import { isOfflinePlan } from "./offline";

/**
 * The Helm repository name the operator adds each chart's repository under (`helm repo add <name>
 * <url>`): an imported release's chart reads `<name>/<chart>` (helm_release.go importRelease).
 */
export const HELM_REPO_NAMES: Record<string, string> = {
    "https://charts.longhorn.io": "longhorn",
    "https://helm.releases.hashicorp.com": "hashicorp",
};

/** The Kubernetes fields the facts do not carry: left as they are on prod by the baseline. */
export const KUBE_METADATA_IGNORED = ["metadata.labels", "metadata.annotations"];

/** Prod's facts, or a configuration error (no stack trace) naming the file. Sandboxes have none. */
export function loadProdFacts(cfg: Pick<LabConfig, "isProd" | "stack">, projectDir: string): ProdFacts | undefined {
    if (!cfg.isProd) return undefined;
    try {
        return readFacts(projectDir);
    } catch (e) {
        if (e instanceof FactsError) throw new ConfigError(cfg.stack, "facts", e.message);
        throw e;
    }
}

/**
 * A stand-in is not prod: facts with source "seeds" were derived from the lab map, not read from the
 * live lab. The offline plan warns; a real run stops, like a REPLACE-ME placeholder.
 */
export function guardFactsSource(cfg: Pick<LabConfig, "isProd" | "stack">, facts: ProdFacts | undefined, offline = isOfflinePlan()): string[] {
    if (!cfg.isProd || !facts || facts.source === "discover") return [];
    const message = `${FACTS_FILE} is the stand-in derived from the seeds (source "${facts.source}"), not prod's facts: `
        + "record them with `npm run discover -- prod` (read-only) and commit the file (see docs/runbooks/adopt-prod.md)";
    if (offline) return [`${message} (the offline plan continues; a real run stops here)`];
    throw new ConfigError(cfg.stack, "facts", message);
}

/** snake_case (Vault's field names) to the Pulumi SDK's camelCase. */
export function camel(key: string): string {
    return key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

function camelKeys(o: Record<string, unknown>, skip: string[] = []): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(o)) if (!skip.includes(k) && v !== undefined && v !== null) out[camel(k)] = v;
    return out;
}

/** Vault connection fields that sit beside the engine block (the rest belong inside `postgresql`). */
const CONNECTION_TOP_LEVEL = ["allowed_roles", "verify_connection", "root_rotation_statements", "plugin_name",
    "rotation_period", "rotation_schedule", "rotation_window", "disable_automated_rotation", "password_policy"];
/** Never registered: Vault does not read them back, and the facts never hold a secret. */
const WRITE_ONLY = ["password", "token_reviewer_jwt", "private_key"];

/** Typed lookups into the facts: a missing fact stops the run, naming the file and what to do. */
export class Baseline {
    constructor(readonly facts: ProdFacts, readonly stack = "prod") {}

    private missing(what: string): never {
        throw new ConfigError(this.stack, "facts", `${FACTS_FILE} has no ${what}, which prod's stack adopts: `
            + "re-run `npm run discover -- prod`, or remove it from homelab:existing in Pulumi.prod.yaml");
    }

    release(namespace: string, name: string): HelmReleaseFacts {
        return this.facts.helmReleases[`${namespace}/${name}`] ?? this.missing(`Helm release ${namespace}/${name} (helmReleases)`);
    }

    /** A Helm release's inputs exactly as the import reads them (see the header). */
    releaseInputs(namespace: string, name: string, repo: string): Record<string, unknown> {
        const f = this.release(namespace, name);
        const repoName = HELM_REPO_NAMES[repo];
        if (!repoName) throw new ConfigError(this.stack, "versions", `no Helm repository name known for ${repo} (components/baseline.ts HELM_REPO_NAMES)`);
        return { name, namespace, chart: `${repoName}/${f.chart}`, version: f.version, values: f.values };
    }

    mount(p: string): VaultMountFacts {
        return this.facts.vault.mounts[p] ?? this.missing(`Vault mount ${p} (vault.mounts)`);
    }

    mountInputs(p: string): Record<string, unknown> {
        const f = this.mount(p);
        return { path: p, ...camelKeys(f as unknown as Record<string, unknown>) };
    }

    authInputs(p: string): Record<string, unknown> {
        const f = this.facts.vault.auth[p] ?? this.missing(`Vault auth backend ${p} (vault.auth)`);
        return { path: p, ...camelKeys(f as unknown as Record<string, unknown>) };
    }

    kubernetesAuthConfigInputs(backend: string): Record<string, unknown> {
        const f = this.facts.vault.kubernetesAuth[backend] ?? this.missing(`Kubernetes auth configuration of ${backend} (vault.kubernetesAuth)`);
        return { backend, ...camelKeys(f.config, WRITE_ONLY) };
    }

    kubernetesAuthRoleInputs(backend: string, role: string): Record<string, unknown> {
        const f = this.facts.vault.kubernetesAuth[backend]?.roles[role] ?? this.missing(`Kubernetes auth role ${backend}/${role} (vault.kubernetesAuth.${backend}.roles)`);
        return { backend, roleName: role, ...camelKeys(f) };
    }

    policyInputs(name: string): Record<string, unknown> {
        const text = this.facts.vault.policies[name] ?? this.missing(`Vault policy ${name} (vault.policies)`);
        return { name, policy: text };
    }

    connection(mount: string, name: string): VaultDatabaseConnectionFacts {
        return this.facts.vault.database[mount]?.connections[name] ?? this.missing(`Vault database connection ${mount}/${name} (vault.database.${mount}.connections)`);
    }

    /** A connection's non-secret fields; its password stays unset (never read back). */
    connectionInputs(mount: string, name: string): Record<string, unknown> {
        const f = this.connection(mount, name) as Record<string, unknown>;
        const top: Record<string, unknown> = {};
        const engine: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(f)) {
            if (WRITE_ONLY.includes(k) || v === undefined || v === null) continue;
            if (CONNECTION_TOP_LEVEL.includes(k)) top[k] = v;
            else engine[k] = v;
        }
        return { backend: mount, name, ...camelKeys(top), postgresql: camelKeys(engine) };
    }

    roleInputs(mount: string, name: string): Record<string, unknown> {
        const f: VaultDatabaseRoleFacts = this.facts.vault.database[mount]?.roles[name] ?? this.missing(`Vault database role ${mount}/${name} (vault.database.${mount}.roles)`);
        return { backend: mount, name, ...camelKeys(f) };
    }

    database(name: string): PostgresDatabaseFacts {
        return this.facts.postgres.databases[name] ?? this.missing(`PostgreSQL database ${name} (postgres.databases)`);
    }

    /** A database as PostgreSQL has it: owner, connection limit and encoding (its ACL is left alone: no grants). */
    databaseInputs(name: string): Record<string, unknown> {
        const f = this.database(name);
        return { name, owner: f.owner, connectionLimit: f.connectionLimit, encoding: f.encoding };
    }

    role(name: string): PostgresRoleFacts {
        return this.facts.postgres.roles[name] ?? this.missing(`PostgreSQL role ${name} (postgres.roles)`);
    }

    /** A role's attributes and memberships; its password is not registered (ignored: see the header). */
    roleAttributes(name: string): Record<string, unknown> {
        const f = this.role(name);
        return {
            name, login: f.login, superuser: f.superuser, createDatabase: f.createdb, createRole: f.createrole,
            inherit: f.inherit, replication: f.replication, bypassRowLevelSecurity: f.bypassRls,
            connectionLimit: f.connectionLimit, roles: [...f.memberOf].sort(),
        };
    }

    /** An object of an app namespace, if prod has it. */
    kubeObject(namespace: string, kind: string, name: string): KubeObjectFacts | undefined {
        return (this.facts.namespaces[namespace] ?? []).find((o) => o.kind === kind && o.name === name);
    }

    dnsRecord(app: string): DnsRecordFacts | undefined {
        return this.facts.dnsRecords[app];
    }
}

/** Where the facts file of a project is, for messages and docs. */
export function factsPath(projectDir: string): string {
    return path.join(projectDir, FACTS_FILE);
}
