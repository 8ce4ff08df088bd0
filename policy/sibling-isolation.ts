// sibling-isolation: an instance (app, env) is isolated from every other instance by names and
// grants only (in-cluster siblings such as erp-sandbox share prod's cluster, database server and
// Vault). So no Vault policy, database role, grant, role membership, Vault database connection or
// secrets role, or Kubernetes-auth role of an instance may refer to another instance's database,
// roles (the one its credentials act as, the one owning its database), Vault path, secret or
// namespace. Mandatory in every stack.
//
// The shape it knows (README.md, "The database contract"): per instance two NOLOGIN roles, grants on
// its own database to its own role and to Vault's shared login (shared.vaultPostgresRole, which is
// no instance's), Vault's ADMIN OPTION on its own role, and PUBLIC's privileges revoked. A grant to
// PUBLIC is a grant to every sibling's users, so an instance may only revoke from PUBLIC.
//
// Names are compared as whole identifiers/path segments, never as substrings: `erp` is a prefix of
// `erp-sandbox`, and `apps/data/erp-sandbox` is not erp's. A Vault policy path is also matched as
// Vault does (a trailing `*` is a prefix glob, `+` one segment), so `apps/data/erp*` in erp's policy
// is caught: it also grants apps/data/erp-sandbox.
import { ResourceValidationPolicy } from "@pulumi/policy";
import { InstanceNames, shared } from "../components/naming";
import { catalogue, ownership, stackMigrationOn, stackOfUrn } from "./context";
import { get, getString, getStrings, stringLeaves } from "./runtime";

export const NAME = "sibling-isolation";

/** The resource types an instance grants or binds with. */
export const ISOLATED_TYPES = new Set([
    "vault:index/policy:Policy",
    "postgresql:index/role:Role",
    "postgresql:index/grant:Grant",
    "postgresql:index/grantRole:GrantRole",
    "vault:database/secretBackendRole:SecretBackendRole",
    "vault:database/secretBackendConnection:SecretBackendConnection",
    "vault:kubernetes/authBackendRole:AuthBackendRole",
]);

/** Inputs that hold credentials, not names. */
const IGNORED_INPUTS = new Set(["password", "passwordWo", "passwordWoVersion"]);

/** The identifiers an instance owns: id (namespace, database, Vault names), owner role, secret names. */
function ownedIdentifiers(n: InstanceNames): string[] {
    return [...new Set([n.instance, n.namespace, n.database, n.ownerRole, n.databaseOwnerRole, n.vaultPolicy, n.kubernetesAuthRole,
        n.databaseSecretsRole, n.databaseConnection, n.kvPath, n.serviceAccount, n.dynamicSecret, n.dbCredentialsSecret])];
}

/** The Vault path prefixes an instance owns: each, and everything under it, is the instance's alone. */
function ownedVaultPaths(n: InstanceNames): string[] {
    return [
        `${shared.kvMount}/data/${n.kvPath}`,
        `${shared.kvMount}/metadata/${n.kvPath}`,
        `${shared.kvMount}/delete/${n.kvPath}`,
        `${shared.kvMount}/undelete/${n.kvPath}`,
        `${shared.kvMount}/destroy/${n.kvPath}`,
        `${shared.databaseMount}/creds/${n.databaseSecretsRole}`,
        `${shared.databaseMount}/roles/${n.databaseSecretsRole}`,
        `${shared.databaseMount}/config/${n.databaseConnection}`,
        `auth/${shared.kubernetesAuthPath}/role/${n.kubernetesAuthRole}`,
    ];
}

/** Whether a Vault policy path pattern matches a concrete path (`+`: one segment; trailing `*`: any suffix). */
export function vaultPathMatches(pattern: string, concrete: string): boolean {
    const glob = pattern.endsWith("*");
    const body = glob ? pattern.slice(0, -1) : pattern;
    const re = body.split("/").map((seg) => (seg === "+" ? "[^/]+" : seg.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))).join("/");
    return new RegExp(`^${re}${glob ? ".*" : ""}$`).test(concrete);
}

/** Whether a Vault policy path pattern matches `base` or any path under it. */
export function vaultPatternReaches(pattern: string, base: string): boolean {
    const glob = pattern.endsWith("*");
    const segs = (glob ? pattern.slice(0, -1) : pattern).split("/");
    const b = base.split("/");
    const last = segs.length - 1;
    for (let j = 0; j < segs.length; j++) {
        if (j >= b.length) return true; // under base: any segment can be supplied
        if (glob && j === last) return b.slice(j).join("/").startsWith(segs[j]);
        if (segs[j] !== "+" && segs[j] !== b[j]) return false;
    }
    return segs.length >= b.length;
}

/** The paths of a Vault policy document (JSON, or HCL `path "..." {`). */
export function vaultPolicyPaths(doc: string): string[] {
    const t = doc.trim();
    if (t.startsWith("{")) {
        try {
            const j = JSON.parse(t) as { path?: Record<string, unknown> | Record<string, unknown>[] };
            const p = j.path;
            if (Array.isArray(p)) return p.flatMap((x) => Object.keys(x ?? {}));
            if (p && typeof p === "object") return Object.keys(p);
        } catch {
            // fall through to HCL
        }
    }
    return [...t.matchAll(/\bpath\s+"([^"]+)"/g)].map((m) => m[1]);
}

/** Identifier tokens of a string: SQL names, path segments, URL parts (`"erp_role"` -> erp_role). */
function identifiers(s: string): string[] {
    return s.split(/[^A-Za-z0-9_-]+/).filter(Boolean);
}

export const siblingIsolation: ResourceValidationPolicy = {
    name: NAME,
    description: "An app instance's Vault policy, database roles, grants and role memberships, Vault database connection and role, and "
        + "Kubernetes-auth role refer only to its own database, role, Vault paths and namespace, never to another instance's.",
    enforcementLevel: "mandatory",
    validateResource: (args, reportViolation) => {
        if (!ISOLATED_TYPES.has(args.type)) return;
        const own = ownership(args.urn, args.name, args.opts.parent);
        if (!own.perApp) return;
        const stack = stackOfUrn(args.urn) ?? "";
        const others = [...catalogue(stack).instances.values()].filter((n) => n.instance !== own.instanceName);
        const mine = new Set(own.names ? ownedIdentifiers(own.names) : own.instanceName ? [own.instanceName] : []);
        const owner = new Map<string, InstanceNames>();
        for (const n of others) for (const id of ownedIdentifiers(n)) if (!mine.has(id)) owner.set(id, n);
        const who = own.instanceName ?? "?";
        // One violation per (input, other instance): the first, most precise reason.
        const reported = new Set<string>();
        const report = (input: string, where: string, what: string, other: InstanceNames) => {
            const key = `${input}|${other.instance}`;
            if (reported.has(key)) return;
            reported.add(key);
            reportViolation(
                `${args.type} "${args.name}" of instance ${who}: ${where} refers to ${what} of instance ${other.instance} `
                + `(app ${other.app}, env ${other.env}); an instance may only refer to its own names.`, args.urn);
        };

        // Vault policy paths, matched the way Vault matches them.
        if (args.type === "vault:index/policy:Policy") {
            const doc = getString(args.props, "policy");
            if (doc) {
                for (const p of vaultPolicyPaths(doc)) {
                    for (const other of others) {
                        const hit = ownedVaultPaths(other).find((base) => vaultPatternReaches(p, base));
                        if (hit) report("policy", `policy path "${p}"`, `the Vault path ${hit}`, other);
                    }
                }
            }
        }
        // Vault connects as its shared, non-superuser login: any other login (the superuser, another
        // instance's role) could issue users that reach every instance.
        // (Before prod's database-contract migration, the connection is prod's as discovered.)
        if (args.type === "vault:database/secretBackendConnection:SecretBackendConnection" && stackMigrationOn(stackOfUrn(args.urn), "database-contract")) {
            const user = getString(args.props, "postgresql", "username");
            if (user !== undefined && user !== shared.vaultPostgresRole) {
                reportViolation(`${args.type} "${args.name}" of instance ${who}: Vault connects as "${user}"; it must connect as its own `
                    + `login "${shared.vaultPostgresRole}" (CREATEROLE, ADMIN OPTION on each instance's role only), never a superuser.`, args.urn);
            }
        }
        // A grant to PUBLIC reaches every other instance's users.
        if (args.type === "postgresql:index/grant:Grant" && (getString(args.props, "role") ?? "").toLowerCase() === "public") {
            const privileges = getStrings(args.props, "privileges") ?? [];
            if (privileges.length > 0) {
                reportViolation(`${args.type} "${args.name}" of instance ${who}: grants ${privileges.join(", ")} to PUBLIC, which every `
                    + "other instance's users belong to; an instance may only revoke from PUBLIC (privileges: []).", args.urn);
            }
        }
        // Every name in every input, as whole identifiers (SQL names, path segments, list items).
        for (const input of Object.keys(args.props).sort()) {
            if (IGNORED_INPUTS.has(input)) continue;
            for (const leaf of stringLeaves(get(args.props, input), input)) {
                for (const id of identifiers(leaf.value)) {
                    const other = owner.get(id);
                    if (other) report(input, `input ${leaf.path}`, `"${id}", ${kindOf(id, other)}`, other);
                }
            }
        }
    },
};

/** What an identifier is to the instance that owns it. */
function kindOf(id: string, n: InstanceNames): string {
    if (id === n.ownerRole) return "the role its credentials act as";
    if (id === n.databaseOwnerRole) return "the role owning its database";
    if (id === n.dynamicSecret || id === n.dbCredentialsSecret) return "a secret";
    return "the database, namespace and Vault name";
}
