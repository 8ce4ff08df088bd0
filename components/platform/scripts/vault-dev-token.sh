#!/usr/bin/env bash
# Prints a fresh random root token for Vault's dev mode (sandbox-k3d only) on stdout.
# stdout is the secret payload (the command marks it secret); progress goes to stderr.
set -euo pipefail

command -v od >/dev/null 2>&1 || { echo "vault-dev-token: od is required but not installed" >&2; exit 1; }
echo "vault-dev-token: generating a dev root token" >&2
token=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
if [ "${#token}" -ne 32 ]; then
  echo "vault-dev-token: could not read 16 random bytes from /dev/urandom" >&2
  exit 1
fi
printf 'hvs.dev-%s' "$token"
