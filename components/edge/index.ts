// The edge layer (prod only): Cloudflare for the public apps' DNS records.
import * as pulumi from "@pulumi/pulumi";
import * as cloudflare from "@pulumi/cloudflare";
import { LabConfig } from "../config";
import { PublicDns } from "../apps/app-instance";

export interface EdgeArgs {
    config: LabConfig;
}

export class Edge extends pulumi.ComponentResource {
    readonly cloudflareProvider: cloudflare.Provider;
    /** What a prod instance of a public app needs for its DNS record. */
    readonly dns: PublicDns;

    constructor(name: string, args: EdgeArgs, opts?: pulumi.ComponentResourceOptions) {
        super("lab:edge:Edge", name, {}, opts);
        const cfg = args.config;
        if (!cfg.isProd || !cfg.zone || !cfg.cloudflareZoneId || !cfg.tunnelHostname) {
            throw new Error(`the edge is prod only (stack "${cfg.stack}")`);
        }
        // The API token comes from CLOUDFLARE_API_TOKEN, the provider's usual variable.
        this.cloudflareProvider = new cloudflare.Provider(`${name}-cloudflare`, {}, { parent: this });
        this.dns = {
            provider: this.cloudflareProvider,
            zone: cfg.zone,
            zoneId: cfg.cloudflareZoneId,
            target: cfg.tunnelHostname,
            existingRecordIds: cfg.existing?.dnsRecords ?? {},
        };
        this.registerOutputs({});
    }
}
