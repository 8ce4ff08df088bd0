// The schema engine: loads components/config/homelab-config.schema.json (the one source of what a stack may say),
// validates with ajv, and turns ajv's first relevant error into a problem worded for the operator
// (the key, the value, what was expected). Pure: no Pulumi, no files but the schema.
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import Ajv, { ErrorObject, ValidateFunction } from "ajv";
import standaloneCode from "ajv/dist/standalone";
import { didYouMean } from "./errors";
import { PROJECT } from "./types";

export const SCHEMA_FILE = path.join(__dirname, "homelab-config.schema.json");

/** A JSON Schema node. */
export type SchemaNode = Record<string, any>;

let schemaCache: SchemaNode | undefined;

/** The schema, parsed once. */
export function configSchema(): SchemaNode {
    if (!schemaCache) schemaCache = JSON.parse(fs.readFileSync(SCHEMA_FILE, "utf8")) as SchemaNode;
    return schemaCache;
}

/** The schema of the `config:` map (full keys). */
export function configNode(): SchemaNode {
    return configSchema().definitions.config;
}

/** What the schema says about one top-level key (`homelab:k3d`). */
export interface KeyInfo {
    key: string;
    node: SchemaNode;
    /** Where the key normally lives: the project defaults (Pulumi.yaml) or the stack file. */
    file: "project" | "stack";
    /** The only stacks that may set it (undefined: every stack). */
    stacks?: "prod" | "sandbox";
    /** Required in every merged configuration (true) or in prod's only. */
    required?: true | "prod";
    why?: string;
    forbiddenWhy?: string;
    secret: boolean;
}

export function keyInfo(fullKey: string): KeyInfo | undefined {
    const node = configNode().properties[fullKey] as SchemaNode | undefined;
    if (!node) return undefined;
    return {
        key: fullKey, node,
        file: node["x-file"] === "project" ? "project" : "stack",
        stacks: node["x-stacks"], required: node["x-required"], why: node["x-why"], forbiddenWhy: node["x-forbidden-why"],
        secret: node["x-secret"] === true,
    };
}

/** Every `homelab:` key the schema knows, in the schema's order. */
export function knownKeys(): string[] {
    return Object.keys(configNode().properties);
}

/** The providers' namespaces a stack may use beside homelab: (the schema's patternProperties). */
export function providerNamespaces(): string[] {
    const pattern = Object.keys(configNode().patternProperties)[0];
    return /^\^\(([^)]*)\)/.exec(pattern)![1].split("|");
}

/** The top-level keys Pulumi reads in a stack file (the schema's root properties). */
export function stackFileKeys(): string[] {
    return Object.keys(configSchema().properties);
}

const SIZE = /^([1-9]\d*)([KMG])$/;
const UNIT: Record<string, number> = { K: 1024, M: 1024 ** 2, G: 1024 ** 3 };

/** Bytes of a size such as 4G (the multipass form: K, M or G, powers of 1024). */
export function sizeBytes(s: string): number {
    const m = SIZE.exec(s);
    return m ? Number(m[1]) * UNIT[m[2]] : NaN;
}

/** What the VMs together ask of the laptop. */
export function laptopTotals(vms: unknown[]): { cpus: number; memory: number; disk: number } {
    const t = { cpus: 0, memory: 0, disk: 0 };
    for (const v of vms) {
        const o = (v ?? {}) as Record<string, unknown>;
        if (typeof o.cpus === "number") t.cpus += o.cpus;
        if (typeof o.memory === "string" && SIZE.test(o.memory)) t.memory += sizeBytes(o.memory);
        if (typeof o.disk === "string" && SIZE.test(o.disk)) t.disk += sizeBytes(o.disk);
    }
    return t;
}

// Annotations only: what they say is read by the messages, docs.ts and the section files
// (x-size, x-laptop: metal.ts), never by ajv, so that the validators compile to standalone code.
const ANNOTATIONS = ["x-expected", "x-why", "x-file", "x-stacks", "x-required", "x-secret", "x-forbidden-why", "x-size", "x-laptop"];
const ID = "homelab-config";
/** The validators compiled ahead of time (npm run config:docs), by name: loading them costs no compile. */
export const PRECOMPILED: Record<string, string> = {
    config: "/definitions/config",
    apps: "/definitions/config/properties/homelab:apps",
    versions: "/definitions/config/properties/homelab:versions",
};
export const PRECOMPILED_FILE = path.join(__dirname, "validators.generated.js");

let ajvCache: Ajv | undefined;

/** An ajv with the schema; `source` keeps the generated code (for standaloneCode). */
export function schemaAjv(source = false): Ajv {
    if (ajvCache && !source) return ajvCache;
    const a = new Ajv({ allErrors: true, verbose: true, strictTypes: false, logger: false, code: { source } });
    for (const k of ANNOTATIONS) a.addKeyword({ keyword: k });
    a.addSchema(configSchema(), ID);
    if (!source) ajvCache = a;
    return a;
}

/** The precompiled validators' module text (ajv standalone code). */
export function precompiledSource(): string {
    const a = schemaAjv(true);
    const refs = Object.fromEntries(Object.entries(PRECOMPILED).map(([name, pointer]) => [name, `${ID}#${pointer}`]));
    return `// Generated from homelab-config.schema.json by npm run config:docs (ajv standalone code): do not edit.\n` +
        `${standaloneCode(a, refs)}\nexports.schemaHash = ${JSON.stringify(schemaHash())};\n`;
}

/** The schema file's hash: precompiled validators of another schema are not used. */
function schemaHash(): string {
    return crypto.createHash("sha256").update(fs.readFileSync(SCHEMA_FILE)).digest("hex");
}

/** The precompiled validators, if they were compiled from the schema as it is now. */
function loadPrecompiled(): Record<string, ValidateFunction> {
    if (!fs.existsSync(PRECOMPILED_FILE)) return {};
    const mod = require(PRECOMPILED_FILE) as Record<string, ValidateFunction> & { schemaHash?: string };
    // Stale (the schema changed, npm run config:docs not run yet): compile at run time instead;
    // the test of generated files fails until it is run.
    return mod.schemaHash === schemaHash() ? mod : {};
}

const validators = new Map<string, ValidateFunction>();
let precompiled: Record<string, ValidateFunction> | undefined;

function validator(pointer: string): ValidateFunction {
    let v = validators.get(pointer);
    if (!v) {
        const name = Object.entries(PRECOMPILED).find(([, p]) => p === pointer)?.[0];
        if (name) {
            precompiled ??= loadPrecompiled();
            v = precompiled[name];
        }
        v ??= schemaAjv().getSchema(`${ID}#${pointer}`);
        if (!v) throw new Error(`components/config/homelab-config.schema.json has no ${pointer}`);
        validators.set(pointer, v);
    }
    return v;
}

/** A mistake found by the schema, worded for the operator. */
export interface Problem {
    /** `k3d.apiPort`, `hosts[0].address`, or a full key outside homelab: (`homelb:seed`). */
    path: string;
    value: unknown;
    expected: string;
    secret: boolean;
}

const escapePointer = (s: string) => s.replace(/~/g, "~0").replace(/\//g, "~1");
const unescapePointer = (s: string) => s.replace(/~1/g, "/").replace(/~0/g, "~");

function segmentsOf(instancePath: string): string[] {
    return instancePath === "" ? [] : instancePath.slice(1).split("/").map(unescapePointer);
}

/** `homelab:hosts`, `0`, `address` -> `hosts[0].address` (other namespaces keep their full key). */
export function displayPath(segs: string[]): string {
    let out = "";
    segs.forEach((s, i) => {
        if (i === 0) out = s.startsWith(`${PROJECT}:`) ? s.slice(PROJECT.length + 1) : s;
        else out += /^\d+$/.test(s) ? `[${s}]` : `.${s}`;
    });
    return out;
}

function resolve(node: SchemaNode | undefined): SchemaNode[] {
    const out: SchemaNode[] = [];
    let n = node;
    while (n && typeof n === "object") {
        out.push(n);
        for (const branch of (n.allOf ?? []) as SchemaNode[]) out.push(...resolve(branch));
        const ref = n.$ref as string | undefined;
        n = ref ? ref.slice(2).split("/").map(unescapePointer).reduce((o: SchemaNode, k) => o?.[k], configSchema()) : undefined;
    }
    return out;
}

/** The schema nodes (the node itself, then what it refers to) at a location of the config map. */
export function nodesAt(segs: string[]): SchemaNode[] {
    let nodes = resolve(configNode());
    for (const seg of segs) {
        let next: SchemaNode | undefined;
        for (const n of nodes) {
            next = n.properties?.[seg]
                ?? Object.entries((n.patternProperties ?? {}) as Record<string, SchemaNode>).find(([p]) => new RegExp(p, "u").test(seg))?.[1]
                ?? (/^\d+$/.test(seg) && n.items && typeof n.items === "object" ? n.items : undefined)
                ?? (n.additionalProperties && typeof n.additionalProperties === "object" ? n.additionalProperties : undefined);
            if (next) break;
        }
        nodes = resolve(next);
        if (nodes.length === 0) return [];
    }
    return nodes;
}

function annotated(segs: string[], name: string): any {
    return nodesAt(segs).find((n) => n[name] !== undefined)?.[name];
}

/** A size as the laptop bounds are written (whole G). */
export const fmtSize = (bytes: number) => `${Math.round(bytes / 1024 ** 3)}G`;

function defaultExpected(e: ErrorObject): string {
    const p = (e.parentSchema ?? {}) as SchemaNode;
    const range = () => `an integer from ${p.minimum ?? "-∞"} to ${p.maximum ?? "∞"}`;
    switch (e.keyword) {
        case "type":
            if (p.type === "integer") return p.minimum !== undefined || p.maximum !== undefined ? range() : "an integer";
            if (p.type === "boolean") return "true or false";
            if (p.type === "object") return p.properties ? `an object with keys ${Object.keys(p.properties).join(", ")}` : "a map";
            if (p.type === "array") return "a list";
            return "a string";
        case "minimum": case "maximum": return range();
        case "enum": return `one of ${(p.enum as unknown[]).join(", ")}`;
        case "const": return JSON.stringify(p.const);
        case "minItems": return `a list of at least ${p.minItems} item(s)`;
        case "minProperties": return `at least ${p.minProperties} entr${p.minProperties === 1 ? "y" : "ies"}`;
        case "minLength": return "a non-empty string";
        case "pattern": return `a string matching ${p.pattern}`;
        default: return e.message ?? e.keyword;
    }
}

function topKey(e: ErrorObject): string {
    const segs = segmentsOf(e.instancePath);
    return segs[0] ?? (e.params as any).missingProperty ?? (e.params as any).additionalProperty ?? "";
}

/** The problem of one ajv error; `base` is the config-map path the validated value sits at. */
function explain(e: ErrorObject, base: string[]): Problem {
    const segs = [...base, ...segmentsOf(e.instancePath)];
    const p = (e.parentSchema ?? {}) as SchemaNode;
    const at = (s: string[], value: unknown, expected: string): Problem =>
        ({ path: displayPath(s), value, expected, secret: !!keyInfo(s[0])?.secret });
    if (e.keyword === "additionalProperties") {
        const extra = (e.params as { additionalProperty: string }).additionalProperty;
        const value = (e.data as Record<string, unknown>)[extra];
        const known = Object.keys(p.properties ?? {});
        if (segs.length === 0) {
            const [ns, ...rest] = extra.split(":");
            const key = rest.join(":");
            if (ns !== PROJECT && rest.length > 0) {
                const namespaces = [PROJECT, ...providerNamespaces()];
                return at([extra], value, `a key of a namespace this program reads (${namespaces.join(", ")}): nothing reads "${ns}:"` +
                    didYouMean(ns, namespaces, (c) => `"${c}:${key}"`));
            }
            const homelabKeys = known.filter((k) => k.startsWith(`${PROJECT}:`));
            return at([extra], value, `no such key${didYouMean(extra, homelabKeys)}: known keys are ${homelabKeys.join(", ")}`);
        }
        return at([...segs, extra], value, `no such key${didYouMean(extra, known)} (known keys under ${PROJECT}:${displayPath(segs)}: ${known.join(", ")})`);
    }
    if (e.keyword === "required") {
        const missing = (e.params as { missingProperty: string }).missingProperty;
        const why = (p["x-why"] as Record<string, string> | undefined)?.[missing];
        const expected = why ? `a value (${why})` : annotated([...segs, missing], "x-expected") ?? "a value";
        return at([...segs, missing], undefined, expected);
    }
    if (e.keyword === "not") return at(segs, e.data, p["x-expected"] ?? "nothing");
    if (e.propertyName !== undefined) {
        return at([...segs, e.propertyName], e.propertyName, p["x-expected"] ?? defaultExpected(e));
    }
    return at(segs, e.data, annotated(segs, "x-expected") ?? p["x-expected"] ?? defaultExpected(e));
}

/** The one error worth telling: anyOf over its branches, unknown keys first, then the deepest of the first key. */
function pick(errors: ErrorObject[], order: string[]): ErrorObject | undefined {
    let errs = errors.filter((e) => e.keyword !== "if" && e.keyword !== "propertyNames");
    for (const a of errs.filter((e) => e.keyword === "anyOf")) {
        errs = errs.filter((e) => e === a || !(e.instancePath === a.instancePath || e.instancePath.startsWith(`${a.instancePath}/`)));
    }
    if (errs.length === 0) return undefined;
    const rank = (e: ErrorObject) => {
        if (e.keyword === "additionalProperties" && e.instancePath === "") return -1;
        const i = order.indexOf(topKey(e));
        return i < 0 ? order.length : i;
    };
    return [...errs].sort((a, b) => rank(a) - rank(b) || segmentsOf(b.instancePath).length - segmentsOf(a.instancePath).length)[0];
}

/** Validates the whole config map (full keys to parsed values); the first problem, if any. */
export function checkConfig(values: Record<string, unknown>): Problem | undefined {
    const v = validator("/definitions/config");
    if (v(values)) return undefined;
    const e = pick(v.errors ?? [], Object.keys(values));
    return e && explain(e, []);
}

/** Validates one top-level key's value alone (the project defaults without a stack). */
export function checkKey(fullKey: string, value: unknown): Problem | undefined {
    const v = validator(`/definitions/config/properties/${escapePointer(fullKey)}`);
    if (v(value)) return undefined;
    const e = pick(v.errors ?? [], [fullKey]);
    return e && explain(e, [fullKey]);
}

/** Validates a stack file as an editor would (the whole document); every error, as ajv words it. */
export function checkStackFileDocument(doc: unknown): ErrorObject[] {
    const v = validator("");
    return v(doc) ? [] : (v.errors ?? []);
}

/** The stack file's top-level keys that Pulumi does not read, with a suggestion each. */
export function unknownTopLevelKeys(doc: Record<string, unknown>): string[] {
    const known = stackFileKeys();
    return Object.keys(doc).filter((k) => !known.includes(k)).map((k) => `"${k}"${didYouMean(k, known)}`);
}

/** Whether a top-level key takes a string (its raw value is then never read as a number or boolean). */
export function acceptsString(fullKey: string): boolean {
    const nodes = nodesAt([fullKey]);
    return nodes.flatMap((n) => [n, ...((n.anyOf ?? []) as SchemaNode[]).flatMap(resolve)]).some((n) => n.type === "string");
}
