// Which stack may say what (schema: x-stacks, x-required, x-why, x-forbidden-why on each key): a
// prod-only key in a sandbox, a sandbox-only key in prod, a key prod needs and lacks. The schema
// describes one file and cannot know the stack's name; the rule is generic here, the facts there.
import { Reader } from "./reader";
import { keyInfo, knownKeys } from "./schema";
import { PROJECT } from "./types";

export function checkStackRules(r: Reader, isProd: boolean, values: Record<string, unknown>): void {
    for (const full of knownKeys()) {
        const info = keyInfo(full)!;
        const key = full.slice(PROJECT.length + 1);
        const present = values[key] !== undefined;
        if (!present && (info.required === true || (info.required === "prod" && isProd))) {
            r.fail(key, undefined, `a value (${info.why ?? "required"})`);
        }
        if (present && info.stacks && info.stacks !== (isProd ? "prod" : "sandbox")) {
            r.fail(key, values[key],
                `nothing (${info.forbiddenWhy ?? (info.stacks === "prod" ? "only prod sets it" : "only sandboxes set it")})`, info.secret);
        }
    }
}
