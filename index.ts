// The program: read the stack's configuration, guard it, compose the layers. Nothing else.
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import * as random from "@pulumi/random";
import { loadConfig } from "./components/config";
import { Metal } from "./components/metal";
import { Platform } from "./components/platform";
import { Edge } from "./components/edge";
import { Backups } from "./components/edge/backups";
import { DataHostBackup, freshnessPolicy, sandboxTarget } from "./components/backup";
import { hasLonghorn } from "./components/platform/releases";
import { appInstances } from "./components/apps";
import { guardPlaceholders, guardProjectFiles, guardStack } from "./components/guard";
import { guardedMetal, guardedVaultAddress, liveIdentityGuard, requireProdIdentity } from "./components/guard/identity";
import { loadFingerprint, findProjectDir } from "./components/fingerprint";
import { offlineStackFile } from "./components/offline";
import { scrubLocalCommandEnvironment } from "./components/guard/local-env";
import { ArgoCdRepoCreds, GiteaBootstrap } from "./components/platform/gitea";
import { readSeedSource, seedPath } from "./components/platform/seed-source";
import { ingressUrl as traefikUrl } from "./components/platform/ingress";
import { appliedCommit as commitOf } from "./components/applied-commit";
import { Baseline, guardFactsSource, loadProdFacts } from "./components/baseline";
import { migrationOn } from "./components/migrations";

const cfg = loadConfig();
const projectDir = findProjectDir(__dirname);
// The project's files (Pulumi.yaml whole, runtime options, the stack file's environment imports, a
// committed LAB_I_MEAN_PROD) are guarded first: the escape hatch does not open this one.
guardProjectFiles(cfg.stack, projectDir, loadFingerprint(), offlineStackFile());
// Before anything is registered: a sandbox that names prod stops here (LAB_I_MEAN_PROD=true, per
// invocation only, turns the stop into these warnings).
for (const warning of guardStack(cfg.stack, pulumi.runtime.allConfig())) pulumi.log.warn(warning);
// Prod with a placeholder left stops here (the offline plan only warns).
for (const warning of guardPlaceholders(cfg)) pulumi.log.warn(warning);
// Prod's facts (facts/prod.json): what exists, as discovered; the seeds' stand-in stops a real run.
const facts = loadProdFacts(cfg, projectDir);
for (const warning of guardFactsSource(cfg, facts)) pulumi.log.warn(warning);
const baseline = facts && new Baseline(facts, cfg.stack);
// Every change to prod is a migration the operator switches on (sandboxes: all of them).
const on = (m: Parameters<typeof migrationOn>[1]) => migrationOn(cfg, m);

// A real run of a sandbox refuses while prod's identities are placeholders (nothing to compare
// with), before anything is registered.
const prodIdentity = cfg.isProd ? undefined : requireProdIdentity(cfg.stack, loadFingerprint().identity);

// A sandbox's local commands never inherit the operator's KUBECONFIG, VAULT_*, PG*, GOOGLE_*,
// CLOUDSDK_*, CLOUDFLARE_*, or a remote DOCKER_HOST/DOCKER_CONTEXT (components/guard/local-env.ts).
if (!cfg.isProd) scrubLocalCommandEnvironment();

// Default providers are disabled (Pulumi.yaml): commands and generated secrets go through these
// explicit ones, inherited by the components' children; the other providers are built inside the layers.
const commands = new command.Provider("command");
const randoms = new random.Provider("random");
const builtMetal = new Metal("metal", { config: cfg }, { providers: [commands] });
// Guard layer 3: a sandbox's providers get their credentials only once the cluster, Postgres and
// Vault they reach have shown an identity that is not prod's (Pulumi.prod.yaml homelab:identity).
const identityGuard = prodIdentity ? liveIdentityGuard(cfg.stack, prodIdentity) : undefined;
const metal = identityGuard ? guardedMetal(builtMetal, identityGuard) : builtMetal;
// Backups (on prod, with the backups migration: the HMAC key, its IAM binding, the job on pi2).
const backups = cfg.backup && on("backups") ? new Backups("backups", { config: cfg, backup: cfg.backup }) : undefined;
// Every stack backs up to a target of its own: prod's bucket, or the sandbox's own MinIO.
const dataBackup = on("backups") ? new DataHostBackup("data-backup", {
    config: cfg,
    dataHost: metal.dataHost,
    target: backups?.target ?? sandboxTarget(cfg, metal.dataHost),
}, { providers: [commands] }) : undefined;
const platform = new Platform("platform", {
    config: cfg, metal, backupTarget: dataBackup?.target, baseline,
    guardVault: identityGuard && ((address, token, ready) => guardedVaultAddress(identityGuard, address, token, ready)),
}, { providers: [commands, randoms] });
const edge = cfg.isProd ? new Edge("edge", { config: cfg }) : undefined;
appInstances(cfg, platform.backends, edge?.dns);

// Gitea: a sandbox's is bootstrapped and seeded from the operator's clones; prod's exists.
const gitea = cfg.isProd ? undefined : new GiteaBootstrap("gitea", {
    stack: cfg.stack,
    org: cfg.giteaOrg,
    apps: cfg.apps.map((a) => a.name),
    gitea: metal.gitea,
    seeds: cfg.apps.map((a) => readSeedSource(a.name, seedPath(cfg.seed, a.name, projectDir))),
}, { providers: [commands] });
if (platform.backends.argoCdReady) {
    new ArgoCdRepoCreds("argocd-repo-creds", {
        giteaClusterUrl: metal.gitea.clusterUrl,
        org: cfg.giteaOrg,
        username: gitea ? gitea.adminUser : cfg.repoCreds!.username,
        password: gitea ? gitea.token : cfg.repoCreds!.password,
    }, { provider: platform.kubernetesProvider, dependsOn: platform.backends.argoCdReady });
}

// What the operator needs after `up` (`pulumi stack output [--show-secrets]`).
export const kubeconfig = pulumi.secret(metal.kubeconfig);
export const nodes = metal.nodes;
export const vaultAddress = platform.vaultAddress;
/** A sandbox's own Vault; prod has none here: its token stays with the operator (VAULT_TOKEN). */
export const vaultRootToken = pulumi.secret(platform.vaultRootToken ?? "");
export const postgresEndpoint = pulumi.interpolate`${metal.postgres.host}:${metal.postgres.port}`;
export const postgresAdminUser = metal.postgres.adminUser;
export const postgresAdminPassword = pulumi.secret(metal.postgres.adminPassword);
export const giteaUrl = metal.gitea.url;
export const argoCdUrl = platform.argoCdUrl;
/** Where each kind is backed up, how often, and when its newest backup counts as stale; the live
 * age of the newest backup per kind: `npm run restore -- <stack> --list`. */
export const backupFreshness = freshnessPolicy(cfg, dataBackup?.target, hasLonghorn(cfg));
/** Traefik (k3s's packaged ingress), where public apps' routes answer. */
export const ingressUrl = traefikUrl(cfg, metal.nodes);
export const giteaOrg = cfg.giteaOrg;
/** A sandbox's Gitea admin (prod's stays with the operator). */
export const giteaAdminUser = gitea ? gitea.adminUser : "";
export const giteaAdminPassword = pulumi.secret(gitea ? gitea.adminPassword : "");
/** Apps whose sandbox repository stayed empty (no local clone). */
export const giteaUnseeded = gitea ? gitea.unseeded : [];
/** The git commit this program ran from (`-dirty`: uncommitted changes): what `npm run gate -- prod` compares. */
export const appliedCommit = commitOf(projectDir);
