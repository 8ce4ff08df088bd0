// no-prod-references: every way of hiding a prod reference in a sandbox's resources is found, with
// its path; near misses are not; the escape hatch makes it advisory; prod may name itself.
import * as assert from "assert";
import { evaluatePolicies } from "../policy/evaluate";
import { noProdReferences } from "../policy/no-prod-references";
import { PlanResource, Violation } from "../tools/plan-types";
import { fixtures, resource } from "./fixtures/policy/harness";

const S = "sandbox-vms";
const run = (resources: PlanResource[], env: NodeJS.ProcessEnv = {}, stack?: string) =>
    evaluatePolicies(resources, { env, stack }).filter((v) => v.policy === "no-prod-references");

/** The input path a violation names: `... input <path>: <reason>`. */
const pathOf = (v: Violation) => /" input (\S+): /.exec(v.message)?.[1];

describe("policy no-prod-references", () => {
    it("is mandatory by default", () => {
        assert.strictEqual(noProdReferences.enforcementLevel, "mandatory");
    });

    describe("each hand-made fixture: the reference and its path; its near-miss twin: nothing", () => {
        for (const f of fixtures().filter((x) => /prod-ref-/.test(x.file))) {
            const name = f.file.split("/").pop()!;
            it(`${name}: ${f.description}`, () => {
                const vs = run(f.resources);
                assert.deepStrictEqual(vs.map((v) => ({ urn: v.urn, path: pathOf(v), enforcement: v.enforcement })),
                    f.expect.map((e) => ({ urn: e.urn, path: e.path, enforcement: "mandatory" })));
                for (const v of vs) {
                    assert.match(v.message, /Stack "sandbox-vms" is not prod and must not reach it \(prod declares this in Pulumi\.prod\.yaml homelab:/);
                }
            });
        }
    });

    describe("more places a reference hides", () => {
        const one = (r: PlanResource, path: string, reason: RegExp) => {
            const vs = run([r]);
            assert.strictEqual(vs.length, 1, JSON.stringify(vs, null, 2));
            assert.strictEqual(pathOf(vs[0]), path);
            assert.match(vs[0].message, reason);
            assert.ok(vs[0].message.startsWith(`${r.type} "${r.name}" input ${path}: `), vs[0].message);
        };

        it("Helm values of an Argo CD Application, at depth", () => {
            one(resource(S, "kubernetes:argoproj.io/v1alpha1:Application", "platform-vault-app", {
                spec: { source: { helm: { valuesObject: { server: { ha: { raft: { config: 'retry_join { leader_api_addr = "https://pi1.arcodange.lab:8200" }' } } } } } } },
            }), "spec.source.helm.valuesObject.server.ha.raft.config", /pi1\.arcodange\.lab is the DNS name of prod host pi1/);
        });

        it("Helm values given as a YAML string", () => {
            one(resource(S, "kubernetes:helm.sh/v3:Release", "platform-gitea", {
                chart: "vault", version: "0.32.0", valueYamlFiles: [], values: { extraConfig: "server:\n  ha:\n    raft:\n      join: http://192.168.1.203:8200\n" },
            }), "values.extraConfig>server.ha.raft.join", /192\.168\.1\.203 is the address of prod host pi3/);
        });

        it("a provider resource: the postgresql provider's host and port", () => {
            one(resource(S, "pulumi:providers:postgresql", "platform-postgresql", { host: "192.168.1.202", port: "5432", username: "postgres", password: "[secret]" }),
                "host", /192\.168\.1\.202 is the address of prod host pi2/);
        });

        it("a connection string in key=value form", () => {
            one(resource(S, "command:local:Command", "metal-psql", { create: "psql 'host=pi2 port=5432 dbname=erp' -c 'select 1'" }),
                "create", /pi2 \(the value of host\) is the name of prod host pi2/);
        });

        it("the Cloudflare zone and tunnel of prod", () => {
            const vs = run([resource(S, "cloudflare:index/dnsRecord:DnsRecord", "edge-dns", {
                zoneId: "REPLACE-ME-cloudflare-zone-id", name: "erp.sandbox.example", type: "CNAME", content: "REPLACE-ME.cfargotunnel.com",
            })]);
            assert.deepStrictEqual(vs.map(pathOf), ["content", "zoneId"]);
        });

        it("one violation per input path and prod item, several per resource", () => {
            const vs = run([resource(S, "command:remote:Command", "metal-x", {
                connection: { host: "192.168.1.201" }, create: "curl http://192.168.1.201:10250 && curl https://vault.arcodange.lab",
            })]);
            assert.deepStrictEqual(vs.map(pathOf), ["connection.host", "create", "create"]);
        });
    });

    describe("near misses produce nothing", () => {
        const near: Record<string, unknown> = {
            address: "192.168.1.20",
            longer: "192.168.1.2010",
            longerOctet: "192.168.1.2031",
            prefixed: "10.192.168.1.201",
            versionLike: "1.192.168.1.203.4",
            cidr8: "10.0.0.0/8",
            cidrHalf: "192.168.1.0/25",
            otherLan: "192.168.10.201",
            zoneLookalike: "https://notarcodange.fr/x",
            zoneSuffix: "arcodange.fr.example.org",
            bucketLookalike: "gs://arcodange-tf-sandbox",
            vmName: "multipass launch --name pi1 --cpus 2 24.04",
            vmInfo: "multipass info pi2 --format json",
            nodeName: "pi3",
            mdnsOtherPi: "https://pi4.local:6443",
            unknown: "[unknown]",
            secret: "[secret]",
        };
        for (const [k, v] of Object.entries(near)) {
            it(`${k}: ${v}`, () => {
                assert.deepStrictEqual(run([resource(S, "command:local:Command", "metal-near", { environment: { [k]: v } })]), []);
            });
        }
    });

    describe("stacks", () => {
        const r = resource(S, "command:remote:Command", "metal-k3s", { connection: { host: "192.168.1.201" } });

        it("knows the stack from the urn: prod may name itself (not applicable)", () => {
            const prod = resource("prod", "command:remote:Command", "metal-k3s", { connection: { host: "192.168.1.201" } });
            assert.deepStrictEqual(run([prod]), []);
        });

        it("any other stack, even one without a stack file, is guarded", () => {
            assert.strictEqual(run([resource("sandbox-new", r.type, r.name, r.inputs)]).length, 1);
        });

        it("--stack overrides the stack of the urns", () => {
            assert.deepStrictEqual(run([r], {}, "prod"), []);
            const vs = run([resource("prod", r.type, r.name, r.inputs)], {}, "sandbox-k3d");
            assert.strictEqual(vs.length, 1);
            assert.strictEqual(vs[0].urn, "urn:pulumi:sandbox-k3d::homelab::command:remote:Command::metal-k3s");
        });
    });

    describe("the escape hatch", () => {
        it("LAB_I_MEAN_PROD=true reports every violation as advisory, never drops one", () => {
            const all = fixtures().filter((x) => /prod-ref-[^.]+\.json$/.test(x.file)).flatMap((f) => f.resources);
            const strict = run(all, {});
            const hatched = run(all, { LAB_I_MEAN_PROD: "true" });
            assert.ok(strict.length >= 13);
            assert.strictEqual(hatched.length, strict.length);
            assert.ok(strict.every((v) => v.enforcement === "mandatory"));
            assert.ok(hatched.every((v) => v.enforcement === "advisory"));
            assert.ok(hatched.every((v) => /allowed for this run only because LAB_I_MEAN_PROD=true\.$/.test(v.message)));
            assert.deepStrictEqual(hatched.map((v) => v.urn), strict.map((v) => v.urn));
        });

        it("other values do not open it", () => {
            const r = resource(S, "command:remote:Command", "metal-k3s", { connection: { host: "192.168.1.201" } });
            for (const v of ["1", "yes", "false", ""]) assert.strictEqual(run([r], { LAB_I_MEAN_PROD: v })[0].enforcement, "mandatory", v);
        });
    });
});
