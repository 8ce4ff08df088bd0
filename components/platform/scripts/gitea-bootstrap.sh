#!/usr/bin/env bash
# A sandbox Gitea's organisation, one private repository per app, and Argo CD's access
# token, through Gitea's REST API (go-gitea/gitea routers/api/v1/api.go):
#   GET  /api/healthz                              wait for Gitea
#   GET  /api/v1/orgs/{org}, POST /api/v1/orgs     the organisation
#   GET  /api/v1/repos/{org}/{app}, POST /api/v1/orgs/{org}/repos   one repository per app
#   GET/POST /api/v1/users/{admin}/tokens, DELETE .../tokens/{name}  the token (basic auth)
# Runs on the laptop (curl, bash 3.2, BSD tools). The admin password arrives on stdin; every
# credential goes to curl in a mode-600 config file (-K), never on a command line.
#
# ACTION=create (default): idempotent. The token (scope read:repository) is kept with mode
# 600 in TOKEN_FILE; a kept token that still works is reused, otherwise a token of the same
# name is replaced. Prints the token on stdout as the very last thing (a secret output).
# ACTION=delete: removes the repositories, the organisation and the token; a Gitea that no
# longer answers leaves nothing to undo.
#
# Environment: GITEA_URL, ADMIN_USER, ORG, REPOS (space-separated), TOKEN_NAME, TOKEN_FILE (default
# ~/.config/homelab/$STACK/gitea-argocd.token);
# READY_TIMEOUT (seconds, default 120). Progress goes to stderr.
set -euo pipefail

: "${GITEA_URL:?GITEA_URL is required (the operator URL of the sandbox Gitea)}"
: "${ADMIN_USER:?ADMIN_USER is required}"
: "${ORG:?ORG is required}"
REPOS="${REPOS:-}"
TOKEN_NAME="${TOKEN_NAME:-argocd}"
READY_TIMEOUT="${READY_TIMEOUT:-120}"
ACTION="${ACTION:-create}"
GITEA_URL="${GITEA_URL%/}"

log() { printf '[gitea-bootstrap] %s\n' "$*" >&2; }
die() { printf '[gitea-bootstrap] ERROR: %s\n' "$*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || die "required tool '$1' is not installed or not on PATH ($2)"; }

# Kept beside the other state of the stack on this machine unless given.
if [ -z "${TOKEN_FILE:-}" ]; then
    : "${STACK:?STACK is required when TOKEN_FILE is not given}"
    TOKEN_FILE="${XDG_CONFIG_HOME:-$HOME/.config}/homelab/$STACK/gitea-argocd.token"
fi

need curl "part of macOS; apt-get install curl"
IFS= read -r password || true
[ -n "$password" ] || die "no admin password arrived on stdin"

work=$(mktemp -d "${TMPDIR:-/tmp}/gitea-bootstrap.XXXXXX")
trap 'rm -rf "$work"' EXIT
chmod 700 "$work"

# curl's config-file quoting: backslash and double quote escaped inside "...".
quote() { printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g'; }
(umask 077 && printf 'user = "%s:%s"\n' "$(quote "$ADMIN_USER")" "$(quote "$password")" >"$work/basic")

status=""
# api <auth file> <method> <path> [json body]: sets $status; the body is in $work/out.
api() {
    local auth="$1" method="$2" path="$3" body="${4:-}"
    set -- --silent --show-error --max-time 30 --config "$auth" --output "$work/out" --write-out '%{http_code}' \
        --request "$method" --header 'Accept: application/json'
    if [ -n "$body" ]; then
        printf '%s' "$body" >"$work/body"
        set -- "$@" --header 'Content-Type: application/json' --data-binary "@$work/body"
    fi
    status=$(curl "$@" "$GITEA_URL$path") || status=000
}
expect() {
    # expect <what> <status...>: fails unless $status is one of them.
    local what="$1"
    shift
    for s in "$@"; do [ "$status" = "$s" ] && return 0; done
    die "$what: Gitea answered HTTP $status: $(head -c 300 "$work/out" 2>/dev/null)"
}

log "waiting up to ${READY_TIMEOUT}s for Gitea at $GITEA_URL"
waited=0
until curl --silent --fail --max-time 5 --output /dev/null "$GITEA_URL/api/healthz"; do
    if [ "$waited" -ge "$READY_TIMEOUT" ]; then
        if [ "$ACTION" = delete ]; then
            log "Gitea does not answer: nothing to undo there"
            rm -f "$TOKEN_FILE"
            exit 0
        fi
        die "Gitea at $GITEA_URL did not answer /api/healthz within ${READY_TIMEOUT}s"
    fi
    sleep 2
    waited=$((waited + 2))
done

if [ "$ACTION" = delete ]; then
    for repo in $REPOS; do
        api "$work/basic" DELETE "/api/v1/repos/$ORG/$repo"
        expect "deleting repository $ORG/$repo" 204 404
        log "repository $ORG/$repo: removed"
    done
    api "$work/basic" DELETE "/api/v1/orgs/$ORG"
    expect "deleting organisation $ORG" 204 404
    api "$work/basic" DELETE "/api/v1/users/$ADMIN_USER/tokens/$TOKEN_NAME"
    expect "deleting token $TOKEN_NAME" 204 404
    rm -f "$TOKEN_FILE"
    log "done: deleted"
    exit 0
fi
[ "$ACTION" = create ] || die "ACTION must be create or delete, not $ACTION"

changed=no
api "$work/basic" GET "/api/v1/orgs/$ORG"
if [ "$status" = 404 ]; then
    log "creating organisation $ORG"
    api "$work/basic" POST /api/v1/orgs "{\"username\":\"$ORG\",\"visibility\":\"private\"}"
    expect "creating organisation $ORG" 201
    changed=yes
else
    expect "reading organisation $ORG" 200
    log "organisation $ORG: exists"
fi

first=""
for repo in $REPOS; do
    [ -n "$first" ] || first="$repo"
    api "$work/basic" GET "/api/v1/repos/$ORG/$repo"
    if [ "$status" = 404 ]; then
        log "creating repository $ORG/$repo"
        api "$work/basic" POST "/api/v1/orgs/$ORG/repos" "{\"name\":\"$repo\",\"private\":true}"
        expect "creating repository $ORG/$repo" 201
        changed=yes
    else
        expect "reading repository $ORG/$repo" 200
        log "repository $ORG/$repo: exists"
    fi
done

# The token: a kept one that still reads the organisation's repositories is reused.
token=""
if [ -s "$TOKEN_FILE" ] && [ -n "$first" ]; then
    kept=$(cat "$TOKEN_FILE")
    (umask 077 && printf 'header = "Authorization: token %s"\n' "$(quote "$kept")" >"$work/token")
    api "$work/token" GET "/api/v1/repos/$ORG/$first"
    if [ "$status" = 200 ]; then
        token="$kept"
        log "token $TOKEN_NAME: kept one still works"
    else
        log "token $TOKEN_NAME: the kept one is refused (HTTP $status): replacing it"
    fi
fi
if [ -z "$token" ]; then
    api "$work/basic" GET "/api/v1/users/$ADMIN_USER/tokens"
    expect "listing tokens" 200
    if grep -q "\"name\":\"$TOKEN_NAME\"" "$work/out"; then
        api "$work/basic" DELETE "/api/v1/users/$ADMIN_USER/tokens/$TOKEN_NAME"
        expect "deleting the old token $TOKEN_NAME" 204
    fi
    log "creating token $TOKEN_NAME (scope read:repository, kept in $TOKEN_FILE, mode 600)"
    api "$work/basic" POST "/api/v1/users/$ADMIN_USER/tokens" "{\"name\":\"$TOKEN_NAME\",\"scopes\":[\"read:repository\"]}"
    expect "creating token $TOKEN_NAME" 201
    token=$(tr -d '\n' <"$work/out" | sed -n 's/.*"sha1":"\([0-9a-fA-F]*\)".*/\1/p')
    [ -n "$token" ] || die "Gitea's answer to the token creation has no sha1"
    (umask 077 && mkdir -p "$(dirname "$TOKEN_FILE")" && printf '%s\n' "$token" >"$TOKEN_FILE")
    changed=yes
fi
if [ "$changed" = yes ]; then log "done: updated"; else log "done: unchanged"; fi
printf '%s\n' "$token"
