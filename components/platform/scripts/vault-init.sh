#!/usr/bin/env bash
# Initializes and unseals the standalone Vault of sandbox-vms; idempotent:
#   not initialized      -> init (1 key share), keep the keys in a Secret of the vault namespace, unseal
#   initialized, sealed  -> unseal with the kept key (no re-init)
#   initialized, unsealed-> nothing
# Input (environment): KUBECONFIG_DATA (secret), VAULT_NAMESPACE, VAULT_POD, KEYS_SECRET,
# WAIT_SECONDS (how long to wait for the pod to run and Vault to answer; default 300),
# POLL_SECONDS (the pause between two tries; default 5).
# Output: one JSON document on stdout {"rootToken": ..., "unsealKey": ...}, marked secret by the
# command; one progress line per step on stderr. Secrets are never written to stderr, and never
# put on a command line (visible in `ps`, and in the API server's exec request): kubectl, jq and
# vault get them on stdin (printf is a shell builtin, not a process).
# Needs kubectl and jq on the laptop (README, "needs").
# Bash 3.2 compatible: macOS runs it with its /bin/bash.
set -euo pipefail

: "${KUBECONFIG_DATA:?vault-init: KUBECONFIG_DATA (the cluster kubeconfig) is required}"
ns=${VAULT_NAMESPACE:-vault}
pod=${VAULT_POD:-vault-0}
keys_secret=${KEYS_SECRET:-vault-init-keys}
wait_seconds=${WAIT_SECONDS:-300}
poll_seconds=${POLL_SECONDS:-5}
case "$wait_seconds" in
  "" | *[!0-9]*) echo "vault-init: WAIT_SECONDS must be a whole number of seconds, not '$wait_seconds'" >&2; exit 1 ;;
esac
case "$poll_seconds" in
  "" | . | *[!0-9.]* | *.*.*) echo "vault-init: POLL_SECONDS must be a number of seconds, not '$poll_seconds'" >&2; exit 1 ;;
esac

need() { command -v "$1" >/dev/null 2>&1 || { echo "vault-init: required tool '$1' is not installed or not on PATH ($2)" >&2; exit 1; }; }
need kubectl "install kubectl: brew install kubectl"
need jq "install jq: brew install jq"

# The kubeconfig (a secret) lives in a private temporary folder, removed on exit.
umask 077
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
kubeconfig="$work/kubeconfig"
errors="$work/errors"
printf '%s\n' "$KUBECONFIG_DATA" >"$kubeconfig"
chmod 600 "$kubeconfig"
kc() { kubectl --kubeconfig "$kubeconfig" -n "$ns" "$@"; }

# Vault's status JSON on stdout; fails (kubectl's error in $errors) when Vault does not answer.
# `vault status` exits 2 when sealed: that is an answer, not a failure.
status() {
  local out
  out=$(kc exec "$pod" -- vault status -format=json 2>"$errors") || [ $? -eq 2 ] || return 1
  if ! jq -e '(.initialized | type) == "boolean" and (.sealed | type) == "boolean"' <<<"$out" >/dev/null 2>&1; then
    echo "'vault status' did not answer its JSON" >>"$errors"
    return 1
  fi
  printf '%s\n' "$out"
}
last_error() { tail -n 3 "$errors" | tr '\n' ' ' | sed 's/ *$//'; }

# The container runs a moment before Vault listens: wait for both.
echo "vault-init: waiting for pod $ns/$pod to run and Vault to answer (up to ${wait_seconds}s)" >&2
deadline=$((SECONDS + wait_seconds))
while :; do
  phase=$(kc get pod "$pod" -o jsonpath='{.status.phase}' 2>"$errors") || phase=""
  if [ "$phase" = Running ] && st=$(status); then
    break
  fi
  if [ "$SECONDS" -ge "$deadline" ]; then
    if [ "$phase" = Running ]; then
      echo "vault-init: could not read vault status from $ns/$pod after ${wait_seconds}s: $(last_error)" >&2
    elif [ -s "$errors" ]; then
      echo "vault-init: pod $ns/$pod is not running after ${wait_seconds}s: $(last_error)" >&2
    else
      echo "vault-init: pod $ns/$pod is not running after ${wait_seconds}s (phase ${phase:-unknown})" >&2
    fi
    exit 1
  fi
  sleep "$poll_seconds"
done

if [ "$(jq -r .initialized <<<"$st")" = false ]; then
  # A Secret left by an earlier Vault (its storage was reset) would make `create secret` fail
  # after the init, and the new keys would be lost: refuse before initializing.
  existing=$(kc get secret "$keys_secret" --ignore-not-found -o name) || {
    echo "vault-init: could not check for secret $ns/$keys_secret" >&2
    exit 1
  }
  if [ -n "$existing" ]; then
    echo "vault-init: vault is not initialized but secret $ns/$keys_secret exists (the keys of an earlier Vault?):" \
      "delete it (kubectl -n $ns delete secret $keys_secret) and run again" >&2
    exit 1
  fi
  echo "vault-init: vault is not initialized: initializing (1 key share)" >&2
  init=$(kc exec "$pod" -- vault operator init -key-shares=1 -key-threshold=1 -format=json) || {
    echo "vault-init: 'vault operator init' failed" >&2
    exit 1
  }
  unseal_key=$(jq -r '.unseal_keys_b64[0] // empty' <<<"$init" 2>/dev/null) || unseal_key=""
  root_token=$(jq -r '.root_token // empty' <<<"$init" 2>/dev/null) || root_token=""
  if [ -z "$unseal_key" ] || [ -z "$root_token" ]; then
    echo "vault-init: 'vault operator init' did not answer an unseal key and a root token" >&2
    exit 1
  fi
  echo "vault-init: keeping the unseal key and root token in secret $ns/$keys_secret" >&2
  # Vault is initialized now: losing these keys means resetting its storage, so try hard.
  # The Secret's manifest is built by jq from stdin and read by kubectl from stdin.
  kept=false
  for attempt in 1 2 3; do
    if printf '%s\n%s\n' "$unseal_key" "$root_token" |
      jq -Rn --arg name "$keys_secret" \
        '[inputs] as $v | {apiVersion: "v1", kind: "Secret", type: "Opaque", metadata: {name: $name}, stringData: {unsealKey: $v[0], rootToken: $v[1]}}' |
      kc create -f - >/dev/null; then
      kept=true
      break
    fi
    [ "$attempt" -eq 3 ] || sleep "$poll_seconds"
  done
  if [ "$kept" != true ]; then
    echo "vault-init: vault is initialized but its keys could not be kept in secret $ns/$keys_secret:" \
      "they are lost; reset the sandbox Vault's storage and run again" >&2
    exit 1
  fi
  action=initialized
else
  echo "vault-init: vault is already initialized: reading the kept keys" >&2
  # One key of the Secret, decoded; fails when it is missing or empty.
  kept_key() {
    local b64
    b64=$(kc get secret "$keys_secret" -o jsonpath="{.data.$1}") || return 1
    [ -n "$b64" ] || return 1
    printf '%s' "$b64" | base64 --decode
  }
  if ! unseal_key=$(kept_key unsealKey) || ! root_token=$(kept_key rootToken) ||
    [ -z "$unseal_key" ] || [ -z "$root_token" ]; then
    echo "vault-init: could not read the kept keys (unsealKey, rootToken) of secret $ns/$keys_secret" >&2
    exit 1
  fi
  action=unchanged
fi

st=$(status) || { echo "vault-init: could not read vault status from $ns/$pod: $(last_error)" >&2; exit 1; }
if [ "$(jq -r .sealed <<<"$st")" = true ]; then
  echo "vault-init: vault is sealed: unsealing" >&2
  # `vault operator unseal` reads a key from stdin only from a terminal; `vault write ... -` reads the
  # request body (JSON) from stdin (hashicorp/go-secure-stdlib, password/password_unix.go and
  # kv-builder/builder.go). PUT sys/unseal is what `vault operator unseal` sends.
  printf '%s' "$unseal_key" | jq -cR '{key: .}' |
    kc exec -i "$pod" -- vault write -format=json sys/unseal - >/dev/null || {
    echo "vault-init: unsealing failed (is the key in secret $ns/$keys_secret the one of this Vault?)" >&2
    exit 1
  }
  [ "$action" = unchanged ] && action=unsealed
else
  echo "vault-init: vault is unsealed" >&2
fi

st=$(status) || { echo "vault-init: could not read vault status from $ns/$pod: $(last_error)" >&2; exit 1; }
if [ "$(jq -r .sealed <<<"$st")" != false ]; then
  echo "vault-init: vault is still sealed after unsealing" >&2
  exit 1
fi
echo "vault-init: done ($action)" >&2
printf '%s\n%s\n' "$root_token" "$unseal_key" | jq -cRn '[inputs] | {rootToken: .[0], unsealKey: .[1]}'
