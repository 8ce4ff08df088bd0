// The ingress every stack runs as prod does: k3s's packaged Traefik (pinned by the k3s version of
// the manifest; k3s deploys it from its bundled manifests unless `--disable=traefik`,
// docs.k3s.io/networking/networking-services), answering on ports 80/443 of every node through
// ServiceLB. sandbox-k3d publishes the cluster's
// port 80 on the laptop's loopback (homelab:k3d.ingressPort).
import * as pulumi from "@pulumi/pulumi";
import { LabConfig } from "../config";
import { NodeInfo, serverAddress } from "../metal/types";
import { shared } from "../naming";

/** Where the operator (and `npm run verify`) reaches Traefik. */
export function ingressUrl(cfg: LabConfig, nodes: pulumi.Output<NodeInfo[]>): pulumi.Output<string> {
    if (cfg.mode === "k3d") return nodes.apply(() => `http://127.0.0.1:${cfg.k3d!.ingressPort}`);
    return nodes.apply((ns) => `http://${serverAddress(ns)}`);
}

/** Where k3s runs its packaged Traefik (naming.ts). */
export const TRAEFIK = shared.traefik;
