import { strict as assert } from "assert";
import { ConfigError, DEFAULT_CONNECTION_LIMIT, parseConfig } from "../components/config";
import { projectApps, rawConfig as raw, runPlanCli, writeStackFile } from "./helpers/plan";

function expectConfigError(stack: string, overrides: Record<string, unknown | null>, ...fragments: (string | RegExp)[]): void {
    assert.throws(() => parseConfig(stack, raw(stack, overrides)), (e: Error) => {
        assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${e}`);
        assert.ok(e.message.includes(`stack "${stack}"`), `the stack is named: ${e.message}`);
        for (const f of fragments) {
            assert.ok(typeof f === "string" ? e.message.includes(f) : f.test(e.message), `"${e.message}" should mention ${f}`);
        }
        return true;
    });
}

describe("config: one typed, validated loader", () => {
    it("loads the three committed stacks", () => {
        const prod = parseConfig("prod", raw("prod"));
        assert.equal(prod.mode, "hosts");
        assert.deepEqual(prod.hosts!.map((h) => [h.name, h.address, h.role]), [
            ["pi1", "192.168.1.201", "server"], ["pi2", "192.168.1.202", "agent"], ["pi3", "192.168.1.203", "agent"]]);
        assert.equal(prod.dataHost, "pi2");
        assert.equal(prod.versions.k3s, "v1.34.3+k3s1");
        assert.deepEqual(prod.apps.map((a) => a.name), ["webapp", "erp", "cms", "url-shortener", "telegram-gateway", "dance-lessons-coach"]);
        for (const a of prod.apps) assert.deepEqual(a.envs, ["prod"], `${a.name} envs default to [prod]`);
        assert.equal(parseConfig("sandbox-k3d", raw("sandbox-k3d")).mode, "k3d");
        const vms = parseConfig("sandbox-vms", raw("sandbox-vms"));
        assert.equal(vms.mode, "multipass");
        assert.equal(vms.vms!.length, 3);
    });

    it("rejects an unknown key under the project namespace (a typo never falls back to a default)", () => {
        expectConfigError("sandbox-k3d", { "homelab:k3dd": { apiPort: 1 } }, '"homelab:k3dd"', "no such key", "Pulumi.sandbox-k3d.yaml");
        expectConfigError("sandbox-k3d", { "homelab:k3d": { apiPrt: 7000 } }, '"homelab:k3d.apiPrt"', "no such key");
        expectConfigError("sandbox-k3d", { "homelab:k3d": { dockerRuntime: "orbstack" } }, '"homelab:k3d.dockerRuntime"', "one of auto, docker-desktop, colima");
        assert.equal(parseConfig("sandbox-k3d", raw("sandbox-k3d")).k3d!.dockerRuntime, "auto");
        assert.equal(parseConfig("sandbox-k3d", raw("sandbox-k3d", { "homelab:k3d": { dockerRuntime: "colima" } })).k3d!.dockerRuntime, "colima");
        const apps = projectApps();
        apps.erp.pubilc = true;
        expectConfigError("prod", { "homelab:apps": apps }, '"homelab:apps.erp.pubilc"', "no such key", "Pulumi.yaml");
    });

    it("rejects a bad app name", () => {
        expectConfigError("prod", { "homelab:apps": { ...projectApps(), Url_Shortener: {} } }, '"homelab:apps.Url_Shortener"', "kebab-case");
    });

    it("rejects a duplicate app (the same instance twice)", () => {
        // app "erp-sandbox" would collide with the sandbox env of app "erp"
        expectConfigError("prod", { "homelab:apps": { ...projectApps(), erp: { envs: ["prod", "sandbox"] }, "erp-sandbox": {} } },
            'instance ids unique across apps ("erp-sandbox" is also erp/sandbox)');
    });

    it("rejects a duplicate app key in a stack file, naming the file", () => {
        const file = writeStackFile("sandbox-k3d", {});
        require("fs").appendFileSync(file, "  homelab:apps:\n    erp: {}\n    cms: {}\n    erp:\n      public: true\n");
        const r = runPlanCli(["sandbox-k3d", "--config-file", file]);
        assert.equal(r.status, 2);
        assert.match(r.stderr, /not valid YAML.*(unique|duplicate)/is);
        assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
    });

    it("rejects a bad env name and a duplicate env", () => {
        expectConfigError("prod", { "homelab:apps": { ...projectApps(), erp: { envs: ["prod", "Sandbox"] } } }, '"homelab:apps.erp.envs[1]"', '"Sandbox"', "kebab-case env");
        expectConfigError("prod", { "homelab:apps": { ...projectApps(), erp: { envs: ["prod", "prod"] } } }, '"homelab:apps.erp.envs"', "appears twice");
    });

    it("rejects an app/env whose names do not fit PostgreSQL's 63 bytes", () => {
        const app = "a".repeat(30);
        expectConfigError("prod", { "homelab:apps": { ...projectApps(), [app]: { envs: ["b".repeat(28)] } } },
            `"homelab:apps.${app}.envs"`, "at most 63 bytes");
    });

    it("requires the keys of each mode", () => {
        expectConfigError("prod", { "homelab:hosts": null }, '"homelab:hosts"', "hosts mode needs its machines");
        expectConfigError("sandbox-vms", { "homelab:vms": null }, '"homelab:vms"', "multipass mode needs its VMs");
        expectConfigError("sandbox-vms", { "homelab:dataHost": null }, '"homelab:dataHost"', "Postgres and Gitea");
        expectConfigError("prod", { "homelab:zone": null }, '"homelab:zone"');
        expectConfigError("sandbox-k3d", { "homelab:mode": null }, '"homelab:mode"');
    });

    it("rejects values of the wrong shape, naming what was expected", () => {
        expectConfigError("prod", { "homelab:hosts": [{ name: "pi1", address: "192.168.1.300", role: "server" }] }, '"homelab:hosts[0].address"', "IPv4");
        expectConfigError("prod", { "homelab:dataHost": "pi9" }, '"homelab:dataHost"', "one of the hosts (pi1, pi2, pi3)");
        // Every prod host pins its SSH host key, in the form the command provider parses
        // (golang.org/x/crypto/ssh ParseAuthorizedKey, pulumi/pulumi-command v1.2.1 connection.go).
        const host = { name: "pi1", address: "192.168.1.201", role: "server" };
        expectConfigError("prod", { "homelab:hosts": [host] }, '"homelab:hosts[0].hostKey" is nothing', "ssh-keyscan -t ed25519");
        for (const bad of ["192.168.1.201 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHk6tM1aCzqAxfPkaGqF4fd8m8pq6KQkS5bbq0yV3rX8", "ssh-dss AAAAB3NzaC1kc3MAAACBAP", "ssh-ed25519 AAAAB3NzaC1yc2EAAAADAQABAAABAQ", "ssh-ed25519 not-base64!", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5"]) {
            expectConfigError("prod", { "homelab:hosts": [{ ...host, hostKey: bad }] }, '"homelab:hosts[0].hostKey"', "ssh-keyscan");
        }
        const ok = parseConfig("prod", raw("prod", { "homelab:hosts": [{ ...host, hostKey: `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHk6tM1aCzqAxfPkaGqF4fd8m8pq6KQkS5bbq0yV3rX8 root@pi1` }], "homelab:dataHost": "pi1" }));
        assert.equal(ok.hosts![0].hostKey, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHk6tM1aCzqAxfPkaGqF4fd8m8pq6KQkS5bbq0yV3rX8 root@pi1");
        expectConfigError("sandbox-vms", { "homelab:vmImage": "lts" }, '"homelab:vmImage"', "not an alias");
        expectConfigError("sandbox-k3d", { "homelab:mode": "docker" }, '"homelab:mode"', "one of hosts, k3d, multipass");
        expectConfigError("sandbox-k3d", { "homelab:zone": "example.org" }, '"homelab:zone"', "sandboxes have no edge");
        expectConfigError("prod", { "homelab:versions": { k3s: "latest" } }, '"homelab:versions.k3s"', "v1.34.3+k3s1");
    });

    it("applies a per-env sync override over the automated default", () => {
        const cfg = parseConfig("prod", raw("prod", { "homelab:apps": { ...projectApps(), erp: { envs: ["prod", "sandbox"], sync: { sandbox: { selfHeal: false } } } } }));
        const erp = cfg.apps.find((a) => a.name === "erp")!;
        assert.deepEqual(erp.sync.prod, { automated: true, prune: true, selfHeal: true });
        assert.deepEqual(erp.sync.sandbox, { automated: true, prune: true, selfHeal: false });
        expectConfigError("prod", { "homelab:apps": { ...projectApps(), erp: { sync: { staging: { prune: false } } } } }, '"homelab:apps.erp.sync.staging"', "one of this app's envs");
    });

    it("gives every app a database connection limit: the default, or the catalogue's, within bounds", () => {
        const cfg = parseConfig("prod", raw("prod", { "homelab:apps": { ...projectApps(), erp: { envs: ["prod", "sandbox"], connectionLimit: 35 } } }));
        assert.equal(cfg.apps.find((a) => a.name === "erp")!.connectionLimit, 35);
        assert.equal(cfg.apps.find((a) => a.name === "cms")!.connectionLimit, DEFAULT_CONNECTION_LIMIT);
        expectConfigError("prod", { "homelab:apps": { ...projectApps(), erp: { connectionLimit: 0 } } }, '"homelab:apps.erp.connectionLimit"', "an integer from 1 to 80");
        expectConfigError("prod", { "homelab:apps": { ...projectApps(), erp: { connectionLimit: -1 } } }, '"homelab:apps.erp.connectionLimit"', "an integer from 1 to 80");
    });

    it("fails the plan with exit 2 and no stack trace before registering anything", () => {
        const file = writeStackFile("sandbox-k3d", { "homelab:k3d": { apiPort: "six" } });
        const r = runPlanCli(["sandbox-k3d", "--config-file", file, "--json"]);
        assert.equal(r.status, 2);
        assert.equal(r.stdout, "", "nothing printed on stdout, no resource registered");
        assert.match(r.stderr, /key "homelab:k3d.apiPort" is "six"; expected an integer from 1024 to 65535/);
        assert.doesNotMatch(r.stderr, /\n\s+at /);
    });
});
