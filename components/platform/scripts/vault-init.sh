#!/usr/bin/env bash
# Initializes and unseals the standalone Vault of sandbox-vms; idempotent:
#   not initialized      -> init (1 key share), keep the keys in a Secret of the vault namespace, unseal
#   initialized, sealed  -> unseal with the kept key (no re-init)
#   initialized, unsealed-> nothing
# Input (environment): KUBECONFIG_DATA (secret), VAULT_NAMESPACE, VAULT_POD, KEYS_SECRET.
# Output: one JSON document on stdout {"rootToken": ..., "unsealKey": ...}, marked secret by the
# command; one progress line per step on stderr. Secrets are never written to stderr.
set -euo pipefail

: "${KUBECONFIG_DATA:?vault-init: KUBECONFIG_DATA (the cluster kubeconfig) is required}"
ns=${VAULT_NAMESPACE:-vault}
pod=${VAULT_POD:-vault-0}
keys_secret=${KEYS_SECRET:-vault-init-keys}
wait_seconds=${WAIT_SECONDS:-300}

for tool in kubectl jq; do
  command -v "$tool" >/dev/null 2>&1 || { echo "vault-init: $tool is required but not installed" >&2; exit 1; }
done

kubeconfig=$(mktemp)
trap 'rm -f "$kubeconfig"' EXIT
chmod 600 "$kubeconfig"
printf '%s\n' "$KUBECONFIG_DATA" >"$kubeconfig"
kc() { kubectl --kubeconfig "$kubeconfig" -n "$ns" "$@"; }

echo "vault-init: waiting for pod $ns/$pod to run (up to ${wait_seconds}s)" >&2
deadline=$((SECONDS + wait_seconds))
until [ "$(kc get pod "$pod" -o jsonpath='{.status.phase}' 2>/dev/null || true)" = "Running" ]; do
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "vault-init: pod $ns/$pod is not running after ${wait_seconds}s" >&2
    exit 1
  fi
  sleep 5
done

# `vault status` exits 2 when sealed: that is an answer, not a failure.
status() { kc exec "$pod" -- vault status -format=json 2>/dev/null || true; }
st=$(status)
if [ -z "$st" ]; then
  echo "vault-init: could not read vault status from $ns/$pod" >&2
  exit 1
fi

if [ "$(jq -r .initialized <<<"$st")" != "true" ]; then
  echo "vault-init: vault is not initialized: initializing (1 key share)" >&2
  init=$(kc exec "$pod" -- vault operator init -key-shares=1 -key-threshold=1 -format=json)
  unseal_key=$(jq -r '.unseal_keys_b64[0]' <<<"$init")
  root_token=$(jq -r '.root_token' <<<"$init")
  echo "vault-init: keeping the unseal key and root token in secret $ns/$keys_secret" >&2
  kc create secret generic "$keys_secret" \
    --from-literal=unsealKey="$unseal_key" --from-literal=rootToken="$root_token" >/dev/null
  action=initialized
else
  echo "vault-init: vault is already initialized: reading the kept keys" >&2
  unseal_key=$(kc get secret "$keys_secret" -o jsonpath='{.data.unsealKey}' | base64 -d)
  root_token=$(kc get secret "$keys_secret" -o jsonpath='{.data.rootToken}' | base64 -d)
  action=unchanged
fi

if [ "$(jq -r .sealed <<<"$(status)")" = "true" ]; then
  echo "vault-init: vault is sealed: unsealing" >&2
  kc exec "$pod" -- vault operator unseal "$unseal_key" >/dev/null
  [ "$action" = unchanged ] && action=unsealed
else
  echo "vault-init: vault is unsealed" >&2
fi

if [ "$(jq -r .sealed <<<"$(status)")" != "false" ]; then
  echo "vault-init: vault is still sealed after unsealing" >&2
  exit 1
fi
echo "vault-init: done ($action)" >&2
jq -cn --arg rootToken "$root_token" --arg unsealKey "$unseal_key" '{rootToken: $rootToken, unsealKey: $unsealKey}'
