// The pack's policies, in one list: what index.ts serves and what evaluate.ts runs offline.
import { Policies } from "@pulumi/policy";
import { joinKeyNames } from "./join-key-names";
import { makeNoProdReferences } from "./no-prod-references";
import { prodStateProtected } from "./prod-state-protected";
import { siblingIsolation } from "./sibling-isolation";
import { versionParity } from "./version-parity";

export const PACK_NAME = "homelab";

/** The policies; `env` decides the escape hatch (LAB_I_MEAN_PROD=true makes no-prod-references advisory). */
export function buildPolicies(env: NodeJS.ProcessEnv = process.env): Policies {
    return [
        makeNoProdReferences(env),
        siblingIsolation,
        prodStateProtected,
        joinKeyNames,
        versionParity,
    ];
}
