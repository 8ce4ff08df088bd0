#!/usr/bin/env bash
# Removes exactly what k3d-container-create.sh created for this stack: the container and
# the volume named here if they carry the label homelab.stack=<STACK>, and the kept
# password file. Anything of the same name without the label is left alone (with a
# warning). Run by Pulumi (command.local.Command, delete); idempotent.
# Environment: STACK, CONTAINER_NAME, VOLUME_NAME, PASSWORD_ENV (optional).
# Keep it bash 3.2 compatible (macOS /bin/bash).
set -euo pipefail

: "${STACK:?STACK is required (the Pulumi stack name)}"
: "${CONTAINER_NAME:?CONTAINER_NAME is required}"
: "${VOLUME_NAME:?VOLUME_NAME is required}"
PASSWORD_ENV="${PASSWORD_ENV:-}"

log() { printf '[%s] %s\n' "$CONTAINER_NAME" "$*" >&2; }
die() { printf '[%s] ERROR: %s\n' "$CONTAINER_NAME" "$*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || die "required tool '$1' is not installed or not on PATH ($2)"; }

password_file="${XDG_CONFIG_HOME:-$HOME/.config}/homelab/$STACK/$CONTAINER_NAME.password"

log "checking tools"
need docker "install Docker Desktop, Colima or another Docker engine"
docker info >/dev/null 2>&1 || die "the Docker engine is not reachable ('docker info' failed): start Docker and retry"

if docker container inspect "$CONTAINER_NAME" >/dev/null 2>&1; then
    owner=$(docker container inspect --format '{{ index .Config.Labels "homelab.stack" }}' "$CONTAINER_NAME")
    if [ "$owner" = "$STACK" ]; then
        log "removing container $CONTAINER_NAME"
        docker rm -f "$CONTAINER_NAME" >/dev/null || die "'docker rm -f $CONTAINER_NAME' failed"
    else
        log "warning: container $CONTAINER_NAME was not created by stack $STACK: left alone"
    fi
else
    log "container $CONTAINER_NAME not found: nothing to remove"
fi

if docker volume inspect "$VOLUME_NAME" >/dev/null 2>&1; then
    owner=$(docker volume inspect --format '{{ index .Labels "homelab.stack" }}' "$VOLUME_NAME")
    if [ "$owner" = "$STACK" ]; then
        log "removing volume $VOLUME_NAME"
        docker volume rm "$VOLUME_NAME" >/dev/null || die "'docker volume rm $VOLUME_NAME' failed"
    else
        log "warning: volume $VOLUME_NAME was not created by stack $STACK: left alone"
    fi
else
    log "volume $VOLUME_NAME not found: nothing to remove"
fi

if [ -n "$PASSWORD_ENV" ] && [ -e "$password_file" ]; then
    log "removing the kept password file $password_file"
    rm -f "$password_file"
fi
log "done: deleted"
