#!/usr/bin/env bash
# Runs one service container (Postgres or Gitea) beside the sandbox-k3d cluster, on the
# cluster's Docker network, with its data in a named volume. Outside k3s, as on prod.
#
# Run by Pulumi (command.local.Command, create) with bash; idempotent: a running container
# of this stack with the pinned image is left untouched. What it creates carries the label
# homelab.stack=<STACK>, which is how the delete script knows it may remove it.
#
# Environment:
#   STACK, CONTAINER_NAME, IMAGE, NETWORK, VOLUME_NAME, VOLUME_PATH (mount point in the
#   container), PUBLISH (docker -p value, e.g. 127.0.0.1:15432:5432),
#   CONTAINER_ENV (optional: KEY=VALUE lines, not secret),
#   PASSWORD_ENV (optional: the variable that carries a generated admin password, e.g.
#   POSTGRES_PASSWORD; the password is generated on first create, kept with mode 600 in
#   ${XDG_CONFIG_HOME:-~/.config}/homelab/<STACK>/<CONTAINER_NAME>.password, passed to
#   docker by name only (never on a command line) and printed on stdout as the very
#   last thing: the command's stdout is a secret output with logging off),
#   READY_CHECK (optional: a command run inside the container until it succeeds),
#   READY_TIMEOUT (seconds, default 120),
#   CONTAINER_ARGS (optional: the container's command after the image, space-separated, not secret).
# Progress goes to stderr. Keep it bash 3.2 compatible (macOS /bin/bash).
set -euo pipefail

: "${STACK:?STACK is required (the Pulumi stack name)}"
: "${CONTAINER_NAME:?CONTAINER_NAME is required}"
: "${IMAGE:?IMAGE is required (a pinned image reference)}"
: "${NETWORK:?NETWORK is required (the k3d cluster network, k3d-<cluster>)}"
: "${VOLUME_NAME:?VOLUME_NAME is required}"
: "${VOLUME_PATH:?VOLUME_PATH is required (the data directory inside the container)}"
: "${PUBLISH:?PUBLISH is required (e.g. 127.0.0.1:15432:5432)}"
CONTAINER_ENV="${CONTAINER_ENV:-}"
PASSWORD_ENV="${PASSWORD_ENV:-}"
READY_CHECK="${READY_CHECK:-}"
READY_TIMEOUT="${READY_TIMEOUT:-120}"
CONTAINER_ARGS="${CONTAINER_ARGS:-}"

log() { printf '[%s] %s\n' "$CONTAINER_NAME" "$*" >&2; }
die() { printf '[%s] ERROR: %s\n' "$CONTAINER_NAME" "$*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || die "required tool '$1' is not installed or not on PATH ($2)"; }

label="homelab.stack=$STACK"
state_dir="${XDG_CONFIG_HOME:-$HOME/.config}/homelab/$STACK"
password_file="$state_dir/$CONTAINER_NAME.password"

log "checking tools"
need docker "install Docker Desktop, Colima or another Docker engine"
need od "part of the base system"
docker info >/dev/null 2>&1 || die "the Docker engine is not reachable ('docker info' failed): start Docker and retry"
docker network inspect "$NETWORK" >/dev/null 2>&1 \
    || die "Docker network $NETWORK not found: the k3d cluster must exist first"

# ours <kind> <name>: succeeds when the object exists and carries this stack's label.
ours() {
    local value
    value=$(docker "$1" inspect --format "{{ index .Config.Labels \"homelab.stack\" }}" "$2" 2>/dev/null) || return 1
    [ "$value" = "$STACK" ]
}
volume_ours() {
    local value
    value=$(docker volume inspect --format '{{ index .Labels "homelab.stack" }}' "$1" 2>/dev/null) || return 1
    [ "$value" = "$STACK" ]
}

wait_ready() {
    [ -n "$READY_CHECK" ] || return 0
    log "waiting up to ${READY_TIMEOUT}s for the service to be ready"
    local waited=0
    # READY_CHECK is a command line run by sh inside the container.
    until docker exec "$CONTAINER_NAME" sh -c "$READY_CHECK" >/dev/null 2>&1; do
        if [ "$waited" -ge "$READY_TIMEOUT" ]; then
            return 1
        fi
        sleep 2
        waited=$((waited + 2))
    done
}

print_password() {
    [ -n "$PASSWORD_ENV" ] || return 0
    cat "$password_file"
}

# 1. An existing container.
if docker container inspect "$CONTAINER_NAME" >/dev/null 2>&1; then
    ours container "$CONTAINER_NAME" \
        || die "a container named $CONTAINER_NAME exists but was not created by stack $STACK (no label $label); remove or rename it and retry"
    if [ -n "$PASSWORD_ENV" ] && [ ! -s "$password_file" ]; then
        die "container $CONTAINER_NAME exists but its password file $password_file is missing; remove the container and its volume (docker rm -f $CONTAINER_NAME; docker volume rm $VOLUME_NAME) and retry"
    fi
    current=$(docker container inspect --format '{{.Config.Image}}' "$CONTAINER_NAME")
    running=$(docker container inspect --format '{{.State.Running}}' "$CONTAINER_NAME")
    if [ "$current" = "$IMAGE" ]; then
        if [ "$running" = "true" ]; then
            log "done: unchanged (running $IMAGE)"
        else
            log "container exists but is stopped: starting it"
            docker start "$CONTAINER_NAME" >/dev/null || die "'docker start $CONTAINER_NAME' failed"
            wait_ready || die "the service did not become ready within ${READY_TIMEOUT}s (see: docker logs $CONTAINER_NAME)"
            log "done: started"
        fi
        print_password
        exit 0
    fi
    log "container runs $current, not $IMAGE: replacing the container (the volume $VOLUME_NAME is kept)"
    docker rm -f "$CONTAINER_NAME" >/dev/null || die "'docker rm -f $CONTAINER_NAME' failed"
fi

# 2. The volume.
created_volume=no
if docker volume inspect "$VOLUME_NAME" >/dev/null 2>&1; then
    volume_ours "$VOLUME_NAME" \
        || die "a volume named $VOLUME_NAME exists but was not created by stack $STACK (no label $label); remove or rename it and retry"
    if [ -n "$PASSWORD_ENV" ] && [ ! -s "$password_file" ]; then
        die "volume $VOLUME_NAME holds data initialised with a password that is lost ($password_file is missing); remove the volume (docker volume rm $VOLUME_NAME) and retry"
    fi
    log "reusing volume $VOLUME_NAME"
else
    log "creating volume $VOLUME_NAME"
    docker volume create --label "$label" "$VOLUME_NAME" >/dev/null || die "'docker volume create $VOLUME_NAME' failed"
    created_volume=yes
fi

# 3. The admin password: generated once, kept, never on a command line.
if [ -n "$PASSWORD_ENV" ]; then
    if [ ! -s "$password_file" ]; then
        log "generating the admin password (kept in $password_file, mode 600)"
        (umask 077 && mkdir -p "$state_dir")
        (umask 077 && od -An -tx1 -N24 /dev/urandom | tr -d ' \n' >"$password_file")
        [ -s "$password_file" ] || die "could not write $password_file"
    fi
    password=$(cat "$password_file")
    export "$PASSWORD_ENV=$password"
fi

cleanup_failed_create() {
    log "removing the half-created container so that a retry starts clean"
    docker rm -f "$CONTAINER_NAME" >/dev/null 2>&1 || true
    if [ "$created_volume" = yes ]; then
        docker volume rm "$VOLUME_NAME" >/dev/null 2>&1 || true
    fi
}

# 4. The container.
log "starting $IMAGE on network $NETWORK (published on $PUBLISH)"
set -- docker run --detach --name "$CONTAINER_NAME" --label "$label" \
    --network "$NETWORK" --restart unless-stopped \
    --volume "$VOLUME_NAME:$VOLUME_PATH" --publish "$PUBLISH"
while IFS= read -r pair; do
    [ -n "$pair" ] && set -- "$@" --env "$pair"
done <<ENV
$CONTAINER_ENV
ENV
if [ -n "$PASSWORD_ENV" ]; then
    set -- "$@" --env "$PASSWORD_ENV"   # the value comes from this process's environment
fi
set -- "$@" "$IMAGE"
# CONTAINER_ARGS is a space-separated list of words: split on purpose.
# shellcheck disable=SC2086
[ -z "$CONTAINER_ARGS" ] || set -- "$@" $CONTAINER_ARGS
if ! "$@" >/dev/null; then
    cleanup_failed_create
    die "'docker run' of $IMAGE failed (see the docker output above)"
fi
if ! wait_ready; then
    docker logs --tail 20 "$CONTAINER_NAME" >&2 2>&1 || true
    cleanup_failed_create
    die "the service did not become ready within ${READY_TIMEOUT}s (its last log lines are above)"
fi
log "done: created"
print_password
