// The one typed, validated configuration loader. Everything the program reads from Pulumi config
// goes through parseConfig; a bad value fails here, before any resource is registered, naming the
// key, the value, what was expected and the file that holds the key.
//
// What a stack may say is components/config/homelab-config.schema.json (JSON Schema, validated with ajv); the
// files of this folder mirror its sections and hold only what a schema cannot say (cross-field and
// per-stack rules) and the typed result. To add a key: see README.md "Configuration".
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { readApps } from "./apps";
import { readBackupSchedule } from "./backup-schedule";
import { readHosts, readK3d, readSshMetal, readVms } from "./metal";
import { readBackup, readExisting, readGiteaOidc, readIdentity, readPostgresAdminPassword, readProdEdge, readRepoCreds } from "./prod";
import { Reader } from "./reader";
import { readSeed } from "./sandbox";
import { acceptsString, checkConfig, checkKey, configNode, keyInfo } from "./schema";
import { ConfigSources, PROJECT_FILE, recordSources, sourcesOf, stackFileName } from "./sources";
import { checkStackRules } from "./stacks";
import { AppSpec, LabConfig, Mode, PROD_STACK, PROJECT, Versions } from "./types";
import { readVersions } from "./versions";
import { MIGRATIONS, migrationProblems } from "../migrations";

export * from "./types";
export { ConfigError, isConfigError, PLACEHOLDER_MARK } from "./errors";
export { DEFAULT_CONNECTION_LIMIT, MAX_CONNECTION_LIMIT } from "./apps";
export { cronIntervalHours } from "./backup-schedule";
export { isOpenSshPublicKey } from "./metal";
export { RCLONE_MIN_VERSION, versionAtLeast } from "./versions";
export { SCHEMA_FILE, configSchema, keyInfo } from "./schema";
export { recordSources, sourcesOf, PROJECT_FILE, stackFileName };
export type { ConfigSources };

/** Raw config as Pulumi hands it over: full keys (`homelab:apps`) to strings (JSON for objects). */
export type RawConfig = Record<string, string>;

/** A raw string as Pulumi's config reader would take it: JSON objects/lists, booleans, integers. */
function parseValue(r: Reader, key: string, raw: string): unknown {
    const trimmed = raw.trim();
    if (/^[[{]/.test(trimmed)) {
        try {
            return JSON.parse(trimmed);
        } catch {
            r.fail(key, raw, "valid structured config (a YAML map or list)");
        }
    }
    if (trimmed === "true") return true;
    if (trimmed === "false") return false;
    if (/^-?\d+$/.test(trimmed)) return Number(trimmed);
    return raw;
}

/** The homelab: keys of a raw config, parsed (short keys), and the whole map as the schema sees it. */
function parsed(r: Reader, raw: RawConfig): { values: Record<string, unknown>; doc: Record<string, unknown> } {
    const values: Record<string, unknown> = {};
    const doc: Record<string, unknown> = {};
    for (const [fullKey, rawValue] of Object.entries(raw)) {
        if (!fullKey.startsWith(`${PROJECT}:`)) {
            // Providers' own namespaces: theirs (the schema checks only the namespace); parsed for messages.
            doc[fullKey] = /^\s*[[{]/.test(rawValue) ? (() => { try { return JSON.parse(rawValue); } catch { return rawValue; } })() : rawValue;
            continue;
        }
        const key = fullKey.slice(PROJECT.length + 1);
        const value = acceptsString(fullKey) ? rawValue : parseValue(r, key, rawValue);
        values[key] = value;
        doc[fullKey] = value;
    }
    return { values, doc };
}

function failOn(r: Reader, problem: ReturnType<typeof checkConfig>): void {
    if (problem) r.fail(problem.path, problem.value, problem.expected, problem.secret);
}

/**
 * The project-level part alone: the app catalogue and the version manifest, validated by the
 * same schema as parseConfig (for the policy pack, which needs them without a stack's mode).
 */
export function parseCatalogue(stack: string, raw: RawConfig, sources?: ConfigSources): { apps: AppSpec[]; versions: Versions } {
    const r = new Reader(stack, sources ?? sourcesOf(raw));
    const { values } = parsed(r, raw);
    const value = (key: string) => {
        const info = keyInfo(`${PROJECT}:${key}`)!;
        if (values[key] === undefined) r.fail(key, undefined, `a value (${info.why})`);
        failOn(r, checkKey(`${PROJECT}:${key}`, values[key]));
        return values[key];
    };
    return { apps: readApps(r, value("apps")), versions: readVersions(value("versions"), r) };
}

/**
 * Parses and validates raw Pulumi config (full keys) for one stack. Throws ConfigError.
 * `sources` says which file holds each key (readStackConfig records it; otherwise the key's usual file).
 */
export function parseConfig(stack: string, raw: RawConfig, sources?: ConfigSources): LabConfig {
    const r = new Reader(stack, sources ?? sourcesOf(raw));
    const { values, doc } = parsed(r, raw);
    failOn(r, checkConfig(doc));
    const isProd = stack === PROD_STACK;
    checkStackRules(r, isProd, values);

    const mode = values.mode as Mode;
    const apps = readApps(r, values.apps);
    const versions = readVersions(values.versions, r);
    const cfg: LabConfig = {
        project: PROJECT,
        stack,
        isProd,
        mode,
        apps,
        versions,
        giteaOrg: values.giteaOrg as string,
        backupSchedule: readBackupSchedule(r, values.backupSchedule),
        vmImage: (values.vmImage as string | undefined) ?? configNode().properties["homelab:vmImage"].default,
        sshUser: mode === "multipass" ? "ubuntu" : "root",
        sshPublicKeyFile: (values.sshPublicKeyFile as string | undefined) ?? configNode().properties["homelab:sshPublicKeyFile"].default,
        placeholders: r.placeholders,
        migrations: [...MIGRATIONS],
    };

    if (mode === "hosts") cfg.hosts = readHosts(r, values.hosts);
    else if (mode === "multipass") cfg.vms = readVms(r, values.vms);
    else cfg.k3d = readK3d(r, values.k3d);
    if (mode !== "k3d") readSshMetal(r, cfg, values);

    if (isProd) readProdEdge(r, cfg, values);
    else if (values.vaultAddress !== undefined) cfg.vaultAddress = values.vaultAddress as string;
    if (isProd) cfg.vaultAddress = values.vaultAddress as string;
    if (values.giteaOidc !== undefined) cfg.giteaOidc = readGiteaOidc(values.giteaOidc);
    if (values.existing !== undefined) cfg.existing = readExisting(r, values.existing, apps);
    if (values.postgresAdminPassword !== undefined) readPostgresAdminPassword(r, cfg, values.postgresAdminPassword);
    if (values.backup !== undefined) cfg.backup = readBackup(r, values.backup);
    if (isProd) {
        cfg.identity = readIdentity(r, values.identity);
        readRepoCreds(r, cfg, values);
    } else if (values.seed !== undefined) {
        cfg.seed = readSeed(r, values.seed, apps);
    }
    // Migrations (components/migrations.ts): prod lists those switched on (the schema refuses the
    // key in a sandbox's file, which runs every one).
    if (isProd) {
        const list = ((values.migrations as unknown[] | undefined) ?? []).map(String);
        const problems = migrationProblems(list);
        if (problems.length) r.fail("migrations", list, `a list of known migrations (${MIGRATIONS.join(", ")}), each once, with what it requires: ${problems.join("; ")} (docs/runbooks/migrations.md)`);
        cfg.migrations = list;
    }
    return cfg;
}

/**
 * Which file holds each key, as the Pulumi CLI read them: the stack file's keys, then Pulumi.yaml's.
 * Best effort (attribution only): a file that cannot be read attributes nothing.
 */
export function sourcesFromFiles(projectDir: string, stack: string): ConfigSources {
    // Required here, not at the top: stack-config.ts imports this folder.
    const { readProjectDefaults, readStackFile } = require("../stack-config") as typeof import("../stack-config");
    const out: ConfigSources = {};
    const add = (read: () => Record<string, string>, file: string) => {
        try {
            for (const k of Object.keys(read())) out[k] ??= file;
        } catch {
            // attribution only
        }
    };
    add(() => readStackFile(path.join(projectDir, stackFileName(stack))), stackFileName(stack));
    add(() => readProjectDefaults(projectDir), PROJECT_FILE);
    return out;
}

/** Reads the running stack's configuration through Pulumi and validates it. */
export function loadConfig(): LabConfig {
    const stack = pulumi.getStack();
    return parseConfig(stack, pulumi.runtime.allConfig(), sourcesFromFiles(path.resolve(__dirname, "..", ".."), stack));
}

