// What the policies know besides the resource in front of them: the stack (from the urn), the
// project's configuration read from its files (the prod fingerprint, the app catalogue, the
// version manifest) and which app instance a resource belongs to. Read once, cached.
import * as fs from "fs";
import { LabConfig, parseCatalogue, parseConfig, PROD_STACK, Versions } from "../components/config";
import { findProjectDir, Fingerprint, loadFingerprint } from "../components/fingerprint";
import { readProjectDefaults, readStackConfig } from "../components/stack-config";
import { InstanceNames, instanceNames } from "../components/naming";
import { Migration, migrationOn } from "../components/migrations";

export const APP_INSTANCE_TYPE = "lab:apps:AppInstance";

let projectDirOverride: string | undefined;
/** A stack's raw configuration given by the caller (the offline plan's --config-file), instead of its file. */
let stackConfigOverride: { stack: string; raw: Record<string, string> } | undefined;

/** Evaluates with this raw configuration for `stack` (undefined: the stack files again). Clears the caches. */
export function useStackConfig(o: { stack: string; raw: Record<string, string> } | undefined): typeof stackConfigOverride {
    const previous = stackConfigOverride;
    stackConfigOverride = o;
    configCache.clear();
    catalogueCache.clear();
    return previous;
}

/** The project directory: where Pulumi.yaml is, above the pack (or the one set by useProjectDir). */
export function projectDir(): string {
    return projectDirOverride ?? findProjectDir(__dirname);
}

/**
 * Reads another project's files (tests, tools); undefined returns to the pack's own project.
 * Clears every cache.
 */
export function useProjectDir(dir: string | undefined): string | undefined {
    const previous = projectDirOverride;
    projectDirOverride = dir;
    manifestCache = undefined;
    configCache.clear();
    catalogueCache.clear();
    return previous;
}

/** The parts of `urn:pulumi:<stack>::<project>::<type chain>::<name>`, or undefined. */
export function parseUrn(urn: string): { stack: string; project: string; types: string[]; name: string } | undefined {
    const m = /^urn:pulumi:([^:]*)::([^:]*)::(.*?)::(.*)$/.exec(urn);
    if (!m) return undefined;
    return { stack: m[1], project: m[2], types: m[3].split("$"), name: m[4] };
}

export function stackOfUrn(urn: string): string | undefined {
    return parseUrn(urn)?.stack;
}

/** The same urn in another stack. */
export function restack(urn: string, stack: string): string {
    return urn.replace(/^urn:pulumi:[^:]*::/, `urn:pulumi:${stack}::`);
}

export function isProdStack(stack: string | undefined): boolean {
    return stack === PROD_STACK;
}

export function prodFingerprint(): Fingerprint {
    return loadFingerprint(projectDir());
}

/** The version manifest: the project's (Pulumi.yaml), the one every stack must install. */
let manifestCache: Versions | undefined;
export function manifest(): Versions {
    if (!manifestCache) manifestCache = parseCatalogue("(project defaults in Pulumi.yaml)", readProjectDefaults(projectDir())).versions;
    return manifestCache;
}

/** A stack's full configuration, when it has a stack file (undefined for a stack unknown here). */
const configCache = new Map<string, LabConfig | undefined>();
export function stackConfig(stack: string): LabConfig | undefined {
    if (!configCache.has(stack) && stackConfigOverride?.stack === stack) {
        configCache.set(stack, parseConfig(stack, stackConfigOverride.raw));
    }
    if (!configCache.has(stack)) {
        const dir = projectDir();
        const file = `${dir}/Pulumi.${stack}.yaml`;
        configCache.set(stack, fs.existsSync(file) ? parseConfig(stack, readStackConfig(dir, stack)) : undefined);
    }
    return configCache.get(stack);
}

/**
 * Whether a migration is on for a stack (components/migrations.ts): prod's `homelab:migrations`,
 * always on elsewhere. Before a migration, prod's adopted resources are what prod has, and the
 * policies that encode what the migration brings do not judge them.
 */
export function stackMigrationOn(stack: string | undefined, name: Migration): boolean {
    if (!isProdStack(stack)) return true;
    const cfg = stackConfig(stack!);
    return cfg ? migrationOn(cfg, name) : true;
}

export interface Catalogue {
    /** Every instance of the stack's catalogue: instance id -> its names. */
    instances: Map<string, InstanceNames>;
}

const catalogueCache = new Map<string, Catalogue>();

/** The app catalogue of a stack (its file's, or the project's for a stack without a file). */
export function catalogue(stack: string): Catalogue {
    let c = catalogueCache.get(stack);
    if (!c) {
        const cfg = stackConfig(stack);
        const apps = cfg ? cfg.apps : parseCatalogue(stack, readProjectDefaults(projectDir())).apps;
        const instances = new Map<string, InstanceNames>();
        for (const a of apps) for (const env of a.envs) {
            const n = instanceNames(a.name, env);
            instances.set(n.instance, n);
        }
        c = { instances };
        catalogueCache.set(stack, c);
    }
    return c;
}

export interface Ownership {
    /** The resource is a child (at any depth) of an AppInstance. */
    perApp: boolean;
    /** The AppInstance's name (its instance id), when known. */
    instanceName?: string;
    /** The instance's names from the catalogue, when the instance is one of the catalogue's. */
    names?: InstanceNames;
}

/**
 * Which instance a resource belongs to: the AppInstance that is its parent (from the parent's urn),
 * else, for a deeper child of an AppInstance, the longest catalogue instance id that its name starts
 * with, followed by "-" (`erp-sandbox-db-role` is erp-sandbox's, not erp's: whole segments only).
 */
export function ownership(urn: string, name: string, parent: string | undefined): Ownership {
    const u = parseUrn(urn);
    const types = u?.types ?? [];
    // The AppInstance itself is not "per app": it is the instance.
    const ancestors = types.slice(0, -1);
    if (!ancestors.includes(APP_INSTANCE_TYPE)) return { perApp: false };
    const cat = catalogue(u!.stack);
    const p = parent ? parseUrn(parent) : undefined;
    if (p && p.types[p.types.length - 1] === APP_INSTANCE_TYPE) {
        return { perApp: true, instanceName: p.name, names: cat.instances.get(p.name) };
    }
    let best: string | undefined;
    for (const id of cat.instances.keys()) {
        if ((name === id || name.startsWith(`${id}-`)) && (!best || id.length > best.length)) best = id;
    }
    return { perApp: true, instanceName: best, names: best ? cat.instances.get(best) : undefined };
}
