// Prod's configuration states the lab the seeds describe; what they do not state is an obvious
// placeholder that a real run of prod refuses.
import { strict as assert } from "assert";
import { isConfigError, parseConfig } from "../components/config";
import { guardPlaceholders } from "../components/guard";
import { readStackConfig } from "../components/stack-config";
import { ROOT, runPlanCli } from "./helpers/plan";

const prod = () => parseConfig("prod", readStackConfig(ROOT, "prod"));

describe("prod's configuration: the lab map's names", () => {
    it("names the lab as the lab map does (arcodange.fr, arcodange.lab, arcodange-org, bucket arcodange-tf, Vault in tools)", () => {
        const cfg = prod();
        assert.equal(cfg.zone, "arcodange.fr");
        assert.equal(cfg.internalZone, "arcodange.lab");
        assert.equal(cfg.giteaOrg, "arcodange-org");
        assert.deepEqual(cfg.hosts!.map((h) => `${h.name} ${h.hostname} ${h.address}`),
            ["pi1 pi1.arcodange.lab 192.168.1.201", "pi2 pi2.arcodange.lab 192.168.1.202", "pi3 pi3.arcodange.lab 192.168.1.203"]);
        assert.equal(cfg.backup!.bucket, "arcodange-tf");
        assert.equal(cfg.backup!.existing, true, "the bucket also holds OpenTofu's state: never created or deleted");
        assert.equal(cfg.backup!.prefix, "longhorn");
        assert.equal(cfg.vaultInCluster!.namespace, "tools");
    });

    it("the sandboxes mirror prod's Gitea organisation (repository paths are identical)", () => {
        for (const stack of ["sandbox-k3d", "sandbox-vms"]) assert.equal(parseConfig(stack, readStackConfig(ROOT, stack)).giteaOrg, "arcodange-org");
    });
});

describe("placeholders in prod's configuration", () => {
    it("are recorded by key", () => {
        assert.deepEqual(prod().placeholders.map((p) => p.key).sort(),
            ["homelab:backup.project", "homelab:cloudflareZoneId", "homelab:existing.dataHost.composeProject",
                "homelab:existing.dnsRecords.cms", "homelab:existing.dnsRecords.dance-lessons-coach", "homelab:existing.dnsRecords.url-shortener", "homelab:existing.dnsRecords.webapp",
                "homelab:giteaRepoToken", "homelab:hosts[0].hostKey", "homelab:hosts[1].hostKey", "homelab:hosts[2].hostKey", "homelab:tunnelHostname", "homelab:versions.rclone.sha256LinuxArm64"]);
    });

    it("stop a real run of prod, naming each key and the file to fix", () => {
        let err: unknown;
        try {
            guardPlaceholders(prod(), false);
        } catch (e) {
            err = e;
        }
        assert.ok(isConfigError(err), "a configuration error, printed without a stack trace");
        const msg = (err as Error).message;
        for (const k of ["homelab:cloudflareZoneId", "homelab:tunnelHostname", "homelab:backup.project"]) assert.ok(msg.includes(k), k);
        assert.match(msg, /"homelab:cloudflareZoneId" in Pulumi\.prod\.yaml/);
        // a project-level key is named in the file that holds it
        assert.match(msg, /"homelab:versions\.rclone\.sha256LinuxArm64" in Pulumi\.yaml /);
    });

    it("only warn in the offline plan, which still runs", () => {
        const warnings = guardPlaceholders(prod(), true);
        assert.equal(warnings.length, 1);
        assert.match(warnings[0], /a real run stops here/);
        const r = runPlanCli(["prod"]);
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.stdout + r.stderr, /still has placeholders/);
    });

    it("are not accepted where a real value has a format (a wrong zone id is an error, not a placeholder)", () => {
        const raw = readStackConfig(ROOT, "prod");
        raw["homelab:cloudflareZoneId"] = "not-a-zone-id";
        assert.throws(() => parseConfig("prod", raw), /homelab:cloudflareZoneId.*32-character/);
    });

    it("keep the internal domain prod's: a sandbox may not set it", () => {
        const raw = readStackConfig(ROOT, "sandbox-k3d");
        raw["homelab:internalZone"] = "example.lab";
        assert.throws(() => parseConfig("sandbox-k3d", raw), /homelab:internalZone/);
    });
});
