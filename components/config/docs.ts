// What is generated from the schema (npm run config:docs; test/config-schema.test.ts fails when a
// generated file differs): the README's configuration table, the schema editors apply to
// Pulumi.yaml (project defaults: unprefixed keys, each under `value:`), and the loader's validators
// compiled ahead of time (ajv standalone code: no compile when a tool or the plan starts).
import * as fs from "fs";
import * as path from "path";
import { configNode, configSchema, precompiledSource, PRECOMPILED_FILE, providerNamespaces, SCHEMA_FILE, SchemaNode } from "./schema";
import { PROJECT } from "./types";

export const PROJECT_SCHEMA_FILE = path.join(path.dirname(SCHEMA_FILE), "project.schema.json");
export const TABLE_BEGIN = "<!-- config-table:begin (generated from components/config/homelab-config.schema.json by npm run config:docs) -->";
export const TABLE_END = "<!-- config-table:end -->";

function deref(n: SchemaNode): SchemaNode {
    let node = n;
    const seen: SchemaNode = { ...n };
    while (node.$ref) {
        node = (node.$ref as string).slice(2).split("/").reduce((o: SchemaNode, k) => o[k], configSchema());
        for (const [k, v] of Object.entries(node)) if (seen[k] === undefined) seen[k] = v;
    }
    delete seen.$ref;
    return seen;
}

const cell = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ").replace(/</g, "&lt;");

function valueOf(n0: SchemaNode): string {
    const n = deref(n0);
    if (n["x-secret"]) return "a secret (`secure:`)";
    if (n.enum) return `one of ${(n.enum as string[]).map((e) => `\`${e}\``).join(", ")}`;
    if (n.type === "array") {
        const items = deref(n.items ?? {});
        return items.properties ? `list of {${Object.keys(items.properties).join(", ")}}` : "list";
    }
    if (n.type === "object") {
        if (n.properties) return `{${Object.keys(n.properties).join(", ")}}`;
        return "map";
    }
    if (n.anyOf) return n["x-expected"] ?? "a string";
    if (n.type === "integer") return `integer ${n.minimum}–${n.maximum}`;
    return n["x-expected"] ?? n.type ?? "any";
}

function defaultsOf(n0: SchemaNode): string {
    const n = deref(n0);
    if (n.default !== undefined) return `\`${typeof n.default === "string" ? n.default : JSON.stringify(n.default)}\``;
    if (n.type === "object" && n.properties) {
        const ds = Object.entries(n.properties as Record<string, SchemaNode>)
            .map(([k, v]) => [k, deref(v).default] as const).filter(([, d]) => d !== undefined)
            .map(([k, d]) => `${k}=${typeof d === "string" ? d : JSON.stringify(d)}`);
        return ds.length ? ds.map((d) => `\`${d}\``).join(", ") : "";
    }
    return "";
}

/** Where a key is required or forbidden by mode (the schema's if/then). */
function byMode(key: string): string[] {
    const out: string[] = [];
    for (const rule of (configNode().allOf ?? []) as SchemaNode[]) {
        const mode = rule.if?.properties?.["homelab:mode"]?.const as string | undefined;
        if (!mode) continue;
        if ((rule.then.required ?? []).includes(key)) out.push(`required in ${mode} mode`);
        if (rule.then.properties?.[key]) out.push(`not in ${mode} mode`);
    }
    return out;
}

/** The README's configuration table (Markdown). */
export function renderTable(): string {
    const rows = ["| Key | File | Stacks | Value | Default | What it says |", "|---|---|---|---|---|---|"];
    const required = new Set<string>((configNode().required ?? []) as string[]);
    for (const [key, n] of Object.entries(configNode().properties as Record<string, SchemaNode>)) {
        const file = n["x-file"] === "project" ? "`Pulumi.yaml`" : "stack file";
        const stacks: string[] = [];
        if (n["x-stacks"] === "prod") stacks.push("prod only");
        else if (n["x-stacks"] === "sandbox") stacks.push("sandboxes only");
        else stacks.push("all");
        if (n["x-required"] === true || required.has(key)) stacks.push("required");
        if (n["x-required"] === "prod") stacks.push("required in prod");
        stacks.push(...byMode(key));
        let what = n.description ?? "";
        const laptop = n["x-laptop"] as { cpus: number; memory: string; disk: string } | undefined;
        if (laptop) what += ` In all at most ${laptop.cpus} CPUs, ${laptop.memory} memory, ${laptop.disk} disk.`;
        const items = n.items ? deref(n.items) : undefined;
        for (const [f, fn] of Object.entries((items?.properties ?? {}) as Record<string, SchemaNode>)) {
            const size = fn["x-size"] as { min: string; max: string } | undefined;
            if (size) what += ` Each ${f} ${size.min}–${size.max}.`;
        }
        rows.push(`| \`${key}\` | ${file} | ${cell(stacks.join("; "))} | ${cell(valueOf(n))} | ${cell(defaultsOf(n))} | ${cell(what)} |`);
    }
    return rows.join("\n");
}

/** README.md with its configuration table replaced by the generated one. */
export function readmeWithTable(readme: string): string {
    const a = readme.indexOf(TABLE_BEGIN);
    const b = readme.indexOf(TABLE_END);
    if (a < 0 || b < a) throw new Error(`README.md has no configuration table markers (${TABLE_BEGIN} ... ${TABLE_END})`);
    return `${readme.slice(0, a + TABLE_BEGIN.length)}\n${renderTable()}\n${readme.slice(b)}`;
}

/**
 * The schema of Pulumi.yaml as editors see it: Pulumi's own project keys are left alone; under
 * `config:` each homelab key is unprefixed and holds `value:` (or `default:`), the stack file's schema
 * of that key.
 */
export function projectSchema(): SchemaNode {
    const base = path.basename(SCHEMA_FILE);
    const props: Record<string, SchemaNode> = {};
    for (const key of Object.keys(configNode().properties)) {
        const ref = { $ref: `${base}#/definitions/config/properties/${key}` };
        props[key.slice(PROJECT.length + 1)] = {
            type: "object",
            properties: { value: ref, default: ref, description: { type: "string" }, type: { type: "string" }, secret: { type: "boolean" } },
            additionalProperties: false,
        };
    }
    return {
        $schema: "http://json-schema.org/draft-07/schema#",
        $comment: `Generated from ${base} by npm run config:docs: do not edit.`,
        title: "homelab project file (Pulumi.yaml)",
        type: "object",
        properties: {
            config: {
                type: "object",
                properties: props,
                patternProperties: { [`^(${providerNamespaces().join("|")}):.+$`]: {} },
                additionalProperties: false,
            },
        },
    };
}

export function projectSchemaText(): string {
    return `${JSON.stringify(projectSchema(), null, 2)}\n`;
}

/** Writes (or, with check, compares) the generated files; the names of those that differ. */
export function generate(projectDir: string, check: boolean): string[] {
    const outputs: [string, string][] = [
        [path.join(projectDir, "README.md"), readmeWithTable(fs.readFileSync(path.join(projectDir, "README.md"), "utf8"))],
        [PROJECT_SCHEMA_FILE, projectSchemaText()],
        [PRECOMPILED_FILE, precompiledSource()],
    ];
    const differ: string[] = [];
    for (const [file, text] of outputs) {
        const now = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
        if (now === text) continue;
        differ.push(path.relative(projectDir, file));
        if (!check) fs.writeFileSync(file, text);
    }
    return differ;
}
