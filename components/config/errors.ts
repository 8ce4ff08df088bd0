// A configuration mistake, and how it is told: the key, the value, what was expected, and the
// file that actually holds the key.
import * as pulumi from "@pulumi/pulumi";

/** A configuration mistake: printed without a stack trace by Pulumi (RunError) and by the tools. */
export class ConfigError extends pulumi.RunError {
    readonly isConfigError = true;
    constructor(readonly stack: string, readonly key: string, message: string) {
        super(`configuration error in stack "${stack}": ${message}`);
        this.name = "ConfigError";
    }
}

export function isConfigError(e: unknown): e is ConfigError {
    return !!e && typeof e === "object" && (e as { isConfigError?: boolean }).isConfigError === true;
}

/** Marks a value the operator must still replace with the real one (a fact the seeds do not state). */
export const PLACEHOLDER_MARK = "REPLACE-ME";

/** How a value is shown in a message (secrets never). */
export function shown(value: unknown, secret = false): string {
    if (value === undefined) return "nothing";
    if (secret) return "[secret]";
    return JSON.stringify(value);
}

/** Levenshtein distance, for "did you mean". */
export function distance(a: string, b: string): number {
    const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
    for (let j = 1; j <= b.length; j++) d[0][j] = j;
    for (let i = 1; i <= a.length; i++) {
        for (let j = 1; j <= b.length; j++) {
            d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
        }
    }
    return d[a.length][b.length];
}

/** The candidates closest to `word` (case-insensitive), if any is close enough to be a typo. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
    const w = word.toLowerCase();
    let best: string | undefined;
    let bestD = Infinity;
    for (const c of candidates) {
        const d = distance(w, c.toLowerCase());
        if (d < bestD) {
            best = c;
            bestD = d;
        }
    }
    const limit = Math.max(1, Math.min(3, Math.floor(w.length / 3)));
    return best !== undefined && bestD <= limit ? best : undefined;
}

/** `; did you mean "x"?` or nothing. */
export function didYouMean(word: string, candidates: readonly string[], render: (c: string) => string = (c) => `"${c}"`): string {
    const c = closest(word, candidates);
    return c === undefined ? "" : ` (did you mean ${render(c)}?)`;
}
