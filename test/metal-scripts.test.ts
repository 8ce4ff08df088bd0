// Every script of components/metal/scripts runs here against fake tools (see
// metal-harness.ts): the calls it makes, idempotence (a second run changes nothing), and a
// clear failure when a tool is missing or fails. The laptop-side ones (k3d-*, multipass-*) run
// under every laptop shell (test/helpers/shells.ts: the machine's bash, and macOS's bash 3.2 with
// original-awk as awk); the host-side ones under the machine's bash only.
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { fails, ok, RunResult, Sandbox } from "./metal-harness";
import { describeInShells } from "./helpers/shells";

const K3S = "v1.34.3+k3s1";
const OLD_K3S = "v1.33.5+k3s1";
const K3S_IMAGE = "rancher/k3s:v1.34.3-k3s1";

const called = (r: RunResult, prefix: string) => r.calls.filter((c) => c.startsWith(prefix));

describeInShells("metal laptop-side scripts (fake tools)", function () {
    this.timeout(30_000);
    let sb: Sandbox;
    beforeEach(() => {
        sb = new Sandbox();
    });
    afterEach(() => sb.cleanup());

    describe("k3d-cluster-create.sh", () => {
        const env = { CLUSTER_NAME: "lab", K3S_IMAGE, API_PORT: "6550", WAIT_TIMEOUT: "180" };

        it("creates the pinned cluster with the API on loopback, k3s's Traefik on (as on prod), the kubeconfig untouched", () => {
            const r = ok(sb.run("k3d-cluster-create.sh", env));
            assert.equal(r.stdout.trim(), "created");
            const create = called(r, "k3d cluster create");
            assert.deepEqual(create, [
                `k3d cluster create lab --image ${K3S_IMAGE} --servers 1 --agents 0 --api-port 127.0.0.1:6550 ` +
                "--wait --timeout 180s " +
                "--kubeconfig-update-default=false --kubeconfig-switch-context=false",
            ]);
            assert.match(r.stderr, /\[k3d lab\] checking tools/);
            assert.match(r.stderr, /\[k3d lab\] done: created/);
        });

        it("publishes the requested NodePorts on loopback only, and refuses a malformed one", () => {
            const r = ok(sb.run("k3d-cluster-create.sh", { ...env, NODE_PORTS: "8200:30820", INGRESS_PORT: "8088" }));
            assert.match(called(r, "k3d cluster create")[0], / --port 127\.0\.0\.1:8200:30820@server:0 /);
            // Traefik: the cluster's port 80 through k3d's load balancer, on loopback only
            assert.match(called(r, "k3d cluster create")[0], / --port 127\.0\.0\.1:8088:80@loadbalancer /);
            sb.cleanup();
            sb = new Sandbox();
            fails(sb.run("k3d-cluster-create.sh", { ...env, NODE_PORTS: "vault" }), "NODE_PORTS entry 'vault' is not <laptop port>:<NodePort>");
        });

        // k3d-io/k3d v5.9.0 pkg/types/fixes/fixes.go (PRs 1584/1595): with K3D_FIX_DNS unset the
        // DNS fix is on except on a runtime named "colima"; a value set overrides that. The fake
        // k3d decides the same way and records it.
        const dnsFix = () => fs.readFileSync(sb.path("state", "k3d", "lab", "dns-fix"), "utf8").trim();
        const runtimeName = (n: string) => {
            fs.mkdirSync(sb.path("state", "docker"), { recursive: true });
            fs.writeFileSync(sb.path("state", "docker", "runtime-name"), `${n}\n`);
        };

        it("leaves k3d's DNS fix to k3d by default: on for Docker Desktop, off on Colima", () => {
            const r = ok(sb.run("k3d-cluster-create.sh", { ...env, FIX_DNS: "" }));
            assert.match(r.stderr, /k3d's DNS fix: left to k3d/);
            assert.equal(dnsFix(), "on");
            ok(sb.run("k3d-cluster-delete.sh", { CLUSTER_NAME: "lab" }));
            runtimeName("colima");
            ok(sb.run("k3d-cluster-create.sh", env));
            assert.equal(dnsFix(), "off", "k3d 5.9.0 skips the fix on Colima by itself");
        });

        it("forces the DNS fix off where the stack says Colima, even where k3d would not detect it (a profile)", () => {
            runtimeName("colima-work");
            ok(sb.run("k3d-cluster-create.sh", env));
            assert.equal(dnsFix(), "on", "left to k3d, a Colima profile named colima-work gets the fix that breaks its DNS");
            ok(sb.run("k3d-cluster-delete.sh", { CLUSTER_NAME: "lab" }));
            const r = ok(sb.run("k3d-cluster-create.sh", { ...env, FIX_DNS: "0" }));
            assert.match(r.stderr, /K3D_FIX_DNS=0/);
            assert.equal(dnsFix(), "off");
        });

        it("forces the DNS fix on where the stack says Docker Desktop, and refuses another value", () => {
            ok(sb.run("k3d-cluster-create.sh", { ...env, FIX_DNS: "1" }));
            assert.equal(dnsFix(), "on");
            ok(sb.run("k3d-cluster-delete.sh", { CLUSTER_NAME: "lab" }));
            const r = fails(sb.run("k3d-cluster-create.sh", { ...env, FIX_DNS: "yes" }), "FIX_DNS 'yes' must be 1, 0 or empty");
            assert.equal(called(r, "k3d cluster create").length, 0);
        });

        it("is idempotent: a second run changes nothing", () => {
            ok(sb.run("k3d-cluster-create.sh", env));
            const r = ok(sb.run("k3d-cluster-create.sh", env));
            assert.equal(r.stdout.trim(), "unchanged");
            assert.deepEqual(r.calls.filter((c) => /^k3d cluster (create|delete|start)/.test(c)), []);
        });

        it("starts a stopped cluster instead of recreating it", () => {
            ok(sb.run("k3d-cluster-create.sh", env));
            fs.rmSync(sb.path("state", "k3d", "lab", "running"));
            const r = ok(sb.run("k3d-cluster-create.sh", env));
            assert.equal(r.stdout.trim(), "started");
            assert.equal(called(r, "k3d cluster start lab").length, 1);
            assert.equal(called(r, "k3d cluster create").length, 0);
        });

        it("refuses a cluster of that name with another image, and deletes nothing", () => {
            ok(sb.run("k3d-cluster-create.sh", { ...env, K3S_IMAGE: "rancher/k3s:v1.33.5-k3s1" }));
            const r = fails(sb.run("k3d-cluster-create.sh", env), "not the pinned rancher/k3s:v1.34.3-k3s1");
            assert.equal(called(r, "k3d cluster delete").length, 0);
        });

        it("removes a half-created cluster when k3d fails, so that a retry works", () => {
            const r = fails(sb.run("k3d-cluster-create.sh", { ...env, FAKE_FAIL: "k3d:create" }), "'k3d cluster create' failed");
            assert.equal(called(r, "k3d cluster delete lab").length, 1);
            assert.equal(fs.existsSync(sb.path("state", "k3d", "lab")), false);
            assert.equal(ok(sb.run("k3d-cluster-create.sh", env)).stdout.trim(), "created");
        });

        it("fails clearly without k3d", () => {
            sb.removeTool("k3d");
            fails(sb.run("k3d-cluster-create.sh", env), "required tool 'k3d' is not installed");
        });

        it("fails clearly without docker", () => {
            sb.removeTool("docker");
            fails(sb.run("k3d-cluster-create.sh", env), "required tool 'docker' is not installed");
        });

        it("fails clearly when the Docker engine is down, before calling k3d", () => {
            fs.mkdirSync(sb.path("state", "docker"), { recursive: true });
            fs.writeFileSync(sb.path("state", "docker", "down"), "");
            const r = fails(sb.run("k3d-cluster-create.sh", env), "the Docker engine is not reachable");
            assert.equal(called(r, "k3d").length, 0);
        });
    });

    describe("k3d-cluster-delete.sh", () => {
        it("deletes the cluster, and a second run has nothing to do", () => {
            ok(sb.run("k3d-cluster-create.sh", { CLUSTER_NAME: "lab", K3S_IMAGE, API_PORT: "6550", WAIT_TIMEOUT: "180" }));
            const r = ok(sb.run("k3d-cluster-delete.sh", { CLUSTER_NAME: "lab" }));
            assert.deepEqual(called(r, "k3d cluster delete"), ["k3d cluster delete lab"]);
            const again = ok(sb.run("k3d-cluster-delete.sh", { CLUSTER_NAME: "lab" }));
            assert.equal(called(again, "k3d cluster delete").length, 0);
            assert.match(again.stderr, /nothing to delete/);
        });

        it("fails clearly without k3d", () => {
            sb.removeTool("k3d");
            fails(sb.run("k3d-cluster-delete.sh", { CLUSTER_NAME: "lab" }), "required tool 'k3d'");
        });
    });

    describe("k3d-kubeconfig.sh", () => {
        it("prints the kubeconfig on stdout only", () => {
            ok(sb.run("k3d-cluster-create.sh", { CLUSTER_NAME: "lab", K3S_IMAGE, API_PORT: "6550", WAIT_TIMEOUT: "180" }));
            const r = ok(sb.run("k3d-kubeconfig.sh", { CLUSTER_NAME: "lab", API_PORT: "6550" }));
            assert.match(r.stdout, /^apiVersion: v1/);
            assert.match(r.stdout, /server: https:\/\/127\.0\.0\.1:6550/);
            assert.ok(!r.stderr.includes("FAKEKEY"), "the kubeconfig must not reach stderr (logged)");
            assert.deepEqual(called(r, "k3d kubeconfig"), ["k3d kubeconfig get lab"]);
        });

        it("fails clearly when the cluster does not exist", () => {
            fails(sb.run("k3d-kubeconfig.sh", { CLUSTER_NAME: "lab", API_PORT: "6550" }), "'k3d kubeconfig get lab' failed");
        });
    });

    describe("k3d-container-create.sh / k3d-container-delete.sh", () => {
        const pg = {
            STACK: "sandbox-k3d",
            CONTAINER_NAME: "k3d-lab-postgres",
            IMAGE: "docker.io/library/postgres:17.7-bookworm",
            NETWORK: "k3d-lab",
            VOLUME_NAME: "k3d-lab-postgres-data",
            VOLUME_PATH: "/var/lib/postgresql/data",
            PUBLISH: "127.0.0.1:15432:5432",
            CONTAINER_ENV: "POSTGRES_USER=postgres",
            PASSWORD_ENV: "POSTGRES_PASSWORD",
            READY_CHECK: "pg_isready -U postgres -h 127.0.0.1",
        };
        const gitea = {
            STACK: "sandbox-k3d",
            CONTAINER_NAME: "k3d-lab-gitea",
            IMAGE: "docker.gitea.com/gitea:1.25.2",
            NETWORK: "k3d-lab",
            VOLUME_NAME: "k3d-lab-gitea-data",
            VOLUME_PATH: "/data",
            PUBLISH: "127.0.0.1:13000:3000",
            CONTAINER_ENV: "GITEA__database__DB_TYPE=sqlite3\nGITEA__security__INSTALL_LOCK=true",
            PASSWORD_ENV: "",
            READY_CHECK: "curl -fsS -o /dev/null http://127.0.0.1:3000/api/healthz",
        };
        const passwordFile = () => sb.path("home", ".config", "homelab", "sandbox-k3d", "k3d-lab-postgres.password");
        beforeEach(() => fs.mkdirSync(sb.path("state", "docker", "networks", "k3d-lab"), { recursive: true }));

        it("runs Postgres on the k3d network with a labelled volume and a generated, kept password", () => {
            const r = ok(sb.run("k3d-container-create.sh", pg));
            const password = r.stdout.trim();
            assert.match(password, /^[0-9a-f]{48}$/);
            assert.deepEqual(called(r, "docker volume create"), ["docker volume create --label homelab.stack=sandbox-k3d k3d-lab-postgres-data"]);
            assert.deepEqual(called(r, "docker run"), [
                "docker run --detach --name k3d-lab-postgres --label homelab.stack=sandbox-k3d --network k3d-lab " +
                "--restart unless-stopped --volume k3d-lab-postgres-data:/var/lib/postgresql/data --publish 127.0.0.1:15432:5432 " +
                "--env POSTGRES_USER=postgres --env POSTGRES_PASSWORD docker.io/library/postgres:17.7-bookworm",
            ]);
            // The password reached the container through the environment, not the command line.
            const envFile = fs.readFileSync(sb.path("state", "docker", "containers", "k3d-lab-postgres", "env"), "utf8");
            assert.ok(envFile.includes(`POSTGRES_PASSWORD=${password}`));
            assert.ok(!fs.readFileSync(sb.log, "utf8").includes(password), "the password must not be on any command line");
            assert.ok(!r.stderr.includes(password), "the password must not reach stderr (logged)");
            assert.equal(fs.readFileSync(passwordFile(), "utf8"), password);
            assert.equal(fs.statSync(passwordFile()).mode & 0o777, 0o600);
            assert.ok(called(r, "docker exec k3d-lab-postgres sh -c pg_isready").length >= 1, "waits for readiness");
            assert.match(r.stderr, /done: created/);
        });

        it("is idempotent: a second run keeps the container and prints the same password", () => {
            const first = ok(sb.run("k3d-container-create.sh", pg)).stdout.trim();
            const r = ok(sb.run("k3d-container-create.sh", pg));
            assert.equal(r.stdout.trim(), first);
            assert.deepEqual(r.calls.filter((c) => /^docker (run|rm|start|volume create|volume rm)/.test(c)), []);
            assert.match(r.stderr, /done: unchanged/);
        });

        it("runs Gitea with its settings and prints nothing on stdout", () => {
            const r = ok(sb.run("k3d-container-create.sh", gitea));
            assert.equal(r.stdout, "");
            const run = called(r, "docker run")[0];
            assert.ok(run.includes("--env GITEA__database__DB_TYPE=sqlite3 --env GITEA__security__INSTALL_LOCK=true docker.gitea.com/gitea:1.25.2"), run);
            assert.ok(!run.includes("PASSWORD"));
        });

        it("refuses to touch a container of that name that this stack did not create", () => {
            fs.mkdirSync(sb.path("state", "docker", "containers", "k3d-lab-postgres"), { recursive: true });
            fs.writeFileSync(sb.path("state", "docker", "containers", "k3d-lab-postgres", "image"), "postgres:16\n");
            const r = fails(sb.run("k3d-container-create.sh", pg), "was not created by stack sandbox-k3d");
            assert.equal(called(r, "docker rm").length + called(r, "docker run").length, 0);
        });

        it("fails clearly when the cluster network is missing or docker is absent", () => {
            fs.rmSync(sb.path("state", "docker", "networks", "k3d-lab"), { recursive: true });
            fails(sb.run("k3d-container-create.sh", pg), "Docker network k3d-lab not found");
            sb.removeTool("docker");
            fails(sb.run("k3d-container-create.sh", pg), "required tool 'docker'");
        });

        it("removes a container that never became ready (and the volume it created), so that a retry works", () => {
            const r = fails(sb.run("k3d-container-create.sh", { ...pg, READY_TIMEOUT: "0", FAKE_FAIL: "docker:exec" }), "did not become ready");
            assert.deepEqual(called(r, "docker rm -f"), ["docker rm -f k3d-lab-postgres"]);
            assert.deepEqual(called(r, "docker volume rm"), ["docker volume rm k3d-lab-postgres-data"]);
            assert.ok(ok(sb.run("k3d-container-create.sh", pg)).stdout.trim().length === 48);
        });

        it("removes a container whose docker run failed", () => {
            const r = fails(sb.run("k3d-container-create.sh", { ...pg, FAKE_FAIL: "docker:run" }), "'docker run' of docker.io/library/postgres:17.7-bookworm failed");
            assert.equal(called(r, "docker rm -f k3d-lab-postgres").length, 1);
            assert.equal(fs.existsSync(sb.path("state", "docker", "containers", "k3d-lab-postgres")), false);
        });

        it("delete removes exactly the container, the volume and the password file it created", () => {
            ok(sb.run("k3d-container-create.sh", pg));
            const del = { STACK: pg.STACK, CONTAINER_NAME: pg.CONTAINER_NAME, VOLUME_NAME: pg.VOLUME_NAME, PASSWORD_ENV: pg.PASSWORD_ENV };
            const r = ok(sb.run("k3d-container-delete.sh", del));
            assert.deepEqual(r.calls.filter((c) => /^docker (rm|volume rm)/.test(c)), [
                "docker rm -f k3d-lab-postgres",
                "docker volume rm k3d-lab-postgres-data",
            ]);
            assert.equal(fs.existsSync(passwordFile()), false);
            const again = ok(sb.run("k3d-container-delete.sh", del));
            assert.deepEqual(again.calls.filter((c) => /^docker (rm|volume rm)/.test(c)), []);
        });

        it("delete leaves alone a container or volume of that name that is not this stack's", () => {
            fs.mkdirSync(sb.path("state", "docker", "containers", "k3d-lab-postgres"), { recursive: true });
            fs.writeFileSync(sb.path("state", "docker", "containers", "k3d-lab-postgres", "image"), "postgres:16\n");
            fs.mkdirSync(sb.path("state", "docker", "volumes", "k3d-lab-postgres-data"), { recursive: true });
            const r = ok(sb.run("k3d-container-delete.sh", { STACK: "sandbox-k3d", CONTAINER_NAME: "k3d-lab-postgres", VOLUME_NAME: "k3d-lab-postgres-data" }));
            assert.deepEqual(r.calls.filter((c) => /^docker (rm|volume rm)/.test(c)), []);
            assert.match(r.stderr, /not created by stack sandbox-k3d: left alone/);
        });
    });

    describe("multipass-vm-create.sh / multipass-vm-delete.sh", () => {
        const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHk6tM1aCzqAxfPkaGqF4fd8m8pq6KQkS5bbq0yV3rX8 me@laptop";
        /** The host key the fake multipass's VM has (its comment dropped by the script). */
        const HOST_KEY = (vm: string) => `ssh-ed25519 ${`AAAAC3NzaC1lZDI1NTE5AAAAIFakeHostKeyOf${vm}`.padEnd(68, "A")}`;
        const cloudInit = "#cloud-config\nhostname: pi1\nssh_authorized_keys:\n  - __SSH_PUBLIC_KEY__\n";
        const env = () => ({
            VM_NAME: "pi1", VM_CPUS: "2", VM_MEMORY: "4G", VM_DISK: "20G", VM_IMAGE: "24.04",
            SSH_PUBLIC_KEY_FILE: "~/.ssh/id_ed25519.pub", CLOUD_INIT: cloudInit, FAKE_UNAME_M: "arm64",
        });
        beforeEach(() => {
            fs.mkdirSync(sb.path("home", ".ssh"), { recursive: true });
            fs.writeFileSync(sb.path("home", ".ssh", "id_ed25519.pub"), `${KEY}\n`);
        });

        it("refuses to run on a host that is not arm64, before touching multipass", () => {
            const r = fails(sb.run("multipass-vm-create.sh", { ...env(), FAKE_UNAME_M: "x86_64" }),
                "sandbox-vms needs an arm64 host", "this host is x86_64");
            assert.equal(called(r, "multipass").length, 0);
        });

        it("launches the pinned image with the spec and the key, waits for cloud-init, prints the multipass-network address and the VM's host key", () => {
            const r = ok(sb.run("multipass-vm-create.sh", env()));
            assert.deepEqual(called(r, "multipass launch"), [
                "multipass launch 24.04 --name pi1 --cpus 2 --memory 4G --disk 20G --timeout 900 --cloud-init -",
            ]);
            const userData = fs.readFileSync(sb.path("state", "multipass", "pi1", "cloud-init"), "utf8");
            assert.ok(userData.includes("  - ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHk6tM1aCzqAxfPkaGqF4fd8m8pq6KQkS5bbq0yV3rX8\n"), userData);
            assert.ok(!userData.includes("__SSH_PUBLIC_KEY__"));
            assert.equal(called(r, "multipass exec pi1 -- cloud-init status --wait").length, 1);
            assert.equal(called(r, "multipass exec pi1 -- systemctl is-active --quiet iscsid").length, 1);
            // multipass info lists 10.42.0.0 (flannel) and 172.17.0.1 (docker0) first.
            assert.equal(r.stdout, `192.168.64.11\n${HOST_KEY("pi1")}\n`);
            assert.equal(called(r, "multipass exec pi1 -- cat /etc/ssh/ssh_host_ed25519_key.pub").length, 1, "read over multipass's channel, not SSH");
            assert.match(r.stderr, /\[vm pi1\] done: created, address 192\.168\.64\.11/);
        });

        it("is idempotent: a second run launches nothing and prints the same address", () => {
            ok(sb.run("multipass-vm-create.sh", env()));
            const r = ok(sb.run("multipass-vm-create.sh", env()));
            assert.equal(r.stdout, `192.168.64.11\n${HOST_KEY("pi1")}\n`);
            assert.deepEqual(r.calls.filter((c) => /^multipass (launch|delete|start)/.test(c)), []);
            assert.match(r.stderr, /done: unchanged/);
        });

        it("purges a VM whose launch failed, so that a retry works", () => {
            const r = fails(sb.run("multipass-vm-create.sh", { ...env(), FAKE_FAIL: "multipass:launch" }), "'multipass launch' failed");
            assert.deepEqual(called(r, "multipass delete"), ["multipass delete --purge pi1"]);
            assert.equal(ok(sb.run("multipass-vm-create.sh", env())).stdout, `192.168.64.11\n${HOST_KEY("pi1")}\n`);
        });

        it("fails clearly when the VM has no ed25519 host key, or a malformed one", () => {
            ok(sb.run("multipass-vm-create.sh", env()));
            fs.writeFileSync(sb.path("state", "multipass", "pi1", "host-key"), "not a key\n");
            fails(sb.run("multipass-vm-create.sh", env()), "/etc/ssh/ssh_host_ed25519_key.pub in pi1 is not an ed25519 public key");
            fs.rmSync(sb.path("state", "multipass", "pi1", "host-key"));
            fails(sb.run("multipass-vm-create.sh", env()), "could not read /etc/ssh/ssh_host_ed25519_key.pub in pi1");
        });

        it("purges a new VM whose cloud-init failed", () => {
            const r = fails(sb.run("multipass-vm-create.sh", { ...env(), FAKE_FAIL: "multipass:cloud-init" }), "cloud-init failed in pi1");
            assert.deepEqual(called(r, "multipass delete"), ["multipass delete --purge pi1"]);
        });

        it("fails clearly when no address is on the multipass network", () => {
            ok(sb.run("multipass-vm-create.sh", env()));
            fs.writeFileSync(sb.path("state", "multipass", "pi1", "ipv4"), "10.42.0.0\n10.43.0.1\n");
            fails(sb.run("multipass-vm-create.sh", env()), "no address on the multipass network", "10.42.0.0 10.43.0.1");
        });

        it("fails clearly without the SSH key, without multipass, or with a VM of another release", () => {
            fs.rmSync(sb.path("home", ".ssh", "id_ed25519.pub"));
            fails(sb.run("multipass-vm-create.sh", env()), `SSH public key file ${sb.home}/.ssh/id_ed25519.pub not found`);
            fs.writeFileSync(sb.path("home", ".ssh", "id_ed25519.pub"), "not a key\n");
            fails(sb.run("multipass-vm-create.sh", env()), "does not look like an SSH public key");
            fs.writeFileSync(sb.path("home", ".ssh", "id_ed25519.pub"), `${KEY}\n`);
            ok(sb.run("multipass-vm-create.sh", { ...env(), VM_IMAGE: "22.04" }));
            fails(sb.run("multipass-vm-create.sh", env()), "not the pinned 24.04");
            sb.removeTool("multipass");
            fails(sb.run("multipass-vm-create.sh", env()), "required tool 'multipass'");
        });

        it("delete purges the VM, and a second run has nothing to do", () => {
            ok(sb.run("multipass-vm-create.sh", env()));
            const r = ok(sb.run("multipass-vm-delete.sh", { VM_NAME: "pi1" }));
            assert.deepEqual(called(r, "multipass delete"), ["multipass delete --purge pi1"]);
            const again = ok(sb.run("multipass-vm-delete.sh", { VM_NAME: "pi1" }));
            assert.equal(called(again, "multipass delete").length, 0);
            sb.removeTool("multipass");
            fails(sb.run("multipass-vm-delete.sh", { VM_NAME: "pi1" }), "required tool 'multipass'");
        });
    });
});

// Host-side scripts: they run on the Pis and the VMs (Linux), over SSH, never on the laptop.
describe("metal host-side scripts (fake tools)", function () {
    this.timeout(30_000);
    let sb: Sandbox;
    beforeEach(() => {
        sb = new Sandbox();
    });
    afterEach(() => sb.cleanup());

    describe("k3s-install.sh", () => {
        const dirs = () => ({ K3S_CONFIG_DIR: sb.path("etc-rancher-k3s"), K3S_DATA_DIR: sb.path("var-lib-rancher-k3s") });
        const server = () => ({
            ...dirs(), K3S_VERSION: K3S, K3S_ROLE: "server", NODE_NAME: "pi1", NODE_IP: "192.168.64.11",
            K3S_PRINT_TOKEN: "1", K3S_READY_TIMEOUT: "5",
        });
        const agent = () => ({
            ...dirs(), K3S_VERSION: K3S, K3S_ROLE: "agent", NODE_NAME: "pi2", NODE_IP: "192.168.64.12",
            K3S_SERVER_URL: "https://192.168.64.11:6443", K3S_TOKEN_STDIN: "1", K3S_READY_TIMEOUT: "5",
        });
        const installs = (r: RunResult) => r.calls.filter((c) => c.startsWith("installer ") || c.startsWith("curl "));
        /** A server installed earlier; with installedHere, by this program (traefik disabled in its config). */
        const seedServer = (version: string, installedHere = false) => {
            if (installedHere) {
                fs.mkdirSync(sb.path("etc-rancher-k3s"), { recursive: true });
                fs.writeFileSync(sb.path("etc-rancher-k3s", "config.yaml"), "node-ip: \"192.168.64.11\"\ndisable:\n  - traefik\n");
            }
            sb.installK3s(version);
            sb.activate("k3s");
            fs.mkdirSync(sb.path("var-lib-rancher-k3s", "server"), { recursive: true });
            fs.writeFileSync(sb.path("var-lib-rancher-k3s", "server", "node-token"), "K10existing::server:secret\n");
            // the admin kubeconfig k3s writes on a server, and its node (named by the host's hostname)
            fs.mkdirSync(sb.path("etc-rancher-k3s"), { recursive: true });
            fs.writeFileSync(sb.path("etc-rancher-k3s", "k3s.yaml"), "apiVersion: v1\nkind: Config\n");
            addNode("pi1", "192.168.64.11");
        };
        /** A Kubernetes node the fake `k3s kubectl` knows, with its InternalIP. */
        const addNode = (name: string, ip: string) => {
            fs.mkdirSync(sb.path("state", "nodes"), { recursive: true });
            fs.writeFileSync(sb.path("state", "nodes", name), ip);
        };
        const upgrade = { K3S_UPGRADE: K3S, K3S_POLL_INTERVAL: "1" };

        it("installs a fresh server with the installer of the pinned release and prints its token", () => {
            const r = ok(sb.run("k3s-install.sh", server()));
            assert.deepEqual(called(r, "curl"), [
                `curl -sfL --retry 3 -o ${r.calls.find((c) => c.startsWith("curl"))!.split(" ")[5]} https://raw.githubusercontent.com/k3s-io/k3s/v1.34.3%2Bk3s1/install.sh`,
            ]);
            assert.deepEqual(called(r, "installer"), [`installer INSTALL_K3S_VERSION=${K3S} INSTALL_K3S_EXEC=server K3S_URL= K3S_TOKEN=`]);
            const config = fs.readFileSync(sb.path("etc-rancher-k3s", "config.yaml"), "utf8");
            assert.match(config, /node-ip: "192\.168\.64\.11"/);
            assert.match(config, /tls-san:\n {2}- "192\.168\.64\.11"/);
            assert.doesNotMatch(config, /disable/, "k3s's packaged Traefik stays, as on prod");
            assert.equal(r.stdout, "K10generated::server:fakepassword\n");
            assert.ok(!r.stderr.includes("fakepassword"), "the token must not reach stderr (logged)");
            assert.match(r.stderr, /\[k3s pi1\] done: installed \(v1\.34\.3\+k3s1\)/);
        });

        // k3s writes its packaged manifests (local-storage.yaml: local-path, the default
        // StorageClass) into server/manifests at every start, and deletes and uninstalls those
        // it is told to --disable: k3s-io/k3s pkg/deploy/stage.go (Stage writes every packaged
        // manifest but the skipped ones), pkg/server/server.go (stageFiles runs at every server
        // start) and pkg/cli/cmds/stage.go (DisableItems, which include local-storage); and
        // k3s-io/docs docs/installation/packaged-components.md ("re-written to disk whenever K3s
        // is started"; "Disabled AddOns are actively uninstalled"). Read in the stored index: its
        // versions of these files, not the v1.34.3+k3s1 tag (the repository's snapshot is over
        // the fetch limit). The fake installer and systemctl stage them the same way
        // (test/fakes/_common.sh).
        const manifests = () => fs.readdirSync(sb.path("var-lib-rancher-k3s", "server", "manifests")).sort();
        const restartK3s = (env: Record<string, string>) => {
            const r = spawnSync(path.join(sb.bin, "systemctl"), ["restart", "k3s"], {
                env: { PATH: `${sb.bin}:${sb.base}`, FAKE_STATE: sb.state, FAKE_LOG: sb.log, FAKE_BIN: sb.bin, ...env },
                encoding: "utf8",
            });
            assert.equal(r.status, 0, r.stderr);
        };

        it("on a Longhorn stack, a fresh server disables local-storage, which stays off across restarts", () => {
            const env = { ...server(), K3S_DISABLE: "traefik local-storage" };
            ok(sb.run("k3s-install.sh", env));
            assert.match(fs.readFileSync(sb.path("etc-rancher-k3s", "config.yaml"), "utf8"), /disable:\n {2}- traefik\n {2}- local-storage\n/);
            assert.deepEqual(manifests(), ["coredns.yaml", "metrics-server"]);
            restartK3s(env);
            assert.deepEqual(manifests(), ["coredns.yaml", "metrics-server"], "a restart does not bring local-path back");
        });

        it("without local-storage disabled, k3s re-writes local-path at every start (what a patch cannot outlast)", () => {
            ok(sb.run("k3s-install.sh", server()));
            assert.ok(manifests().includes("local-storage.yaml"));
            fs.rmSync(sb.path("var-lib-rancher-k3s", "server", "manifests", "local-storage.yaml"));
            restartK3s(server());
            assert.ok(manifests().includes("local-storage.yaml"), "re-written at start");
        });

        it("leaves a server at the pinned version that still deploys local-storage running as it is, and says how to apply it", () => {
            seedServer(K3S);
            fs.mkdirSync(sb.path("var-lib-rancher-k3s", "server", "manifests"), { recursive: true });
            fs.writeFileSync(sb.path("var-lib-rancher-k3s", "server", "manifests", "local-storage.yaml"), "# packaged\n");
            const r = ok(sb.run("k3s-install.sh", { ...server(), K3S_DISABLE: "traefik local-storage" }));
            assert.deepEqual(r.calls.filter((c) => /^systemctl (restart|start|stop)/.test(c)), [], "no restart: on prod it is an outage");
            assert.deepEqual(installs(r), []);
            assert.equal(fs.existsSync(sb.path("etc-rancher-k3s", "config.yaml")), false, "no config written that a later reboot would apply unannounced");
            assert.match(r.stderr, /WARNING: this k3s deploys local-storage, which the stack disables/);
            assert.match(r.stderr, /systemctl restart k3s/);
            assert.match(r.stderr, /done: unchanged \(v1\.34\.3\+k3s1; not applied: disable local-storage, see the WARNING above\)/);
            assert.equal(r.stdout, "K10existing::server:secret\n");
        });

        it("warns the same way after an upgrade, which keeps the host's own flags", () => {
            seedServer(OLD_K3S, true);
            const r = ok(sb.run("k3s-install.sh", { ...server(), ...upgrade, K3S_DISABLE: "traefik local-storage" }));
            assert.match(r.stderr, /done: upgraded \(v1\.33\.5\+k3s1 -> v1\.34\.3\+k3s1; not applied: disable local-storage/);
        });

        it("refuses a component k3s does not package", () => {
            const r = fails(sb.run("k3s-install.sh", { ...server(), K3S_DISABLE: "traefik local-path" }), "K3S_DISABLE item 'local-path' is not a packaged k3s component");
            assert.deepEqual(installs(r), []);
        });

        it("is idempotent: a second run downloads, installs and restarts nothing", () => {
            ok(sb.run("k3s-install.sh", server()));
            const r = ok(sb.run("k3s-install.sh", server()));
            assert.deepEqual(installs(r), []);
            assert.deepEqual(r.calls.filter((c) => /^systemctl (restart|start)/.test(c)), []);
            assert.equal(r.stdout, "K10generated::server:fakepassword\n");
            assert.match(r.stderr, /done: unchanged/);
        });

        it("leaves a host already at the pinned version untouched (no reinstall, no restart)", () => {
            seedServer(K3S);
            const r = ok(sb.run("k3s-install.sh", server()));
            assert.deepEqual(installs(r), []);
            assert.deepEqual(r.calls.filter((c) => /^systemctl (restart|start|stop)/.test(c)), []);
            assert.equal(fs.existsSync(sb.path("etc-rancher-k3s", "config.yaml")), false, "no config rewritten");
            assert.equal(r.stdout, "K10existing::server:secret\n");
            assert.match(r.stderr, /done: unchanged \(v1\.34\.3\+k3s1\)/);
        });

        it("upgrades a host at an older version when asked: verified binary, one restart; then unchanged", () => {
            seedServer(OLD_K3S, true);
            const r = ok(sb.run("k3s-install.sh", { ...server(), ...upgrade }));
            const urls = called(r, "curl").map((c) => c.split(" ").pop());
            assert.deepEqual(urls, [
                "https://github.com/k3s-io/k3s/releases/download/v1.34.3%2Bk3s1/k3s-arm64",
                "https://github.com/k3s-io/k3s/releases/download/v1.34.3%2Bk3s1/sha256sum-arm64.txt",
            ]);
            assert.deepEqual(called(r, "installer"), [], "an upgrade keeps the host's service definition");
            assert.deepEqual(called(r, "systemctl restart"), ["systemctl restart k3s"]);
            assert.match(r.stderr, /done: upgraded \(v1\.33\.5\+k3s1 -> v1\.34\.3\+k3s1\)/);
            const again = ok(sb.run("k3s-install.sh", server()));
            assert.deepEqual(installs(again), []);
            assert.deepEqual(called(again, "systemctl restart"), []);
            assert.match(again.stderr, /done: unchanged/);
        });

        it("refuses a binary whose checksum does not match, and keeps the old one", () => {
            seedServer(OLD_K3S);
            const r = fails(sb.run("k3s-install.sh", { ...server(), ...upgrade, FAKE_BAD_CHECKSUM: "1" }), "checksum mismatch", "nothing was changed");
            assert.deepEqual(called(r, "systemctl restart"), []);
            assert.deepEqual(called(r, "k3s kubectl").filter((c) => / (cordon|drain) /.test(c)), [], "not even cordoned");
            assert.match(fs.readFileSync(sb.path("state", "bin", "k3s"), "utf8"), /v1\.33\.5\+k3s1/);
        });

        it("refuses to downgrade a host at a newer version, even with the upgrade requested", () => {
            seedServer("v1.35.0+k3s1");
            const r = fails(sb.run("k3s-install.sh", server()), "newer than the pinned v1.34.3+k3s1", "does not support downgrades");
            assert.deepEqual(installs(r), []);
            const asked = fails(sb.run("k3s-install.sh", { ...server(), ...upgrade }), "k3s v1.35.0+k3s1 on pi1 is newer than the pinned v1.34.3+k3s1", "nothing was changed");
            assert.deepEqual(installs(asked), []);
            assert.deepEqual(asked.calls.filter((c) => /^systemctl (restart|stop|start)|^k3s kubectl .* (cordon|drain) /.test(c)), []);
        });

        // Releases compare by number, field by field (k3s-io/k3s-ansible 1.2.2
        // roles/k3s_upgrade/tasks/main.yml compares with Ansible's version test the same way):
        // as text, v1.34.10+k3s1 would sort before v1.34.3+k3s1.
        for (const [installed, pinned, verdict] of [
            ["v1.34.3+k3s1", "v1.34.10+k3s1", "upgrade"],
            ["v1.34.10+k3s1", "v1.34.3+k3s1", "downgrade"],
            ["v1.34.10+k3s1", "v1.35.0+k3s2", "upgrade"],
            ["v1.35.0+k3s2", "v1.35.0+k3s1", "downgrade"],
            ["v1.35.0+k3s1", "v1.35.0+k3s2", "upgrade"],
            ["v1.35.0+k3s2", "v1.34.10+k3s1", "downgrade"],
        ] as const) {
            it(`${installed} -> pinned ${pinned}: ${verdict === "upgrade" ? "an upgrade" : "a downgrade, refused"}`, () => {
                seedServer(installed);
                const r = sb.run("k3s-install.sh", { ...server(), K3S_VERSION: pinned, K3S_UPGRADE: pinned, K3S_POLL_INTERVAL: "1" });
                if (verdict === "upgrade") {
                    ok(r);
                    assert.match(r.stderr, new RegExp(`done: upgraded \\(${installed.replace(/[.+]/g, "\\$&")} -> ${pinned.replace(/[.+]/g, "\\$&")}\\)`));
                } else {
                    fails(r, `k3s ${installed} on pi1 is newer than the pinned ${pinned}`, "does not support downgrades");
                    assert.deepEqual(installs(r), []);
                }
            });
        }

        it("prod's default: a host at another version is left untouched, and the run fails naming the host, both versions and how to upgrade", () => {
            seedServer(OLD_K3S, true);
            const r = fails(sb.run("k3s-install.sh", server()),
                "[k3s pi1] ERROR: k3s on pi1 is v1.33.5+k3s1, but the manifest (versions.k3s in Pulumi.yaml) pins v1.34.3+k3s1; nothing was changed",
                "To upgrade (the server first, then one agent at a time, each cordoned, drained and waited for until Ready): pulumi config set homelab:k3sUpgradeTo v1.34.3+k3s1",
                "pulumi preview shows K3S_UPGRADE", "Or pin v1.33.5+k3s1 in versions.k3s");
            assert.deepEqual(installs(r), [], "nothing downloaded");
            assert.deepEqual(r.calls.filter((c) => /^systemctl (restart|start|stop)/.test(c)), [], "no restart");
            assert.deepEqual(r.calls.filter((c) => c.startsWith("k3s kubectl")), [], "not cordoned");
            assert.match(fs.readFileSync(sb.path("state", "bin", "k3s"), "utf8"), /v1\.33\.5\+k3s1/, "the binary is the host's");
            assert.equal(r.stdout, "", "no token printed: the command failed");
        });

        it("with the upgrade requested, a server: checksum first, then cordon, drain, binary, restart, Ready, uncordon, in that order", () => {
            seedServer(OLD_K3S, true);
            const r = ok(sb.run("k3s-install.sh", { ...server(), ...upgrade }));
            const steps = r.calls.filter((c) => /^curl |^systemctl restart|^k3s kubectl .*(cordon|drain|get node )/.test(c))
                .map((c) => c.startsWith("curl ") ? `curl ${c.split(" ").pop()}` : c.replace(/^k3s kubectl --kubeconfig \S+ /, "kubectl ").replace(/ -o .*$/, ""));
            assert.deepEqual(steps, [
                "curl https://github.com/k3s-io/k3s/releases/download/v1.34.3%2Bk3s1/k3s-arm64",
                "curl https://github.com/k3s-io/k3s/releases/download/v1.34.3%2Bk3s1/sha256sum-arm64.txt",
                "kubectl cordon pi1",
                "kubectl drain pi1 --ignore-daemonsets --delete-emptydir-data --timeout=300s",
                "systemctl restart k3s",
                "kubectl get node pi1",
                "kubectl uncordon pi1",
            ]);
            assert.ok(r.calls.some((c) => c.startsWith(`k3s kubectl --kubeconfig ${sb.path("etc-rancher-k3s", "k3s.yaml")} cordon`)), "the server's own admin kubeconfig");
            assert.equal(fs.existsSync(sb.path("state", "nodes", "pi1.cordoned")), false, "uncordoned");
            assert.match(r.stderr, /\[k3s pi1\] upgrade requested: k3s v1\.33\.5\+k3s1 -> v1\.34\.3\+k3s1, unit k3s/);
            assert.match(r.stderr, /waiting up to 5s for node pi1 to be Ready at v1\.34\.3\+k3s1/);
            assert.equal(r.stdout, "K10existing::server:secret\n");
        });

        // Ansible roles name the agent's unit k3s-node: k3s-io/k3s-ansible b740fc2 (Dec 2021),
        // roles/k3s/agent/tasks/main.yml ("dest: {{ systemd_dir }}/k3s-node.service", "name:
        // k3s-node"), renamed k3s-agent in b307aeb; get.k3s.io and k3s-ansible 1.2.2
        // (roles/k3s_upgrade/tasks/main.yml) name it k3s-agent.
        const seedAgent = (version: string, unit: string, node = "pi2") => {
            sb.installK3s(version);
            sb.activate(unit);
            addNode(node, "192.168.64.12");
            addNode("pi3", "192.168.64.13");
        };
        const KUBECONFIG = "apiVersion: v1\nkind: Config\nusers:\n- name: default\n  user:\n    client-key-data: ADMINKEY\n";
        const token = "K10abc::server:topsecret";

        it("with the upgrade requested, an agent installed by Ansible (k3s-node): its unit restarted, its node found by address, drained with the kubeconfig from stdin", () => {
            seedAgent(OLD_K3S, "k3s-node", "raspberrypi2");
            const r = ok(sb.run("k3s-install.sh", { ...agent(), ...upgrade, K3S_KUBECONFIG_STDIN: "1" }, `${token}\n${KUBECONFIG}`));
            assert.deepEqual(called(r, "systemctl restart"), ["systemctl restart k3s-node"], "the host's own unit, not a new k3s-agent");
            assert.equal(fs.existsSync(sb.path("state", "systemd", "k3s-agent")), false, "no second agent unit");
            const kubectl = called(r, "k3s kubectl").map((c) => c.replace(/ -o .*$/, ""));
            const kc = kubectl[0].split(" ")[3];
            assert.match(kc, /\/kubeconfig$/);
            assert.deepEqual(kubectl.map((c) => c.replace(`--kubeconfig ${kc} `, "")), [
                "k3s kubectl get nodes",
                "k3s kubectl cordon raspberrypi2",
                "k3s kubectl drain raspberrypi2 --ignore-daemonsets --delete-emptydir-data --timeout=300s",
                "k3s kubectl get node raspberrypi2",
                "k3s kubectl uncordon raspberrypi2",
            ]);
            assert.equal(fs.existsSync(kc), false, "the kubeconfig is removed on exit");
            assert.ok(!r.stdout.includes("ADMINKEY") && !r.stderr.includes("ADMINKEY") && !r.stderr.includes("topsecret"));
            assert.match(r.stderr, /upgrade requested: k3s v1\.33\.5\+k3s1 -> v1\.34\.3\+k3s1, unit k3s-node/);
            assert.match(r.stderr, /\[k3s pi2\] done: upgraded/);
            assert.deepEqual(called(r, "installer"), [], "the unit and its flags stay the host's");
        });

        it("finds an agent's k3s-node unit that is installed but stopped, and starts that one", () => {
            sb.installK3s(K3S);
            fs.mkdirSync(sb.path("state", "units"), { recursive: true });
            fs.writeFileSync(sb.path("state", "units", "k3s-node.service"), "");
            const r = ok(sb.run("k3s-install.sh", agent(), `${token}\n`));
            assert.deepEqual(r.calls.filter((c) => /^systemctl (start|restart)/.test(c)), ["systemctl start k3s-node"]);
            assert.match(r.stderr, /done: unchanged/);
        });

        it("an agent at another version without the upgrade requested: untouched, the message names it", () => {
            seedAgent(OLD_K3S, "k3s-node");
            const r = fails(sb.run("k3s-install.sh", agent(), `${token}\n`), "[k3s pi2] ERROR: k3s on pi2 is v1.33.5+k3s1, but the manifest (versions.k3s in Pulumi.yaml) pins v1.34.3+k3s1; nothing was changed");
            assert.deepEqual(r.calls.filter((c) => /^systemctl (restart|start|stop)|^k3s kubectl|^curl /.test(c)), []);
        });

        it("a drain that does not finish: the node is uncordoned, k3s left as it was", () => {
            seedAgent(OLD_K3S, "k3s-agent");
            const r = fails(sb.run("k3s-install.sh", { ...agent(), ...upgrade, K3S_KUBECONFIG_STDIN: "1", FAKE_FAIL: "kubectl:drain" }, `${token}\n${KUBECONFIG}`),
                "'kubectl drain pi2' did not finish within 300s", "the node was uncordoned and k3s left at v1.33.5+k3s1");
            assert.deepEqual(called(r, "systemctl restart"), []);
            assert.ok(r.calls.some((c) => / uncordon pi2$/.test(c)));
            assert.equal(fs.existsSync(sb.path("state", "nodes", "pi2.cordoned")), false);
            assert.match(fs.readFileSync(sb.path("state", "bin", "k3s"), "utf8"), /v1\.33\.5\+k3s1/);
        });

        it("a node that does not come back Ready: a bounded wait with progress lines, the node left cordoned, the message says how to uncordon", () => {
            seedAgent(OLD_K3S, "k3s-agent");
            fs.writeFileSync(sb.path("state", "nodes", "pi2.not-ready"), "");
            const r = fails(sb.run("k3s-install.sh", { ...agent(), ...upgrade, K3S_KUBECONFIG_STDIN: "1", K3S_READY_TIMEOUT: "6" }, `${token}\n${KUBECONFIG}`),
                "node pi2 is not Ready at v1.34.3+k3s1 after 6s (last seen: 'False v1.34.3+k3s1'); it stays cordoned", "k3s kubectl uncordon pi2");
            assert.match(r.stderr, /still waiting for node pi2 to be Ready at v1\.34\.3\+k3s1 \(\d+s of 6s/);
            assert.equal(fs.existsSync(sb.path("state", "nodes", "pi2.cordoned")), true);
            assert.ok(!r.calls.some((c) => / uncordon /.test(c)));
        });

        it("refuses an upgrade when no node has the host's address, before touching anything", () => {
            sb.installK3s(OLD_K3S);
            sb.activate("k3s-agent");
            addNode("pi3", "192.168.64.13");
            const r = fails(sb.run("k3s-install.sh", { ...agent(), ...upgrade, K3S_KUBECONFIG_STDIN: "1" }, `${token}\n${KUBECONFIG}`),
                "no Kubernetes node has the InternalIP 192.168.64.12 (nodes: pi3 192.168.64.13 ); nothing was changed");
            assert.deepEqual(r.calls.filter((c) => /^systemctl restart| cordon | drain /.test(c)), []);
        });

        it("refuses an upgrade request for another version than the pinned one, and an agent upgrade without a kubeconfig", () => {
            seedAgent(OLD_K3S, "k3s-agent");
            fails(sb.run("k3s-install.sh", { ...agent(), K3S_UPGRADE: "v1.35.0+k3s1" }, `${token}\n`), "K3S_UPGRADE 'v1.35.0+k3s1' requests an upgrade to another version than the pinned v1.34.3+k3s1");
            fails(sb.run("k3s-install.sh", { ...agent(), ...upgrade, K3S_KUBECONFIG_STDIN: "1" }, `${token}\n`), "no kubeconfig arrived on stdin after the token");
            const r = fails(sb.run("k3s-install.sh", { ...agent(), ...upgrade }, `${token}\n`), "no kubeconfig at", "nothing was changed");
            assert.deepEqual(called(r, "systemctl restart"), []);
        });

        it("joins a fresh agent with the token from stdin, which never reaches the output", () => {
            const token = "K10abc::server:topsecret";
            const r = ok(sb.run("k3s-install.sh", agent(), `${token}\n`));
            assert.deepEqual(called(r, "installer"), [
                `installer INSTALL_K3S_VERSION=${K3S} INSTALL_K3S_EXEC=agent K3S_URL=https://192.168.64.11:6443 K3S_TOKEN=${token}`,
            ]);
            assert.ok(!r.stdout.includes("topsecret") && !r.stderr.includes("topsecret"));
            assert.equal(r.stdout, "");
            assert.match(fs.readFileSync(sb.path("etc-rancher-k3s", "config.yaml"), "utf8"), /node-ip: "192\.168\.64\.12"/);
            assert.match(r.stderr, /\[k3s pi2\] done: installed/);
            const again = ok(sb.run("k3s-install.sh", agent(), `${token}\n`));
            assert.deepEqual(installs(again), []);
            assert.match(again.stderr, /done: unchanged/);
        });

        it("fails clearly: agent without a token, wrong role, missing curl, failed download", () => {
            fails(sb.run("k3s-install.sh", agent(), ""), "no token arrived on stdin");
            sb.activate("k3s-agent");
            fails(sb.run("k3s-install.sh", server()), "this host runs k3s-agent, but the stack says it is a k3s server");
            fs.rmSync(sb.path("state", "systemd", "k3s-agent"));
            fails(sb.run("k3s-install.sh", { ...server(), FAKE_FAIL: "curl:any" }), "could not download https://raw.githubusercontent.com/k3s-io/k3s/v1.34.3%2Bk3s1/install.sh");
            sb.removeTool("curl");
            fails(sb.run("k3s-install.sh", server()), "required tool 'curl' is not installed on pi1");
            sb.removeTool("systemctl");
            fails(sb.run("k3s-install.sh", server()), "required tool 'systemctl'");
        });
    });

    describe("k3s-kubeconfig.sh", () => {
        it("prints the kubeconfig with the server address rewritten", () => {
            fs.mkdirSync(sb.path("k3s"), { recursive: true });
            fs.writeFileSync(sb.path("k3s", "k3s.yaml"), "apiVersion: v1\nclusters:\n- cluster:\n    server: https://127.0.0.1:6443\n  name: default\n");
            const r = ok(sb.run("k3s-kubeconfig.sh", { SERVER_ADDRESS: "192.168.1.201", NODE_NAME: "pi1", K3S_CONFIG_DIR: sb.path("k3s") }));
            assert.match(r.stdout, /server: https:\/\/192\.168\.1\.201:6443/);
            assert.ok(!r.stdout.includes("127.0.0.1"));
            assert.ok(!r.stderr.includes("apiVersion"));
        });

        it("fails clearly when k3s is not installed or the address is not one", () => {
            fails(sb.run("k3s-kubeconfig.sh", { SERVER_ADDRESS: "192.168.1.201", NODE_NAME: "pi1", K3S_CONFIG_DIR: sb.path("none") }), "is k3s installed as a server on pi1");
            fails(sb.run("k3s-kubeconfig.sh", { SERVER_ADDRESS: "1.2.3.4#;x", NODE_NAME: "pi1", K3S_CONFIG_DIR: sb.path("none") }), "is not an IPv4 address or host name");
        });
    });

    describe("data-compose.sh", () => {
        const compose = "services:\n  postgres:\n    image: docker.io/library/postgres:17.7-bookworm\n";
        const env = () => ({ NODE_NAME: "pi2", DATA_DIR: sb.path("data"), READY_TIMEOUT: "5" });

        it("installs the compose file, generates and keeps the password, starts the stack", () => {
            const r = ok(sb.run("data-compose.sh", env(), compose));
            const file = sb.path("data", "compose.yaml");
            assert.equal(fs.readFileSync(file, "utf8"), compose);
            assert.deepEqual(called(r, "docker compose --project-name homelab-data --file " + file + " up"), [
                `docker compose --project-name homelab-data --file ${file} up -d --remove-orphans`,
            ]);
            const password = r.stdout.trim();
            assert.match(password, /^[0-9a-f]{48}$/);
            assert.equal(fs.readFileSync(sb.path("data", "postgres.env"), "utf8"), `POSTGRES_PASSWORD=${password}\n`);
            assert.equal(fs.statSync(sb.path("data", "postgres.env")).mode & 0o777, 0o600);
            assert.ok(!r.stderr.includes(password) && !fs.readFileSync(sb.log, "utf8").includes(password));
            assert.match(r.stderr, /\[data pi2\] done: created/);
        });

        it("is idempotent: the same file restarts nothing and keeps the password", () => {
            const first = ok(sb.run("data-compose.sh", env(), compose)).stdout;
            const r = ok(sb.run("data-compose.sh", env(), compose));
            assert.equal(r.stdout, first);
            assert.match(r.stderr, /compose file unchanged/);
            assert.match(r.stderr, /done: unchanged/);
            const changed = ok(sb.run("data-compose.sh", env(), compose.replace("17.7", "17.8")));
            assert.equal(changed.stdout, first);
            assert.match(changed.stderr, /done: updated/);
        });

        it("fails clearly without docker, without compose, without a compose file, or when compose fails", () => {
            fails(sb.run("data-compose.sh", env(), ""), "no compose file arrived on stdin");
            fails(sb.run("data-compose.sh", { ...env(), FAKE_FAIL: "docker:compose-up" }, compose), "'docker compose up' failed");
            fails(sb.run("data-compose.sh", { ...env(), FAKE_NO_COMPOSE: "1" }, compose), "required tool 'docker compose' is not installed on pi2");
            sb.removeTool("docker");
            fails(sb.run("data-compose.sh", env(), compose), "required tool 'docker' is not installed on pi2");
        });

        it("on a first start, refuses ports already taken (an existing Postgres), before writing anything", () => {
            fs.mkdirSync(sb.path("state", "docker", "published"), { recursive: true });
            fs.writeFileSync(sb.path("state", "docker", "published", "5432"), "old-postgres\n");
            const r = fails(sb.run("data-compose.sh", env(), compose), "port 5432 is already in use on pi2 (by: old-postgres", "nothing was started");
            assert.equal(called(r, "docker compose --project-name homelab-data --file").length, 0);
            assert.equal(fs.existsSync(sb.path("data")), false, "nothing written");
        });

        it("refuses to start when the password is lost but the data volume exists", () => {
            fs.mkdirSync(sb.path("state", "docker", "volumes", "homelab-postgres-data"), { recursive: true });
            fails(sb.run("data-compose.sh", env(), compose), "password that is lost");
        });
    });

    it("every script in components/metal/scripts has tests here; the laptop-side ones under every laptop shell", () => {
        const scripts = fs.readdirSync(path.join(__dirname, "..", "components", "metal", "scripts")).filter((f) => f.endsWith(".sh")).sort();
        const source = fs.readFileSync(__filename, "utf8");
        for (const s of scripts) assert.ok(source.includes(`sb.run("${s}"`), `no test runs ${s}`);
        // Laptop-side: the scripts of command.local.Command (k3d.ts, multipass.ts), run by the operator's bash.
        const local = ["k3d.ts", "multipass.ts"].flatMap((f) =>
            [...fs.readFileSync(path.join(__dirname, "..", "components", "metal", f), "utf8").matchAll(/readScript\("([^"]+)"\)/g)].map((m) => m[1]));
        assert.ok(local.length >= 7, local.join(", "));
        const laptopBlock = source.slice(source.indexOf("describeInShells("), source.indexOf("// Host-side scripts"));
        for (const s of local) assert.ok(laptopBlock.includes(`sb.run("${s}"`), `${s} runs on the laptop but is not tested under describeInShells`);
    });
});
