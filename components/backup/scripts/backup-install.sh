#!/usr/bin/env bash
# Installs the data host's backup job: the backup script (data-backup.sh, whose content arrives in
# BACKUP_SCRIPT), its settings, the upload credentials of the stack's target, and the schedule:
# a systemd timer on a Linux data host (INSTALL=systemd: prod's pi2, sandbox-vms's VM), a crontab
# line on the laptop (INSTALL=cron: sandbox-k3d, whose data host is the laptop and may be a Mac).
# Idempotent: rewrites the same files, re-enables the same timer or line.
#
# Why a systemd timer and not a service of the compose project: the job drives the containers
# from outside (`docker exec` into the running Postgres and Gitea, whose own tools must do the
# dumps), needs the host's rclone and a root-only credentials file, and must catch up a run missed
# while the Pi was off (Persistent=true); a container would need the Docker socket (root on the
# host) for the same, and cron inside it knows nothing of missed runs.
#
# Secrets: on stdin only, as lines TARGET_ACCESS_KEY_ID=... and TARGET_SECRET_ACCESS_KEY=...;
# written to an env file of mode 600 that only the job reads. With SECRET_ENV_FILE (a sandbox's
# MinIO, whose root password the host generated), the secret key is read from that file's
# MINIO_ROOT_PASSWORD instead and printed on stdout as the very last thing (the command's stdout
# is a secret output: Longhorn's credentials); otherwise nothing is printed on stdout.
#
# Environment (not secret): STACK, BACKUP_SCRIPT, TARGET (rclone path, target:<bucket>/<stack>),
# TARGET_PROVIDER (GCS or Minio), TARGET_ENDPOINT, TARGET_REGION, CREATE_BUCKET (1: create the
# bucket, a sandbox's own MinIO), SECRET_ENV_FILE, COMPOSE_PROJECT (the containers are found by
# its labels) or PG_CONTAINER/GITEA_CONTAINER, SCHEDULE (hourly, daily, weekly), RETAIN,
# INSTALL (systemd or cron); PREFIX (default /usr/local/lib/homelab-backup), CONFIG_DIR (default
# /etc/homelab-backup for systemd, ~/.config/homelab/<STACK>/backup for cron), UNIT_DIR (default
# /etc/systemd/system); RCLONE_VERSION, RCLONE_SHA256 (linux-arm64 zip), RCLONE_MIN_VERSION from the
# version manifest. Progress goes to stderr. Keep it bash 3.2 compatible.
set -euo pipefail

: "${STACK:?STACK is required}"
: "${BACKUP_SCRIPT:?BACKUP_SCRIPT is required (the content of data-backup.sh)}"
: "${TARGET:?TARGET is required}"
: "${TARGET_PROVIDER:?TARGET_PROVIDER is required (GCS or Minio)}"
: "${TARGET_ENDPOINT:?TARGET_ENDPOINT is required}"
: "${TARGET_REGION:?TARGET_REGION is required}"
: "${SCHEDULE:?SCHEDULE is required (hourly, daily or weekly)}"
: "${RETAIN:?RETAIN is required}"
: "${INSTALL:?INSTALL is required (systemd or cron)}"
CREATE_BUCKET="${CREATE_BUCKET:-0}"
SECRET_ENV_FILE="${SECRET_ENV_FILE:-}"
COMPOSE_PROJECT="${COMPOSE_PROJECT:-}"
PG_CONTAINER="${PG_CONTAINER:-}"
GITEA_CONTAINER="${GITEA_CONTAINER:-}"
PREFIX="${PREFIX:-/usr/local/lib/homelab-backup}"
RCLONE_VERSION="${RCLONE_VERSION:?RCLONE_VERSION is required (Pulumi.yaml versions.rclone.version)}"
RCLONE_SHA256="${RCLONE_SHA256:?RCLONE_SHA256 is required (Pulumi.yaml versions.rclone.sha256LinuxArm64)}"
RCLONE_MIN_VERSION="${RCLONE_MIN_VERSION:-1.63.0}"
RCLONE_DOWNLOAD_BASE="${RCLONE_DOWNLOAD_BASE:-https://downloads.rclone.org}"
UNIT_DIR="${UNIT_DIR:-/etc/systemd/system}"

log() { printf '[backup-install %s] %s\n' "$STACK" "$*" >&2; }
die() { printf '[backup-install %s] ERROR: %s\n' "$STACK" "$*" >&2; exit 1; }

case "$SCHEDULE" in hourly | daily | weekly) ;; *) die "SCHEDULE must be hourly, daily or weekly, got '$SCHEDULE'" ;; esac
case "$TARGET_PROVIDER" in GCS | Minio) ;; *) die "TARGET_PROVIDER must be GCS or Minio, got '$TARGET_PROVIDER'" ;; esac
case "$INSTALL" in
    systemd) CONFIG_DIR="${CONFIG_DIR:-/etc/homelab-backup}" ;;
    cron)
        CONFIG_DIR="${CONFIG_DIR:-${XDG_CONFIG_HOME:-$HOME/.config}/homelab/$STACK/backup}"
        PREFIX="$CONFIG_DIR"
        ;;
    *) die "INSTALL must be systemd or cron, got '$INSTALL'" ;;
esac

log "reading the upload credentials (stdin)"
access_key="" secret_key=""
while IFS= read -r line || [ -n "$line" ]; do
    case "$line" in
        TARGET_ACCESS_KEY_ID=*) access_key="${line#TARGET_ACCESS_KEY_ID=}" ;;
        TARGET_SECRET_ACCESS_KEY=*) secret_key="${line#TARGET_SECRET_ACCESS_KEY=}" ;;
        "") ;;
        *) die "unexpected line on stdin (expected TARGET_ACCESS_KEY_ID= and TARGET_SECRET_ACCESS_KEY=)" ;;
    esac
done
[ -n "$access_key" ] || die "no TARGET_ACCESS_KEY_ID on stdin"
if [ -n "$SECRET_ENV_FILE" ]; then
    [ -s "$SECRET_ENV_FILE" ] || die "$SECRET_ENV_FILE is missing: the data services must be installed first"
    secret_key=$(sed -n 's/^MINIO_ROOT_PASSWORD=//p' "$SECRET_ENV_FILE")
    [ -n "$secret_key" ] || die "$SECRET_ENV_FILE has no MINIO_ROOT_PASSWORD= line"
fi
[ -n "$secret_key" ] || die "no TARGET_SECRET_ACCESS_KEY on stdin (and no SECRET_ENV_FILE)"

log "checking tools"
# rclone older than $RCLONE_MIN_VERSION cannot read GCS back through its S3 interface: it signs an
# Accept-Encoding: gzip that GCS's front end rewrites, so every download fails with
# SignatureDoesNotMatch (rclone/rclone issue 6670; the GCS provider quirk, commit 54a9488e5, is in
# v1.63.0 backend/s3/s3.go). Debian bookworm (Raspberry Pi OS) ships 1.60.1. So: an rclone of at
# least $RCLONE_MIN_VERSION is used as found; otherwise, on a Linux data host, the manifest's release
# (Pulumi.yaml versions.rclone) is installed under $PREFIX/bin with its checksum verified; on the
# laptop, the operator upgrades it. The job and `npm run restore` run RCLONE_BIN from job.env.
rclone_version_of() {
    "$1" version 2>/dev/null | sed -n '1s/^rclone v\([0-9][0-9]*\.[0-9][0-9]*\.[0-9][0-9]*\).*/\1/p' || true
}
version_at_least() {
    awk -v a="$1" -v b="$2" 'BEGIN { split(a, x, "."); split(b, y, ".");
        for (i = 1; i <= 3; i++) { if (x[i] + 0 > y[i] + 0) exit 0; if (x[i] + 0 < y[i] + 0) exit 1 } exit 0 }'
}
sha256_of() {
    if command -v sha256sum >/dev/null 2>&1; then sha256sum "$1" | cut -d' ' -f1; else shasum -a 256 "$1" | cut -d' ' -f1; fi
}
install_pinned_rclone() {
    local arch zip dir
    arch=$(uname -m)
    case "$arch" in aarch64 | arm64) ;; *) die "no rclone checksum for $arch in the manifest (Pulumi.yaml versions.rclone has linux-arm64 only); install rclone >= $RCLONE_MIN_VERSION on this host yourself" ;; esac
    printf '%s\n' "$RCLONE_SHA256" | grep -Eq '^[0-9a-f]{64}$' \
        || die "Pulumi.yaml versions.rclone.sha256LinuxArm64 is '$RCLONE_SHA256', not a SHA-256: record the line of rclone-v$RCLONE_VERSION-linux-arm64.zip from $RCLONE_DOWNLOAD_BASE/v$RCLONE_VERSION/SHA256SUMS there, then run again"
    command -v curl >/dev/null 2>&1 || die "required tool 'curl' is not installed (apt-get install curl)"
    if ! command -v unzip >/dev/null 2>&1; then
        command -v apt-get >/dev/null 2>&1 || die "required tool 'unzip' is not installed"
        log "installing unzip (apt-get install unzip)"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq unzip >&2 || die "'apt-get install unzip' failed"
    fi
    dir=$(mktemp -d)
    zip="$dir/rclone-v$RCLONE_VERSION-linux-arm64.zip"
    log "downloading rclone v$RCLONE_VERSION (linux-arm64) from $RCLONE_DOWNLOAD_BASE"
    curl -fsSL --proto '=https' --retry 3 --max-time 300 -o "$zip" "$RCLONE_DOWNLOAD_BASE/v$RCLONE_VERSION/rclone-v$RCLONE_VERSION-linux-arm64.zip" \
        || { rm -rf "$dir"; die "downloading rclone v$RCLONE_VERSION failed"; }
    got=$(sha256_of "$zip")
    [ "$got" = "$RCLONE_SHA256" ] || { rm -rf "$dir"; die "rclone-v$RCLONE_VERSION-linux-arm64.zip has SHA-256 $got, the manifest says $RCLONE_SHA256: not installed"; }
    unzip -q -o "$zip" -d "$dir" >&2 || { rm -rf "$dir"; die "unzipping rclone failed"; }
    mkdir -p "$PREFIX/bin"
    cp "$dir/rclone-v$RCLONE_VERSION-linux-arm64/rclone" "$PREFIX/bin/rclone.new"
    chmod 755 "$PREFIX/bin/rclone.new"
    mv -f "$PREFIX/bin/rclone.new" "$PREFIX/bin/rclone"
    rm -rf "$dir"
}
if ! command -v rclone >/dev/null 2>&1 && [ ! -x "$PREFIX/bin/rclone" ]; then
    if [ "$INSTALL" = systemd ] && command -v apt-get >/dev/null 2>&1; then
        log "installing rclone (apt-get install rclone)"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rclone >&2 || die "'apt-get install rclone' failed"
    else
        die "required tool 'rclone' is not installed (macOS: brew install rclone; Debian/Ubuntu: apt-get install rclone)"
    fi
fi
RCLONE_BIN=""
found_version=""
for candidate in "$PREFIX/bin/rclone" "$(command -v rclone || true)"; do
    if [ -z "$candidate" ] || [ ! -x "$candidate" ]; then continue; fi
    v=$(rclone_version_of "$candidate")
    if [ -n "$v" ] && version_at_least "$v" "$RCLONE_MIN_VERSION"; then
        RCLONE_BIN="$candidate"
        found_version="$v"
        break
    fi
    log "rclone at $candidate is v${v:-unknown}, older than v$RCLONE_MIN_VERSION (cannot read GCS back, rclone issue 6670)"
done
if [ -z "$RCLONE_BIN" ]; then
    [ "$INSTALL" = systemd ] || die "rclone >= v$RCLONE_MIN_VERSION is required (macOS: brew upgrade rclone; Linux: install rclone v$RCLONE_VERSION)"
    install_pinned_rclone
    found_version=$(rclone_version_of "$PREFIX/bin/rclone")
    [ "$found_version" = "$RCLONE_VERSION" ] || die "the installed $PREFIX/bin/rclone says v${found_version:-unknown}, expected v$RCLONE_VERSION"
    RCLONE_BIN="$PREFIX/bin/rclone"
fi
log "using rclone v$found_version ($RCLONE_BIN)"
command -v docker >/dev/null 2>&1 || die "required tool 'docker' is not installed"

umask 077
mkdir -p "$CONFIG_DIR" "$PREFIX"
chmod 700 "$CONFIG_DIR"

log "writing the target's credentials ($CONFIG_DIR/target.env, mode 600)"
# rclone reads a remote from RCLONE_CONFIG_<NAME>_<OPTION> variables, no config file needed
# (rclone/rclone docs/content/docs.md, "Environment variables", "Config file": RCLONE_CONFIG_ + remote
# + _ + option, uppercased; the _TYPE variable is required); the remote is named "target".
{
    printf 'RCLONE_CONFIG_TARGET_TYPE=s3\n'
    printf 'RCLONE_CONFIG_TARGET_PROVIDER=%s\n' "$TARGET_PROVIDER"
    printf 'RCLONE_CONFIG_TARGET_ENDPOINT=%s\n' "$TARGET_ENDPOINT"
    printf 'RCLONE_CONFIG_TARGET_REGION=%s\n' "$TARGET_REGION"
    printf 'RCLONE_CONFIG_TARGET_ACCESS_KEY_ID=%s\n' "$access_key"
    printf 'RCLONE_CONFIG_TARGET_SECRET_ACCESS_KEY=%s\n' "$secret_key"
    # rclone checks (and tries to create) the bucket before an upload unless told not to
    # (rclone/rclone#4703); prod's key may only touch objects in its existing bucket.
    [ "$CREATE_BUCKET" = 1 ] || printf 'RCLONE_CONFIG_TARGET_NO_CHECK_BUCKET=true\n'
} >"$CONFIG_DIR/target.env.new"
chmod 600 "$CONFIG_DIR/target.env.new"
mv -f "$CONFIG_DIR/target.env.new" "$CONFIG_DIR/target.env"

log "writing the job's settings ($CONFIG_DIR/job.env)"
{
    printf 'STACK=%s\n' "$STACK"
    printf 'TARGET=%s\n' "$TARGET"
    printf 'COMPOSE_PROJECT=%s\n' "$COMPOSE_PROJECT"
    printf 'PG_CONTAINER=%s\n' "$PG_CONTAINER"
    printf 'GITEA_CONTAINER=%s\n' "$GITEA_CONTAINER"
    printf 'RETAIN=%s\n' "$RETAIN"
    printf 'RCLONE_BIN=%s\n' "$RCLONE_BIN"
} >"$CONFIG_DIR/job.env"
chmod 600 "$CONFIG_DIR/job.env"

log "installing the backup script ($PREFIX/data-backup.sh)"
printf '%s\n' "$BACKUP_SCRIPT" >"$PREFIX/data-backup.sh.new"
chmod 700 "$PREFIX/data-backup.sh.new"
mv -f "$PREFIX/data-backup.sh.new" "$PREFIX/data-backup.sh"

if [ "$CREATE_BUCKET" = 1 ]; then
    bucket="${TARGET#target:}"
    bucket="${bucket%%/*}"
    log "making sure the bucket $bucket exists"
    waited=0
    # shellcheck source=/dev/null
    until (set -a && . "$CONFIG_DIR/target.env" && "$RCLONE_BIN" mkdir "target:$bucket") >/dev/null 2>&1; do
        [ "$waited" -lt 60 ] || die "the object store at $TARGET_ENDPOINT did not accept 'rclone mkdir target:$bucket' within 60s"
        sleep 3
        waited=$((waited + 3))
    done
fi

if [ "$INSTALL" = systemd ]; then
    log "installing homelab-backup.service and homelab-backup.timer ($SCHEDULE)"
    cat >"$UNIT_DIR/homelab-backup.service" <<UNIT
[Unit]
Description=Back up the data host (Postgres, Gitea) of stack $STACK to its backup target
Wants=docker.service
After=docker.service network-online.target

[Service]
Type=oneshot
EnvironmentFile=$CONFIG_DIR/job.env
EnvironmentFile=$CONFIG_DIR/target.env
ExecStart=$PREFIX/data-backup.sh
TimeoutStartSec=3h
UNIT
    cat >"$UNIT_DIR/homelab-backup.timer" <<UNIT
[Unit]
Description=Scheduled backup of the data host of stack $STACK

[Timer]
OnCalendar=$SCHEDULE
Persistent=true
RandomizedDelaySec=15min

[Install]
WantedBy=timers.target
UNIT
    chmod 644 "$UNIT_DIR/homelab-backup.service" "$UNIT_DIR/homelab-backup.timer"
    systemctl daemon-reload || die "'systemctl daemon-reload' failed"
    systemctl enable --now homelab-backup.timer || die "'systemctl enable --now homelab-backup.timer' failed"
else
    case "$SCHEDULE" in
        hourly) when="17 * * * *" ;;
        daily) when="17 2 * * *" ;;
        weekly) when="17 2 * * 0" ;;
    esac
    marker="# homelab-backup $STACK"
    line="$when /bin/sh -c 'set -a; . \"$CONFIG_DIR/job.env\"; . \"$CONFIG_DIR/target.env\"; WORK_DIR=\"$CONFIG_DIR/work\" exec \"$PREFIX/data-backup.sh\"' >>\"$CONFIG_DIR/backup.log\" 2>&1 $marker"
    log "installing the crontab line ($when)"
    current=$(crontab -l 2>/dev/null || true)
    { printf '%s\n' "$current" | grep -vF "$marker" | sed '/^$/d' || true; printf '%s\n' "$line"; } | crontab - \
        || die "'crontab -' failed"
fi

log "done: $SCHEDULE backups of $STACK to $TARGET ($TARGET_PROVIDER at $TARGET_ENDPOINT), keeping $RETAIN per kind"
if [ -n "$SECRET_ENV_FILE" ]; then
    printf '%s\n' "$secret_key"
fi
