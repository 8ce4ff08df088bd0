// Builds a stack's raw Pulumi config the way Pulumi hands it to the program: the project
// defaults of Pulumi.yaml (`config: <key>: value:`) merged with Pulumi.<stack>.yaml, full
// keys (homelab:<key>), objects JSON-stringified, secure values replaced by a placeholder.
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { LabConfig, parseConfig, PROJECT, RawConfig } from "../components/config";

const ROOT = path.join(__dirname, "..");

function str(v: unknown): string {
    if (v !== null && typeof v === "object") {
        if (!Array.isArray(v) && "secure" in (v as object)) return "placeholder-secret";
        return JSON.stringify(v);
    }
    return String(v);
}

export function rawConfig(stack: string): RawConfig {
    const project = YAML.parse(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8")) as { config?: Record<string, { value: unknown }> };
    const stackFile = YAML.parse(fs.readFileSync(path.join(ROOT, `Pulumi.${stack}.yaml`), "utf8")) as { config?: Record<string, unknown> };
    const raw: RawConfig = {};
    for (const [k, v] of Object.entries(project.config ?? {})) {
        raw[k.includes(":") ? k : `${PROJECT}:${k}`] = str(v.value);
    }
    for (const [k, v] of Object.entries(stackFile.config ?? {})) raw[k] = str(v);
    return raw;
}

export function stackConfig(stack: string): LabConfig {
    return parseConfig(stack, rawConfig(stack));
}
