// SSH identity: every remote command pins its host's key (the command provider accepts only that
// key, ssh.FixedHostKey; without one it accepts any, ssh.InsecureIgnoreHostKey:
// pulumi/pulumi-command v1.2.1 provider/pkg/provider/remote/connection.go). A key that is empty or
// not `<type> <base64>` stops the run before the command is registered.
import * as pulumi from "@pulumi/pulumi";

const KEY_RE = /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(?:256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com)\s+([A-Za-z0-9+/]+={0,2})(?:\s+.*)?$/;

/** The key's `<type> <base64>` (comment dropped), or undefined when it is not an SSH public key. */
export function hostKeyBlob(key: string): string | undefined {
    const m = KEY_RE.exec(key.trim());
    return m ? `${m[1]} ${m[2]}` : undefined;
}

export class HostKeyError extends pulumi.RunError {
    constructor(message: string) {
        super(message);
        this.name = "HostKeyError";
    }
}

/** The host key a remote command pins, checked: a command without a well-formed key is refused. */
export function requireHostKey(resource: string, key: pulumi.Input<string> | undefined): pulumi.Output<string> {
    return pulumi.output(key ?? "").apply((k) => {
        if (!k || !hostKeyBlob(k)) {
            throw new HostKeyError(`remote command ${resource}: its connection has no pinned SSH host key (got ${JSON.stringify(k ?? "")}); `
                + "expected `<type> <base64>` from the stack configuration (homelab:hosts[].hostKey, or the VM's key from its launch). "
                + "A remote command never connects to a host whose key it does not know.");
        }
        return k;
    });
}
