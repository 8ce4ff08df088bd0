// Each Pi's SSH host key, read the way the operator would (`ssh-keyscan -t ed25519 <address>`):
// OpenSSH's ssh-keyscan, bounded (-T seconds, and a process timeout), nothing but the key exchange
// (no login). Its SHA256 fingerprint is OpenSSH's: base64 (no padding) of SHA-256 of the key blob,
// as `ssh-keygen -lf` prints it and as ssh shows it on first connection.
import { execFile } from "child_process";
import * as crypto from "crypto";

export interface HostKey { key: string; fingerprint: string; }

export function sshFingerprint(key: string): string {
    const blob = key.trim().split(/\s+/)[1];
    if (!blob) throw new Error(`not an OpenSSH public key: ${key}`);
    return `SHA256:${crypto.createHash("sha256").update(Buffer.from(blob, "base64")).digest("base64").replace(/=+$/, "")}`;
}

/** Parses ssh-keyscan's output: `<host> <type> <base64>` lines (comments start with #). */
export function parseKeyscan(out: string, type = "ssh-ed25519"): string | undefined {
    for (const line of out.split("\n")) {
        if (!line.trim() || line.startsWith("#")) continue;
        const [, t, b64] = line.trim().split(/\s+/);
        if (t === type && b64) return `${t} ${b64}`;
    }
    return undefined;
}

export type Keyscan = (host: string, port: number, timeoutMs: number) => Promise<HostKey>;

export const keyscan: Keyscan = (host, port, timeoutMs) => new Promise((resolve, reject) => {
    const secs = String(Math.max(1, Math.ceil(timeoutMs / 1000)));
    execFile("ssh-keyscan", ["-T", secs, "-t", "ed25519", "-p", String(port), host], { timeout: timeoutMs + 2000, encoding: "utf8" }, (err, stdout) => {
        if (err && (err as NodeJS.ErrnoException).code === "ENOENT") return reject(new Error("ssh-keyscan is not installed (OpenSSH's client tools)"));
        const key = parseKeyscan(stdout ?? "");
        if (!key) return reject(new Error(`SSH at ${host}:${port}: no ed25519 host key within ${secs}s${err ? ` (${err.message.split("\n")[0]})` : ""}`));
        resolve({ key, fingerprint: sshFingerprint(key) });
    });
});
