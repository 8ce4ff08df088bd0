#!/usr/bin/env bash
# Deletes and purges one sandbox-vms VM (and only it). Run by Pulumi
# (command.local.Command, delete); idempotent. Environment: VM_NAME.
# Keep it bash 3.2 compatible (macOS /bin/bash).
set -euo pipefail

: "${VM_NAME:?VM_NAME is required}"

log() { printf '[vm %s] %s\n' "$VM_NAME" "$*" >&2; }
die() { printf '[vm %s] ERROR: %s\n' "$VM_NAME" "$*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || die "required tool '$1' is not installed or not on PATH ($2)"; }

log "checking tools"
need multipass "install it from https://multipass.run (brew install --cask multipass)"

log "looking for the VM"
list=$(multipass list --format csv) || die "'multipass list' failed: is the multipass daemon running?"
if printf '%s\n' "$list" | awk -F, -v n="$VM_NAME" 'NR > 1 && $1 == n { found = 1 } END { exit !found }'; then
    log "deleting and purging the VM"
    multipass delete --purge "$VM_NAME" >&2 || die "'multipass delete --purge $VM_NAME' failed"
    log "done: deleted"
else
    log "done: no such VM, nothing to delete"
fi
