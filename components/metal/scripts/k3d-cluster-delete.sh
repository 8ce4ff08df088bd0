#!/usr/bin/env bash
# Deletes the sandbox-k3d cluster (and only it: k3d removes its own containers, network
# and volumes). Run by Pulumi (command.local.Command, delete); idempotent.
# Environment: CLUSTER_NAME. Keep it bash 3.2 compatible (macOS /bin/bash).
set -euo pipefail

: "${CLUSTER_NAME:?CLUSTER_NAME is required (the k3d cluster name)}"

log() { printf '[k3d %s] %s\n' "$CLUSTER_NAME" "$*" >&2; }
die() { printf '[k3d %s] ERROR: %s\n' "$CLUSTER_NAME" "$*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || die "required tool '$1' is not installed or not on PATH ($2)"; }

log "checking tools"
need docker "install Docker Desktop, Colima or another Docker engine"
need k3d "install k3d: brew install k3d"

log "looking for the cluster"
list=$(k3d cluster list --no-headers) || die "'k3d cluster list' failed (is the Docker engine running?)"
if printf '%s\n' "$list" | awk -v n="$CLUSTER_NAME" '$1 == n { found = 1 } END { exit !found }'; then
    log "deleting the cluster"
    k3d cluster delete "$CLUSTER_NAME" >&2 || die "'k3d cluster delete $CLUSTER_NAME' failed"
    log "done: deleted"
else
    log "done: no such cluster, nothing to delete"
fi
