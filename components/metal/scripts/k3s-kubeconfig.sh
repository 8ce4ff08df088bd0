#!/usr/bin/env bash
# Prints the k3s server's kubeconfig on stdout with its API address rewritten from
# https://127.0.0.1:6443 to https://<SERVER_ADDRESS>:6443, the address the operator
# reaches. The command's stdout is a secret output with logging off; nothing else goes
# there. Runs ON THE SERVER, as root (through `sudo -n`). Read only, so idempotent.
# Environment: SERVER_ADDRESS, NODE_NAME; K3S_CONFIG_DIR (default /etc/rancher/k3s).
set -euo pipefail

: "${SERVER_ADDRESS:?SERVER_ADDRESS is required (the address the operator reaches)}"
: "${NODE_NAME:?NODE_NAME is required}"
K3S_CONFIG_DIR="${K3S_CONFIG_DIR:-/etc/rancher/k3s}"

log() { printf '[k3s %s] %s\n' "$NODE_NAME" "$*" >&2; }
die() { printf '[k3s %s] ERROR: %s\n' "$NODE_NAME" "$*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || die "required tool '$1' is not installed on $NODE_NAME ($2)"; }

[[ "$SERVER_ADDRESS" =~ ^[A-Za-z0-9.-]+$ ]] || die "SERVER_ADDRESS '$SERVER_ADDRESS' is not an IPv4 address or host name"

log "checking tools"
need sed "part of the base system"
need grep "part of the base system"

file="$K3S_CONFIG_DIR/k3s.yaml"
log "reading $file (not printed in the log)"
[ -r "$file" ] || die "$file not found or not readable: is k3s installed as a server on $NODE_NAME?"
grep -q 'https://127.0.0.1:6443' "$file" || die "$file has no server https://127.0.0.1:6443 to rewrite"
kubeconfig=$(sed "s#https://127.0.0.1:6443#https://$SERVER_ADDRESS:6443#g" "$file")
log "done: kubeconfig read, server rewritten to https://$SERVER_ADDRESS:6443"
printf '%s\n' "$kubeconfig"
