// How a value is searched for prod: tokenized, never a bare substring.
import * as assert from "assert";
import { loadFingerprint } from "../components/fingerprint";
import { cidrContains, ipv4Readings } from "../components/guard/canon";
const parseIPv4 = (s: string): number | undefined => ipv4Readings(s)[0];
import { formatPath, isAddressKey, parseEmbedded, scanForProd } from "../components/guard/scan";
import { ROOT } from "./fixtures/policy/harness";

const fp = loadFingerprint(ROOT);
const scan = (v: unknown, root = "v") => scanForProd(v, fp, [{ key: root }]);
const kinds = (v: unknown) => scan(v).map((r) => `${r.path} ${r.item.kind}:${r.item.value}`);

describe("guard: finding prod in a value", () => {
    describe("addresses", () => {
        it("an address alone, with a port, in a URL, in a sentence", () => {
            for (const s of ["192.168.1.201", "192.168.1.201:6443", "https://192.168.1.201:6443/healthz", "join 192.168.1.201.", "::ffff:192.168.1.201"]) {
                assert.deepStrictEqual(kinds(s), ["v address:192.168.1.201"], s);
            }
        });

        it("leading zeros are the same address", () => {
            assert.deepStrictEqual(kinds("192.168.001.201"), ["v address:192.168.1.201"]);
        });

        it("near misses: other addresses that share a prefix or a suffix", () => {
            for (const s of ["192.168.1.20", "192.168.1.2010", "192.168.1.2", "1.192.168.1.201", "192.168.1.201.5", "10.192.168.1.201", "192.168.1.211", "v192.168.1.20"]) {
                assert.deepStrictEqual(kinds(s), [], s);
            }
        });

        it("a CIDR or a range that contains a prod address; not one that does not", () => {
            assert.deepStrictEqual(kinds("192.168.1.0/24"), ["v address:192.168.1.201"]);
            assert.deepStrictEqual(kinds("192.168.0.0/16"), ["v address:192.168.1.201"]);
            assert.deepStrictEqual(kinds("192.168.1.200/30"), ["v address:192.168.1.201"]);
            assert.deepStrictEqual(kinds("192.168.1.202/32"), ["v address:192.168.1.202"]);
            assert.deepStrictEqual(kinds("192.168.1.200-192.168.1.210"), ["v address:192.168.1.201"]);
            for (const s of ["10.0.0.0/8", "192.168.1.0/25", "192.168.1.204/30", "192.168.2.0/24", "172.16.0.0/12", "192.168.1.100-192.168.1.200"]) {
                assert.deepStrictEqual(kinds(s), [], s);
            }
            assert.match(scan("192.168.1.0/24")[0].reason, /the CIDR 192.168.1.0\/24 contains 192.168.1.201 \(prod host pi1\), 192.168.1.202 \(prod host pi2\), 192.168.1.203 \(prod host pi3\)/);
        });

        it("the data host's address with the Postgres port is the Postgres endpoint", () => {
            assert.deepStrictEqual(kinds("192.168.1.202:5432"), ["v postgres:192.168.1.202:5432"]);
            assert.deepStrictEqual(kinds("192.168.1.201:5432"), ["v address:192.168.1.201"]);
        });

        it("a nip.io name that resolves to a prod address", () => {
            assert.deepStrictEqual(kinds("app.192-168-1-201.nip.io"), ["v address:192.168.1.201"]);
            assert.deepStrictEqual(kinds("app.192.168.1.201.sslip.io"), ["v address:192.168.1.201"]);
        });

        it("arithmetic, not text", () => {
            assert.ok(cidrContains(parseIPv4("192.168.1.0")!, 24, parseIPv4("192.168.1.201")!));
            assert.ok(!cidrContains(parseIPv4("10.0.0.0")!, 8, parseIPv4("192.168.1.201")!));
            assert.strictEqual(parseIPv4("192.168.1.256"), undefined);
        });
    });

    describe("names", () => {
        it("names in the prod zone, on label boundaries", () => {
            assert.deepStrictEqual(kinds("https://erp.arcodange.fr/x"), ["v zone:arcodange.fr"]);
            assert.deepStrictEqual(kinds("arcodange.fr"), ["v zone:arcodange.fr"]);
            assert.deepStrictEqual(kinds("ERP.ARCODANGE.FR."), ["v zone:arcodange.fr"]);
            assert.deepStrictEqual(kinds("_acme-challenge.arcodange.fr"), ["v zone:arcodange.fr"]);
            // the lab's internal domain is prod's too (the lab map: internal names under arcodange.lab)
            assert.deepStrictEqual(kinds("https://gitea.arcodange.lab/arcodange-org/erp.git"), ["v zone:arcodange.lab"]);
            for (const s of ["notarcodange.fr", "arcodange.fr.example.com", "arcodange.frx", "arcodange-io", "vault.arcodange.labt"]) {
                assert.deepStrictEqual(kinds(s), [], s);
            }
        });

        it("the most precise item: a host's DNS name, the Vault", () => {
            assert.deepStrictEqual(kinds("pi1.arcodange.lab"), ["v hostname:pi1.arcodange.lab"]);
            assert.deepStrictEqual(kinds("https://vault.arcodange.lab:8200"), ["v vault:vault.arcodange.lab"]);
            assert.deepStrictEqual(kinds("pi2.arcodange.lab:5432"), ["v postgres:192.168.1.202:5432"]);
        });

        it("the bucket, the GCP project, the Cloudflare zone id and tunnel, as whole tokens", () => {
            assert.deepStrictEqual(kinds("gs://arcodange-tf/x"), ["v bucket:arcodange-tf"]);
            assert.deepStrictEqual(kinds("REPLACE-ME-gcp-project"), ["v gcpProject:REPLACE-ME-gcp-project"]);
            assert.deepStrictEqual(kinds("REPLACE-ME-CLOUDFLARE-ZONE-ID"), ["v zoneId:replace-me-cloudflare-zone-id"]);
            assert.deepStrictEqual(kinds("cloudflared tunnel --hostname REPLACE-ME.cfargotunnel.com run").length, 1);
            for (const s of ["arcodange-tf-sandbox", "sandbox-arcodange-tf", "REPLACE-ME-gcp-project-sandbox", "REPLACE-ME-gcp-projectuction"]) {
                assert.deepStrictEqual(kinds(s), [], s);
            }
        });
    });

    describe("bare host names (pi1): only where used as an address", () => {
        it("as a URL host, host:port, user@host, host=, --host, -h, an address-like key", () => {
            const cases: [unknown, string][] = [
                ["https://pi1:6443", "v hostName:pi1"],
                ["pi3:22", "v hostName:pi3"],
                ["ssh ubuntu@pi3 true", "v hostName:pi3"],
                ["host=pi3 dbname=x", "v hostName:pi3"],
                ["PGHOST=pi3 psql", "v hostName:pi3"],
                ["k3s agent --server=pi1", "v hostName:pi1"],
                ["psql -h pi3 -U x", "v hostName:pi3"],
                ["pi2:5432", "v postgres:192.168.1.202:5432"],
                ["postgresql://u:p@pi2:5432/erp", "v postgres:192.168.1.202:5432"],
            ];
            for (const [v, want] of cases) assert.deepStrictEqual(kinds(v), [want], String(v));
            assert.deepStrictEqual(kinds({ host: "pi1" }), ["v.host hostName:pi1"]);
            assert.deepStrictEqual(kinds({ dataHost: "pi2" }), ["v.dataHost hostName:pi2"]);
            assert.deepStrictEqual(kinds({ vaultAddr: "PI1" }), ["v.vaultAddr hostName:pi1"]);
            assert.deepStrictEqual(kinds({ servers: ["pi1"] }), ["v.servers[0] hostName:pi1"]);
        });

        it("a prod host's multicast-DNS name (pi1.local) is prod wherever it appears: the LAN answers for it", () => {
            assert.deepStrictEqual(kinds({ host: "pi1.local" }), ["v.host hostName:pi1"]);
            assert.deepStrictEqual(kinds("https://PI1.local.:6443"), ["v hostName:pi1"]);
            assert.deepStrictEqual(kinds("registry pi3.local:5000/x"), ["v hostName:pi3"]);
        });

        it("not as a name: VM names, node names, --name flags, hostnamectl, other hosts' .local names", () => {
            for (const v of [
                { name: "pi1" }, { vmName: "pi2" }, { nodeName: "pi3" }, "multipass launch --name pi1 24.04", "multipass transfer pi1:/etc/rancher/k3s/k3s.yaml .",
                "hostnamectl set-hostname pi2", { host: "pi4.local" }, "https://pi10.local:6443", "https://pi1.localdomain.example:6443", { host: "pi10" }, { host: "api1" }, "pi1-data",
            ]) {
                assert.deepStrictEqual(kinds(v), [], JSON.stringify(v));
            }
        });

        it("address-like keys by their last word", () => {
            for (const k of ["host", "PGHOST", "dataHost", "vaultAddress", "VAULT_ADDR", "K3S_URL", "server", "apiEndpoint", "nodeIP", "hosts", "connection.host"]) {
                assert.ok(isAddressKey(k), k);
            }
            for (const k of ["name", "hostname", "skip", "zip", "description", "vmName", "hostPath"]) assert.ok(!isAddressKey(k), k);
        });
    });

    describe("structure: paths through objects, arrays and strings that hold JSON or YAML", () => {
        it("walks objects and arrays", () => {
            assert.deepStrictEqual(scan({ a: [{ b: "x" }, { "c.d": "192.168.1.203" }] }).map((r) => r.path), ['v.a[1]["c.d"]']);
        });

        it("parses a kubeconfig and a JSON string, and YAML inside YAML", () => {
            const kubeconfig = "apiVersion: v1\nclusters:\n- cluster:\n    server: https://192.168.1.201:6443\n  name: default\n";
            assert.deepStrictEqual(scanForProd({ kubeconfig }, fp).map((r) => r.path), ["kubeconfig>clusters[0].cluster.server"]);
            assert.deepStrictEqual(scanForProd({ env: { CFG: '{"db":{"host":"pi2"}}' } }, fp).map((r) => r.path), ["env.CFG>db.host"]);
            const cloudInit = "#cloud-config\nwrite_files:\n- path: /etc/x.yaml\n  content: |\n    upstream:\n      url: http://192.168.1.203:5000\n";
            assert.deepStrictEqual(scanForProd({ stdin: cloudInit }, fp).map((r) => r.path), ["stdin>write_files[0].content>upstream.url"]);
        });

        it("multi-document YAML", () => {
            const docs = "a: 1\n---\nkind: ConfigMap\ndata:\n  upstream: 192.168.1.201\n";
            assert.deepStrictEqual(scan(docs).map((r) => r.path), ["v>[1].data.upstream"]);
        });

        it("a reference the structure drops (a YAML comment) is still reported, at the string", () => {
            const text = "# mirror of 192.168.1.202\nkey: value\nother: 2\n";
            assert.deepStrictEqual(scan(text).map((r) => r.path), ["v"]);
        });

        it("plain text is not mistaken for structure", () => {
            assert.strictEqual(parseEmbedded("curl -fsS https://x/y"), undefined);
            assert.strictEqual(parseEmbedded("#!/bin/sh\nset -eu\necho hello\n"), undefined);
            assert.deepStrictEqual(parseEmbedded('{"a":1}'), [{ a: 1 }]);
        });

        it("skips secrets and unknowns", () => {
            assert.deepStrictEqual(kinds({ a: "[secret]", b: "[unknown]", c: "04da6b54-80e4-46f7-96ec-b56ff0331ba9" }), []);
        });

        it("formats paths", () => {
            assert.strictEqual(formatPath([{ key: "homelab:hosts" }, { index: 0 }, { key: "address" }]), "homelab:hosts[0].address");
            assert.strictEqual(formatPath([{ key: "kubeconfig" }, { embed: true }, { key: "clusters" }, { index: 0 }]), "kubeconfig>clusters[0]");
            assert.strictEqual(formatPath([{ key: "values" }, { key: "app.kubernetes.io/name" }]), 'values["app.kubernetes.io/name"]');
        });
    });
});
