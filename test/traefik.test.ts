// Ingress parity: prod routes every app through Traefik (the lab map: Ansible installs k3s,
// Longhorn and Traefik; the Cloudflared tunnel ends at Traefik), so every stack runs k3s's
// packaged Traefik, pinned by the k3s version: k3s deploys it from its bundled manifests unless
// started with --disable=traefik (docs.k3s.io/networking/networking-services: "Traefik is
// deployed by default when starting the server", as a LoadBalancer Service on ports 80 and 443
// that ServiceLB exposes on all cluster members; "start all servers with the --disable=traefik
// flag" to remove it; config.yaml's `disable:` list is the same flag).
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { planOf, STACKS } from "./helpers/plan";
import { SCRIPTS_DIR } from "../components/metal/scripts";

describe("Traefik in every stack, as on prod", () => {
    it("no script of the metal layer disables k3s's Traefik (fresh installs, upgrades and k3d alike)", () => {
        for (const f of fs.readdirSync(SCRIPTS_DIR)) {
            const text = fs.readFileSync(path.join(SCRIPTS_DIR, f), "utf8");
            assert.doesNotMatch(text, /--disable[= ]traefik|disable:\s*\n\s*-\s*traefik|"\s*-\s*traefik"/, f);
        }
    });

    it("the upgrade path of k3s-install.sh leaves config.yaml (and so Traefik) as the host has it", () => {
        const text = fs.readFileSync(path.join(SCRIPTS_DIR, "k3s-install.sh"), "utf8");
        const upgrade = text.slice(text.indexOf("# 2. Another version"), text.indexOf("# 3. Fresh host"));
        assert.ok(upgrade.length > 0);
        assert.doesNotMatch(upgrade, /config\.yaml/);
    });

    for (const stack of STACKS) {
        it(`${stack}: the ingress address is an output (where verify sends the Host: of each public app)`, () => {
            const url = planOf(stack).outputs.ingressUrl as string;
            assert.match(url, stack === "sandbox-k3d" ? /^http:\/\/127\.0\.0\.1:8088$/ : /^http:\/\/[^:/]+$/);
        });
    }

    it("sandbox-k3d publishes the cluster's port 80 on loopback only (homelab:k3d.ingressPort)", () => {
        const cluster = planOf("sandbox-k3d").resources.find((r) => r.name === "metal-k3d-cluster")!;
        assert.equal((cluster.inputs.environment as Record<string, string>).INGRESS_PORT, "8088");
        assert.match(String(cluster.inputs.create), /--port "127\.0\.0\.1:\$INGRESS_PORT:80@loadbalancer"/);
    });
});
