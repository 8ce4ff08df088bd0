// A stack's raw Pulumi config the way Pulumi hands it to the program (Pulumi.yaml defaults
// merged with Pulumi.<stack>.yaml), through the project's one reader.
import * as path from "path";
import { LabConfig, parseConfig, RawConfig } from "../components/config";
import { readStackConfig } from "../components/stack-config";

const ROOT = path.join(__dirname, "..");

export function rawConfig(stack: string): RawConfig {
    return readStackConfig(ROOT, stack);
}

export function stackConfig(stack: string): LabConfig {
    return parseConfig(stack, rawConfig(stack));
}
