// The metal layer's pure functions: image pinning, the rendered cloud-init and compose file,
// the VM address parsing, and the remote command line (run through a real shell).
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as YAML from "yaml";
import {
    k3sImage, parseVmAddress, postgresDataPath, renderCloudInit, renderCompose, SSH_KEY_PLACEHOLDER,
} from "../components/metal";
import { remoteScriptCommand, shellQuote } from "../components/metal/scripts";

const value = <T>(o: pulumi.Output<T>) => new Promise<T>((r) => o.apply((v) => { r(v); return v; }));

describe("metal render and helpers", () => {
    it("k3sImage pins the k3d image to the manifest's k3s release", () => {
        assert.equal(k3sImage("v1.34.3+k3s1"), "rancher/k3s:v1.34.3-k3s1");
    });

    describe("renderCloudInit", () => {
        it("installs the key placeholder and the Longhorn prerequisites, iscsid enabled", () => {
            const text = renderCloudInit({ hostname: "pi1", dataHost: false });
            assert.ok(text.startsWith("#cloud-config\n"));
            const doc = YAML.parse(text);
            assert.equal(doc.hostname, "pi1");
            assert.deepEqual(doc.ssh_authorized_keys, [SSH_KEY_PLACEHOLDER]);
            assert.deepEqual(doc.packages, ["open-iscsi", "nfs-common"]);
            assert.deepEqual(doc.runcmd, [["modprobe", "iscsi_tcp"], ["systemctl", "enable", "--now", "iscsid"]]);
        });

        it("gives the data host Docker and compose", () => {
            const doc = YAML.parse(renderCloudInit({ hostname: "pi2", dataHost: true }));
            assert.deepEqual(doc.packages, ["open-iscsi", "nfs-common", "docker.io", "docker-compose-v2"]);
            assert.deepEqual(doc.runcmd.at(-1), ["systemctl", "enable", "--now", "docker"]);
        });

        it("rejects a hostname that is not a DNS label, naming it", () => {
            assert.throws(() => renderCloudInit({ hostname: "Pi_1", dataHost: false }), /"Pi_1" is not a DNS label/);
        });
    });

    describe("renderCompose", () => {
        const text = renderCompose({
            postgresImage: "docker.io/library/postgres:17.7-bookworm",
            giteaImage: "docker.gitea.com/gitea:1.25.2",
            giteaRootUrl: "http://192.168.1.202:3000/",
        });

        it("pins the images and keeps the data in named volumes", () => {
            const doc = YAML.parse(text);
            assert.equal(doc.services.postgres.image, "docker.io/library/postgres:17.7-bookworm");
            assert.equal(doc.services.gitea.image, "docker.gitea.com/gitea:1.25.2");
            assert.deepEqual(doc.services.postgres.volumes, ["postgres-data:/var/lib/postgresql/data"]);
            assert.deepEqual(doc.volumes, { "postgres-data": { name: "homelab-postgres-data" }, "gitea-data": { name: "homelab-gitea-data" } });
            assert.deepEqual(doc.services.postgres.env_file, ["postgres.env"], "the password is not in the file");
            assert.equal(doc.services.gitea.environment.GITEA__server__ROOT_URL, "http://192.168.1.202:3000/");
        });

        it("quotes port mappings (YAML 1.1 reads 2222:22 as a base-60 number)", () => {
            assert.ok(text.includes('- "2222:22"') && text.includes('- "5432:5432"'), text);
        });

        it("follows the postgres image's data directory", () => {
            assert.equal(postgresDataPath("docker.io/library/postgres:17.7-bookworm"), "/var/lib/postgresql/data");
            assert.equal(postgresDataPath("docker.io/library/postgres:18.1"), "/var/lib/postgresql");
        });
    });

    describe("parseVmAddress", () => {
        it("takes the last line the launch script printed", () => {
            assert.equal(parseVmAddress("pi1", "192.168.64.5\n"), "192.168.64.5");
            assert.equal(parseVmAddress("pi1", "noise\n192.168.64.5"), "192.168.64.5");
        });
        it("fails naming the VM when the output is not an address", () => {
            assert.throws(() => parseVmAddress("pi3", "launch failed"), /VM pi3: the launch script printed no IPv4 address/);
            assert.throws(() => parseVmAddress("pi3", "300.1.1.1"), /VM pi3/);
        });
        it("maps an empty output (mocks, never a real run) to a name that never resolves", () => {
            assert.equal(parseVmAddress("pi2", ""), "pi2.address-unknown.invalid");
            assert.equal(parseVmAddress("pi2", undefined), "pi2.address-unknown.invalid");
        });
    });

    describe("remoteScriptCommand", () => {
        it("runs the script file with its environment through a POSIX shell, quoting safely", async () => {
            const dir = fs.mkdtempSync(path.join(os.tmpdir(), "metal-remote-"));
            try {
                fs.writeFileSync(path.join(dir, "k3s.yaml"), "clusters:\n- cluster:\n    server: https://127.0.0.1:6443\n");
                const cmd = await value(remoteScriptCommand("k3s-kubeconfig.sh", {
                    SERVER_ADDRESS: pulumi.output("192.168.1.201"),
                    NODE_NAME: "it's pi1",
                    K3S_CONFIG_DIR: dir,
                }, { sudo: false }));
                assert.ok(cmd.startsWith("env K3S_CONFIG_DIR="), cmd.slice(0, 80));
                assert.ok(cmd.endsWith(" k3s-kubeconfig.sh"));
                // What sshd does with the command: the login shell runs it.
                const r = spawnSync("/bin/sh", ["-c", cmd], { encoding: "utf8", env: { PATH: "/usr/bin:/bin" } });
                assert.equal(r.status, 0, r.stderr);
                assert.match(r.stdout, /server: https:\/\/192\.168\.1\.201:6443/);
                assert.match(r.stderr, /\[k3s it's pi1\] done/);
            } finally {
                fs.rmSync(dir, { recursive: true, force: true });
            }
        });

        it("prefixes sudo -n for a non-root user, and rejects a bad variable name", async () => {
            assert.ok((await value(remoteScriptCommand("data-compose.sh", { NODE_NAME: "pi2" }, { sudo: true }))).startsWith("sudo -n env NODE_NAME='pi2' bash -c '#!/usr/bin/env bash"));
            assert.throws(() => remoteScriptCommand("data-compose.sh", { "BAD-NAME": "x" }, { sudo: false }), /"BAD-NAME" is not valid/);
        });

        it("shellQuote survives any quote", () => {
            const s = `a'b"c$d\`e\\f`;
            assert.equal(spawnSync("/bin/sh", ["-c", `printf %s ${shellQuote(s)}`], { encoding: "utf8" }).stdout, s);
        });
    });
});
