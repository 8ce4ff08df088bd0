#!/usr/bin/env bash
# Seeds one app's repository in a sandbox's Gitea from the operator's local clone: pushes the
# clone's default branch and its tags (never forced: a sandbox repository that has diverged
# stops the push with git's own message), then makes that branch the repository's default
# (PATCH /api/v1/repos/{org}/{app}, go-gitea/gitea routers/api/v1/api.go). Never reads
# from any other Gitea. Runs on the laptop (git, curl, bash 3.2).
#
# The admin password arrives on stdin; git gets it from a GIT_ASKPASS helper that reads a
# mode-600 file, curl from a mode-600 config file: on no command line, in no environment.
#
# Environment: GITEA_URL, ORG, APP, SOURCE (the clone), BRANCH, ADMIN_USER;
# REMOTE_URL (default $GITEA_URL/$ORG/$APP.git with the admin as user);
# PUSH_STALL_SECONDS (git gives up after this long below 1 KB/s, default 60).
# Prints "<branch> <commit> <number of tags>" on stdout.
set -euo pipefail

: "${GITEA_URL:?GITEA_URL is required}"
: "${ORG:?ORG is required}"
: "${APP:?APP is required}"
: "${SOURCE:?SOURCE is required (the local clone)}"
: "${BRANCH:?BRANCH is required (the clone default branch)}"
: "${ADMIN_USER:?ADMIN_USER is required}"
GITEA_URL="${GITEA_URL%/}"
PUSH_STALL_SECONDS="${PUSH_STALL_SECONDS:-60}"

log() { printf '[seed %s] %s\n' "$APP" "$*" >&2; }
die() { printf '[seed %s] ERROR: %s\n' "$APP" "$*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || die "required tool '$1' is not installed or not on PATH ($2)"; }

need git "Xcode command line tools: xcode-select --install"
need curl "part of macOS"
IFS= read -r password || true
[ -n "$password" ] || die "no admin password arrived on stdin"

git -C "$SOURCE" rev-parse --git-dir >/dev/null 2>&1 \
    || die "$SOURCE is not a git clone; clone the app there or point homelab:seed at it"
head=$(git -C "$SOURCE" rev-parse --verify --quiet "refs/heads/$BRANCH^{commit}") \
    || die "$SOURCE has no branch $BRANCH"
tags=$(git -C "$SOURCE" for-each-ref --format='%(refname)' refs/tags | wc -l | tr -d ' ')

work=$(mktemp -d "${TMPDIR:-/tmp}/gitea-seed.XXXXXX")
trap 'rm -rf "$work"' EXIT
chmod 700 "$work"
(umask 077 && printf '%s\n' "$password" >"$work/password")
cat >"$work/askpass" <<EOF
#!/bin/sh
case "\$1" in
    Username*) printf '%s\n' "$ADMIN_USER" ;;
    *) cat "$work/password" ;;
esac
EOF
chmod 700 "$work/askpass"

host_part="${GITEA_URL#*://}"
scheme="${GITEA_URL%%://*}"
remote="${REMOTE_URL:-$scheme://$ADMIN_USER@$host_part/$ORG/$APP.git}"

log "pushing $BRANCH ($head) and $tags tag(s) from $SOURCE"
GIT_ASKPASS="$work/askpass" GIT_TERMINAL_PROMPT=0 \
    git -C "$SOURCE" -c credential.helper= -c http.lowSpeedLimit=1000 -c "http.lowSpeedTime=$PUSH_STALL_SECONDS" \
    push --quiet "$remote" "refs/heads/$BRANCH:refs/heads/$BRANCH" "refs/tags/*:refs/tags/*" >&2 \
    || die "git push to $GITEA_URL/$ORG/$APP failed (see git's message above); the sandbox repository is never overwritten: if it diverged, delete it in Gitea and run pulumi up again"

(umask 077 && printf 'user = "%s:%s"\n' "$ADMIN_USER" "$(printf '%s' "$password" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g')" >"$work/basic")
printf '{"default_branch":"%s"}' "$BRANCH" >"$work/body"
status=$(curl --silent --show-error --max-time 30 --config "$work/basic" --output "$work/out" --write-out '%{http_code}' \
    --request PATCH --header 'Content-Type: application/json' --data-binary "@$work/body" \
    "$GITEA_URL/api/v1/repos/$ORG/$APP") || status=000
[ "$status" = 200 ] || die "setting the default branch of $ORG/$APP to $BRANCH: Gitea answered HTTP $status"
log "done: seeded"
printf '%s %s %s\n' "$BRANCH" "$head" "$tags"
