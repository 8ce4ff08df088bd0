#!/usr/bin/env bash
# Removes the laptop's backup job of a sandbox-k3d stack when the stack is destroyed: its crontab
# line and its folder (settings, the MinIO credentials, the staging area). The backups themselves
# lived in the sandbox's MinIO, which the stack's destroy removes with its volume.
# Run by Pulumi (command.local.Command, delete). Environment: STACK; CONFIG_DIR (default
# ~/.config/homelab/<STACK>/backup). Progress goes to stderr. Keep it bash 3.2 compatible.
set -euo pipefail

: "${STACK:?STACK is required}"
CONFIG_DIR="${CONFIG_DIR:-${XDG_CONFIG_HOME:-$HOME/.config}/homelab/$STACK/backup}"

log() { printf '[backup-uninstall %s] %s\n' "$STACK" "$*" >&2; }
die() { printf '[backup-uninstall %s] ERROR: %s\n' "$STACK" "$*" >&2; exit 1; }

marker="# homelab-backup $STACK"
if current=$(crontab -l 2>/dev/null) && printf '%s\n' "$current" | grep -qF "$marker"; then
    log "removing the crontab line"
    { printf '%s\n' "$current" | grep -vF "$marker" | sed '/^$/d' || true; } | crontab - || die "'crontab -' failed"
else
    log "no crontab line"
fi
if [ -d "$CONFIG_DIR" ]; then
    log "removing $CONFIG_DIR"
    rm -rf "$CONFIG_DIR"
fi
log "done: removed"
