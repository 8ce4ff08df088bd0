#!/usr/bin/env bash
# Prints a fresh random root token id for Vault's dev mode (sandbox-k3d only) on stdout.
# stdout is the secret payload (the command marks it secret); progress goes to stderr.
# The chart passes it as VAULT_DEV_ROOT_TOKEN_ID, which Vault creates through its token store:
# a custom token id may not start with 'hvs.' or 's.' and may not contain a '.' at all
# (hashicorp/vault, vault/token_store.go, TokenStore.create), or the dev server exits at start.
# So: letters, digits and '-' only.
# The program runs it once, when the resource is created: editing this file does not rotate
# the token of a running Vault (see vault-bootstrap.ts).
# Bash 3.2 compatible: macOS runs it with its /bin/bash.
set -euo pipefail

command -v od >/dev/null 2>&1 || { echo "vault-dev-token: od is required but not installed" >&2; exit 1; }
echo "vault-dev-token: generating a dev root token" >&2
token=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
case "$token" in
  *[!0-9a-f]* | "") token="" ;;
esac
if [ "${#token}" -ne 32 ]; then
  echo "vault-dev-token: could not read 16 random bytes from /dev/urandom" >&2
  exit 1
fi
printf 'devroot-%s' "$token"
