// The guard over every file a sandbox reads, run as a user runs it: `npm run plan -- <sandbox>`
// in a scratch copy of the project whose Pulumi.yaml (shared by every stack) was edited, or with
// `--config-file` pointing at an edited copy of the stack file.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { runPlanCliIn, scratchProject, writeStackFile } from "./helpers/plan";

const SANDBOXES = ["sandbox-k3d", "sandbox-vms"];

describe("guard: the project's files, through the offline plan", function () {
    this.timeout(300_000);
    let dir: string;
    let original: string;
    before(() => {
        dir = scratchProject();
        original = fs.readFileSync(path.join(dir, "Pulumi.yaml"), "utf8");
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));
    afterEach(() => fs.writeFileSync(path.join(dir, "Pulumi.yaml"), original));

    const edit = (from: string, to: string) => {
        assert.ok(original.includes(from), from);
        fs.writeFileSync(path.join(dir, "Pulumi.yaml"), original.replace(from, to));
    };

    describe("a prod reference in Pulumi.yaml fails every sandbox (plan and --check)", () => {
        const cases: [string, string, string, RegExp][] = [
            ["chart repository, hex address", "repo: https://helm.releases.hashicorp.com", "repo: http://0xc0a801c9:8080", /0xc0a801c9 is 192\.168\.1\.201, the address of prod host pi1/],
            ["chart repository, percent-encoded prod name", "repo: https://charts.longhorn.io", "repo: https://pi2%2Earcodange%2Elab/charts", /pi2\.arcodange\.lab.*the DNS name of prod host pi2/],
            ["chart repository, multicast-DNS name", "repo: https://argoproj.github.io/argo-helm", "repo: https://pi3.local/charts", /pi3\.local is the multicast-DNS name of prod host pi3/],
            ["image reference, short-form address", "postgres: docker.io/library/postgres:17.7-bookworm", "postgres: 192.168.458:5000/library/postgres:17.7-bookworm", /192\.168\.458 is 192\.168\.1\.202/],
        ];
        for (const [what, from, to, reason] of cases) {
            it(`${what}: ${to}`, () => {
                edit(from, to);
                for (const stack of SANDBOXES) {
                    for (const extra of stack === "sandbox-k3d" ? [[], ["--check"]] : [[]]) {
                        const r = runPlanCliIn(dir, [stack, ...extra]);
                        assert.strictEqual(r.status, 2, `${stack} ${extra.join(" ")}: ${r.stderr}`);
                        assert.match(r.stderr, /Pulumi\.yaml/);
                        assert.match(r.stderr, reason);
                        assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
                    }
                }
            });
        }

        it("a near miss in Pulumi.yaml passes: another LAN address, a name that merely contains prod's zone", () => {
            edit("repo: https://charts.longhorn.io", "repo: https://charts.arcodange.fr.example.com");
            const r = runPlanCliIn(dir, ["sandbox-k3d"]);
            assert.strictEqual(r.status, 0, r.stderr);
        });
    });

    describe("runtime options that inject environment or code", () => {
        for (const opts of ["nodeargs: --env-file=.env", "nodeargs: --require ./preload.js", "nodeargs: -r ./x.js", "nodeargs: --import ./x.mjs", "nodeargs: --experimental-loader ./l.mjs", "tsconfig: other-tsconfig.json"]) {
            it(`refused: runtime.options.${opts}`, () => {
                edit("    typescript: true\n", `    typescript: true\n    ${opts}\n`);
                const r = runPlanCliIn(dir, ["sandbox-k3d"]);
                assert.strictEqual(r.status, 2, r.stderr);
                assert.match(r.stderr, /runtime\.options\.(nodeargs|tsconfig)/);
            });
        }
        it("near miss: nodeargs that only tune memory pass", () => {
            edit("    typescript: true\n", "    typescript: true\n    nodeargs: --max-old-space-size=4096\n");
            assert.strictEqual(runPlanCliIn(dir, ["sandbox-k3d"]).status, 0);
        });
    });

    describe("a committed file that sets LAB_I_MEAN_PROD", () => {
        const files: [string, string, boolean][] = [
            [".env", "LAB_I_MEAN_PROD=true\n", true],
            ["tools/run-sandbox.sh", "#!/usr/bin/env bash\nexport LAB_I_MEAN_PROD=true\n", true],
            [".github/workflows/up.yaml", "env:\n  LAB_I_MEAN_PROD: \"true\"\n", true],
            ["tools/hatch.ts", "process.env.LAB_I_MEAN_PROD = \"true\";\n", true],
            ["docs/hatch-note.md", "Run `LAB_I_MEAN_PROD=true pulumi up -s sandbox-vms` only from your shell.\n", false],
            ["tools/hatch-read.ts", "// LAB_I_MEAN_PROD=true is read, never set here\nexport const on = process.env.LAB_I_MEAN_PROD === \"true\";\n", false],
        ];
        for (const [file, text, sets] of files) {
            it(`${sets ? "refused" : "near miss"}: ${file}`, () => {
                const full = path.join(dir, file);
                fs.mkdirSync(path.dirname(full), { recursive: true });
                fs.writeFileSync(full, text);
                try {
                    const r = runPlanCliIn(dir, ["sandbox-vms"]);
                    if (sets) {
                        assert.strictEqual(r.status, 2, r.stderr);
                        assert.match(r.stderr, new RegExp(`${file.replace(/\./g, "\\.")}:\\d+: .*sets LAB_I_MEAN_PROD in a committed file`));
                    } else {
                        assert.strictEqual(r.status, 0, r.stderr);
                    }
                } finally {
                    fs.rmSync(full);
                }
            });
        }
    });

    describe("a stack file (--config-file)", () => {
        it("refused: environment imports (they set environment variables for the run)", () => {
            const file = writeStackFile("sandbox-k3d", {});
            fs.appendFileSync(file, "environment:\n  - lab/hatch\n");
            const r = runPlanCliIn(dir, ["sandbox-k3d", "--config-file", file]);
            assert.strictEqual(r.status, 2, r.stderr);
            assert.match(r.stderr, /imports environments/);
        });
        const spelled: [string, RegExp][] = [
            ["https://3232235977:8200", /3232235977 is 192\.168\.1\.201/],
            ["https://[::ffff:c0a8:1ca]:8200", /192\.168\.1\.202/],
            ["https://vault\u3002arcodange\u3002lab", /vault\.arcodange\.lab.*the prod Vault/],
        ];
        for (const [value, reason] of spelled) {
            it(`refused: vault:address ${value}`, () => {
                const r = runPlanCliIn(dir, ["sandbox-k3d", "--config-file", writeStackFile("sandbox-k3d", { "vault:address": value })]);
                assert.strictEqual(r.status, 2, r.stderr);
                assert.match(r.stderr, /key "vault:address"/);
                assert.match(r.stderr, reason);
            });
        }
        it("refused: an endpoint the guard cannot parse", () => {
            const r = runPlanCliIn(dir, ["sandbox-k3d", "--config-file", writeStackFile("sandbox-k3d", { "vault:address": "https://pi 1:8200" })]);
            assert.strictEqual(r.status, 2, r.stderr);
            assert.match(r.stderr, /key "vault:address" is "https:\/\/pi 1:8200": not a URL/);
        });
        it("near miss: another host of 192.168.1.0/24", () => {
            const r = runPlanCliIn(dir, ["sandbox-k3d", "--config-file", writeStackFile("sandbox-k3d", { "vault:address": "https://192.168.1.50:8200" })]);
            assert.strictEqual(r.status, 0, r.stderr);
        });
    });
});
