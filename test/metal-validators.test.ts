// The real validators on the metal layer's real artifacts: shellcheck on every script,
// `cloud-init schema --config-file` on every cloud-init the program renders, and
// `docker-compose -f <file> config` on the compose file. A missing validator skips its test
// with the binary's name (CI installs them: apt-get install shellcheck cloud-init docker-compose).
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { renderCloudInit, renderCompose, SSH_KEY_PLACEHOLDER } from "../components/metal/render";
import { SCRIPT_NAMES, SCRIPTS_DIR } from "../components/metal/scripts";
import { stackConfig } from "./metal-config";

function has(binary: string): boolean {
    return spawnSync("sh", ["-c", `command -v ${binary}`], { encoding: "utf8" }).status === 0;
}

function requireBinary(ctx: Mocha.Context, binary: string, pkg: string): void {
    if (!has(binary)) {
        console.log(`      (skipped: the validator binary '${binary}' is not installed; apt-get install ${pkg})`);
        ctx.skip();
    }
}

describe("metal validators", function () {
    this.timeout(60_000);
    let tmp: string;
    before(() => {
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), "metal-validate-"));
    });
    after(() => fs.rmSync(tmp, { recursive: true, force: true }));

    it("the scripts folder holds exactly the scripts the program uses", () => {
        const files = fs.readdirSync(SCRIPTS_DIR).filter((f) => f.endsWith(".sh")).sort();
        assert.deepEqual(files, [...SCRIPT_NAMES].sort());
    });

    for (const script of SCRIPT_NAMES) {
        it(`shellcheck: ${script}`, function () {
            requireBinary(this, "shellcheck", "shellcheck");
            const file = path.join(SCRIPTS_DIR, script);
            const text = fs.readFileSync(file, "utf8");
            assert.ok(text.startsWith("#!/usr/bin/env bash\n"), `${script} must start with #!/usr/bin/env bash`);
            assert.match(text, /^set -euo pipefail$/m, `${script} must set -euo pipefail`);
            const r = spawnSync("shellcheck", ["--shell=bash", "--severity=style", file], { encoding: "utf8" });
            assert.equal(r.status, 0, `shellcheck ${script}:\n${r.stdout}${r.stderr}`);
        });
    }

    describe("cloud-init schema", () => {
        const cfg = stackConfig("sandbox-vms");
        const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHk6tM1aCzqAxfPkaGqF4fd8m8pq6KQkS5bbq0yV3rX8";
        for (const vm of cfg.vms ?? []) {
            for (const variant of ["as rendered (key placeholder)", "as launched (key substituted)"]) {
                it(`${vm.name} ${variant}`, function () {
                    requireBinary(this, "cloud-init", "cloud-init");
                    let doc = renderCloudInit({ hostname: vm.name, dataHost: vm.name === cfg.dataHost });
                    if (variant.includes("substituted")) doc = doc.replace(SSH_KEY_PLACEHOLDER, key);
                    const file = path.join(tmp, `${vm.name}-${variant.includes("substituted") ? "key" : "placeholder"}.yaml`);
                    fs.writeFileSync(file, doc);
                    const r = spawnSync("cloud-init", ["schema", "--config-file", file], { encoding: "utf8" });
                    assert.equal(r.status, 0, `cloud-init schema ${vm.name}:\n${r.stdout}${r.stderr}\n---\n${doc}`);
                    assert.match(r.stdout, /Valid cloud-config/);
                });
            }
        }
        it("rejects a broken document (the validator really validates)", function () {
            requireBinary(this, "cloud-init", "cloud-init");
            const file = path.join(tmp, "broken.yaml");
            fs.writeFileSync(file, "#cloud-config\npackages: 3\n");
            assert.notEqual(spawnSync("cloud-init", ["schema", "--config-file", file], { encoding: "utf8" }).status, 0);
        });
    });

    describe("docker-compose config", () => {
        for (const stack of ["prod", "sandbox-vms"]) {
            it(`the data host's compose file (${stack} images)`, function () {
                requireBinary(this, "docker-compose", "docker-compose");
                const cfg = stackConfig(stack);
                const dir = fs.mkdtempSync(path.join(tmp, "compose-"));
                const file = path.join(dir, "compose.yaml");
                fs.writeFileSync(file, renderCompose({
                    postgresImage: cfg.versions.images.postgres,
                    giteaImage: cfg.versions.images.gitea,
                    giteaRootUrl: "http://192.168.64.12:3000/",
                    // a sandbox's own backup target
                    minioImage: stack === "prod" ? undefined : cfg.versions.images.minio,
                }));
                // Generated on the host by data-compose.sh; dummies stand in for them here.
                fs.writeFileSync(path.join(dir, "postgres.env"), "POSTGRES_PASSWORD=test-only\n");
                fs.writeFileSync(path.join(dir, "minio.env"), "MINIO_ROOT_PASSWORD=test-only\n");
                const r = spawnSync("docker-compose", ["-f", file, "config"], { encoding: "utf8", cwd: dir });
                assert.equal(r.status, 0, `docker-compose config:\n${r.stdout}${r.stderr}`);
                const resolved = YAML.parse(r.stdout) as {
                    services: Record<string, { image: string; ports: { published: number | string; target: number }[] }>;
                    volumes: Record<string, { name: string }>;
                };
                assert.equal(resolved.services.postgres.image, cfg.versions.images.postgres);
                assert.equal(resolved.services.gitea.image, cfg.versions.images.gitea);
                const ports = (svc: string) => resolved.services[svc].ports.map((p) => `${p.published}:${p.target}`);
                assert.deepEqual(ports("postgres"), ["5432:5432"]);
                assert.deepEqual(ports("gitea"), ["3000:3000", "2222:22"]);
                const volumes = ["homelab-gitea-data", ...(stack === "prod" ? [] : ["homelab-minio-data"]), "homelab-postgres-data"];
                assert.deepEqual(Object.values(resolved.volumes).map((v) => v.name).sort(), volumes);
                if (stack !== "prod") assert.deepEqual(ports("minio"), ["9000:9000"]);
                else assert.equal(resolved.services.minio, undefined, "prod runs no MinIO");
            });
        }
        it("rejects a broken file (the validator really validates)", function () {
            requireBinary(this, "docker-compose", "docker-compose");
            const file = path.join(tmp, "broken-compose.yaml");
            fs.writeFileSync(file, "services:\n  postgres:\n    image: [1, 2]\n");
            assert.notEqual(spawnSync("docker-compose", ["-f", file, "config"], { encoding: "utf8" }).status, 0);
        });
    });
});
