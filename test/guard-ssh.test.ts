// SSH identity: a sandbox host that pins a prod host's key is that prod host; every remote command
// pins a host key (pulumi/pulumi-command v1.2.1 provider/pkg/provider/remote/connection.go: with
// no hostKey the provider accepts any key, ssh.InsecureIgnoreHostKey).
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { requireHostKey, hostKeyBlob } from "../components/guard/ssh";
import { ROOT, runPlanCli } from "./helpers/plan";
import * as os from "os";

const prodDoc = YAML.parse(fs.readFileSync(path.join(ROOT, "Pulumi.prod.yaml"), "utf8"));
const PI1_KEY: string = prodDoc.config["homelab:hosts"][0].hostKey;
const OTHER_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE1vY2tLZXlGb3JBU2FuZGJveEhvc3ROb3RQcm9kMDAx lab-vm";

/** A sandbox stack file in hosts mode: one host at another address with the given key. */
function hostsStack(hostKey: string): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lab-ssh-"));
    const file = path.join(dir, "Pulumi.sandbox-k3d.yaml");
    fs.writeFileSync(file, YAML.stringify({
        config: {
            "homelab:mode": "hosts",
            "homelab:hosts": [{ name: "node1", address: "192.168.1.50", hostKey, role: "server" }],
            "homelab:dataHost": "node1",
            "homelab:sshUser": "ubuntu",
        },
    }));
    return file;
}

describe("guard: SSH identity", function () {
    this.timeout(120_000);

    it("refused: a sandbox host at another address that pins prod pi1's key is pi1 (offline plan, --config-file)", () => {
        const r = runPlanCli(["sandbox-k3d", "--config-file", hostsStack(PI1_KEY)]);
        assert.strictEqual(r.status, 2, r.stderr);
        assert.match(r.stderr, /key "homelab:hosts\[0\]\.hostKey" is .*the SSH host key of prod host pi1/);
    });

    it("near miss: the same host with a key of its own is not refused by the guard", () => {
        const r = runPlanCli(["sandbox-k3d", "--config-file", hostsStack(OTHER_KEY)]);
        assert.doesNotMatch(r.stderr, /SSH host key of prod host/);
        assert.doesNotMatch(r.stderr, /names prod/);
    });

    it("what counts as a pinned key: `<type> <base64>`; empty, bare blobs and words do not", () => {
        assert.strictEqual(hostKeyBlob(OTHER_KEY), OTHER_KEY.split(" ").slice(0, 2).join(" "));
        for (const bad of ["", "   ", "AAAAC3Nz", "ssh-ed25519", "not a key"]) assert.strictEqual(hostKeyBlob(bad), undefined, bad);
    });

    it("every remote.Command in components/ pins its host key through requireHostKey", () => {
        const files: string[] = [];
        const walk = (d: string) => fs.readdirSync(d, { withFileTypes: true }).forEach((e) => {
            const p = path.join(d, e.name);
            if (e.isDirectory()) walk(p);
            else if (p.endsWith(".ts")) files.push(p);
        });
        walk(path.join(ROOT, "components"));
        let commands = 0;
        for (const f of files) {
            const text = fs.readFileSync(f, "utf8");
            for (const m of text.matchAll(/new command\.remote\.Command\(/g)) {
                commands++;
                const call = text.slice(m.index!, m.index! + 600);
                assert.match(call, /connection: (connection\(|\{[^}]*hostKey: requireHostKey\()/, `${path.relative(ROOT, f)}: a remote command without a pinned host key`);
            }
        }
        assert.ok(commands >= 6, `found ${commands} remote commands`);
        const hosts = fs.readFileSync(path.join(ROOT, "components", "metal", "hosts.ts"), "utf8");
        assert.match(hosts, /hostKey: requireHostKey\(/);
    });
});

// requireHostKey's refusal, under Pulumi's output machinery (apply throws the HostKeyError).
describe("guard: requireHostKey", () => {
    it("passes a well-formed key through unchanged", async () => {
        const ok = await new Promise((resolve) => (requireHostKey("x", OTHER_KEY) as any).apply(resolve));
        assert.strictEqual(ok, OTHER_KEY);
    });
});
