// version-parity: what every stack installs is the version manifest's (Pulumi.yaml versions).
import * as assert from "assert";
import { parseConfig } from "../components/config";
import { readStackConfig } from "../components/stack-config";
import { evaluatePolicies } from "../policy/evaluate";
import { k3sVersionsIn } from "../policy/version-parity";
import { PlanResource } from "../tools/plan-types";
import { resource, ROOT } from "./fixtures/policy/harness";

const S = "sandbox-vms";
const manifest = parseConfig("prod", readStackConfig(ROOT, "prod")).versions;
const run = (resources: PlanResource[]) => evaluatePolicies(resources, { env: {} }).filter((v) => v.policy === "version-parity");

const release = (inputs: Record<string, unknown>) => resource(S, "kubernetes:helm.sh/v3:Release", "platform-release", inputs,
    { parentType: "lab:platform:Platform", parentName: "platform" });
const command = (inputs: Record<string, unknown>, type = "command:local:Command") => resource(S, type, "metal-cmd", inputs);

describe("policy version-parity", () => {
    it("reads the manifest through the one config loader (the versions the tests below rely on)", () => {
        assert.strictEqual(manifest.k3s, "v1.34.3+k3s1");
        assert.strictEqual(manifest.charts.vault.version, "0.32.0");
    });

    describe("Helm releases", () => {
        it("every manifest chart at its version and repo passes", () => {
            const rs = Object.values(manifest.charts).map((c, i) => ({
                ...release({ chart: c.chart, version: c.version, repositoryOpts: { repo: c.repo } }),
                urn: `urn:pulumi:${S}::homelab::kubernetes:helm.sh/v3:Release::r${i}`,
            }));
            assert.deepStrictEqual(run(rs), []);
        });

        it("another chart version", () => {
            const [v] = run([release({ chart: "vault", version: "0.30.0", repositoryOpts: { repo: manifest.charts.vault.repo } })]);
            assert.strictEqual(v.enforcement, "mandatory");
            assert.strictEqual(v.urn, `urn:pulumi:${S}::homelab::lab:platform:Platform$kubernetes:helm.sh/v3:Release::platform-release`);
            assert.match(v.message, /kubernetes:helm\.sh\/v3:Release "platform-release" installs vault version 0\.30\.0; the version manifest says 0\.32\.0 \(Pulumi\.yaml versions\.charts\.vault\.version\)/);
        });

        it("an unpinned chart", () => {
            assert.match(run([release({ chart: "longhorn" })])[0].message, /installs longhorn without a pinned version; the version manifest says 1\.10\.1/);
        });

        it("another repository", () => {
            assert.match(run([release({ chart: "argo-cd", version: manifest.charts.argoCd.version, repositoryOpts: { repo: "https://mirror.example/argo" } })])[0].message,
                /pulls argo-cd from https:\/\/mirror\.example\/argo; the version manifest says https:\/\/argoproj\.github\.io\/argo-helm/);
        });

        it("a chart the manifest does not know", () => {
            assert.match(run([release({ chart: "cert-manager", version: "1.0.0" })])[0].message, /installs chart "cert-manager", which is not in the version manifest/);
        });
    });

    describe("the k3s version in commands", () => {
        it("finds k3s versions in their three spellings", () => {
            assert.deepStrictEqual(k3sVersionsIn("INSTALL_K3S_VERSION=v1.34.3+k3s1 rancher/k3s:v1.33.0-k3s2 /v1.32.1%2Bk3s1/").map((k) => k.version),
                ["v1.34.3+k3s1", "v1.33.0+k3s2", "v1.32.1+k3s1"]);
        });

        it("the manifest's k3s, as INSTALL_K3S_VERSION, a k3d image tag, a download URL, passes", () => {
            assert.deepStrictEqual(run([command({
                create: "k3d cluster create lab --image rancher/k3s:v1.34.3-k3s1",
                environment: { INSTALL_K3S_VERSION: "v1.34.3+k3s1" },
                triggers: ["https://github.com/k3s-io/k3s/releases/download/v1.34.3%2Bk3s1/k3s-arm64"],
            })]), []);
        });

        it("another k3s in a remote command's environment", () => {
            const [v] = run([command({ environment: { INSTALL_K3S_VERSION: "v1.33.5+k3s1" }, create: "install-k3s.sh" }, "command:remote:Command")]);
            assert.match(v.message, /command:remote:Command "metal-cmd" input environment\.INSTALL_K3S_VERSION names k3s v1\.33\.5\+k3s1; the version manifest says v1\.34\.3\+k3s1 \(Pulumi\.yaml versions\.k3s\)/);
        });

        it("another k3s in a k3d image", () => {
            assert.match(run([command({ create: "k3d cluster create lab --image rancher/k3s:v1.35.0-k3s1" })])[0].message, /input create names k3s v1\.35\.0-k3s1/);
        });
    });

    describe("images in commands", () => {
        it("the manifest's images pass; another tag of one does not", () => {
            const compose = (pg: string) => command({ create: "docker compose up -d", stdin: `services:\n  postgres:\n    image: ${pg}\n  gitea:\n    image: ${manifest.images.gitea}\n` });
            assert.deepStrictEqual(run([compose(manifest.images.postgres)]), []);
            assert.match(run([compose("docker.io/library/postgres:16.4")])[0].message,
                /runs docker\.io\/library\/postgres:16\.4; the version manifest says docker\.io\/library\/postgres:17\.7-bookworm \(Pulumi\.yaml versions\.images\.postgres\)/);
        });
    });

    it("other resources are not its business", () => {
        assert.deepStrictEqual(run([resource(S, "kubernetes:core/v1:ConfigMap", "x", { data: { k3s: "v1.20.0+k3s1" } })]), []);
    });
});
