// Bringing a sandbox's own Vault up: dev mode with a generated root token (sandbox-k3d), or
// standalone with `vault operator init` and unseal automated, idempotently (sandbox-vms); then
// waiting until it answers at the address the Vault provider uses.
//
// On every preview and update a read-only probe (vault-status.sh, an invoke) asks Vault's health;
// its one line feeds the `triggers` of the bring-up commands: "ready" while Vault answers
// unsealed (the line stays the same: nothing runs), a line that never repeats otherwise (the
// commands run again: a VM reboot or a pod restart leaves Vault sealed, and the next `up`
// unseals it). Under mocks the probe answers what the mocks say: the offline plan stays
// deterministic.
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";

export interface VaultBootstrapArgs {
    mode: "dev" | "standalone";
    /** Secret. */
    kubeconfig: pulumi.Input<string>;
    /** Vault's address as the Vault provider (on the laptop) reaches it. */
    address: pulumi.Input<string>;
    namespace: string;
    releaseName: string;
    /** Installs the Vault release; gets the dev root token in dev mode. */
    install: (devRootToken?: pulumi.Output<string>) => pulumi.Resource;
}

export function scriptPath(file: string): string {
    return path.join(__dirname, "scripts", file);
}

function script(file: string): string {
    return fs.readFileSync(scriptPath(file), "utf8");
}

/** Laptop-side scripts run under the Mac's own bash (3.2), named explicitly. */
const INTERPRETER = ["/bin/bash", "-c"];

/**
 * The dev root token's format. vault-dev-token.sh runs once, when its resource is created
 * (`ignoreChanges: ["create"]`): editing the script does not rotate the token under a running
 * Vault. Bump this when the format itself must change: a new trigger replaces the token (and the
 * dev Vault restarts with it). Format 2: no '.', no 'hvs.' (format 1, `hvs.dev-<hex>`, is
 * rejected by Vault's token store and kept the dev server from starting).
 */
export const DEV_TOKEN_FORMAT = "dev-root-token-format-2";

export class VaultBootstrap extends pulumi.ComponentResource {
    /** Secret: the token the program configures Vault with. */
    readonly rootToken: pulumi.Output<string>;
    /** Vault answers at `address`, initialized and unsealed, once this resource is up to date. */
    readonly ready: pulumi.Resource;
    /** The probe's line: "ready", or "bring-up <state> <nonce>". */
    readonly status: pulumi.Output<string>;

    constructor(name: string, args: VaultBootstrapArgs, opts?: pulumi.ComponentResourceOptions) {
        super("lab:platform:VaultBootstrap", name, {}, opts);
        let release: pulumi.Resource;
        let bringUp: pulumi.Resource;
        const probe = (dependsOn: pulumi.Resource) => command.local.runOutput({
            command: script("vault-status.sh"),
            interpreter: INTERPRETER,
            environment: pulumi.output(args.address).apply((a) => ({ VAULT_ADDR: a })),
            addPreviousOutputInEnv: false,
            logging: "stderr",
        }, { parent: this, dependsOn: [dependsOn] }).stdout.apply((s) => (s ?? "").trim());

        if (args.mode === "dev") {
            // stdout is the token: secret, and never logged.
            const token = new command.local.Command(`${name}-dev-token`, {
                create: script("vault-dev-token.sh"),
                interpreter: INTERPRETER,
                logging: "stderr",
                addPreviousOutputInEnv: false,
                triggers: [DEV_TOKEN_FORMAT],
            }, { parent: this, additionalSecretOutputs: ["stdout"], ignoreChanges: ["create"] });
            this.rootToken = pulumi.secret(token.stdout);
            release = args.install(this.rootToken);
            this.status = probe(release);
            bringUp = release;
        } else {
            release = args.install();
            this.status = probe(release);
            // stdout is {"rootToken", "unsealKey"}: secret, and never logged.
            const init = new command.local.Command(`${name}-init`, {
                create: script("vault-init.sh"),
                interpreter: INTERPRETER,
                environment: {
                    KUBECONFIG_DATA: args.kubeconfig,
                    VAULT_NAMESPACE: args.namespace,
                    VAULT_POD: `${args.releaseName}-0`,
                },
                logging: "stderr",
                // The previous {rootToken, unsealKey} must not reach the script's environment.
                addPreviousOutputInEnv: false,
                // Runs again on every `up` where Vault is not ready (sealed after a restart).
                triggers: [this.status],
            }, { parent: this, dependsOn: [release], additionalSecretOutputs: ["stdout"] });
            this.rootToken = pulumi.secret(init.stdout.apply((s) => (s ? (JSON.parse(s) as { rootToken: string }).rootToken : "")));
            bringUp = init;
        }

        // Nothing uses Vault before it answers where the provider reaches it.
        this.ready = new command.local.Command(`${name}-wait`, {
            create: script("vault-wait.sh"),
            interpreter: INTERPRETER,
            environment: {
                VAULT_ADDR: args.address,
                VAULT_NAMESPACE: args.namespace,
                VAULT_POD: `${args.releaseName}-0`,
            },
            logging: "stderr",
            addPreviousOutputInEnv: false,
            triggers: [this.status],
        }, { parent: this, dependsOn: [bringUp] });
        this.registerOutputs({});
    }
}
