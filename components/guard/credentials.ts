// Providers fail closed: a sandbox provider is never constructed with an empty, missing or
// placeholder credential, because each provider then reads the operator's ambient one:
//   - pulumi-kubernetes: the pinned SDK itself (@pulumi/kubernetes 4.34.2 provider.js:
//     `resourceInputs["kubeconfig"] = args?.kubeconfig ?? utilities.getEnv("KUBECONFIG")`) takes
//     $KUBECONFIG when the value is missing, and the provider binary, given none, loads
//     ~/.kube/config and its current context (client-go's default loading rules; not read at the
//     4.34.2 tag here);
//   - cyrilgdn/terraform-provider-postgresql (postgresql/provider.go): `password` defaults to
//     $PGPASSWORD, `host` to $PGHOST, `username` to $PGUSER, `database` to $PGDATABASE;
//   - terraform-provider-vault (v5.8.0, internal/provider/meta.go and provider.go): an empty
//     `token` is read from $VAULT_TOKEN, then the token helper (~/.vault-token); `address` from
//     $VAULT_ADDR.
// The check runs where the value is known (an Output's apply) and throws before the provider's
// registration completes, naming the provider and the key; the value itself is never printed.
import * as pulumi from "@pulumi/pulumi";

export class CredentialError extends pulumi.RunError {
    constructor(message: string) {
        super(message);
        this.name = "CredentialError";
    }
}

/** Why a credential is unusable (empty, a placeholder, an unknown of the offline plan), or undefined. */
export function credentialProblem(value: string | undefined): string | undefined {
    if (value === undefined || value === null) return "missing";
    const v = String(value).trim();
    if (v === "") return "empty";
    if (/REPLACE-ME/i.test(v)) return "a REPLACE-ME placeholder";
    if (v === "[secret]" || v === "[unknown]") return "a placeholder of the offline plan";
    return undefined;
}

/** A kubeconfig that names at least one cluster with a server, or why not. */
export function kubeconfigProblem(value: string | undefined): string | undefined {
    const p = credentialProblem(value);
    if (p) return p;
    if (!/^\s*clusters\s*:/m.test(value!) || !/server\s*:\s*\S+/.test(value!)) return "not a kubeconfig with a cluster and its server";
    return undefined;
}

/**
 * The credential, once known, or an error naming the provider and the key. `check` defaults to
 * credentialProblem. Prod is not checked here (its Postgres password may be the operator's
 * PGPASSWORD on purpose: prod is what it is).
 */
export function requireCredential<T extends string | undefined>(provider: string, key: string, value: pulumi.Input<T>,
    check: (v: string | undefined) => string | undefined = credentialProblem): pulumi.Output<T> {
    return pulumi.output(value).apply((v) => {
        const problem = check(v as string | undefined);
        if (problem) {
            throw new CredentialError(`the ${provider} provider's ${key} is ${problem}: a sandbox never constructs a provider `
                + `without its own credential (the provider would fall back to the operator's ambient one, which may be prod's). `
                + `The layer that produces it did not deliver it; see the resource that creates it in the plan.`);
        }
        return v;
    }) as pulumi.Output<T>;
}
