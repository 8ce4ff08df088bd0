#!/usr/bin/env bash
# Creates the sandbox-k3d cluster on the operator's laptop: one k3s server in Docker,
# pinned to the k3s image of the version manifest, its API bound to 127.0.0.1, k3s's
# packaged Traefik running as on prod (published on 127.0.0.1:$INGRESS_PORT when given), and
# the operator's default kubeconfig left untouched.
#
# Run by Pulumi (command.local.Command, create) with bash; idempotent: an existing
# cluster with the pinned image is left as it is (started if it was stopped).
# Environment: CLUSTER_NAME, K3S_IMAGE, API_PORT, WAIT_TIMEOUT (seconds); optional
# NODE_PORTS: space-separated <laptop port>:<NodePort> pairs published on 127.0.0.1;
# optional FIX_DNS: 1 or 0 sets K3D_FIX_DNS (k3d's DNS fix) for k3d, empty leaves it to k3d
# (homelab:k3d.dockerRuntime; see components/metal/README.md).
# INGRESS_PORT: the laptop port (127.0.0.1) of the cluster's port 80, where Traefik answers.
# Progress goes to stderr; stdout gets one word: created, started or unchanged.
# Keep it bash 3.2 compatible (macOS /bin/bash).
set -euo pipefail

: "${CLUSTER_NAME:?CLUSTER_NAME is required (the k3d cluster name)}"
: "${K3S_IMAGE:?K3S_IMAGE is required (e.g. rancher/k3s:v1.34.3-k3s1)}"
: "${API_PORT:?API_PORT is required (the Kubernetes API port on 127.0.0.1)}"
: "${WAIT_TIMEOUT:?WAIT_TIMEOUT is required (seconds k3d may wait for the cluster)}"

log() { printf '[k3d %s] %s\n' "$CLUSTER_NAME" "$*" >&2; }
die() { printf '[k3d %s] ERROR: %s\n' "$CLUSTER_NAME" "$*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || die "required tool '$1' is not installed or not on PATH ($2)"; }

# k3d's DNS fix (K3D_FIX_DNS): pods resolve the Postgres and Gitea containers by name through
# Docker's embedded DNS with it, but it breaks DNS on Colima. Set only where the stack names the
# runtime; otherwise k3d decides (k3d 5.9.0+: on, except on Colima).
FIX_DNS="${FIX_DNS:-}"
case "$FIX_DNS" in
    "") dns_note="k3d's DNS fix: left to k3d" ;;
    1 | 0) export K3D_FIX_DNS="$FIX_DNS"; dns_note="K3D_FIX_DNS=$FIX_DNS" ;;
    *) die "FIX_DNS '$FIX_DNS' must be 1, 0 or empty (homelab:k3d.dockerRuntime)" ;;
esac

log "checking tools"
need docker "install Docker Desktop, Colima or another Docker engine"
need k3d "install k3d: brew install k3d"
docker info >/dev/null 2>&1 || die "the Docker engine is not reachable ('docker info' failed): start Docker and retry"

cluster_state() {
    # Prints "<servers running>/<servers>" for the cluster, or nothing if it does not exist.
    local list
    list=$(k3d cluster list --no-headers) || die "'k3d cluster list' failed"
    printf '%s\n' "$list" | awk -v n="$CLUSTER_NAME" '$1 == n { print $2 }'
}

log "looking for an existing cluster"
state=$(cluster_state)
if [ -n "$state" ]; then
    server="k3d-$CLUSTER_NAME-server-0"
    image=$(docker inspect --format '{{.Config.Image}}' "$server" 2>/dev/null) \
        || die "cluster exists but its server container $server cannot be inspected; delete it with 'k3d cluster delete $CLUSTER_NAME' and retry"
    if [ "$image" != "$K3S_IMAGE" ]; then
        die "cluster exists with image $image, not the pinned $K3S_IMAGE; this stack did not create it so. Delete it with 'k3d cluster delete $CLUSTER_NAME' and retry"
    fi
    case "$state" in
        0/*)
            log "cluster exists with $K3S_IMAGE but is stopped: starting it"
            k3d cluster start "$CLUSTER_NAME" --wait --timeout "${WAIT_TIMEOUT}s" >&2 || die "'k3d cluster start' failed"
            log "done: started"
            echo started
            ;;
        *)
            log "done: unchanged (already running $K3S_IMAGE)"
            echo unchanged
            ;;
    esac
    exit 0
fi

port_args=()
for pair in ${NODE_PORTS:-}; do
    case "$pair" in
        [0-9]*:[0-9]*) port_args+=(--port "127.0.0.1:${pair%%:*}:${pair#*:}@server:0") ;;
        *) die "NODE_PORTS entry '$pair' is not <laptop port>:<NodePort>" ;;
    esac
done

if [ -n "${INGRESS_PORT:-}" ]; then
    case "$INGRESS_PORT" in
        *[!0-9]*) die "INGRESS_PORT '$INGRESS_PORT' is not a port number" ;;
    esac
    port_args+=(--port "127.0.0.1:$INGRESS_PORT:80@loadbalancer")
fi

log "creating the cluster with $K3S_IMAGE (API on 127.0.0.1:$API_PORT, Traefik on 127.0.0.1:${INGRESS_PORT:-(not published)}, $dns_note, waiting up to ${WAIT_TIMEOUT}s)"
if ! k3d cluster create "$CLUSTER_NAME" \
    --image "$K3S_IMAGE" \
    --servers 1 --agents 0 \
    --api-port "127.0.0.1:$API_PORT" \
    ${port_args[@]+"${port_args[@]}"} \
    --wait --timeout "${WAIT_TIMEOUT}s" \
    --kubeconfig-update-default=false --kubeconfig-switch-context=false >&2; then
    # Nothing half-created: the cluster did not exist before this run, so remove what is left.
    if [ -n "$(cluster_state)" ]; then
        log "creation failed: deleting the half-created cluster so that a retry starts clean"
        k3d cluster delete "$CLUSTER_NAME" >&2 || log "warning: 'k3d cluster delete $CLUSTER_NAME' failed too; run it by hand"
    fi
    die "'k3d cluster create' failed (see its output above)"
fi
log "done: created"
echo created
