// The program: read the stack's configuration, guard it, compose the layers. Nothing else.
import * as pulumi from "@pulumi/pulumi";
import { loadConfig } from "./components/config";
import { Metal } from "./components/metal";
import { Platform } from "./components/platform";
import { Edge } from "./components/edge";
import { Backups } from "./components/edge/backups";
import { appInstances } from "./components/apps";

const cfg = loadConfig();

const metal = new Metal("metal", { config: cfg });
const backups = cfg.backup ? new Backups("backups", { config: cfg, backup: cfg.backup }) : undefined;
const platform = new Platform("platform", { config: cfg, metal, backupTarget: backups?.target });
const edge = cfg.isProd ? new Edge("edge", { config: cfg }) : undefined;
appInstances(cfg, platform.backends, edge?.dns);

export const kubeconfig = metal.kubeconfig;
export const nodes = metal.nodes;
export const postgresEndpoint = pulumi.interpolate`${metal.postgres.host}:${metal.postgres.port}`;
export const postgresAdminUser = metal.postgres.adminUser;
export const postgresAdminPassword = metal.postgres.adminPassword;
export const giteaUrl = metal.gitea.url;
