// The CrossGuard policy pack of the home lab: `pulumi preview -s <stack> --policy-pack ./policy`.
// This module only builds the pack (which starts the analyzer server); the policies live in their
// own modules so that tests and the offline evaluator (evaluate.ts) import them without a server.
import { PolicyPack } from "@pulumi/policy";
import { buildPolicies, PACK_NAME } from "./policies";

new PolicyPack(PACK_NAME, { policies: buildPolicies() });
