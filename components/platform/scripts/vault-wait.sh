#!/usr/bin/env bash
# Waits until a sandbox's own Vault answers initialized and unsealed at the address the Vault
# provider uses, so that nothing configures Vault before it listens. The Helm release is no such
# signal: the vault chart's StatefulSet uses the OnDelete update strategy, for which Helm's
# readiness wait returns at once (hashicorp/vault-helm, templates/server-statefulset.yaml).
# Input (environment): VAULT_ADDR; VAULT_NAMESPACE and VAULT_POD (named in the error's hint);
# WAIT_SECONDS (default 300), POLL_SECONDS (the pause between two tries; default 2).
# Output: nothing on stdout; one progress line per change of what Vault answers, on stderr.
# Vault's GET /v1/sys/health answers 200 when initialized, unsealed and active, 501 when not
# initialized, 503 when sealed (hashicorp/vault, http/sys_health.go).
# Bash 3.2 compatible: macOS runs it with its /bin/bash.
set -euo pipefail

: "${VAULT_ADDR:?vault-wait: VAULT_ADDR (the address of the Vault) is required}"
ns=${VAULT_NAMESPACE:-vault}
pod=${VAULT_POD:-vault-0}
wait_seconds=${WAIT_SECONDS:-300}
poll_seconds=${POLL_SECONDS:-2}
case "$wait_seconds" in
  "" | *[!0-9]*) echo "vault-wait: WAIT_SECONDS must be a whole number of seconds, not '$wait_seconds'" >&2; exit 1 ;;
esac
case "$poll_seconds" in
  "" | . | *[!0-9.]* | *.*.*) echo "vault-wait: POLL_SECONDS must be a number of seconds, not '$poll_seconds'" >&2; exit 1 ;;
esac
command -v curl >/dev/null 2>&1 || {
  echo "vault-wait: required tool 'curl' is not installed or not on PATH (macOS ships it; elsewhere: apt-get install curl)" >&2
  exit 1
}
addr=${VAULT_ADDR%/}

echo "vault-wait: waiting for Vault at $addr to answer initialized and unsealed (up to ${wait_seconds}s)" >&2
deadline=$((SECONDS + wait_seconds))
last=""
while :; do
  code=$(curl -s -o /dev/null -w '%{http_code}' --connect-timeout 3 --max-time 5 "$addr/v1/sys/health") || true
  case "$code" in
    200)
      echo "vault-wait: Vault at $addr answers: initialized and unsealed" >&2
      exit 0
      ;;
    501) answer="not initialized (HTTP 501)" ;;
    503) answer="sealed (HTTP 503)" ;;
    000 | "") answer="no answer (connection refused or timed out)" ;;
    *) answer="HTTP $code" ;;
  esac
  if [ "$answer" != "$last" ]; then
    echo "vault-wait: Vault at $addr: $answer; still waiting" >&2
    last=$answer
  fi
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "vault-wait: Vault at $addr is not ready after ${wait_seconds}s (last answer: $answer);" \
      "see kubectl -n $ns get pod $pod and kubectl -n $ns logs $pod" >&2
    exit 1
  fi
  sleep "$poll_seconds"
done
