#!/usr/bin/env bash
# Installs k3s at the pinned version on a fresh host, leaves a host already at the pinned
# version untouched (no reinstall, no restart: on prod a restart is an outage), and on a host
# at another version stops before touching anything unless an upgrade to the pinned version
# was requested (K3S_UPGRADE). Prints which happened.
#
# An upgrade (docs.k3s.io/upgrades/manual: "upgrade server nodes first one at a time, then
# any agent nodes"; the program runs the server's command first, then one agent at a time):
# the binary of the pinned release is downloaded and its checksum verified, the node is
# cordoned and drained, the binary replaced, the host's own unit restarted (k3s, k3s-agent
# from get.k3s.io, or k3s-node from older k3s-ansible roles), the node waited for until Ready
# at the new version, then uncordoned. Never a downgrade.
#
# Runs ON THE HOST, as root (command.remote.Command runs it through `sudo -n` when the
# SSH user is not root). Used by prod and by sandbox-vms alike (one code path).
#
# Environment:
#   K3S_VERSION       the pinned release, e.g. v1.34.3+k3s1
#   K3S_ROLE          server | agent
#   NODE_NAME         the host's name in the lab (for messages)
#   NODE_IP           the host's address (node-ip, and tls-san on the server)
#   K3S_SERVER_URL    agents: https://<server>:6443
#   K3S_TOKEN_STDIN   1: the join token is the first line of stdin (agents; the server
#                     when the stack fixes the token). Never on a command line.
#   K3S_PRINT_TOKEN   1: print the server's node token on stdout at the very end (the
#                     command's stdout is then a secret output with logging off).
#   K3S_READY_TIMEOUT seconds to wait for k3s, and for the node to be Ready after an upgrade (default 300)
#   K3S_UPGRADE       empty: a host at another version is refused, untouched. Or the version an
#                     upgrade is requested to (it must be K3S_VERSION): then such a host is upgraded.
#   K3S_DRAIN_TIMEOUT seconds kubectl drain may take before the upgrade is abandoned (default 300)
#   K3S_KUBECONFIG_STDIN 1 (agents, with K3S_UPGRADE): after the token line, stdin carries an
#                     admin kubeconfig, to cordon, drain and uncordon this node (an agent has no
#                     admin credentials of its own). Kept in a mode-600 temporary file, removed on exit.
#   K3S_POLL_INTERVAL seconds between two checks while waiting (default 3)
#   K3S_DISABLE       servers: the packaged components k3s must not deploy, space-separated
#                     (default: none; Traefik stays, as on prod). Longhorn stacks add local-storage: k3s re-writes its
#                     packaged manifests at every start, so local-path would come back as the
#                     default StorageClass after any restart; --disable is what lasts.
# Paths, configurable for tests (default to the real ones):
#   K3S_CONFIG_DIR (/etc/rancher/k3s), K3S_DATA_DIR (/var/lib/rancher/k3s),
#   K3S_INSTALL_URL (the installer of the pinned release), K3S_RELEASE_URL (the releases).
# Fresh installs use the k3s installer of the pinned release, with the settings in
# $K3S_CONFIG_DIR/config.yaml. Upgrades replace the binary (checksum verified) and restart
# the host's service, which keeps its existing service definition and flags as they are.
# Progress goes to stderr.
set -euo pipefail

: "${K3S_VERSION:?K3S_VERSION is required (e.g. v1.34.3+k3s1)}"
: "${K3S_ROLE:?K3S_ROLE is required (server or agent)}"
: "${NODE_NAME:?NODE_NAME is required}"
: "${NODE_IP:?NODE_IP is required (the host address)}"
K3S_SERVER_URL="${K3S_SERVER_URL:-}"
K3S_TOKEN_STDIN="${K3S_TOKEN_STDIN:-0}"
K3S_PRINT_TOKEN="${K3S_PRINT_TOKEN:-0}"
K3S_READY_TIMEOUT="${K3S_READY_TIMEOUT:-300}"
K3S_UPGRADE="${K3S_UPGRADE:-}"
K3S_DRAIN_TIMEOUT="${K3S_DRAIN_TIMEOUT:-300}"
K3S_KUBECONFIG_STDIN="${K3S_KUBECONFIG_STDIN:-0}"
K3S_POLL_INTERVAL="${K3S_POLL_INTERVAL:-3}"
K3S_DISABLE="${K3S_DISABLE-}"
K3S_CONFIG_DIR="${K3S_CONFIG_DIR:-/etc/rancher/k3s}"
K3S_DATA_DIR="${K3S_DATA_DIR:-/var/lib/rancher/k3s}"
version_path="${K3S_VERSION//+/%2B}"
K3S_INSTALL_URL="${K3S_INSTALL_URL:-https://raw.githubusercontent.com/k3s-io/k3s/$version_path/install.sh}"
K3S_RELEASE_URL="${K3S_RELEASE_URL:-https://github.com/k3s-io/k3s/releases/download/$version_path}"

log() { printf '[k3s %s] %s\n' "$NODE_NAME" "$*" >&2; }
die() { printf '[k3s %s] ERROR: %s\n' "$NODE_NAME" "$*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || die "required tool '$1' is not installed on $NODE_NAME ($2)"; }

case "$K3S_VERSION" in
    v[0-9]*.[0-9]*.[0-9]*+k3s[0-9]*) ;;
    *) die "K3S_VERSION '$K3S_VERSION' is not a k3s release such as v1.34.3+k3s1" ;;
esac
case "$K3S_ROLE" in
    server | agent) ;;
    *) die "K3S_ROLE '$K3S_ROLE' must be server or agent" ;;
esac
if [ -n "$K3S_UPGRADE" ] && [ "$K3S_UPGRADE" != "$K3S_VERSION" ]; then
    die "K3S_UPGRADE '$K3S_UPGRADE' requests an upgrade to another version than the pinned $K3S_VERSION"
fi
for n in K3S_READY_TIMEOUT K3S_DRAIN_TIMEOUT K3S_POLL_INTERVAL; do
    case "${!n}" in
        '' | *[!0-9]*) die "$n '${!n}' must be a number of seconds" ;;
    esac
done
for item in $K3S_DISABLE; do
    case "$item" in
        # k3s's DisableItems (pkg/cli/cmds/stage.go): runtimes in some releases, snapshot-controller in others
        coredns | servicelb | traefik | local-storage | metrics-server | runtimes | snapshot-controller) ;;
        *) die "K3S_DISABLE item '$item' is not a packaged k3s component (coredns, servicelb, traefik, local-storage, metrics-server, runtimes, snapshot-controller)" ;;
    esac
done
if [ "$K3S_ROLE" = agent ] && [ -z "$K3S_SERVER_URL" ]; then
    die "K3S_SERVER_URL is required for an agent (https://<server>:6443)"
fi

tmp=$(mktemp -d) # mode 700
trap 'rm -rf "$tmp"' EXIT

token=""
if [ "$K3S_TOKEN_STDIN" = 1 ]; then
    IFS= read -r token || true
    [ -n "$token" ] || die "K3S_TOKEN_STDIN=1 but no token arrived on stdin"
fi
if [ "$K3S_ROLE" = agent ] && [ -z "$token" ]; then
    die "an agent needs the join token on stdin (K3S_TOKEN_STDIN=1)"
fi
# The kubeconfig kubectl uses to cordon, drain and uncordon this node during an upgrade.
kubeconfig="$K3S_CONFIG_DIR/k3s.yaml"
if [ "$K3S_KUBECONFIG_STDIN" = 1 ]; then
    kubeconfig="$tmp/kubeconfig"
    (umask 077 && cat >"$kubeconfig")
    [ -s "$kubeconfig" ] || die "K3S_KUBECONFIG_STDIN=1 but no kubeconfig arrived on stdin after the token"
fi

log "checking tools"
need systemctl "k3s needs systemd"
need sort "coreutils"
need awk "part of the base system"

# The host's own unit. get.k3s.io names them k3s (server) and k3s-agent; k3s-ansible's roles
# before December 2021 named the agent's k3s-node (k3s-io/k3s-ansible b740fc2,
# roles/k3s/agent/tasks/main.yml: dest {{ systemd_dir }}/k3s-node.service; renamed in b307aeb).
# An agent's unit is the running one, else the one installed, else (fresh host) k3s-agent.
unit_known() { systemctl is-active --quiet "$1" 2>/dev/null || systemctl cat "$1" >/dev/null 2>&1; }
if [ "$K3S_ROLE" = server ]; then
    service=k3s
    for other in k3s-agent k3s-node; do
        if systemctl is-active --quiet "$other" 2>/dev/null; then
            die "this host runs $other, but the stack says it is a k3s server; fix the role in the stack configuration"
        fi
    done
else
    if systemctl is-active --quiet k3s 2>/dev/null; then
        die "this host runs k3s, but the stack says it is a k3s agent; fix the role in the stack configuration"
    fi
    service=""
    for unit in k3s-agent k3s-node; do
        if systemctl is-active --quiet "$unit" 2>/dev/null; then service=$unit; break; fi
    done
    if [ -z "$service" ]; then
        for unit in k3s-agent k3s-node; do
            if unit_known "$unit"; then service=$unit; break; fi
        done
    fi
    service="${service:-k3s-agent}"
fi

installed=""
if command -v k3s >/dev/null 2>&1; then
    installed=$(k3s --version 2>/dev/null | awk 'NR == 1 { print $3 }') || installed=""
fi

wait_ready() {
    local waited=0
    log "waiting up to ${K3S_READY_TIMEOUT}s for k3s to be ready"
    while :; do
        if [ "$K3S_ROLE" = server ]; then
            if [ "$(k3s kubectl get --raw=/readyz 2>/dev/null || true)" = ok ] && [ -s "$K3S_DATA_DIR/server/node-token" ]; then
                return 0
            fi
        elif systemctl is-active --quiet "$service"; then
            return 0
        fi
        [ "$waited" -lt "$K3S_READY_TIMEOUT" ] || die "k3s did not become ready within ${K3S_READY_TIMEOUT}s (see: journalctl -u $service)"
        sleep "$K3S_POLL_INTERVAL"
        waited=$((waited + K3S_POLL_INTERVAL))
    done
}

# A k3s release as one comparable number: major, minor, patch and k3s revision, 4 digits each,
# so that they compare as numbers, not as text (patch 10 comes after patch 9, not before it).
# (No example release here: the version-parity policy reads every release this text names.)
version_number() {
    printf '%s\n' "$1" | awk -F'[v.+]' '{ r = $5; sub(/^k3s/, "", r); printf "%04d%04d%04d%04d\n", $2, $3, $4, r }'
}

kubectl_() { k3s kubectl --kubeconfig "$kubeconfig" "$@"; }

# The Kubernetes node of this host: the one whose InternalIP is NODE_IP (its name is the
# host's hostname, which need not be the lab's name for it).
find_node() {
    local nodes
    nodes=$(kubectl_ get nodes -o 'jsonpath={range .items[*]}{.metadata.name}{" "}{.status.addresses[?(@.type=="InternalIP")].address}{"\n"}{end}' 2>"$tmp/kubectl.err") \
        || die "cannot list the cluster's nodes with $kubeconfig: $(head -n 1 "$tmp/kubectl.err"); nothing was changed"
    node=$(printf '%s\n' "$nodes" | awk -v ip="$NODE_IP" '$2 == ip { print $1; exit }')
    [ -n "$node" ] || die "no Kubernetes node has the InternalIP $NODE_IP (nodes: $(printf '%s\n' "$nodes" | tr '\n' ' ')); nothing was changed"
}

# Waits (bounded, a progress line every 5 checks) until the node is Ready at $K3S_VERSION.
wait_node_ready() {
    local waited=0 checks=0 state=""
    log "waiting up to ${K3S_READY_TIMEOUT}s for node $node to be Ready at $K3S_VERSION"
    while :; do
        state=$(kubectl_ get node "$node" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status} {.status.nodeInfo.kubeletVersion}' 2>/dev/null || true)
        [ "$state" = "True $K3S_VERSION" ] && return 0
        [ "$waited" -lt "$K3S_READY_TIMEOUT" ] \
            || die "node $node is not Ready at $K3S_VERSION after ${K3S_READY_TIMEOUT}s (last seen: '${state:-no answer}'); it stays cordoned. See: journalctl -u $service; once it is Ready: k3s kubectl uncordon $node"
        checks=$((checks + 1))
        if [ $((checks % 5)) = 0 ]; then
            log "still waiting for node $node to be Ready at $K3S_VERSION (${waited}s of ${K3S_READY_TIMEOUT}s; now: '${state:-no answer}')"
        fi
        sleep "$K3S_POLL_INTERVAL"
        waited=$((waited + K3S_POLL_INTERVAL))
    done
}

# A server installed earlier (by hand, or before the stack disabled a component) may still
# deploy a component the stack disables: k3s deletes the manifest of a disabled component from
# $K3S_DATA_DIR/server/manifests and writes those of the others at every start, so a manifest
# there means the running k3s deploys it. Applying --disable needs a k3s restart, and disabling
# uninstalls the component from the cluster: never done here, on prod or anywhere (no silent
# restart, no silent uninstall). The operator is told what differs and how to apply it.
drift=""
check_disabled() {
    [ "$K3S_ROLE" = server ] || return 0
    local item
    for item in $K3S_DISABLE; do
        if [ -e "$K3S_DATA_DIR/server/manifests/$item.yaml" ] || [ -d "$K3S_DATA_DIR/server/manifests/$item" ]; then
            drift="$drift${drift:+ }$item"
        fi
    done
    if [ -n "$drift" ]; then
        log "WARNING: this k3s deploys $drift, which the stack disables (disable: in $K3S_CONFIG_DIR/config.yaml on a fresh install). Left as it is: applying it restarts k3s and uninstalls $drift from the cluster. To apply it in a maintenance window, add each to the disable: list of $K3S_CONFIG_DIR/config.yaml (or --disable=<item> in the k3s service), then run: systemctl restart k3s (see components/metal/README.md)"
    fi
}

finish() {
    # $1: installed | upgraded | unchanged; the one line that says what happened.
    if [ -n "$drift" ]; then
        log "done: $1 ($2; not applied: disable $drift, see the WARNING above)"
    else
        log "done: $1 ($2)"
    fi
    if [ "$K3S_PRINT_TOKEN" = 1 ]; then
        [ -s "$K3S_DATA_DIR/server/node-token" ] || die "no node token at $K3S_DATA_DIR/server/node-token"
        cat "$K3S_DATA_DIR/server/node-token"
    fi
    exit 0
}

# 1. Already at the pinned version: untouched.
if [ "$installed" = "$K3S_VERSION" ]; then
    log "k3s $installed is installed: the pinned version"
    if ! systemctl is-active --quiet "$service"; then
        log "the $service service is not running: starting it (no reinstall)"
        systemctl start "$service" || die "'systemctl start $service' failed (see: journalctl -u $service)"
    fi
    wait_ready
    check_disabled
    finish unchanged "$K3S_VERSION"
fi

# 2. Another version: never a downgrade; without a requested upgrade, stop before touching
# anything; with one, upgrade by replacing the binary, the node cordoned and drained.
if [ -n "$installed" ]; then
    case "$installed" in
        v[0-9]*.[0-9]*.[0-9]*+k3s[0-9]*) ;;
        *) die "k3s on $NODE_NAME reports the version '$installed', which is not a k3s release such as v1.34.3+k3s1; nothing was changed" ;;
    esac
    if [ "$(version_number "$installed")" -gt "$(version_number "$K3S_VERSION")" ]; then
        die "k3s $installed on $NODE_NAME is newer than the pinned $K3S_VERSION; k3s does not support downgrades. Pin $installed in versions.k3s (Pulumi.yaml), or reinstall the host; nothing was changed"
    fi
    if [ -z "$K3S_UPGRADE" ]; then
        die "k3s on $NODE_NAME is $installed, but the manifest (versions.k3s in Pulumi.yaml) pins $K3S_VERSION; nothing was changed. To upgrade (the server first, then one agent at a time, each cordoned, drained and waited for until Ready): pulumi config set homelab:k3sUpgradeTo $K3S_VERSION on this stack, check that pulumi preview shows K3S_UPGRADE on the k3s commands, then pulumi up (components/metal/README.md, \"Upgrading k3s\"). Or pin $installed in versions.k3s"
    fi
    need curl "apt-get install curl"
    need sha256sum "coreutils"
    need uname "coreutils"
    case "$(uname -m)" in
        aarch64 | arm64) suffix=-arm64; sums=sha256sum-arm64.txt ;;
        x86_64 | amd64) suffix=""; sums=sha256sum-amd64.txt ;;
        armv7l | armhf) suffix=-armhf; sums=sha256sum-arm.txt ;;
        *) die "unsupported architecture $(uname -m)" ;;
    esac
    binary=$(command -v k3s)
    log "upgrade requested: k3s $installed -> $K3S_VERSION, unit $service, binary $binary"
    log "downloading k3s$suffix of $K3S_VERSION"
    curl -sfL --retry 3 -o "$tmp/k3s" "$K3S_RELEASE_URL/k3s$suffix" \
        || die "could not download $K3S_RELEASE_URL/k3s$suffix (curl failed); nothing was changed"
    curl -sfL --retry 3 -o "$tmp/sums" "$K3S_RELEASE_URL/$sums" \
        || die "could not download $K3S_RELEASE_URL/$sums (curl failed); nothing was changed"
    log "verifying the checksum"
    expected=$(awk -v f="k3s$suffix" '$2 == f { print $1 }' "$tmp/sums")
    actual=$(sha256sum "$tmp/k3s" | awk '{ print $1 }')
    if [ -z "$expected" ] || [ "$expected" != "$actual" ]; then
        die "checksum mismatch for k3s$suffix $K3S_VERSION: refusing to install it; nothing was changed"
    fi
    [ -s "$kubeconfig" ] || die "no kubeconfig at $kubeconfig to cordon and drain the node with; nothing was changed"
    find_node
    log "cordoning node $node"
    kubectl_ cordon "$node" >&2 || die "'kubectl cordon $node' failed; nothing was changed"
    log "draining node $node (up to ${K3S_DRAIN_TIMEOUT}s)"
    if ! kubectl_ drain "$node" --ignore-daemonsets --delete-emptydir-data --timeout="${K3S_DRAIN_TIMEOUT}s" >&2; then
        kubectl_ uncordon "$node" >&2 || true
        die "'kubectl drain $node' did not finish within ${K3S_DRAIN_TIMEOUT}s (see its output above: a PodDisruptionBudget, or Longhorn's last replica on this node); the node was uncordoned and k3s left at $installed"
    fi
    log "replacing $binary and restarting $service"
    cp "$tmp/k3s" "$binary.new"
    chmod 0755 "$binary.new"
    mv -f "$binary.new" "$binary"
    systemctl restart "$service" \
        || die "'systemctl restart $service' failed; node $node stays cordoned (see: journalctl -u $service)"
    wait_ready
    now=$(k3s --version 2>/dev/null | awk 'NR == 1 { print $3 }') || now=""
    [ "$now" = "$K3S_VERSION" ] || die "after the upgrade k3s reports '$now', not $K3S_VERSION; node $node stays cordoned"
    wait_node_ready
    log "uncordoning node $node"
    kubectl_ uncordon "$node" >&2 || die "'kubectl uncordon $node' failed: run it once the API answers"
    check_disabled
    finish upgraded "$installed -> $K3S_VERSION"
fi

# 3. Fresh host: the installer of the pinned release.
need curl "apt-get install curl"
log "fresh host: writing $K3S_CONFIG_DIR/config.yaml"
mkdir -p "$K3S_CONFIG_DIR"
{
    echo "# Written by the homelab Pulumi program (k3s-install.sh) on first install."
    echo "node-ip: \"$NODE_IP\""
    if [ "$K3S_ROLE" = server ]; then
        echo "tls-san:"
        echo "  - \"$NODE_IP\""
        echo "write-kubeconfig-mode: \"0600\""
        if [ -n "$K3S_DISABLE" ]; then
            echo "disable:"
            for item in $K3S_DISABLE; do echo "  - $item"; done
        fi
    fi
} >"$K3S_CONFIG_DIR/config.yaml"
log "downloading the k3s installer of $K3S_VERSION"
curl -sfL --retry 3 -o "$tmp/install.sh" "$K3S_INSTALL_URL" \
    || die "could not download $K3S_INSTALL_URL (curl failed)"
log "installing k3s $K3S_VERSION as $K3S_ROLE"
if [ "$K3S_ROLE" = server ]; then
    if [ -n "$token" ]; then
        INSTALL_K3S_VERSION="$K3S_VERSION" INSTALL_K3S_EXEC=server K3S_TOKEN="$token" sh "$tmp/install.sh" >&2 \
            || die "the k3s installer failed (see its output above)"
    else
        INSTALL_K3S_VERSION="$K3S_VERSION" INSTALL_K3S_EXEC=server sh "$tmp/install.sh" >&2 \
            || die "the k3s installer failed (see its output above)"
    fi
else
    INSTALL_K3S_VERSION="$K3S_VERSION" INSTALL_K3S_EXEC=agent K3S_URL="$K3S_SERVER_URL" K3S_TOKEN="$token" sh "$tmp/install.sh" >&2 \
        || die "the k3s installer failed (see its output above)"
fi
wait_ready
finish installed "$K3S_VERSION"
