// Which file holds each key of a stack's effective configuration: Pulumi.yaml (project defaults)
// or the stack file (Pulumi.<stack>.yaml, or the file given instead of it). A mistake is reported
// against the file that actually holds the key.

/** Full key (`homelab:apps`) to the file that holds it, as shown to the operator. */
export type ConfigSources = Record<string, string>;

/** The project file's name. */
export const PROJECT_FILE = "Pulumi.yaml";

export function stackFileName(stack: string): string {
    return `Pulumi.${stack}.yaml`;
}

const recorded = new WeakMap<object, ConfigSources>();

/** Remembers where each key of a raw configuration came from (stack-config.ts calls it). */
export function recordSources<T extends object>(raw: T, sources: ConfigSources): T {
    recorded.set(raw, sources);
    return raw;
}

/** Where the keys of a raw configuration came from, if recorded. */
export function sourcesOf(raw: object): ConfigSources | undefined {
    return recorded.get(raw);
}
