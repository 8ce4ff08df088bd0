#!/usr/bin/env bash
# Prints the kubeconfig of the sandbox-k3d cluster on stdout (the command's stdout is a
# secret output with logging off). Nothing else goes to stdout. Idempotent (read only).
# Environment: CLUSTER_NAME, API_PORT. Keep it bash 3.2 compatible (macOS /bin/bash).
set -euo pipefail

: "${CLUSTER_NAME:?CLUSTER_NAME is required (the k3d cluster name)}"
: "${API_PORT:?API_PORT is required (the Kubernetes API port on 127.0.0.1)}"

log() { printf '[k3d %s] %s\n' "$CLUSTER_NAME" "$*" >&2; }
die() { printf '[k3d %s] ERROR: %s\n' "$CLUSTER_NAME" "$*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || die "required tool '$1' is not installed or not on PATH ($2)"; }

log "checking tools"
need k3d "install k3d: brew install k3d"

log "reading the kubeconfig (not printed in the log)"
kubeconfig=$(k3d kubeconfig get "$CLUSTER_NAME" 2>/dev/null) \
    || die "'k3d kubeconfig get $CLUSTER_NAME' failed: does the cluster exist and is Docker running?"
case "$kubeconfig" in
    *apiVersion*clusters*) ;;
    *) die "'k3d kubeconfig get $CLUSTER_NAME' did not return a kubeconfig" ;;
esac
case "$kubeconfig" in
    *"https://127.0.0.1:$API_PORT"*) ;;
    *) die "the kubeconfig does not point at https://127.0.0.1:$API_PORT: was the cluster created by another tool?" ;;
esac
log "done: kubeconfig read"
printf '%s\n' "$kubeconfig"
