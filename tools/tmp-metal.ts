import * as pulumi from "@pulumi/pulumi";
import { LabConfig } from "../components/config";
import { MetalOutputs, NodeInfo } from "../components/metal/types";
export class Metal extends pulumi.ComponentResource implements MetalOutputs {
    kubeconfig: pulumi.Output<string>; nodes: pulumi.Output<NodeInfo[]>; postgres: MetalOutputs["postgres"]; gitea: MetalOutputs["gitea"];
    constructor(name: string, args: { config: LabConfig }) {
        super("lab:metal:Metal", name, {});
        this.kubeconfig = pulumi.secret("kubeconfig");
        this.nodes = pulumi.output([]);
        const o = pulumi.output;
        this.postgres = { host: o("10.0.0.2"), port: o(5432), clusterHost: o("10.0.0.2"), clusterPort: o(5432), adminUser: o("postgres"), adminPassword: pulumi.secret("pw") };
        this.gitea = { url: o("http://10.0.0.2:3000"), clusterUrl: o("http://10.0.0.2:3000") };
        void args;
        this.registerOutputs({});
    }
}
