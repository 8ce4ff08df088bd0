// The validating reader of the rules the schema cannot say: it knows the stack, where each key
// lives, and records placeholders.
import { ConfigError, PLACEHOLDER_MARK, shown } from "./errors";
import { keyInfo } from "./schema";
import { ConfigSources, PROJECT_FILE, stackFileName } from "./sources";
import { PROJECT } from "./types";

export class Reader {
    readonly placeholders: { key: string; value: string }[] = [];
    constructor(readonly stack: string, readonly sources: ConfigSources = {}) {}

    /** The file to fix for a key path (`k3d.apiPort`, `hosts[0].address`, or a full `ns:key`). */
    fileOf(path: string): string {
        const top = path.split(/[.[]/)[0];
        const full = top.includes(":") ? top : `${PROJECT}:${top}`;
        if (this.sources[full]) return this.sources[full];
        const info = keyInfo(full);
        return info?.file === "project" ? PROJECT_FILE : stackFileName(this.stack);
    }

    /** Throws the ConfigError for `path` (relative to homelab:, or a full `ns:key`). */
    fail(path: string, value: unknown, expected: string, secret = false): never {
        const full = path.split(/[.[]/)[0].includes(":") ? path : `${PROJECT}:${path}`;
        throw new ConfigError(this.stack, path,
            `key "${full}" is ${shown(value, secret)}; expected ${expected}. Fix it in ${this.fileOf(path)}.`);
    }

    /** Records `v` if it is an obvious placeholder; returns whether it is one. */
    placeholder(path: string, v: unknown): boolean {
        if (typeof v === "string" && v.toUpperCase().includes(PLACEHOLDER_MARK)) {
            this.placeholders.push({ key: `${PROJECT}:${path}`, value: v });
            return true;
        }
        return false;
    }

    unique(path: string, names: string[], what: string): void {
        const seen = new Set<string>();
        for (const n of names) {
            if (seen.has(n)) this.fail(path, n, `unique ${what}s (${JSON.stringify(n)} appears twice)`);
            seen.add(n);
        }
    }
}
