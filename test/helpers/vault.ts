// What upstream Vault accepts, encoded once for the tests and the fakes' checks.

/**
 * Why Vault's token store refuses a custom (caller-chosen) token id, or undefined when it accepts
 * it. Dev mode creates its root token this way from VAULT_DEV_ROOT_TOKEN_ID (the vault chart's
 * server.dev.devRootToken): POST auth/token/create with {"id": ...} (hashicorp/vault,
 * command/server.go, enableDev), and a refusal ends the dev server at start.
 * The rule, from hashicorp/vault vault/token_store.go, TokenStore.create (service tokens):
 *   case strings.HasPrefix(entry.ID, consts.ServiceTokenPrefix):       "hvs."
 *   case strings.HasPrefix(entry.ID, consts.LegacyServiceTokenPrefix): "s."
 *   case strings.Contains(entry.ID, "."):
 * with the prefixes of sdk/helper/consts/token_consts.go; the messages below are Vault's own.
 * Read in hashicorp/vault's history: the same at the commit that opened the 1.21 line (VERSION
 * 1.21.0-beta1, 9c6db449d8), at the one that opened 1.22 (544476d2ae), and on main since 2022
 * (27f15edd9f, SSCT tokens), so in the v1.21.x releases the manifest runs (the release tags
 * themselves were not reachable from here).
 */
export function customTokenIdError(id: string): string | undefined {
    if (id.startsWith("hvs.")) return "custom token ID cannot have the 'hvs.' prefix";
    if (id.startsWith("s.")) return "custom token ID cannot have the 's.' prefix";
    if (id.includes(".")) return "custom token ID cannot have a '.' in the value";
    return undefined;
}
