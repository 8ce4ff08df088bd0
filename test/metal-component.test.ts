// The metal layer under pulumi.runtime mocks, per stack, with the stack's real configuration
// (Pulumi.yaml defaults merged with Pulumi.<stack>.yaml, through parseConfig): which command
// resources it registers, with which inputs, and which depend on which.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { MockMonitor, MockResourceArgs } from "@pulumi/pulumi/runtime/mocks";
import { ConfigError, LabConfig, parseConfig } from "../components/config";
import { Metal } from "../components/metal";
import { rawConfig, stackConfig } from "./metal-config";

// Not in the typings, but exported: waits until every registration RPC has been answered.
// eslint-disable-next-line @typescript-eslint/no-var-requires
const { waitForRPCs } = require("@pulumi/pulumi/runtime/settings") as { waitForRPCs: () => Promise<void> };
// eslint-disable-next-line @typescript-eslint/no-var-requires
const { getStore } = require("@pulumi/pulumi/runtime/state") as { getStore: () => { settings: { monitor: unknown } } };

const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
const VM_ADDRESSES: Record<string, string> = { pi1: "192.168.64.11", pi2: "192.168.64.12", pi3: "192.168.64.13" };
/** What each VM's launch prints after its address: its SSH host key. */
const VM_HOST_KEYS: Record<string, string> = Object.fromEntries(["pi1", "pi2", "pi3"].map((vm, i) =>
    [vm, `ssh-ed25519 ${Buffer.concat([Buffer.from([0, 0, 0, 11]), Buffer.from("ssh-ed25519"), Buffer.from([0, 0, 0, 32]), Buffer.alloc(32, i + 7)]).toString("base64")}`]));
const K3S = "v1.34.3+k3s1";

interface Rec {
    urn: string;
    type: string;
    name: string;
    parent: string;
    deps: Set<string>;
    /** Inputs as serialized (secrets still wrapped with their signature). */
    raw: Record<string, unknown>;
    deleteBeforeReplace: boolean;
    secretOutputs: string[];
}

/** What the mocked command provider prints: an address for a VM, a token, a kubeconfig, a password. */
function mockStdout(name: string): string {
    const vm = /-vm-(pi\d)$/.exec(name);
    if (vm) return `some progress\n${VM_ADDRESSES[vm[1]]}\n${VM_HOST_KEYS[vm[1]]}\n`;
    if (/-k3s-pi1$/.test(name)) return "K10mock::server:token\n";
    if (/-kubeconfig$/.test(name)) return "apiVersion: v1\nclusters: []\n";
    if (/-(data|postgres)$/.test(name)) return "mock-admin-password\n";
    return "";
}

class Recorder extends MockMonitor {
    readonly recs: Rec[] = [];
    constructor() {
        super({
            newResource: (args: MockResourceArgs) => ({
                id: args.custom ? `${args.name}-id` : undefined,
                state: args.type.startsWith("command:") ? { ...args.inputs, stdout: mockStdout(args.name) } : { ...args.inputs },
            }),
            call: () => ({}),
        });
    }
    async registerResource(req: any, callback: (err: any, resp: any) => void): Promise<void> {
        const deps = new Set<string>(req.getDependenciesList());
        req.getPropertydependenciesMap().forEach((pd: any) => pd.getUrnsList().forEach((u: string) => deps.add(u)));
        const raw = (req.getObject()?.toJavaScript() ?? {}) as Record<string, unknown>;
        return super.registerResource(req, (err, resp) => {
            if (!err) {
                this.recs.push({
                    urn: resp.getUrn(),
                    type: req.getType(),
                    name: req.getName(),
                    parent: req.getParent(),
                    deps,
                    raw,
                    deleteBeforeReplace: req.getDeletebeforereplace(),
                    secretOutputs: req.getAdditionalsecretoutputsList(),
                });
            }
            callback(err, resp);
        });
    }
}

const resolve = <T>(o: pulumi.Output<T>) => new Promise<T>((r) => o.apply((v) => { r(v); return v; }));
const unwrap = (v: unknown): any => (v && typeof v === "object" && "value" in (v as object) && Object.values(v as object).includes(SECRET_SIG) ? (v as any).value : v);
const isSecretInput = (v: unknown) => !!v && typeof v === "object" && Object.values(v as object).includes(SECRET_SIG);

interface Built {
    metal: Metal;
    recs: Rec[];
    get(name: string): Rec;
    commands(): Rec[];
    /** Names of the command resources `name` depends on. */
    commandDeps(name: string): string[];
    outputs: { kubeconfig: string; nodes: { name: string; role: string; address: string }[]; postgres: any; gitea: any };
}

async function build(stack: string, edit?: (cfg: LabConfig) => void): Promise<Built> {
    const monitor = new Recorder();
    // setMocks turns on the features mocks support (secrets among them); then our recording
    // monitor takes the place of the one it installed. (setMockOptions would reset the
    // features, and secrets would be serialized in plain text.)
    await pulumi.runtime.setMocks(monitor.mocks, "homelab", stack, false);
    getStore().settings.monitor = monitor;
    const cfg = stackConfig(stack);
    edit?.(cfg);
    const metal = new Metal("metal", { config: cfg });
    const all: Record<string, pulumi.Output<unknown>> = {
        kubeconfig: metal.kubeconfig,
        nodes: metal.nodes,
        postgres: pulumi.all(metal.postgres as unknown as Record<string, pulumi.Output<unknown>>),
        gitea: pulumi.all(metal.gitea as unknown as Record<string, pulumi.Output<unknown>>),
    };
    const outputs = await resolve(pulumi.all(all));
    await waitForRPCs();
    const recs = monitor.recs;
    const byUrn = new Map(recs.map((r) => [r.urn, r]));
    const get = (name: string) => {
        const r = recs.find((x) => x.name === name);
        assert.ok(r, `no resource named ${name}; have: ${recs.map((x) => x.name).join(", ")}`);
        return r;
    };
    return {
        metal,
        recs,
        get,
        commands: () => recs.filter((r) => r.type.startsWith("command:")),
        commandDeps: (name) => [...get(name).deps].map((u) => byUrn.get(u)).filter((r): r is Rec => !!r && r.type.startsWith("command:")).map((r) => r.name).sort(),
        outputs: outputs as unknown as Built["outputs"],
    };
}

describe("metal component (mocks)", function () {
    this.timeout(30_000);

    describe("sandbox-vms", () => {
        let b: Built;
        before(async () => {
            b = await build("sandbox-vms");
        });

        it("nests Metal > MultipassVms > K3sHosts with their type tokens", () => {
            const metal = b.get("metal");
            const vms = b.get("metal-vms");
            const hosts = b.get("metal-vms-hosts");
            assert.equal(metal.type, "lab:metal:Metal");
            assert.equal(vms.type, "lab:metal:MultipassVms");
            assert.equal(hosts.type, "lab:metal:K3sHosts");
            assert.equal(vms.parent, metal.urn);
            assert.equal(hosts.parent, vms.urn);
            for (const vm of ["pi1", "pi2", "pi3"]) assert.equal(b.get(`metal-vms-vm-${vm}`).parent, vms.urn);
            for (const c of ["metal-vms-hosts-k3s-pi1", "metal-vms-hosts-k3s-pi2", "metal-vms-hosts-k3s-pi3", "metal-vms-hosts-kubeconfig", "metal-vms-hosts-data"]) {
                assert.equal(b.get(c).parent, hosts.urn);
            }
        });

        it("launches three VMs in parallel: no dependency between them", () => {
            const launches = b.commands().filter((r) => r.name.startsWith("metal-vms-vm-"));
            assert.deepEqual(launches.map((r) => r.name).sort(), ["metal-vms-vm-pi1", "metal-vms-vm-pi2", "metal-vms-vm-pi3"]);
            for (const l of launches) {
                assert.equal(l.type, "command:local:Command");
                assert.deepEqual(b.commandDeps(l.name), [], `${l.name} must depend on nothing`);
                assert.equal(l.deleteBeforeReplace, true, `${l.name}: a changed spec deletes the VM before launching it anew`);
            }
        });

        it("launches each VM with its spec, the pinned 24.04 image and a rendered cloud-init", () => {
            const pi2 = b.get("metal-vms-vm-pi2").raw as any;
            assert.deepEqual(
                { ...pi2.environment, CLOUD_INIT: undefined },
                { VM_NAME: "pi2", VM_CPUS: "2", VM_MEMORY: "4G", VM_DISK: "30G", VM_IMAGE: "24.04", SSH_PUBLIC_KEY_FILE: "~/.ssh/id_ed25519.pub", CLOUD_INIT: undefined },
            );
            assert.match(pi2.environment.CLOUD_INIT, /^#cloud-config\n/);
            assert.match(pi2.environment.CLOUD_INIT, /- docker\.io/, "the data host gets Docker");
            assert.doesNotMatch((b.get("metal-vms-vm-pi1").raw as any).environment.CLOUD_INIT, /docker/);
            assert.match(pi2.create, /multipass launch "\$VM_IMAGE"/);
            assert.match(pi2.delete, /multipass delete --purge "\$VM_NAME"/);
            assert.deepEqual(pi2.interpreter, ["/usr/bin/env", "bash", "-c"]);
            assert.deepEqual(pi2.triggers.slice(0, 5), ["pi2", "24.04", 2, "4G", "30G"]);
        });

        it("installs the k3s server over SSH on the first VM, its token a secret output", () => {
            const server = b.get("metal-vms-hosts-k3s-pi1");
            const raw = server.raw as any;
            assert.equal(server.type, "command:remote:Command");
            assert.deepEqual(b.commandDeps(server.name), ["metal-vms-vm-pi1"]);
            assert.equal(unwrap(raw.connection).host, "192.168.64.11");
            assert.equal(unwrap(raw.connection).user, "ubuntu");
            assert.equal(unwrap(raw.connection).privateKey, undefined, "no private key: the ssh-agent authenticates");
            assert.match(raw.create, /^sudo -n env K3S_DISABLE='local-storage' K3S_PRINT_TOKEN='1' K3S_ROLE='server' K3S_TOKEN_STDIN='0' K3S_UPGRADE='v1\.34\.3\+k3s1' K3S_VERSION='v1\.34\.3\+k3s1' NODE_IP='192\.168\.64\.11' NODE_NAME='pi1' bash -c '#!\/usr\/bin\/env bash/);
            assert.equal(raw.update, raw.create, "an update re-runs the idempotent install");
            assert.equal(raw.delete, undefined, "destroying the stack never uninstalls k3s");
            assert.ok(server.secretOutputs.includes("stdout"));
            assert.equal(raw.logging, "stderr");
        });

        it("pins each VM's SSH host key, learnt at its launch, on every SSH command to it", () => {
            const byHost: Record<string, string[]> = {
                pi1: ["metal-vms-hosts-k3s-pi1", "metal-vms-hosts-kubeconfig"],
                pi2: ["metal-vms-hosts-k3s-pi2", "metal-vms-hosts-data"],
                pi3: ["metal-vms-hosts-k3s-pi3"],
            };
            for (const [vm, names] of Object.entries(byHost)) {
                for (const name of names) {
                    const c = unwrap((b.get(name).raw as any).connection);
                    assert.equal(c.hostKey, VM_HOST_KEYS[vm], `${name} trusts ${vm}'s key only`);
                    assert.ok(b.commandDeps(name).includes(`metal-vms-vm-${vm}`), `${name} waits for the launch that reads the key`);
                }
            }
            const remote = b.commands().filter((c) => c.type === "command:remote:Command");
            assert.equal(remote.length, 5);
            for (const c of remote) assert.ok(unwrap((c.raw as any).connection).hostKey, `${c.name} has a hostKey`);
        });

        // A sandbox is a rehearsal: it upgrades freely, the way prod does once asked (server
        // first, then one agent at a time; k3s docs, docs.k3s.io/upgrades/manual: "upgrade server
        // nodes first one at a time, then any agent nodes"), so its agents install one at a time.
        it("upgrades freely (a rehearsal): K3S_UPGRADE on every k3s command, the agents one at a time after the server", () => {
            for (const vm of ["pi1", "pi2", "pi3"]) {
                assert.match((b.get(`metal-vms-hosts-k3s-${vm}`).raw as any).create, new RegExp(`K3S_UPGRADE='${K3S.replace(/[.+]/g, "\\$&")}'`));
            }
            const k3sDeps = (vm: string) => b.commandDeps(`metal-vms-hosts-k3s-${vm}`).filter((d) => d.includes("-k3s-") || d.includes("kubeconfig"));
            assert.deepEqual(k3sDeps("pi2"), ["metal-vms-hosts-k3s-pi1", "metal-vms-hosts-kubeconfig"]);
            assert.deepEqual(k3sDeps("pi3"), ["metal-vms-hosts-k3s-pi1", "metal-vms-hosts-k3s-pi2", "metal-vms-hosts-kubeconfig"], "pi3 waits for pi2");
            for (const agent of ["pi2", "pi3"]) {
                const name = `metal-vms-hosts-k3s-${agent}`;
                const raw = b.get(name).raw as any;
                assert.equal(unwrap(raw.connection).host, VM_ADDRESSES[agent]);
                assert.match(raw.create, /K3S_KUBECONFIG_STDIN='1' K3S_ROLE='agent' K3S_SERVER_URL='https:\/\/192\.168\.64\.11:6443' K3S_TOKEN_STDIN='1'/);
                assert.ok(isSecretInput(raw.stdin), "the join token and the kubeconfig reach the agent through a secret stdin");
                assert.equal(unwrap(raw.stdin), "K10mock::server:token\napiVersion: v1\nclusters: []\n", "the token line, then the admin kubeconfig (to cordon and drain)");
                assert.ok(!raw.create.includes("K10mock") && !raw.create.includes("apiVersion"), "no secret on the command line");
            }
        });

        it("reads the kubeconfig back from the server, rewritten, as a secret", async () => {
            const kc = b.get("metal-vms-hosts-kubeconfig");
            const raw = kc.raw as any;
            assert.deepEqual(b.commandDeps(kc.name), ["metal-vms-hosts-k3s-pi1", "metal-vms-vm-pi1"]);
            assert.match(raw.create, /SERVER_ADDRESS='192\.168\.64\.11'/);
            assert.equal(raw.logging, "none");
            assert.ok(kc.secretOutputs.includes("stdout"));
            assert.equal(await pulumi.isSecret(b.metal.kubeconfig), true);
            assert.equal(b.outputs.kubeconfig, "apiVersion: v1\nclusters: []");
        });

        it("runs the compose stack on the second VM (pi2), with the pinned images", async () => {
            const data = b.get("metal-vms-hosts-data");
            const raw = data.raw as any;
            assert.equal(unwrap(raw.connection).host, "192.168.64.12");
            assert.deepEqual(b.commandDeps(data.name), ["metal-vms-vm-pi2"], "the data stack waits for its VM only");
            assert.match(raw.stdin, /image: docker\.io\/library\/postgres:17\.7-bookworm/);
            assert.match(raw.stdin, /image: docker\.gitea\.com\/gitea:1\.25\.2/);
            assert.match(raw.stdin, /GITEA__server__ROOT_URL: http:\/\/192\.168\.64\.12:3000\//);
            assert.ok(data.secretOutputs.includes("stdout"));
            assert.equal(await pulumi.isSecret(b.metal.postgres.adminPassword), true);
        });

        it("hands the platform layer the nodes, Postgres and Gitea", () => {
            assert.deepEqual(b.outputs.nodes, [
                { name: "pi1", role: "server", address: "192.168.64.11" },
                { name: "pi2", role: "agent", address: "192.168.64.12" },
                { name: "pi3", role: "agent", address: "192.168.64.13" },
            ]);
            assert.deepEqual(b.outputs.postgres, {
                host: "192.168.64.12", port: 5432, clusterHost: "192.168.64.12", clusterPort: 5432,
                adminUser: "postgres", adminPassword: "mock-admin-password",
            });
            assert.deepEqual(b.outputs.gitea, {
                url: "http://192.168.64.12:3000", clusterUrl: "http://192.168.64.12:3000",
                // Gitea's CLI: the container mounting the data volume, on the data host over SSH
                exec: { instance: b.outputs.gitea.exec.instance, volume: "homelab-gitea-data", ssh: { host: "192.168.64.12", user: "ubuntu", hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI" } },
            });
        });
    });

    describe("sandbox-vms with a fixed k3s token", () => {
        it("passes the configured token to the server and agents through secret stdin only", async () => {
            const b = await build("sandbox-vms", (cfg) => {
                cfg.k3sToken = pulumi.secret("fixed-join-token");
            });
            for (const vm of ["pi1", "pi2", "pi3"]) {
                const raw = b.get(`metal-vms-hosts-k3s-${vm}`).raw as any;
                assert.ok(isSecretInput(raw.stdin));
                // agents: the token line, then the kubeconfig (a sandbox may upgrade)
                assert.ok(unwrap(raw.stdin).startsWith("fixed-join-token\n"));
                assert.match(raw.create, /K3S_TOKEN_STDIN='1'/);
            }
            assert.ok(!JSON.stringify(b.recs.map((r) => (r.raw as any).create ?? "")).includes("fixed-join-token"));
            assert.deepEqual(b.commandDeps("metal-vms-hosts-k3s-pi3").filter((d) => d.includes("-k3s-")), ["metal-vms-hosts-k3s-pi1", "metal-vms-hosts-k3s-pi2"]);
        });
    });

    describe("sandbox-k3d", () => {
        let b: Built;
        before(async () => {
            b = await build("sandbox-k3d");
        });

        it("creates the k3d cluster pinned to the manifest's k3s image, replaced (delete first) when it changes", () => {
            const cluster = b.get("metal-k3d-cluster");
            const raw = cluster.raw as any;
            assert.equal(b.get("metal-k3d").type, "lab:metal:K3dCluster");
            assert.equal(cluster.type, "command:local:Command");
            assert.deepEqual(raw.environment, { CLUSTER_NAME: "lab", K3S_IMAGE: "rancher/k3s:v1.34.3-k3s1", API_PORT: "6550", WAIT_TIMEOUT: "180", NODE_PORTS: "8080:30880 8200:30820", FIX_DNS: "", INGRESS_PORT: "8088" });
            assert.deepEqual(raw.triggers, ["lab", "rancher/k3s:v1.34.3-k3s1", 6550, "8080:30880 8200:30820", "", 8088]);
            assert.equal(cluster.deleteBeforeReplace, true);
            assert.ok(!raw.create.includes("--disable=traefik"), "k3s's packaged Traefik runs, as on prod");
            assert.ok(raw.create.includes('--port "127.0.0.1:$INGRESS_PORT:80@loadbalancer"'), "published on loopback");
            assert.ok(raw.create.includes('--api-port "127.0.0.1:$API_PORT"'));
            assert.ok(raw.create.includes("--kubeconfig-update-default=false --kubeconfig-switch-context=false"));
            assert.match(raw.create, /--wait --timeout "\$\{WAIT_TIMEOUT\}s"/);
            assert.match(raw.delete, /k3d cluster delete "\$CLUSTER_NAME"/);
        });

        it("leaves k3d's DNS fix to k3d unless the stack names its Docker runtime (k3d-io/k3d v5.9.0 pkg/types/fixes/fixes.go)", async () => {
            assert.equal((b.get("metal-k3d-cluster").raw as any).environment.FIX_DNS, "", "auto: K3D_FIX_DNS is not set");
            for (const [runtime, value] of [["docker-desktop", "1"], ["colima", "0"]] as const) {
                const other = await build("sandbox-k3d", (cfg) => { cfg.k3d!.dockerRuntime = runtime; });
                const raw = other.get("metal-k3d-cluster").raw as any;
                assert.equal(raw.environment.FIX_DNS, value, runtime);
                assert.equal(raw.triggers[4], value, `${runtime}: the fix is set up at creation, so a change recreates the cluster`);
            }
            b = await build("sandbox-k3d");
        });

        it("runs Postgres and Gitea as containers on the cluster network, after the cluster, in parallel", () => {
            for (const [part, image] of [["postgres", "docker.io/library/postgres:17.7-bookworm"], ["gitea", "docker.gitea.com/gitea:1.25.2"]]) {
                const c = b.get(`metal-k3d-${part}`);
                const env = (c.raw as any).environment;
                assert.equal(env.IMAGE, image);
                assert.equal(env.NETWORK, "k3d-lab");
                assert.equal(env.CONTAINER_NAME, `k3d-lab-${part}`);
                assert.equal(env.VOLUME_NAME, `k3d-lab-${part}-data`);
                assert.equal(env.STACK, "sandbox-k3d");
                assert.ok(env.PUBLISH.startsWith("127.0.0.1:"), "published on loopback only");
                assert.deepEqual(b.commandDeps(c.name), ["metal-k3d-cluster"]);
                assert.equal(c.deleteBeforeReplace, true);
                assert.match((c.raw as any).delete, /docker rm -f "\$CONTAINER_NAME"/);
            }
            const pg = b.get("metal-k3d-postgres");
            assert.equal((pg.raw as any).environment.PASSWORD_ENV, "POSTGRES_PASSWORD");
            assert.deepEqual(pg.secretOutputs, ["stdout"]);
            assert.equal((pg.raw as any).logging, "stderr");
            assert.equal((pg.raw as any).addPreviousOutputInEnv, false);
        });

        it("reads the kubeconfig with k3d as a secret, not logged", async () => {
            const kc = b.get("metal-k3d-kubeconfig");
            assert.deepEqual(b.commandDeps(kc.name), ["metal-k3d-cluster"]);
            assert.match((kc.raw as any).create, /k3d kubeconfig get "\$CLUSTER_NAME"/);
            assert.equal((kc.raw as any).logging, "none");
            assert.deepEqual(kc.secretOutputs, ["stdout"]);
            assert.equal(await pulumi.isSecret(b.metal.kubeconfig), true);
        });

        it("hands the platform layer loopback endpoints for the operator and container names for the cluster", () => {
            assert.deepEqual(b.outputs.nodes, [{ name: "k3d-lab-server-0", role: "server", address: "127.0.0.1" }]);
            assert.deepEqual(b.outputs.postgres, {
                host: "127.0.0.1", port: 15432, clusterHost: "k3d-lab-postgres", clusterPort: 5432,
                adminUser: "postgres", adminPassword: "mock-admin-password",
            });
            assert.deepEqual(b.outputs.gitea, { url: "http://127.0.0.1:13000", clusterUrl: "http://k3d-lab-gitea:3000", exec: { instance: b.outputs.gitea.exec.instance, container: "k3d-lab-gitea" } });
            assert.ok(b.outputs.gitea.exec.instance, "the container's id: a new container bootstraps Gitea again");
        });
    });

    describe("prod", () => {
        let b: Built;
        before(async () => {
            b = await build("prod");
        });

        it("runs the hosts-mode commands against 192.168.1.201-203 as the configured user", () => {
            assert.equal(b.get("metal-hosts").type, "lab:metal:K3sHosts");
            const hosts: Record<string, string> = { pi1: "192.168.1.201", pi2: "192.168.1.202", pi3: "192.168.1.203" };
            for (const [vm, address] of Object.entries(hosts)) {
                const raw = b.get(`metal-hosts-k3s-${vm}`).raw as any;
                assert.equal(unwrap(raw.connection).host, address);
                assert.equal(unwrap(raw.connection).user, "pi");
                assert.deepEqual(raw.triggers, [vm, address], "the target host is visible in plans (connection is redacted)");
                assert.ok(raw.create.startsWith("sudo -n env "), "scripts run as root through sudo");
                assert.ok(raw.create.includes(`K3S_VERSION='${K3S}'`));
            }
            assert.ok(!b.commands().some((c) => c.name === "metal-hosts-data"), "prod's data host exists: no compose command (homelab:existing.dataHost)");
            for (const name of ["metal-hosts-k3s-pi2", "metal-hosts-k3s-pi3"]) {
                assert.doesNotMatch((b.get(name).raw as any).create.split(" bash -c ")[0], /K3S_DISABLE/, "--disable is a server flag");
            }
            assert.equal(unwrap((b.get("metal-hosts-kubeconfig").raw as any).connection).host, "192.168.1.201");
            assert.equal(b.commands().filter((c) => c.type === "command:local:Command").length, 0, "prod runs nothing on the laptop");
            assert.deepEqual(b.commandDeps("metal-hosts-k3s-pi2"), ["metal-hosts-k3s-pi1"]);
            assert.deepEqual(b.commandDeps("metal-hosts-k3s-pi3"), ["metal-hosts-k3s-pi1"]);
        });

        it("pins every prod SSH command to the host key of its host in Pulumi.prod.yaml", () => {
            // Without connection.hostKey the command provider accepts any host key
            // (pulumi/pulumi-command v1.2.1 provider/pkg/provider/remote/connection.go:
            // ssh.InsecureIgnoreHostKey); with it, only that one (ssh.FixedHostKey).
            const cfg = stackConfig("prod");
            const keyOf = Object.fromEntries(cfg.hosts!.map((h) => [h.address, h.hostKey]));
            const remote = b.commands().filter((c) => c.type === "command:remote:Command");
            assert.equal(remote.length, 4, "k3s on pi1-pi3 and the kubeconfig (the data host's services exist)");
            for (const c of remote) {
                const conn = unwrap((c.raw as any).connection);
                assert.ok(conn.hostKey, `${c.name} has no hostKey`);
                assert.equal(conn.hostKey, keyOf[conn.host], `${c.name} trusts ${conn.host}'s pinned key`);
            }
        });

        it("verifies k3s without changing it: no K3S_UPGRADE, the agents in parallel with the token only", () => {
            for (const vm of ["pi1", "pi2", "pi3"]) {
                const create = (b.get(`metal-hosts-k3s-${vm}`).raw as any).create as string;
                assert.doesNotMatch(create.split(" bash -c ")[0], /K3S_UPGRADE|K3S_KUBECONFIG_STDIN/);
            }
            for (const vm of ["pi2", "pi3"]) assert.equal(unwrap((b.get(`metal-hosts-k3s-${vm}`).raw as any).stdin), "K10mock::server:token\n");
        });

        it("with homelab:k3sUpgradeTo, only the k3s commands change, by the upgrade marker: the preview shows them as updates", async () => {
            const approved = await build("prod", (cfg) => {
                const raw = { ...rawConfig("prod"), "homelab:k3sUpgradeTo": K3S };
                cfg.k3sUpgrade = parseConfig("prod", raw).k3sUpgrade;
            });
            const inputs = (x: Built, name: string) => {
                const { stdin, ...rest } = x.get(name).raw as any;
                return { ...rest, stdin: unwrap(stdin) };
            };
            const changed = b.commands().map((c) => c.name)
                .filter((n) => JSON.stringify(inputs(b, n)) !== JSON.stringify(inputs(approved, n))).sort();
            assert.deepEqual(changed, ["metal-hosts-k3s-pi1", "metal-hosts-k3s-pi2", "metal-hosts-k3s-pi3"]);
            assert.equal((approved.get("metal-hosts-k3s-pi1").raw as any).create,
                (b.get("metal-hosts-k3s-pi1").raw as any).create.replace(`K3S_TOKEN_STDIN='0' `, `K3S_TOKEN_STDIN='0' K3S_UPGRADE='${K3S}' `));
            for (const vm of ["pi2", "pi3"]) {
                assert.equal((approved.get(`metal-hosts-k3s-${vm}`).raw as any).create,
                    (b.get(`metal-hosts-k3s-${vm}`).raw as any).create
                        .replace("env K3S_ROLE=", "env K3S_KUBECONFIG_STDIN='1' K3S_ROLE=")
                        .replace(`K3S_TOKEN_STDIN='1' `, `K3S_TOKEN_STDIN='1' K3S_UPGRADE='${K3S}' `));
            }
            assert.deepEqual(approved.commandDeps("metal-hosts-k3s-pi2"), ["metal-hosts-k3s-pi1", "metal-hosts-kubeconfig"]);
            assert.deepEqual(approved.commandDeps("metal-hosts-k3s-pi3"), ["metal-hosts-k3s-pi1", "metal-hosts-k3s-pi2", "metal-hosts-kubeconfig"], "one agent at a time");
        });

        it("exposes the prod data host's endpoints", () => {
            assert.equal(b.outputs.postgres.host, "192.168.1.202");
            assert.equal(b.outputs.gitea.url, "http://192.168.1.202:3000");
            assert.deepEqual(b.outputs.nodes.map((n) => n.address), ["192.168.1.201", "192.168.1.202", "192.168.1.203"]);
        });
    });

    describe("homelab:k3sUpgradeTo (config.ts)", () => {
        const K3S_NEXT = "v1.35.0+k3s1";
        it("prod: no upgrade unless the stack file names the pinned version; a stale or foreign version is refused", () => {
            assert.equal(stackConfig("prod").k3sUpgrade, undefined);
            assert.equal(parseConfig("prod", { ...rawConfig("prod"), "homelab:k3sUpgradeTo": K3S }).k3sUpgrade, K3S);
            assert.throws(() => parseConfig("prod", { ...rawConfig("prod"), "homelab:k3sUpgradeTo": K3S_NEXT }),
                (e: Error) => e instanceof ConfigError && /homelab:k3sUpgradeTo/.test(e.message) && e.message.includes(K3S_NEXT) && e.message.includes(`the version the manifest pins, ${K3S}`));
            assert.throws(() => parseConfig("prod", { ...rawConfig("prod"), "homelab:k3sUpgradeTo": "true" }), /a k3s release such as v1\.34\.3\+k3s1/);
        });
        it("a sandbox on hosts upgrades freely; k3d has no hosts to upgrade", () => {
            assert.equal(stackConfig("sandbox-vms").k3sUpgrade, K3S);
            assert.equal(stackConfig("sandbox-k3d").k3sUpgrade, undefined);
            assert.throws(() => parseConfig("sandbox-k3d", { ...rawConfig("sandbox-k3d"), "homelab:k3sUpgradeTo": K3S }), /k3d mode has no SSH hosts/);
        });
        it("only prod's own stack file can approve prod's upgrade: Pulumi.yaml (every stack's defaults) never holds the key", () => {
            // A project-level value would reach prod as well as the sandboxes, so the approval must
            // never live there; a sandbox's own stack file is not read for prod at all.
            const project = fs.readFileSync(path.join(__dirname, "..", "Pulumi.yaml"), "utf8");
            assert.doesNotMatch(project, /k3sUpgradeTo/);
            assert.ok(!("homelab:k3sUpgradeTo" in rawConfig("prod")), "the committed prod stack approves no upgrade");
            const sandboxApproves = { ...rawConfig("sandbox-vms"), "homelab:k3sUpgradeTo": K3S };
            assert.equal(parseConfig("sandbox-vms", sandboxApproves).k3sUpgrade, K3S);
            assert.equal(stackConfig("prod").k3sUpgrade, undefined);
        });
    });

    it("fails clearly when a mode lacks its configuration", () => {
        const cfg = stackConfig("sandbox-k3d");
        delete cfg.k3d;
        assert.throws(() => new Metal("broken", { config: cfg }), /stack sandbox-k3d is in k3d mode but its configuration has no k3d/);
    });
});
