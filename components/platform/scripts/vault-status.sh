#!/usr/bin/env bash
# Read-only probe of a sandbox's own Vault, run on every preview and update (an invoke): its one
# line on stdout feeds the `triggers` of the bring-up commands (vault-init.sh, vault-wait.sh).
#   ready                      Vault answers initialized and unsealed: nothing to do, the
#                              line stays the same, and nothing runs again
#   bring-up <state> <nonce>   anything else (sealed after a reboot, not initialized, not
#                              answering): the line differs from every earlier one, so the
#                              commands run again (they are idempotent, wait, and say what fails)
# It never fails for a Vault that does not answer: waiting and reporting are the commands' job.
# Input (environment): VAULT_ADDR, the address the Vault provider uses.
# Vault's GET /v1/sys/health answers 200 when initialized, unsealed and active, 501 when not
# initialized, 503 when sealed (hashicorp/vault, http/sys_health.go).
# Bash 3.2 compatible: macOS runs it with its /bin/bash.
set -euo pipefail

: "${VAULT_ADDR:?vault-status: VAULT_ADDR (the address of the Vault) is required}"
command -v curl >/dev/null 2>&1 || {
  echo "vault-status: required tool 'curl' is not installed or not on PATH (macOS ships it; elsewhere: apt-get install curl)" >&2
  exit 1
}
addr=${VAULT_ADDR%/}

code=$(curl -s -o /dev/null -w '%{http_code}' --connect-timeout 3 --max-time 5 "$addr/v1/sys/health") || true
case "$code" in
  200) state=ready ;;
  501) state=uninitialized ;;
  503) state=sealed ;;
  000 | "") state=unreachable ;;
  *) state="http-$code" ;;
esac
echo "vault-status: Vault at $addr is $state" >&2
if [ "$state" = ready ]; then
  echo ready
else
  echo "bring-up $state $(date +%s)-$$-$RANDOM"
fi
