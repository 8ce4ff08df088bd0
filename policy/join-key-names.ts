// join-key-names: every per-app resource (a child of an AppInstance) is named as
// components/naming.ts says for its (app, env): the expected names come from instanceNames(), never
// from rules re-implemented here. The (app, env) is what the AppInstance itself registered, not
// what a stack file says: the real CLI, `npm run plan -- <stack> --config-file <file>` and the
// tests all judge the configuration the program ran with. Only prod's DNS zone is read from prod's
// committed stack file (the fingerprint), on purpose. Mandatory in every stack.
import { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { instanceId, InstanceNames, instanceNames, publicHostname, PROD_ENV } from "../components/naming";
import { APP_INSTANCE_TYPE, prodFingerprint, stackMigrationOn, stackOfUrn } from "./context";
import { get, getString, getStrings, probe, UNKNOWN } from "./runtime";

export const NAME = "join-key-names";

type Check = { path: string; actual: unknown; expected: string | string[]; each?: boolean };

/** A path that is unknown during preview (it will be checked again, known, at update). */
function unknownAt(props: Record<string, unknown>, path: string): boolean {
    const parts = path.split(".");
    for (let i = 1; i <= parts.length; i++) if (probe(props, ...parts.slice(0, i)) === UNKNOWN) return true;
    const v = probe(props, ...parts);
    if (Array.isArray(v)) for (let i = 0; i < v.length; i++) if (probe(v, i) === UNKNOWN) return true;
    return false;
}

/** The name checks of one resource type, from its instance's names. */
function checksFor(type: string, props: Record<string, unknown>, n: InstanceNames, zone: string | undefined, contract = true): Check[] | undefined {
    const s = (...p: string[]) => getString(props, ...p);
    const l = (...p: string[]) => getStrings(props, ...p);
    switch (type) {
        case "kubernetes:core/v1:Namespace":
            return [{ path: "metadata.name", actual: s("metadata", "name"), expected: n.namespace }];
        case "kubernetes:core/v1:ServiceAccount":
            return [
                { path: "metadata.name", actual: s("metadata", "name"), expected: n.serviceAccount },
                { path: "metadata.namespace", actual: s("metadata", "namespace"), expected: n.namespace },
            ];
        case "postgresql:index/database:Database": {
            const checks: Check[] = [{ path: "name", actual: s("name"), expected: n.database }];
            // Before prod's database-contract migration, the owner is what prod has (facts/prod.json).
            if (get(props, "owner") !== undefined && contract) checks.push({ path: "owner", actual: s("owner"), expected: n.databaseOwnerRole });
            return checks;
        }
        case "postgresql:index/role:Role": {
            // Two roles per instance: the one its credentials act as, and the database's owner.
            const name = s("name");
            return [{ path: "name", actual: name, expected: name === n.databaseOwnerRole ? n.databaseOwnerRole : n.ownerRole }];
        }
        case "postgresql:index/grantRole:GrantRole":
            return [{ path: "grantRole", actual: s("grantRole"), expected: n.ownerRole }];
        case "postgresql:index/grant:Grant":
            return [{ path: "database", actual: s("database"), expected: n.database }];
        case "vault:index/policy:Policy":
            return [{ path: "name", actual: s("name"), expected: n.vaultPolicy }];
        case "vault:kubernetes/authBackendRole:AuthBackendRole":
            return [
                { path: "roleName", actual: s("roleName"), expected: n.kubernetesAuthRole },
                { path: "boundServiceAccountNamespaces", actual: l("boundServiceAccountNamespaces"), expected: n.namespace, each: true },
                { path: "boundServiceAccountNames", actual: l("boundServiceAccountNames"), expected: n.serviceAccount, each: true },
            ];
        case "vault:database/secretBackendRole:SecretBackendRole":
            return [
                { path: "name", actual: s("name"), expected: n.databaseSecretsRole },
                { path: "dbName", actual: s("dbName"), expected: n.databaseConnection },
            ];
        case "vault:database/secretBackendConnection:SecretBackendConnection":
            return [
                { path: "name", actual: s("name"), expected: n.databaseConnection },
                { path: "allowedRoles", actual: l("allowedRoles"), expected: n.databaseSecretsRole, each: true },
            ];
        case "kubernetes:secrets.hashicorp.com/v1beta1:VaultAuth":
            return [
                { path: "metadata.name", actual: s("metadata", "name"), expected: n.vaultAuth },
                { path: "metadata.namespace", actual: s("metadata", "namespace"), expected: n.namespace },
                { path: "spec.kubernetes.role", actual: s("spec", "kubernetes", "role"), expected: n.kubernetesAuthRole },
                { path: "spec.kubernetes.serviceAccount", actual: s("spec", "kubernetes", "serviceAccount"), expected: n.serviceAccount },
            ];
        case "kubernetes:secrets.hashicorp.com/v1beta1:VaultDynamicSecret":
            return [
                { path: "metadata.name", actual: s("metadata", "name"), expected: n.dynamicSecret },
                { path: "metadata.namespace", actual: s("metadata", "namespace"), expected: n.namespace },
                { path: "spec.destination.name", actual: s("spec", "destination", "name"), expected: n.dbCredentialsSecret },
            ];
        case "kubernetes:argoproj.io/v1alpha1:Application": {
            const checks: Check[] = [
                { path: "metadata.name", actual: s("metadata", "name"), expected: n.argoApplication },
                { path: "spec.destination.namespace", actual: s("spec", "destination", "namespace"), expected: n.namespace },
            ];
            if (get(props, "spec", "source", "helm", "valueFiles") !== undefined) {
                checks.push({ path: "spec.source.helm.valueFiles", actual: l("spec", "source", "helm", "valueFiles"), expected: n.valueFiles });
            }
            return checks;
        }
        case "cloudflare:index/dnsRecord:DnsRecord":
            return zone ? [{ path: "name", actual: s("name"), expected: publicHostname(n.app, zone) }] : [];
        default:
            return undefined;
    }
}

function show(v: unknown): string {
    return v === undefined ? "not set" : JSON.stringify(v);
}

function mismatch(c: Check): boolean {
    if (Array.isArray(c.expected)) {
        return !Array.isArray(c.actual) || c.actual.length !== c.expected.length || c.actual.some((x, i) => x !== c.expected[i]);
    }
    if (c.each) return !Array.isArray(c.actual) || c.actual.length === 0 || c.actual.some((x) => x !== c.expected);
    return c.actual !== c.expected;
}

export const joinKeyNames: StackValidationPolicy = {
    name: NAME,
    description: "Per-app resources are named by the join key (app, env) exactly as components/naming.ts derives them.",
    enforcementLevel: "mandatory",
    validateStack: (args, reportViolation) => {
        // Each AppInstance: its (app, env) as registered, and its name the instance id they make.
        const names = new Map<string, InstanceNames | undefined>();
        for (const r of args.resources.filter((x) => x.type === APP_INSTANCE_TYPE)) {
            const what = `${r.type} "${r.name}"`;
            const app = getString(r.props, "app");
            const env = getString(r.props, "env");
            if (!app || !env) {
                reportViolation(`${what} registered no app and env, so its resources' names cannot be checked against the join key.`, r.urn);
                names.set(r.urn, undefined);
                continue;
            }
            let n: InstanceNames;
            try {
                n = instanceNames(app, env);
            } catch (e) {
                reportViolation(`${what}: (app ${app}, env ${env}) makes no valid name: ${(e as Error).message}.`, r.urn);
                names.set(r.urn, undefined);
                continue;
            }
            if (r.name !== instanceId(app, env)) reportViolation(`${what} of app ${app}, env ${env} must be named "${n.instance}" (naming.instanceId).`, r.urn);
            names.set(r.urn, n);
        }
        const zone = prodFingerprint().zone;
        for (const r of args.resources) {
            if (r.type === APP_INSTANCE_TYPE) continue;
            const owner = instanceOf(r);
            if (!owner) continue;
            const n = names.get(owner.urn);
            if (!n) continue;
            const what = `${r.type} "${r.name}"`;
            if (r.name !== n.instance && !r.name.startsWith(`${n.instance}-`)) {
                reportViolation(`${what}: a child of instance ${n.instance} is named "${n.instance}-<part>".`, r.urn);
            }
            if (r.type === "cloudflare:index/dnsRecord:DnsRecord" && n.env !== PROD_ENV) {
                reportViolation(`${what}: only the prod env of an app is published; instance ${n.instance} is env ${n.env}.`, r.urn);
            }
            const checks = checksFor(r.type, r.props, n, zone, stackMigrationOn(stackOfUrn(r.urn), "database-contract")) ?? [];
            for (const c of checks) {
                if (mismatch(c) && !unknownAt(r.props, c.path)) {
                    const expected = Array.isArray(c.expected) ? JSON.stringify(c.expected) : `"${c.expected}"${c.each ? " (every item)" : ""}`;
                    reportViolation(`${what} of instance ${n.instance} (app ${n.app}, env ${n.env}): ${c.path} is ${show(c.actual)}, `
                        + `expected ${expected} as components/naming.ts derives it.`, r.urn);
                }
            }
        }
    },
};

/** The AppInstance a resource belongs to: its nearest AppInstance ancestor. */
function instanceOf(r: PolicyResource): PolicyResource | undefined {
    for (let p = r.parent; p; p = p.parent) if (p.type === APP_INSTANCE_TYPE) return p;
    return undefined;
}
