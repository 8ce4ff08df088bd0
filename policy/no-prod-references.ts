// no-prod-references: in a non-prod stack, no input of any resource (provider resources included)
// reaches prod's fingerprint: an address alone, with a port, in a URL, a kubeconfig, a connection
// string, a JSON or YAML string, Helm values at any depth, a CIDR or range holding a prod address,
// a name in the prod zone, the prod bucket... (components/guard/scan.ts does the matching).
// Mandatory; advisory (reported, never dropped) when LAB_I_MEAN_PROD=true for this invocation.
// Not applicable on prod, which may name itself.
import { ResourceValidationPolicy } from "@pulumi/policy";
import { describeReference, escapeHatchSet, ESCAPE_HATCH, scanForProd } from "../components/guard";
import { isProdStack, prodFingerprint, stackOfUrn } from "./context";
import { get, isUnknownError } from "./runtime";

export const NAME = "no-prod-references";

export function makeNoProdReferences(env: NodeJS.ProcessEnv = process.env): ResourceValidationPolicy {
    const hatch = escapeHatchSet(env);
    return {
        name: NAME,
        description: "A non-prod stack must not reach prod: no input of any resource may name a prod host, address, "
            + "DNS name, bucket, Vault or Postgres endpoint (prod's fingerprint, read from Pulumi.prod.yaml).",
        enforcementLevel: hatch ? "advisory" : "mandatory",
        validateResource: (args, reportViolation) => {
            const stack = stackOfUrn(args.urn);
            if (isProdStack(stack)) args.notApplicable("prod may name itself");
            const fp = prodFingerprint();
            const seen = new Set<string>();
            for (const input of Object.keys(args.props).sort()) {
                const refs = scanForProd(get(args.props, input), fp, [{ key: input }], { isUnknown: isUnknownError });
                for (const r of refs) {
                    const line = describeReference(r);
                    if (seen.has(line)) continue;
                    seen.add(line);
                    reportViolation(
                        `${args.type} "${args.name}" input ${line}. `
                        + `Stack "${stack ?? "?"}" is not prod and must not reach it (prod declares this in ${r.item.source})`
                        + (hatch ? `; allowed for this run only because ${ESCAPE_HATCH}=true.` : "."),
                        args.urn,
                    );
                }
            }
        },
    };
}

/** The policy as the pack serves it: its enforcement follows this process's environment. */
export const noProdReferences = makeNoProdReferences();
