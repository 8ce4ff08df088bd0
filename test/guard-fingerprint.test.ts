// The prod fingerprint is read from prod's own configuration: one source of truth.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { fingerprintFromConfig, findProjectDir, loadFingerprint, POSTGRES_PORT } from "../components/fingerprint";
import { parseConfig } from "../components/config";
import { readStackConfig } from "../components/stack-config";
import { ROOT, removeProject, tempProject } from "./fixtures/policy/harness";

describe("guard: the prod fingerprint", () => {
    const fp = loadFingerprint(ROOT);

    it("finds the project directory from a module's directory upward", () => {
        assert.strictEqual(findProjectDir(path.join(ROOT, "components", "guard")), ROOT);
        assert.strictEqual(findProjectDir(path.join(ROOT, "policy")), ROOT);
    });

    it("holds prod's host addresses, names and DNS names", () => {
        assert.deepStrictEqual(fp.addresses, ["192.168.1.201", "192.168.1.202", "192.168.1.203"]);
        assert.deepStrictEqual(fp.hostNames, ["pi1", "pi2", "pi3"]);
        assert.deepStrictEqual(fp.hostnames, ["pi1.arcodange.lab", "pi2.arcodange.lab", "pi3.arcodange.lab"]);
    });

    it("holds the DNS zone, the backup bucket, the Vault and the Postgres endpoint", () => {
        assert.strictEqual(fp.zone, "arcodange.fr");
        assert.strictEqual(fp.bucket, "arcodange-tf");
        assert.deepStrictEqual(fp.vault, { url: "https://vault.arcodange.lab", host: "vault.arcodange.lab", port: undefined });
        assert.deepStrictEqual(fp.postgres, { host: "pi2", hostname: "pi2.arcodange.lab", address: "192.168.1.202", port: POSTGRES_PORT });
        assert.strictEqual(POSTGRES_PORT, 5432);
    });

    it("names where prod declares each item", () => {
        const source = (kind: string, value: string) => fp.items.find((i) => i.kind === kind && i.value === value)?.source;
        assert.strictEqual(source("address", "192.168.1.202"), "Pulumi.prod.yaml homelab:hosts[1].address");
        assert.strictEqual(source("bucket", "arcodange-tf"), "Pulumi.prod.yaml homelab:backup.bucket");
        assert.strictEqual(source("vault", "vault.arcodange.lab"), "Pulumi.prod.yaml homelab:vaultAddress");
        assert.strictEqual(source("postgres", "192.168.1.202:5432"), "Pulumi.prod.yaml homelab:dataHost");
    });

    it("is what parseConfig makes of Pulumi.yaml merged with Pulumi.prod.yaml", () => {
        const cfg = parseConfig("prod", readStackConfig(ROOT, "prod"));
        assert.deepStrictEqual(fingerprintFromConfig(cfg), fp);
    });

    it("follows prod's stack file: no second copy to keep in sync", () => {
        const dir = tempProject();
        try {
            const file = path.join(dir, "Pulumi.prod.yaml");
            fs.writeFileSync(file, fs.readFileSync(file, "utf8")
                .replace("192.168.1.203", "192.168.7.33")
                .replace("bucket: arcodange-tf", "bucket: arcodange-backups-2"));
            const moved = loadFingerprint(dir);
            assert.deepStrictEqual(moved.addresses, ["192.168.1.201", "192.168.1.202", "192.168.7.33"]);
            assert.strictEqual(moved.bucket, "arcodange-backups-2");
        } finally {
            removeProject(dir);
        }
    });
});
