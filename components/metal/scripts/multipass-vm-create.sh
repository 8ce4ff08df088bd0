#!/usr/bin/env bash
# Launches one sandbox-vms VM with multipass (arm64 only, like the Raspberry Pis it
# stands for), waits until cloud-init has finished, checks the Longhorn prerequisites and
# prints two lines on stdout (nothing else goes there): the VM's address on the multipass
# network, then its SSH host key (`ssh-ed25519 <base64>`), read through `multipass exec`
# (multipass's own channel, not SSH), which the program pins for its SSH commands.
#
# Run by Pulumi (command.local.Command, create) on the operator's laptop with bash;
# idempotent: a running VM of that name is left as it is (a stopped one is started).
# A launch that fails is purged so that a retry starts clean.
#
# Environment: VM_NAME, VM_CPUS, VM_MEMORY, VM_DISK, VM_IMAGE (a pinned Ubuntu release
# such as 24.04), SSH_PUBLIC_KEY_FILE (may start with ~/), CLOUD_INIT (the cloud-config
# rendered by the program, with the placeholder __SSH_PUBLIC_KEY__ that this script
# replaces with the operator's key), LAUNCH_TIMEOUT (seconds, default 900).
#
# Address choice: the first IPv4 of `multipass info --format json` that is not in
#   10.42.0.0/16   k3s pods (flannel.1, cni0),
#   10.43.0.0/16   k3s services,
#   172.16.0.0/12  Docker bridges (docker0, compose networks on the data host),
#   169.254.0.0/16 link-local,
# i.e. the address of the VM's own interface on the multipass network (192.168.64.0/24
# on macOS). Keep it bash 3.2 compatible (macOS /bin/bash).
set -euo pipefail

: "${VM_NAME:?VM_NAME is required}"
: "${VM_CPUS:?VM_CPUS is required}"
: "${VM_MEMORY:?VM_MEMORY is required (e.g. 4G)}"
: "${VM_DISK:?VM_DISK is required (e.g. 20G)}"
: "${VM_IMAGE:?VM_IMAGE is required (a pinned Ubuntu release such as 24.04)}"
: "${SSH_PUBLIC_KEY_FILE:?SSH_PUBLIC_KEY_FILE is required (homelab:sshPublicKeyFile)}"
: "${CLOUD_INIT:?CLOUD_INIT is required (the rendered cloud-config)}"
LAUNCH_TIMEOUT="${LAUNCH_TIMEOUT:-900}"
PLACEHOLDER="__SSH_PUBLIC_KEY__"

log() { printf '[vm %s] %s\n' "$VM_NAME" "$*" >&2; }
die() { printf '[vm %s] ERROR: %s\n' "$VM_NAME" "$*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || die "required tool '$1' is not installed or not on PATH ($2)"; }

log "checking the host"
need uname "part of the base system"
arch=$(uname -m)
case "$arch" in
    arm64 | aarch64) ;;
    *) die "sandbox-vms needs an arm64 host (an Apple-silicon Mac): this host is $arch. multipass only runs VMs of the host's architecture, so the VMs would not be arm64 like the Raspberry Pis. Use the sandbox-k3d stack on this machine." ;;
esac
need multipass "install it from https://multipass.run (brew install --cask multipass)"

# The operator's SSH public key, read at run time (never stored in the program or state).
key_file="$SSH_PUBLIC_KEY_FILE"
case "$key_file" in \~/*) key_file="$HOME/${key_file#\~/}" ;; esac
[ -r "$key_file" ] || die "SSH public key file $key_file not found (homelab:sshPublicKeyFile): create one with ssh-keygen -t ed25519, or point the setting at yours"
key_line=$(head -n 1 "$key_file")
# Keep type and key only (the comment may carry characters that are not YAML-safe).
key=$(printf '%s\n' "$key_line" | awk '{ print $1 " " $2 }')
key_re='^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com) [A-Za-z0-9+/]+=*$'
[[ "$key" =~ $key_re ]] || die "$key_file does not look like an SSH public key (expected e.g. 'ssh-ed25519 AAAA...')"
case "$CLOUD_INIT" in *"$PLACEHOLDER"*) ;; *) die "CLOUD_INIT has no $PLACEHOLDER placeholder for the SSH key" ;; esac
# Unquoted on purpose (quotes inside the replacement are literal in bash 3.2); the
# placeholder has no glob characters and the key was checked to be [A-Za-z0-9+/=] only.
# shellcheck disable=SC2295
user_data=${CLOUD_INIT//$PLACEHOLDER/$key}

vm_state() {
    # Prints the VM's state (Running, Stopped, Deleted...), or nothing if there is no such VM.
    local list
    list=$(multipass list --format csv) || die "'multipass list' failed: is the multipass daemon running?"
    printf '%s\n' "$list" | awk -F, -v n="$VM_NAME" 'NR > 1 && $1 == n { print $2 }'
}

purge() {
    multipass delete --purge "$VM_NAME" >&2 || log "warning: 'multipass delete --purge $VM_NAME' failed; run it by hand"
}

log "looking for an existing VM"
state=$(vm_state)
result=""
case "$state" in
    "")
        ;;
    Running)
        result=unchanged
        ;;
    Stopped | Suspended)
        log "VM exists but is $state: starting it"
        multipass start "$VM_NAME" >&2 || die "'multipass start $VM_NAME' failed"
        result=started
        ;;
    Deleted)
        log "a deleted (not purged) VM of this name blocks the name: purging it"
        multipass delete --purge "$VM_NAME" >&2 || die "'multipass delete --purge $VM_NAME' failed"
        ;;
    *)
        die "VM exists in state '$state'; wait for it to settle (multipass list) or delete it with 'multipass delete --purge $VM_NAME', then retry"
        ;;
esac

if [ -n "$result" ]; then
    info=$(multipass info "$VM_NAME" --format json) || die "'multipass info $VM_NAME' failed"
    release=$(printf '%s' "$info" | tr -d '\n' | sed -n 's/.*"image_release"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p')
    case "$release" in
        "$VM_IMAGE"*) ;;
        *) die "VM exists with Ubuntu '$release', not the pinned $VM_IMAGE: this stack did not create it so. Delete it with 'multipass delete --purge $VM_NAME' and retry" ;;
    esac
else
    log "launching Ubuntu $VM_IMAGE ($VM_CPUS CPUs, $VM_MEMORY memory, $VM_DISK disk)"
    if ! printf '%s\n' "$user_data" | multipass launch "$VM_IMAGE" --name "$VM_NAME" \
        --cpus "$VM_CPUS" --memory "$VM_MEMORY" --disk "$VM_DISK" \
        --timeout "$LAUNCH_TIMEOUT" --cloud-init - >&2; then
        if [ -n "$(vm_state)" ]; then
            log "launch failed: purging the half-created VM so that a retry starts clean"
            purge
        fi
        die "'multipass launch' failed (see its output above)"
    fi
    result=created
fi

log "waiting for cloud-init to finish (packages, SSH key, iscsid)"
set +e
multipass exec "$VM_NAME" -- cloud-init status --wait >/dev/null 2>&1
status=$?
set -e
case "$status" in
    0) ;;
    2) log "warning: cloud-init finished with recoverable errors (see: multipass exec $VM_NAME -- cloud-init status --long)" ;;
    *)
        multipass exec "$VM_NAME" -- cloud-init status --long >&2 2>&1 || true
        if [ "$result" = created ]; then
            log "cloud-init failed on the new VM: purging it so that a retry starts clean"
            purge
        fi
        die "cloud-init failed in $VM_NAME (exit $status; its report is above)"
        ;;
esac

log "checking the Longhorn prerequisites (iscsid running)"
if ! multipass exec "$VM_NAME" -- systemctl is-active --quiet iscsid >/dev/null 2>&1; then
    if [ "$result" = created ]; then
        purge
    fi
    die "iscsid is not running in $VM_NAME: the cloud-init did not enable it"
fi

log "reading the VM's SSH host key"
host_key_line=$(multipass exec "$VM_NAME" -- cat /etc/ssh/ssh_host_ed25519_key.pub 2>/dev/null) \
    || die "could not read /etc/ssh/ssh_host_ed25519_key.pub in $VM_NAME (multipass exec failed): is sshd set up? Delete the VM with 'multipass delete --purge $VM_NAME' and retry"
host_key=$(printf '%s\n' "$host_key_line" | awk 'NR == 1 { print $1 " " $2 }')
host_key_re='^ssh-ed25519 [A-Za-z0-9+/]+=*$'
[[ "$host_key" =~ $host_key_re ]] || die "/etc/ssh/ssh_host_ed25519_key.pub in $VM_NAME is not an ed25519 public key"

log "reading the VM's address"
info=$(multipass info "$VM_NAME" --format json) || die "'multipass info $VM_NAME' failed"
# The "ipv4": [ ... ] list, one address per line, in multipass's order.
addresses=$(printf '%s' "$info" | tr -d '\n' | sed -n 's/.*"ipv4"[[:space:]]*:[[:space:]]*\[\([^]]*\)\].*/\1/p' | tr ',' '\n' | tr -d ' "\t')
address=""
for candidate in $addresses; do
    case "$candidate" in
        10.42.* | 10.43.*) continue ;;                                # k3s pods and services
        172.1[6-9].* | 172.2[0-9].* | 172.3[01].*) continue ;;        # Docker bridges
        169.254.*) continue ;;                                        # link-local
    esac
    if [[ "$candidate" =~ ^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
        address="$candidate"
        break
    fi
done
[ -n "$address" ] || die "no address on the multipass network in 'multipass info $VM_NAME' (IPv4 seen: $(printf '%s' "$addresses" | tr '\n' ' '))"
log "done: $result, address $address"
printf '%s\n%s\n' "$address" "$host_key"
