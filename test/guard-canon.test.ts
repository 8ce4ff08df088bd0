// The canonicaliser (components/guard/canon.ts) against the consumers' own parsers: Node's WHATWG
// URL, and getaddrinfo (dns.lookup) on loopback-only equivalents. Nothing here resolves or
// connects to an address other than loopback: dns.lookup is only given numeric spellings of
// 127.0.0.0/8 and ::ffff:127.0.0.1, which getaddrinfo answers from inet_aton/inet_pton alone.
import * as assert from "assert";
import { promises as dns } from "dns";
import { canonicalHost, formatIPv4, ipv4Readings, ipv4sOf, parseEndpoint } from "../components/guard/canon";
import { loadFingerprint } from "../components/fingerprint";
import { scanForProd } from "../components/guard/scan";
import { ROOT } from "./helpers/plan";

const fp = loadFingerprint(ROOT);
const items = (v: unknown) => [...new Set(scanForProd(v, fp, [{ key: "v" }]).map((r) => `${r.item.kind}:${r.item.value}`))];
const v4 = (s: string) => { const c = canonicalHost(s); return c ? ipv4sOf(c).map(formatIPv4) : undefined; };

// Loopback spellings of 127.0.0.1 that inet_aton accepts: decimal, hex, octal, short forms.
const LOOPBACK_SPELLINGS = ["2130706433", "0x7f000001", "0x7f.1", "0177.0.0.1", "127.1", "127.0.1", "0177.1", "127.0.0.1."];

describe("guard: the canonicaliser agrees with the consumers' parsers", () => {
    for (const s of LOOPBACK_SPELLINGS.filter((x) => !x.endsWith("."))) {
        it(`getaddrinfo (dns.lookup) and the canonicaliser read ${s} as 127.0.0.1`, async () => {
            const got = await dns.lookup(s, { family: 4 });
            assert.strictEqual(got.address, "127.0.0.1");
            assert.deepStrictEqual(v4(s), [got.address]);
        });
    }

    it("getaddrinfo reads ::ffff:127.0.0.1 as an IPv6 that carries 127.0.0.1; so does the canonicaliser", async () => {
        const got = await dns.lookup("::ffff:127.0.0.1", { family: 6 });
        assert.match(got.address, /^::ffff:(127\.0\.0\.1|7f00:1)$/);
        assert.deepStrictEqual(v4(got.address), ["127.0.0.1"]);
    });

    it("Node's URL host parser and the canonicaliser agree on every spelling of prod's pi1", () => {
        for (const s of ["3232235977", "0300.0250.1.0311", "0xc0a801c9", "192.168.457", "192.11010505", "0xc0.0xa8.0x1.0xc9", "192.168.1.201."]) {
            assert.strictEqual(new URL(`http://${s}/`).hostname, "192.168.1.201", s);
            assert.deepStrictEqual(v4(s), ["192.168.1.201"], s);
        }
        for (const s of ["pi1%2Earcodange%2Elab", "pi1\u3002arcodange\uFF0Elab", "PI1.ARCODANGE.LAB.", "\uFF50\uFF49\uFF11.arcodange.lab", "pi1.arco\u00ADdange.lab"]) {
            const node = new URL(`http://${s}/`).hostname.replace(/\.$/, "");
            assert.strictEqual(node, "pi1.arcodange.lab", s);
            assert.deepStrictEqual(canonicalHost(s), { kind: "name", value: node }, s);
        }
    });

    it("IPv6 that carries prod's address: mapped, translated, NAT64, compatible", () => {
        for (const s of ["::ffff:192.168.1.201", "::ffff:c0a8:1c9", "[::ffff:c0a8:1c9]", "::ffff:0:c0a8:1c9", "64:ff9b::c0a8:1c9", "64:ff9b::192.168.1.201", "::192.168.1.201"]) {
            assert.deepStrictEqual(v4(s), ["192.168.1.201"], s);
        }
        assert.deepStrictEqual(v4("2001:db8::c0a8:1c9"), []);
    });

    it("a dotted quad with leading zeros is read both ways (inet_aton's octal, the plain decimal)", () => {
        assert.deepStrictEqual(ipv4Readings("192.168.010.201").map(formatIPv4).sort(), ["192.168.10.201", "192.168.8.201"]);
    });

    it("endpoints: URL of any scheme, host:port, user@host, registry references; unparseable ones are undefined", () => {
        assert.strictEqual(parseEndpoint("postgres://u:p@0xc0a801ca:5432/db")!.host.value, "192.168.1.202");
        assert.strictEqual(parseEndpoint("oci://PI1.LOCAL./charts")!.host.value, "pi1.local");
        assert.strictEqual(parseEndpoint("root@3232235977")!.host.value, "192.168.1.201");
        assert.strictEqual(parseEndpoint("192.168.457:5000/library/postgres:17")!.host.value, "192.168.1.201");
        assert.strictEqual(parseEndpoint("[::ffff:c0a8:1c9]:6443")!.port, 6443);
        for (const bad of ["", "https://pi 1", "pi1 pi2", "http://[::ffff:zz]/", "host:99999"]) assert.strictEqual(parseEndpoint(bad), undefined, bad);
    });
});

describe("guard: every spelling of prod is prod; near misses are not", () => {
    const refused: [string, string][] = [
        ["https://3232235977:8200", "address:192.168.1.201"],
        ["VAULT_ADDR=http://0xc0a801c9:8200", "address:192.168.1.201"],
        ["ssh root@0300.0250.1.0311", "address:192.168.1.201"],
        ["K3S_URL=https://192.168.458:6443", "address:192.168.1.202"],
        ["192.11010507", "address:192.168.1.203"],
        ["http://[::ffff:c0a8:1c9]:6443", "address:192.168.1.201"],
        ["64:ff9b::c0a8:1ca", "address:192.168.1.202"],
        ["::ffff:192.168.1.0/120", "address:192.168.1.201"],
        ["0xc0a80100/24", "address:192.168.1.201"],
        ["192.168.1.200-210", "address:192.168.1.201"],
        ["https://pi1%2Earcodange%2Elab:6443", "hostname:pi1.arcodange.lab"],
        ["https://pi1\u3002arcodange\u3002lab:6443", "hostname:pi1.arcodange.lab"],
        ["helm repo add x https://vault%2earcodange%2elab/charts", "vault:vault.arcodange.lab"],
        ["oci://pi2.local/charts/vault", "hostName:pi2"],
        ["image: pi3.local:5000/library/postgres:17", "hostName:pi3"],
        ["https://PI1.ARCODANGE.LAB./", "hostname:pi1.arcodange.lab"],
    ];
    for (const [v, item] of refused) {
        it(`refused: ${JSON.stringify(v)} reaches ${item}`, () => assert.ok(items(v).includes(item), `${v}: ${items(v).join(", ")}`));
    }
    const near = ["192.168.1.50", "https://192.168.1.204:8200", "3232235976", "0xc0a801c8", "pi4.local", "https://pi4.arcodange.lab.example.com",
        "https://charts.arcodange.fr.example.com", "gs://arcodange-tf-sandbox", "registry.example.com/pi1/app:1.2.3", "192.168.1.204-210", "10.0.0.0/8",
        "v1.34.3+k3s1", "postgres:17.7-bookworm", "https://pi10.local", "::ffff:10.0.0.1"];
    for (const v of near) it(`near miss: ${JSON.stringify(v)}`, () => assert.deepStrictEqual(items(v), []));
});
