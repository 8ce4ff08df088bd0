// prod-state-protected: on prod, the resources that hold state are `protect`ed, so that no
// refactoring, rename or accidental replacement can delete them: the PostgreSQL databases and their
// owner roles, the backup bucket, the Vault mounts, and the Helm releases that keep state (Longhorn,
// Vault: the charts named by the version manifest's longhorn and vault entries). Mandatory on prod;
// not applicable elsewhere (sandboxes are disposable by design).
import { ResourceValidationPolicy } from "@pulumi/policy";
import { catalogue, isProdStack, manifest, ownership, stackOfUrn } from "./context";
import { getString } from "./runtime";

export const NAME = "prod-state-protected";

export const HELM_RELEASE_TYPE = "kubernetes:helm.sh/v3:Release";

/** The chart's own name: `longhorn`, `longhorn/longhorn`, `oci://host/charts/vault` -> the last segment. */
export function chartName(chart: string): string {
    return chart.replace(/\/+$/, "").split("/").pop()!.replace(/:.*$/, "");
}

/** Why a resource of prod holds state, or undefined if it does not. */
function statefulBecause(type: string, urn: string, name: string, parent: string | undefined, props: Record<string, unknown>): string | undefined {
    switch (type) {
        case "postgresql:index/database:Database":
            return "a PostgreSQL database";
        case "postgresql:index/role:Role": {
            const roleName = getString(props, "name");
            const stack = stackOfUrn(urn) ?? "";
            const owners = new Set([...catalogue(stack).instances.values()].map((n) => n.ownerRole));
            if ((roleName && owners.has(roleName)) || ownership(urn, name, parent).perApp) return "the owner role of a PostgreSQL database";
            return undefined;
        }
        case "gcp:storage/bucket:Bucket":
            return "the backup bucket";
        case "vault:index/mount:Mount":
            return "a Vault secrets engine mount";
        case HELM_RELEASE_TYPE: {
            const v = manifest();
            const stateful = new Set([v.charts.longhorn.chart, v.charts.vault.chart]);
            const chart = getString(props, "chart");
            if (chart && stateful.has(chartName(chart))) return `a Helm release of ${chartName(chart)} (it holds state)`;
            return undefined;
        }
        default:
            return undefined;
    }
}

export const prodStateProtected: ResourceValidationPolicy = {
    name: NAME,
    description: "On prod, databases, owner roles, the backup bucket, Vault mounts and the Helm releases holding state "
        + "(Longhorn, Vault) must be protected (protect: true).",
    enforcementLevel: "mandatory",
    validateResource: (args, reportViolation) => {
        if (!isProdStack(stackOfUrn(args.urn))) args.notApplicable("only prod's state is irreplaceable");
        const why = statefulBecause(args.type, args.urn, args.name, args.opts.parent, args.props);
        if (why && !args.opts.protect) {
            reportViolation(`${args.type} "${args.name}" is ${why} of prod and must have protect: true `
                + "(pass { protect: true } in its resource options; removing protection is a deliberate, reviewed change).", args.urn);
        }
    },
};
