#!/usr/bin/env bash
# Backs up the data host: every instance database (`pg_dump -Fc`) and the roles and grants
# (`pg_dumpall --globals-only`), with the tools of the running Postgres container itself
# (`docker exec`), so that the dump's version always matches the server's; and Gitea (`gitea
# dump` inside its container, as its RUN_USER, the way docs.gitea.com "Backup and Restore" (1.25)
# documents it for Docker). Each kind is uploaded with rclone to the stack's backup target
# under <TARGET>/<kind>/<id>/, manifest.json last (a backup without a manifest is incomplete),
# then retention keeps the newest RETAIN complete backups of that kind.
#
# A failed run exits non-zero naming what failed; retention runs only for a kind whose upload
# succeeded in this run, and never removes the backup it just made, so the previous good backup
# survives any failure.
#
# Runs ON THE DATA HOST as root, from the homelab-backup systemd timer (or by hand:
# `systemctl start homelab-backup.service`). The upload credentials are never on a command line:
# rclone reads its remote "target" from RCLONE_CONFIG_TARGET_* variables, which systemd loads
# from an EnvironmentFile of mode 600 written by backup-install.sh.
#
# Environment:
#   STACK          the Pulumi stack (recorded in the manifests)
#   TARGET         rclone path of the stack's prefix, e.g. target:homelab-sandbox-vms/sandbox-vms
#   PG_CONTAINER   the running Postgres container (empty: no database backup)
#   GITEA_CONTAINER the running Gitea container (empty: no Gitea backup)
#   COMPOSE_PROJECT when set, PG_CONTAINER and GITEA_CONTAINER are services of this compose
#                  project, found by the labels compose puts on their containers
#   KINDS          what to back up, default "postgres gitea"
#   PG_USER        the Postgres superuser inside the container, default postgres
#   WORK_DIR       where dumps are staged, default /var/lib/homelab-backup
#   RETAIN         complete backups kept per kind, default 14 (at least 1)
#   GITEA_CONFIG   app.ini inside the Gitea container, default /data/gitea/conf/app.ini
#   GITEA_USER     the user gitea runs as inside the container, default git
#   RCLONE_BIN     the rclone backup-install.sh chose (at least RCLONE_MIN_VERSION), default rclone
#   RCLONE_MIN_VERSION default 1.63.0: older rclone cannot read GCS back (rclone issue 6670)
# Progress goes to stderr, one line per step. Keep it bash 3.2 compatible.
set -euo pipefail

: "${STACK:?STACK is required}"
: "${TARGET:?TARGET is required (the rclone path of the stack prefix, e.g. target:bucket/stack)}"
PG_CONTAINER="${PG_CONTAINER:-}"
GITEA_CONTAINER="${GITEA_CONTAINER:-}"
COMPOSE_PROJECT="${COMPOSE_PROJECT:-}"
KINDS="${KINDS:-postgres gitea}"
PG_USER="${PG_USER:-postgres}"
WORK_DIR="${WORK_DIR:-/var/lib/homelab-backup}"
RETAIN="${RETAIN:-14}"
GITEA_CONFIG="${GITEA_CONFIG:-/data/gitea/conf/app.ini}"
GITEA_USER="${GITEA_USER:-git}"
RCLONE_BIN="${RCLONE_BIN:-rclone}"
RCLONE_MIN_VERSION="${RCLONE_MIN_VERSION:-1.63.0}"

log() { printf '[backup %s] %s\n' "$STACK" "$*" >&2; }
die() { printf '[backup %s] ERROR: %s\n' "$STACK" "$*" >&2; exit 1; }
# A step that fails outside the per-part checks still says what it was (functions included).
set -o errtrace
trap 'printf "[backup %s] ERROR: backup FAILED: the step \"%s\" (line %s) failed; earlier backups were left untouched\n" "$STACK" "$BASH_COMMAND" "$LINENO" >&2' ERR
need() { command -v "$1" >/dev/null 2>&1 || die "required tool '$1' is not installed ($2)"; }

case "$RETAIN" in '' | *[!0-9]*) die "RETAIN must be a whole number of backups, got '$RETAIN'" ;; esac
[ "$RETAIN" -ge 1 ] || die "RETAIN must be at least 1 (the backup just made is always kept)"

log "checking tools"
need docker "install Docker"
need "$RCLONE_BIN" "re-run the program: backup-install.sh installs the pinned rclone"
rclone() { command "$RCLONE_BIN" "$@"; }
rclone_version=$(rclone version 2>/dev/null | sed -n '1s/^rclone v\([0-9][0-9]*\.[0-9][0-9]*\.[0-9][0-9]*\).*/\1/p' || true)
awk -v a="${rclone_version:-0.0.0}" -v b="$RCLONE_MIN_VERSION" 'BEGIN { split(a, x, "."); split(b, y, ".");
    for (i = 1; i <= 3; i++) { if (x[i] + 0 > y[i] + 0) exit 0; if (x[i] + 0 < y[i] + 0) exit 1 } exit 0 }' \
    || die "$RCLONE_BIN is v${rclone_version:-unknown}, older than v$RCLONE_MIN_VERSION: its backups of GCS cannot be read back (rclone issue 6670); re-run the program (backup-install.sh installs the pinned rclone)"
if command -v sha256sum >/dev/null 2>&1; then
    sha256() { sha256sum "$1" | awk '{ print $1 }'; }
elif command -v shasum >/dev/null 2>&1; then
    sha256() { shasum -a 256 "$1" | awk '{ print $1 }'; }
else
    die "required tool 'sha256sum' (or shasum) is not installed"
fi

# container <service-or-name>: the running container (by compose labels when COMPOSE_PROJECT is set).
container() {
    [ -n "$1" ] || return 0
    if [ -z "$COMPOSE_PROJECT" ]; then
        printf '%s' "$1"
        return 0
    fi
    docker ps --quiet --filter "label=com.docker.compose.project=$COMPOSE_PROJECT" --filter "label=com.docker.compose.service=$1" | head -n 1
}
if [ -n "$COMPOSE_PROJECT" ]; then
    log "finding the containers of compose project $COMPOSE_PROJECT"
    for service in "$PG_CONTAINER" "$GITEA_CONTAINER"; do
        [ -z "$service" ] || [ -n "$(container "$service")" ] || die "no running container of service $service in compose project $COMPOSE_PROJECT (docker compose -p $COMPOSE_PROJECT ps)"
    done
    PG_CONTAINER=$(container "$PG_CONTAINER")
    GITEA_CONTAINER=$(container "$GITEA_CONTAINER")
fi

id=$(date -u +%Y%m%dT%H%M%SZ)
created=$(date -u +%Y-%m-%dT%H:%M:%SZ)
failed=""

# json_string <s>: s as a JSON string (backslash, quote and control characters escaped).
json_string() {
    printf '%s' "$1" | awk 'BEGIN { ORS = "" } {
        gsub(/\\/, "\\\\"); gsub(/"/, "\\\""); gsub(/\t/, "\\t"); gsub(/\r/, "\\r")
        if (NR > 1) print "\\n"
        print
    } END { }' | { printf '"'; cat; printf '"'; }
}

# file_entry <dir> <file>: the manifest's record of one file.
file_entry() {
    printf '{"file":%s,"bytes":%s,"sha256":"%s"}' "$(json_string "$2")" "$(wc -c <"$1/$2" | tr -d ' ')" "$(sha256 "$1/$2")"
}

pg() { docker exec -i "$PG_CONTAINER" "$@"; }
psql_at() { pg psql -X -A -t -q -v ON_ERROR_STOP=1 -U "$PG_USER" -d postgres "$@"; }

# upload <kind> <dir>: every file, then the manifest, under TARGET/<kind>/<id>/.
upload() {
    log "$1: uploading to $TARGET/$1/$id/"
    rclone copy --exclude manifest.json "$2" "$TARGET/$1/$id" || return 1
    rclone copyto "$2/manifest.json" "$TARGET/$1/$id/manifest.json" || return 1
    # a backup that cannot be read back is no backup (GCS with an old rclone: rclone issue 6670)
    log "$1: reading the manifest back"
    [ "$(rclone cat "$TARGET/$1/$id/manifest.json")" = "$(cat "$2/manifest.json")" ] || { log "$1: the uploaded manifest does not read back"; return 1; }
}

# retain <kind>: keeps the newest RETAIN complete backups; removes older ones (complete or not).
retain() {
    local kind="$1" manifests keep oldest_kept dirs d
    manifests=$(rclone lsf -R --files-only --include '*/manifest.json' "$TARGET/$kind/") || return 1
    keep=$(printf '%s\n' "$manifests" | sed -n 's|^\([0-9TZ]*\)/manifest.json$|\1|p' | sort -r | head -n "$RETAIN")
    oldest_kept=$(printf '%s\n' "$keep" | tail -n 1)
    [ -n "$oldest_kept" ] || return 1
    dirs=$(rclone lsf --dirs-only "$TARGET/$kind/") || return 1
    for d in $dirs; do
        d="${d%/}"
        if [ "$d" \< "$oldest_kept" ]; then
            log "$kind: retention removes $d (keeping the newest $RETAIN)"
            rclone purge "$TARGET/$kind/$d" || return 1
        fi
    done
    log "$kind: $(printf '%s\n' "$keep" | wc -l | tr -d ' ') complete backup(s) kept, newest $id"
}

# finish <kind> <dir>: upload, retention, and the local copy of older runs removed.
finish() {
    upload "$1" "$2" || { failed="$failed $1:upload"; log "$1: upload FAILED (kept locally in $2)"; return 0; }
    retain "$1" || { failed="$failed $1:retention"; log "$1: retention FAILED (nothing else was removed)"; return 0; }
    local old
    for old in "$WORK_DIR/$1"/*; do
        [ "$old" = "$2" ] || [ ! -d "$old" ] || rm -rf "$old"
    done
}

backup_postgres() {
    [ -n "$PG_CONTAINER" ] || { log "postgres: no PG_CONTAINER, skipped"; return 0; }
    local dir="$WORK_DIR/postgres/$id" dbs db version meta entries="" counts
    mkdir -p "$dir"
    chmod 700 "$WORK_DIR" "$WORK_DIR/postgres" "$dir"
    log "postgres: listing databases in $PG_CONTAINER"
    version=$(psql_at -c 'SHOW server_version' </dev/null) || { failed="$failed postgres:connect"; return 0; }
    dbs=$(psql_at -c "SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate AND datname <> 'postgres' ORDER BY 1" </dev/null) \
        || { failed="$failed postgres:list"; return 0; }
    log "postgres: roles and grants (pg_dumpall --globals-only)"
    if ! pg pg_dumpall -U "$PG_USER" --globals-only </dev/null >"$dir/globals.sql"; then
        failed="$failed postgres:globals"
        return 0
    fi
    for db in $dbs; do
        case "$db" in
            *[!a-z0-9_-]*) failed="$failed postgres:$db(unexpected name)"; continue ;;
        esac
        log "postgres: dumping $db (pg_dump -Fc)"
        if ! pg pg_dump -U "$PG_USER" -Fc -d "$db" </dev/null >"$dir/$db.dump"; then
            failed="$failed postgres:$db"
            continue
        fi
        # The rows of each table as the dump holds them: one line per row in COPY text format.
        counts=$(pg pg_restore --data-only -f - <"$dir/$db.dump" | awk '
            /^COPY / { table = $2; rows = 0; copying = 1; next }
            copying && $0 == "\\." { printf "%s%s:%d", sep, table, rows; sep = ","; copying = 0; next }
            copying { rows++ }') || { failed="$failed postgres:$db(row count)"; continue; }
        meta=$(printf '%s\n' "SELECT pg_get_userbyid(datdba) || '|' || coalesce(datacl::text, '') || '|' || datconnlimit FROM pg_database WHERE datname = :'db'" \
            | psql_at -v db="$db") || { failed="$failed postgres:$db(metadata)"; continue; }
        local tables="" pair
        local IFS_SAVE="$IFS"
        IFS=','
        for pair in $counts; do
            tables="$tables${tables:+,}$(json_string "${pair%:*}"):${pair##*:}"
        done
        IFS="$IFS_SAVE"
        entries="$entries${entries:+,}$(json_string "$db"):{\"dump\":$(file_entry "$dir" "$db.dump"),\"owner\":$(json_string "${meta%%|*}"),\"acl\":$(json_string "$(printf '%s' "$meta" | cut -d'|' -f2)"),\"connectionLimit\":${meta##*|},\"tables\":{$tables}}"
    done
    log "postgres: writing the manifest"
    printf '{"kind":"postgres","stack":%s,"id":"%s","createdAt":"%s","serverVersion":%s,"globals":%s,"databases":{%s}}\n' \
        "$(json_string "$STACK")" "$id" "$created" "$(json_string "$version")" "$(file_entry "$dir" globals.sql)" "$entries" >"$dir/manifest.json"
    case "$failed" in *postgres:*) log "postgres: not uploaded (a part failed)"; return 0 ;; esac
    finish postgres "$dir"
}

backup_gitea() {
    [ -n "$GITEA_CONTAINER" ] || { log "gitea: no GITEA_CONTAINER, skipped"; return 0; }
    local dir="$WORK_DIR/gitea/$id" tmp="/tmp/homelab-gitea-dump-$id.tar.gz"
    mkdir -p "$dir"
    chmod 700 "$WORK_DIR" "$WORK_DIR/gitea" "$dir"
    log "gitea: gitea dump inside $GITEA_CONTAINER"
    if ! docker exec -u "$GITEA_USER" -w /tmp "$GITEA_CONTAINER" gitea dump -c "$GITEA_CONFIG" --type tar.gz -f "$tmp" </dev/null >&2; then
        failed="$failed gitea:dump"
        return 0
    fi
    if ! docker exec "$GITEA_CONTAINER" cat "$tmp" </dev/null >"$dir/gitea-dump.tar.gz"; then
        failed="$failed gitea:copy"
    fi
    docker exec "$GITEA_CONTAINER" rm -f "$tmp" </dev/null || log "gitea: could not remove $tmp inside the container"
    case "$failed" in *gitea:*) return 0 ;; esac
    printf '{"kind":"gitea","stack":%s,"id":"%s","createdAt":"%s","files":[%s]}\n' \
        "$(json_string "$STACK")" "$id" "$created" "$(file_entry "$dir" gitea-dump.tar.gz)" >"$dir/manifest.json"
    finish gitea "$dir"
}

umask 077
mkdir -p "$WORK_DIR"
for kind in $KINDS; do
    case "$kind" in
        postgres) backup_postgres ;;
        gitea) backup_gitea ;;
        *) die "unknown kind '$kind' in KINDS (known: postgres gitea)" ;;
    esac
done
if [ -n "$failed" ]; then
    die "backup $id FAILED:$failed (earlier backups were left untouched)"
fi
log "done: backup $id of $KINDS"
