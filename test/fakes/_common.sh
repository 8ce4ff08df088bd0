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
