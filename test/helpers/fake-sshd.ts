// An sshd-like fake on loopback that answers OpenSSH's ssh-keyscan with a host key: the version
// exchange and the first key-exchange messages of RFC 4253 (SSH_MSG_KEXINIT, unencrypted binary
// packets) and RFC 8731 (curve25519-sha256: SSH_MSG_KEX_ECDH_INIT 30 / _REPLY 31, whose first field
// is the host key K_S). OpenSSH's client checks the host key as soon as it has parsed K_S, before
// the signature (openssh-portable kexgen.c, input_kex_gen_reply: sshkey_fromb then
// kex_verify_host_key), and ssh-keyscan's check prints the key and hangs up
// (ssh-keyscan.c, key_print_wrapper): so the signature here need not verify, and never does.
import * as crypto from "crypto";
import * as net from "net";

function sshString(b: Buffer | string): Buffer {
    const body = Buffer.isBuffer(b) ? b : Buffer.from(b);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(body.length);
    return Buffer.concat([len, body]);
}

/** RFC 4253 section 6: uint32 packet_length, byte padding_length, payload, padding (total a multiple of 8, padding >= 4). */
function packet(payload: Buffer): Buffer {
    let pad = 8 - ((5 + payload.length) % 8);
    if (pad < 4) pad += 8;
    const head = Buffer.alloc(5);
    head.writeUInt32BE(1 + payload.length + pad);
    head.writeUInt8(pad, 4);
    return Buffer.concat([head, payload, crypto.randomBytes(pad)]);
}

export class FakeSshd {
    readonly publicKey: string;
    private readonly blob: Buffer;
    private server?: net.Server;
    port = 0;
    connections = 0;

    constructor() {
        const { publicKey } = crypto.generateKeyPairSync("ed25519");
        const raw = Buffer.from(publicKey.export({ format: "jwk" }).x!, "base64url");
        this.blob = Buffer.concat([sshString("ssh-ed25519"), sshString(raw)]);
        this.publicKey = `ssh-ed25519 ${this.blob.toString("base64")}`;
    }

    async start(): Promise<number> {
        this.server = net.createServer((sock) => this.session(sock));
        await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
        this.port = (this.server!.address() as net.AddressInfo).port;
        return this.port;
    }

    async stop(): Promise<void> {
        await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    }

    private session(sock: net.Socket): void {
        this.connections++;
        sock.on("error", () => undefined);
        sock.setTimeout(10_000, () => sock.destroy());
        sock.write("SSH-2.0-LabFakeSshd_1.0\r\n");
        const kexinit = Buffer.concat([
            Buffer.from([20]), crypto.randomBytes(16),
            sshString("curve25519-sha256,curve25519-sha256@libssh.org"), sshString("ssh-ed25519"),
            sshString("aes128-ctr"), sshString("aes128-ctr"), sshString("hmac-sha2-256"), sshString("hmac-sha2-256"),
            sshString("none"), sshString("none"), sshString(""), sshString(""), Buffer.from([0]), Buffer.alloc(4),
        ]);
        sock.write(packet(kexinit));
        let buf = Buffer.alloc(0);
        let versionSeen = false;
        sock.on("data", (d) => {
            buf = Buffer.concat([buf, d]);
            if (!versionSeen) {
                const nl = buf.indexOf("\n");
                if (nl < 0) return;
                versionSeen = true;
                buf = buf.subarray(nl + 1);
            }
            while (buf.length >= 5) {
                const len = buf.readUInt32BE(0);
                if (buf.length < 4 + len) return;
                const pad = buf.readUInt8(4);
                const payload = buf.subarray(5, 4 + len - pad);
                buf = buf.subarray(4 + len);
                if (payload[0] === 30) {
                    const ephemeral = crypto.randomBytes(32);
                    const signature = Buffer.concat([sshString("ssh-ed25519"), sshString(crypto.randomBytes(64))]);
                    sock.write(packet(Buffer.concat([Buffer.from([31]), sshString(this.blob), sshString(ephemeral), sshString(signature)])));
                }
            }
        });
    }
}
