// Reads a stack's effective configuration from the files, as the Pulumi CLI would hand it to the
// program: Pulumi.yaml project defaults merged with Pulumi.<stack>.yaml (or a given file).
// Used where no CLI runs: the offline plan, the prod fingerprint, tests.
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { didYouMean } from "./config/errors";
import { stackFileKeys, unknownTopLevelKeys } from "./config/schema";
import { ConfigSources, PROJECT_FILE, recordSources } from "./config/sources";
import { PROJECT } from "./config/types";

/** What a `secure:` value becomes where it cannot be decrypted. */
export const SECURE_PLACEHOLDER = "[secret]";

export class StackFileError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "StackFileError";
    }
}

function readYaml(file: string): Record<string, unknown> {
    let text: string;
    try {
        text = fs.readFileSync(file, "utf8");
    } catch (e) {
        throw new StackFileError(`cannot read ${file}: ${(e as Error).message}`);
    }
    try {
        return (YAML.parse(text) ?? {}) as Record<string, unknown>;
    } catch (e) {
        throw new StackFileError(`${file} is not valid YAML: ${(e as Error).message}`);
    }
}

function asConfigString(v: unknown): string {
    if (v && typeof v === "object" && !Array.isArray(v) && "secure" in (v as object) && Object.keys(v as object).length === 1) {
        return SECURE_PLACEHOLDER;
    }
    return typeof v === "string" ? v : JSON.stringify(v);
}

/** The full key of a project-level config key (`apps` -> `homelab:apps`; namespaced keys stay). */
function fullKey(key: string): string {
    return key.includes(":") ? key : `${PROJECT}:${key}`;
}

/** Project defaults from Pulumi.yaml (`config: {key: {value: ...}}`), full keys to strings. */
export function readProjectDefaults(projectDir: string): Record<string, string> {
    const project = readYaml(path.join(projectDir, "Pulumi.yaml"));
    const out: Record<string, string> = {};
    const config = (project.config ?? {}) as Record<string, unknown>;
    for (const [key, decl] of Object.entries(config)) {
        const d = decl as Record<string, unknown> | null;
        const value = d && typeof d === "object" && !Array.isArray(d) && ("value" in d || "default" in d)
            ? (d.value ?? d.default)
            : decl;
        if (value !== undefined) out[fullKey(key)] = asConfigString(value);
    }
    return out;
}

/** The stack file's `config:` map, full keys to strings. A top-level key Pulumi does not read is an error. */
export function readStackFile(file: string): Record<string, string> {
    const doc = readYaml(file);
    const unknown = unknownTopLevelKeys(doc);
    if (unknown.length > 0) {
        // A misspelt `config:` would otherwise leave the stack with no configuration at all. The keys
        // Pulumi reads: pulumi/pulumi sdk/go/common/workspace/project.go, struct ProjectStack
        // (secretsprovider, encryptedkey, encryptionsalt, config, environment): the schema's root.
        throw new StackFileError(`${file}: top-level key ${unknown.join(", ")} is not one Pulumi reads in a stack file ` +
            `(${stackFileKeys().join(", ")}); the keys under it are not read`);
    }
    const out: Record<string, string> = {};
    for (const [key, value] of Object.entries((doc.config ?? {}) as Record<string, unknown>)) {
        out[fullKey(key)] = asConfigString(value);
    }
    return out;
}

/** The stacks that have a stack file (Pulumi.<stack>.yaml) in the project folder. */
export function listStacks(projectDir: string): string[] {
    return fs.readdirSync(projectDir)
        .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
        .filter((s): s is string => !!s)
        .sort();
}

/** Pulumi.yaml defaults merged with Pulumi.<stack>.yaml, or with `stackFile` instead of it. */
export function readStackConfig(projectDir: string, stack: string, stackFile?: string): Record<string, string> {
    const file = stackFile ?? path.join(projectDir, `Pulumi.${stack}.yaml`);
    if (!fs.existsSync(file)) {
        const known = listStacks(projectDir);
        throw new StackFileError(`no stack file ${file} (stacks here: ${known.join(", ") || "none"})${didYouMean(stack, known)}`);
    }
    const defaults = readProjectDefaults(projectDir);
    const own = readStackFile(file);
    // Which file holds each key: a mistake is reported against it.
    const shownFile = path.dirname(path.resolve(file)) === path.resolve(projectDir) ? path.basename(file) : file;
    const sources: ConfigSources = {};
    for (const k of Object.keys(defaults)) sources[k] = PROJECT_FILE;
    for (const k of Object.keys(own)) sources[k] = shownFile;
    return recordSources({ ...defaults, ...own }, sources);
}
