#!/usr/bin/env bash
# Runs Postgres and Gitea with docker compose on the data host, outside k3s. The compose
# file, rendered by the program, arrives on stdin; it is installed in $DATA_DIR and
# started with `docker compose up -d`, which recreates only what changed (an unchanged
# file restarts nothing). Prints created, updated or unchanged.
#
# The Postgres admin password is generated on the host on first run and kept there in
# $DATA_DIR/postgres.env (mode 600, read by compose as env_file). It is printed on stdout
# as the very last thing: the command's stdout is a secret output with logging off.
#
# Runs ON THE HOST, as root (through `sudo -n`). Used by prod and sandbox-vms alike.
# Environment: NODE_NAME; DATA_DIR (default /opt/homelab/data), COMPOSE_PROJECT (default
# homelab-data), POSTGRES_VOLUME (default homelab-postgres-data), SERVICE_PORTS (the host
# ports the compose file publishes, default "5432 3000 2222"), READY_TIMEOUT (seconds,
# default 180). Progress goes to stderr.
#
# First run on a host that already serves Postgres or Gitea (an older, hand-made setup):
# the script stops before creating anything if one of SERVICE_PORTS is taken, naming the
# container or process; that service must be moved into this compose project first.
set -euo pipefail

: "${NODE_NAME:?NODE_NAME is required}"
DATA_DIR="${DATA_DIR:-/opt/homelab/data}"
COMPOSE_PROJECT="${COMPOSE_PROJECT:-homelab-data}"
POSTGRES_VOLUME="${POSTGRES_VOLUME:-homelab-postgres-data}"
SERVICE_PORTS="${SERVICE_PORTS:-5432 3000 2222}"
READY_TIMEOUT="${READY_TIMEOUT:-180}"

log() { printf '[data %s] %s\n' "$NODE_NAME" "$*" >&2; }
die() { printf '[data %s] ERROR: %s\n' "$NODE_NAME" "$*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || die "required tool '$1' is not installed on $NODE_NAME ($2)"; }

log "checking tools"
need docker "install Docker: apt-get install docker.io"
need od "coreutils"
if docker compose version >/dev/null 2>&1; then
    compose_cmd="docker compose"
elif command -v docker-compose >/dev/null 2>&1; then
    compose_cmd="docker-compose"
else
    die "required tool 'docker compose' is not installed on $NODE_NAME (package docker-compose-v2 or docker-compose-plugin; or the standalone docker-compose)"
fi
docker info >/dev/null 2>&1 || die "the Docker engine is not running on $NODE_NAME (systemctl start docker)"

content=$(cat)
[ -n "$content" ] || die "no compose file arrived on stdin"

project_containers() {
    # The running containers of the compose project (both compose flavours set this label).
    docker ps --quiet --no-trunc --filter "label=com.docker.compose.project=$COMPOSE_PROJECT" | sort
}
before=$(project_containers) || die "'docker ps' failed"
if [ -z "$before" ]; then
    log "first start: checking that ports $SERVICE_PORTS are free"
    for port in $SERVICE_PORTS; do
        holder=$(docker ps --filter "publish=$port" --format '{{.Names}}') || die "'docker ps' failed"
        if [ -z "$holder" ] && command -v ss >/dev/null 2>&1; then
            holder=$(ss -Hltnp "sport = :$port" 2>/dev/null | awk '{ print $NF }')
        fi
        if [ -n "$holder" ]; then
            die "port $port is already in use on $NODE_NAME (by: $(printf '%s' "$holder" | tr '\n' ' ')). An existing service must be moved into the compose project $COMPOSE_PROJECT first; nothing was started"
        fi
    done
fi

log "preparing $DATA_DIR"
mkdir -p "$DATA_DIR"
chmod 700 "$DATA_DIR"

env_file="$DATA_DIR/postgres.env"
if [ ! -s "$env_file" ]; then
    if docker volume inspect "$POSTGRES_VOLUME" >/dev/null 2>&1; then
        die "volume $POSTGRES_VOLUME holds data initialised with a password that is lost ($env_file is missing); restore the file or remove the volume, then retry"
    fi
    log "generating the Postgres admin password (kept in $env_file, mode 600)"
    password=$(od -An -tx1 -N24 /dev/urandom | tr -d ' \n')
    (umask 077 && printf 'POSTGRES_PASSWORD=%s\n' "$password" >"$env_file")
fi
chmod 600 "$env_file"
password=$(sed -n 's/^POSTGRES_PASSWORD=//p' "$env_file")
[ -n "$password" ] || die "$env_file has no POSTGRES_PASSWORD= line"

# A sandbox's MinIO (its own backup target): root password generated once, kept in minio.env.
minio_env="$DATA_DIR/minio.env"
if printf '%s' "$content" | grep -q 'minio.env' && [ ! -s "$minio_env" ]; then
    log "generating the MinIO root password (kept in $minio_env, mode 600)"
    (umask 077 && printf 'MINIO_ROOT_PASSWORD=%s\n' "$(od -An -tx1 -N24 /dev/urandom | tr -d ' \n')" >"$minio_env")
fi

file="$DATA_DIR/compose.yaml"
if [ -f "$file" ] && [ "$(cat "$file")" = "$content" ]; then
    log "compose file unchanged"
else
    log "installing $file"
    printf '%s\n' "$content" >"$file.new"
    chmod 644 "$file.new"
    mv -f "$file.new" "$file"
fi

compose() {
    # $compose_cmd is "docker compose" or "docker-compose": split on purpose.
    # shellcheck disable=SC2086
    $compose_cmd --project-name "$COMPOSE_PROJECT" --file "$file" "$@"
}

log "starting the services ($compose_cmd up -d)"
compose up -d --remove-orphans >&2 || die "'$compose_cmd up' failed (see its output above)"
after=$(project_containers) || die "'docker ps' failed"
if [ -z "$before" ]; then
    result=created
elif [ "$before" = "$after" ]; then
    result=unchanged
else
    result=updated
fi

log "waiting up to ${READY_TIMEOUT}s for Postgres to accept connections"
waited=0
until compose exec -T postgres pg_isready -U postgres -h 127.0.0.1 >/dev/null 2>&1; do
    [ "$waited" -lt "$READY_TIMEOUT" ] || die "Postgres did not become ready within ${READY_TIMEOUT}s (see: $compose_cmd -p $COMPOSE_PROJECT logs postgres)"
    sleep 3
    waited=$((waited + 3))
done
log "done: $result"
printf '%s\n' "$password"
