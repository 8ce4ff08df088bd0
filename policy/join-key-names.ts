// join-key-names: every per-app resource (a child of an AppInstance) is named as
// components/naming.ts says for its (app, env): the expected names come from instanceNames(), never
// from rules re-implemented here. The instance is the AppInstance parent's name, which must be an
// instance of the stack's catalogue. Mandatory in every stack.
import { ResourceValidationPolicy } from "@pulumi/policy";
import { instanceId, InstanceNames, publicHostname, PROD_ENV } from "../components/naming";
import { APP_INSTANCE_TYPE, catalogue, ownership, stackConfig, stackOfUrn } from "./context";
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
function checksFor(type: string, props: Record<string, unknown>, n: InstanceNames, zone: string | undefined): Check[] | undefined {
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
            if (get(props, "owner") !== undefined) checks.push({ path: "owner", actual: s("owner"), expected: n.databaseOwnerRole });
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

export const joinKeyNames: ResourceValidationPolicy = {
    name: NAME,
    description: "Per-app resources are named by the join key (app, env) exactly as components/naming.ts derives them.",
    enforcementLevel: "mandatory",
    validateResource: (args, reportViolation) => {
        const stack = stackOfUrn(args.urn) ?? "";
        const what = `${args.type} "${args.name}"`;

        // The AppInstance itself: its name is the instance id of its (app, env), one of the catalogue's.
        if (args.type === APP_INSTANCE_TYPE) {
            const app = getString(args.props, "app");
            const env = getString(args.props, "env");
            const cat = catalogue(stack);
            if (app && env) {
                let expected: string;
                try {
                    expected = instanceId(app, env);
                } catch (e) {
                    reportViolation(`${what}: (app ${app}, env ${env}) makes no valid name: ${(e as Error).message}.`, args.urn);
                    return;
                }
                if (args.name !== expected) reportViolation(`${what} of app ${app}, env ${env} must be named "${expected}" (naming.instanceId).`, args.urn);
                else if (!cat.instances.has(expected)) reportViolation(`${what}: app ${app} has no env ${env} in the app catalogue.`, args.urn);
            } else if (!cat.instances.has(args.name)) {
                reportViolation(`${what} is not an instance of the app catalogue (known: ${[...cat.instances.keys()].join(", ")}).`, args.urn);
            }
            return;
        }

        const own = ownership(args.urn, args.name, args.opts.parent);
        if (!own.perApp) return;
        const n = own.names;
        if (!n) {
            reportViolation(`${what} belongs to an AppInstance that is not an instance of the app catalogue`
                + `${own.instanceName ? ` ("${own.instanceName}")` : ""}, so its names cannot follow the join key.`, args.urn);
            return;
        }
        if (args.name !== n.instance && !args.name.startsWith(`${n.instance}-`)) {
            reportViolation(`${what}: a child of instance ${n.instance} is named "${n.instance}-<part>".`, args.urn);
        }
        if (args.type === "cloudflare:index/dnsRecord:DnsRecord" && n.env !== PROD_ENV) {
            reportViolation(`${what}: only the prod env of an app is published; instance ${n.instance} is env ${n.env}.`, args.urn);
        }
        const checks = checksFor(args.type, args.props, n, stackConfig(stack)?.zone) ?? [];
        for (const c of checks) {
            if (mismatch(c) && !unknownAt(args.props, c.path)) {
                const expected = Array.isArray(c.expected) ? JSON.stringify(c.expected) : `"${c.expected}"${c.each ? " (every item)" : ""}`;
                reportViolation(`${what} of instance ${n.instance} (app ${n.app}, env ${n.env}): ${c.path} is ${show(c.actual)}, `
                    + `expected ${expected} as components/naming.ts derives it.`, args.urn);
            }
        }
    },
};
