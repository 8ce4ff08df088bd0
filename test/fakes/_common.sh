# Sourced by every fake tool (copied beside them on the sandbox PATH). Records the call, and offers
# failure injection: FAKE_FAIL is a space-separated list of "<tool>:<what>" whose calls fail.
: "${FAKE_STATE:?FAKE_STATE must be set}"
: "${FAKE_LOG:?FAKE_LOG must be set}"
fake_record() {
    local tool="$1"
    shift
    { printf '%s' "$tool"; printf ' %s' "$@"; printf '\n'; } >>"$FAKE_LOG"
}
fake_fails() {
    case " ${FAKE_FAIL:-} " in *" $1 "*) return 0 ;; esac
    return 1
}
# The SHA-256 of stdin, hex: sha256sum where the machine has it (Linux), shasum -a 256 (macOS).
fake_sha256() {
    if command -v sha256sum >/dev/null 2>&1; then
        sha256sum | cut -d' ' -f1
    else
        shasum -a 256 | cut -d' ' -f1
    fi
}
# What a k3s server does with its packaged manifests at every start (k3s-io/k3s pkg/deploy/stage.go,
# k3s-io/docs docs/installation/packaged-components.md): it writes each packaged component's
# manifest into $K3S_DATA_DIR/server/manifests, except those listed under disable: in
# $K3S_CONFIG_DIR/config.yaml, whose manifests it deletes (and uninstalls). Needs both variables.
fake_k3s_stage() {
    [ -n "${K3S_DATA_DIR:-}" ] && [ -n "${K3S_CONFIG_DIR:-}" ] || return 0
    local m="$K3S_DATA_DIR/server/manifests" disabled="" c
    mkdir -p "$m"
    if [ -f "$K3S_CONFIG_DIR/config.yaml" ]; then
        disabled=$(awk '/^disable:/ { f = 1; next } f && /^  - / { gsub(/"/, ""); print $2; next } { f = 0 }' "$K3S_CONFIG_DIR/config.yaml")
    fi
    for c in coredns local-storage traefik metrics-server; do
        if printf '%s\n' "$disabled" | grep -qx -- "$c"; then
            rm -rf "${m:?}/$c.yaml" "${m:?}/$c"
        elif [ "$c" = metrics-server ]; then
            mkdir -p "$m/$c"
        else
            echo "# packaged $c" >"$m/$c.yaml"
        fi
    done
    echo "stage $(cd "$m" && ls | tr '\n' ' ')" >>"$FAKE_LOG"
}
