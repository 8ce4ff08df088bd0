// Prod's keys (schema: zone, internalZone, cloudflareZoneId, tunnelHostname, vaultAddress,
// vaultInCluster, backup, existing, postgresAdminPassword, identity, giteaRepoUser, giteaRepoToken,
// giteaOidc). Here: defaults, placeholders, and what spans several keys (adopted instances are
// apps of the catalogue, a public adopted app has its DNS record id, a password only for an
// existing data host, a 64-bit system identifier).
import * as pulumi from "@pulumi/pulumi";
import { instanceNames, PROD_ENV } from "../naming";
import { PLACEHOLDER_MARK } from "./errors";
import { Reader } from "./reader";
import { configNode } from "./schema";
import { AppSpec, BackupSpec, ChartKey, Existing, LabConfig, ProdIdentity, VaultInCluster, GiteaOidc } from "./types";

const defaultOf = (key: string, field: string): any => configNode().properties[`homelab:${key}`].properties[field].default;

/** The edge and Vault keys of prod. */
export function readProdEdge(r: Reader, cfg: LabConfig, values: Record<string, unknown>): void {
    cfg.zone = values.zone as string;
    r.placeholder("cloudflareZoneId", values.cloudflareZoneId);
    cfg.cloudflareZoneId = values.cloudflareZoneId as string;
    r.placeholder("tunnelHostname", values.tunnelHostname);
    cfg.tunnelHostname = values.tunnelHostname as string;
    if (values.internalZone !== undefined) cfg.internalZone = values.internalZone as string;
    if (values.vaultInCluster !== undefined) {
        const v = values.vaultInCluster as Partial<VaultInCluster>;
        cfg.vaultInCluster = { namespace: v.namespace!, service: v.service!, port: v.port ?? defaultOf("vaultInCluster", "port") };
    }
    if (cfg.mode !== "hosts") r.fail("mode", cfg.mode, "hosts (prod runs on the real machines)");
}

export function readGiteaOidc(v: unknown): GiteaOidc {
    const g = v as GiteaOidc;
    return { issuer: g.issuer, audience: g.audience, jwksUrl: g.jwksUrl };
}

export function readBackup(r: Reader, v: unknown): BackupSpec {
    const b = v as Partial<BackupSpec> & { bucket: string };
    if (b.project !== undefined) r.placeholder("backup.project", b.project);
    return {
        bucket: b.bucket,
        prefix: b.prefix ?? defaultOf("backup", "prefix"),
        existing: b.existing ?? defaultOf("backup", "existing"),
        project: b.project,
        location: b.location ?? defaultOf("backup", "location"),
    };
}

export function readExisting(r: Reader, v: unknown, apps: AppSpec[]): Existing {
    const o = v as { releases?: Record<string, string>; vault?: boolean; instances?: string[]; dnsRecords?: Record<string, string>; dataHost?: { composeProject: string } };
    const releases: Existing["releases"] = {};
    for (const [k, loc] of Object.entries(o.releases ?? {})) {
        const [namespace, name] = loc.split("/");
        releases[k as ChartKey] = { namespace, name };
    }
    const prodInstances = apps.filter((a) => a.envs.includes(PROD_ENV)).map((a) => instanceNames(a.name, PROD_ENV).instance);
    const instances = o.instances ?? [];
    instances.forEach((x, i) => {
        if (!prodInstances.includes(x)) r.fail(`existing.instances[${i}]`, x, `one of ${prodInstances.join(", ")}`);
    });
    r.unique("existing.instances", instances, "instance");
    const dnsRecords: Record<string, string> = {};
    const publicApps = apps.filter((a) => a.public).map((a) => a.name);
    for (const [app, id] of Object.entries(o.dnsRecords ?? {})) {
        const k = `existing.dnsRecords.${app}`;
        if (!publicApps.includes(app)) r.fail(k, app, `one of ${publicApps.join(", ")}`);
        r.placeholder(k, id);
        dnsRecords[app] = id;
    }
    for (const a of apps) {
        if (a.public && instances.includes(instanceNames(a.name, PROD_ENV).instance) && !(a.name in dnsRecords)) {
            r.fail(`existing.dnsRecords.${a.name}`, undefined, `the Cloudflare record id of ${a.name}'s existing DNS record (public app ${a.name} is listed in existing.instances)`);
        }
    }
    let dataHost: Existing["dataHost"];
    if (o.dataHost !== undefined) {
        r.placeholder("existing.dataHost.composeProject", o.dataHost.composeProject);
        dataHost = { composeProject: o.dataHost.composeProject };
    }
    return { releases, vault: o.vault ?? defaultOf("existing", "vault"), instances, dnsRecords, dataHost };
}

export function readPostgresAdminPassword(r: Reader, cfg: LabConfig, v: unknown): void {
    if (!cfg.existing?.dataHost) r.fail("postgresAdminPassword", v, "nothing unless homelab:existing.dataHost says the data host's Postgres exists (the program's own compose project makes its password)", true);
    cfg.postgresAdminPassword = pulumi.secret(v as string);
}

export function readIdentity(r: Reader, v: unknown): ProdIdentity {
    const id = v as ProdIdentity;
    if (BigInt(id.postgresSystemIdentifier) > 18446744073709551615n) r.fail("identity.postgresSystemIdentifier", id.postgresSystemIdentifier, "an unsigned 64-bit integer");
    return { kubeSystemUid: id.kubeSystemUid, vaultClusterId: id.vaultClusterId, postgresSystemIdentifier: id.postgresSystemIdentifier };
}

export function readRepoCreds(r: Reader, cfg: LabConfig, values: Record<string, unknown>): void {
    cfg.repoCreds = {
        username: values.giteaRepoUser as string,
        // A secret never written to the stack file by hand: until the operator sets it, it is a
        // placeholder that a real run of prod refuses (the offline plan only warns).
        password: pulumi.secret(values.giteaRepoToken !== undefined
            ? values.giteaRepoToken as string
            : (r.placeholders.push({ key: "homelab:giteaRepoToken", value: `${PLACEHOLDER_MARK}: not set; run pulumi config set --secret homelab:giteaRepoToken -s prod` }), "")),
    };
}
