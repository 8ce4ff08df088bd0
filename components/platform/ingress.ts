// The ingress every stack runs as prod does: k3s's packaged Traefik (pinned by the k3s version of
// the manifest; k3s deploys it from its bundled manifests unless `--disable=traefik`,
// docs.k3s.io/networking/networking-services), answering on ports 80/443 of every node through
// ServiceLB. sandbox-k3d publishes the cluster's
// port 80 on the laptop's loopback (homelab:k3d.ingressPort).
import * as pulumi from "@pulumi/pulumi";
import { LabConfig } from "../config";
import { NodeInfo } from "../metal/types";

/** Where the operator (and `npm run verify`) reaches Traefik. */
export function ingressUrl(cfg: LabConfig, nodes: pulumi.Output<NodeInfo[]>): pulumi.Output<string> {
    if (cfg.mode === "k3d") return nodes.apply(() => `http://127.0.0.1:${cfg.k3d!.ingressPort}`);
    return nodes.apply((ns) => `http://${(ns.find((n) => n.role === "server") ?? ns[0])?.address ?? "unknown-server"}`);
}

/** Where k3s runs its packaged Traefik (kube-system, Deployment traefik). */
export const TRAEFIK = { namespace: "kube-system", deployment: "traefik" } as const;
