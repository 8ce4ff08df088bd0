// The offline plan's document: what `npm run plan -- <stack> --json` prints.

export interface PlanResource {
    urn: string;
    /** The Pulumi type token, e.g. kubernetes:core/v1:Namespace or lab:apps:AppInstance. */
    type: string;
    name: string;
    parent: string | null;
    /** The urn of the explicit provider resource, or null for the default provider / components. */
    provider: string | null;
    protect: boolean;
    /** Every resource this one depends on, as the engine sees it (explicit dependsOn and data flow). */
    dependsOn: string[];
    /** The id the resource is adopted with (Pulumi's `import` option), or null when it is created. */
    import: string | null;
    /** Whether deleting it from the program only drops it from the state (Pulumi's `retainOnDelete`). */
    retainOnDelete: boolean;
    /** Inputs as registered; secret values are replaced by "[secret]". */
    inputs: Record<string, unknown>;
    /** Resource options that matter for review. */
    deleteBeforeReplace?: boolean;
    additionalSecretOutputs?: string[];
    replaceOnChanges?: string[];
    /** Inputs whose changes the engine ignores (it keeps their old values). */
    ignoreChanges?: string[];
}

export type Enforcement = "mandatory" | "advisory";

export interface Violation {
    policy: string;
    enforcement: Enforcement;
    urn: string | null;
    message: string;
}

export interface PlanDocument {
    stack: string;
    project: string;
    resources: PlanResource[];
    /** The stack's outputs by name; secret ones print as "[secret]". */
    outputs: Record<string, unknown>;
    violations: Violation[];
}

export const SECRET_PLACEHOLDER = "[secret]";
