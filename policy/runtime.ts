// The parts of @pulumi/policy that its analyzer uses but its type declarations mark internal.
// They are exported at run time by the package's index.js; typed here once.
/* eslint-disable @typescript-eslint/no-var-requires */
const policy = require("@pulumi/policy") as {
    unknownCheckingProxy<T extends object>(o: T): T;
    UnknownValueError: new (...args: never[]) => Error;
    isResourcePolicy(p: unknown): boolean;
    isStackPolicy(p: unknown): boolean;
    getPulumiType(o: unknown): string | undefined;
};

export const unknownCheckingProxy = policy.unknownCheckingProxy;
export const UnknownValueError = policy.UnknownValueError;
export const isResourcePolicy = policy.isResourcePolicy;
export const isStackPolicy = policy.isStackPolicy;
export const getPulumiType = policy.getPulumiType;

/** Whether `e` is the error the proxy throws when reading a value unknown during preview. */
export function isUnknownError(e: unknown): boolean {
    return e instanceof UnknownValueError;
}

/** What `probe` answers for a value that cannot be known during preview. */
export const UNKNOWN: unique symbol = Symbol("unknown during preview");

/** Reads a nested property: undefined if absent, UNKNOWN if unknown during preview. */
export function probe(o: unknown, ...path: (string | number)[]): unknown {
    let v: unknown = o;
    for (const k of path) {
        if (v === null || typeof v !== "object") return undefined;
        try {
            v = (v as Record<string | number, unknown>)[k];
        } catch (e) {
            if (isUnknownError(e)) return UNKNOWN;
            throw e;
        }
    }
    return v;
}

/** Reads a nested property, undefined if absent or unknown during preview. */
export function get(o: unknown, ...path: (string | number)[]): unknown {
    const v = probe(o, ...path);
    return v === UNKNOWN ? undefined : v;
}

/** A string property, or undefined. */
export function getString(o: unknown, ...path: (string | number)[]): string | undefined {
    const v = get(o, ...path);
    return typeof v === "string" ? v : undefined;
}

/** A list of strings (non-strings dropped), or undefined if absent. */
export function getStrings(o: unknown, ...path: (string | number)[]): string[] | undefined {
    const v = get(o, ...path);
    if (!Array.isArray(v)) return undefined;
    const out: string[] = [];
    for (let i = 0; i < v.length; i++) {
        const x = get(v, i);
        if (typeof x === "string") out.push(x);
    }
    return out;
}

/** Every string leaf of a value with its path (`a.b[0]`), unknowns skipped. */
export function stringLeaves(v: unknown, root: string, depth = 0): { path: string; value: string }[] {
    if (typeof v === "string") return [{ path: root, value: v }];
    if (v === null || typeof v !== "object" || depth > 64) return [];
    const out: { path: string; value: string }[] = [];
    if (Array.isArray(v)) {
        for (let i = 0; i < v.length; i++) out.push(...stringLeaves(get(v, i), `${root}[${i}]`, depth + 1));
    } else {
        for (const k of Object.keys(v)) out.push(...stringLeaves(get(v, k), root ? `${root}.${k}` : k, depth + 1));
    }
    return out;
}
