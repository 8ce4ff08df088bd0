// Bringing a sandbox's own Vault up: dev mode with a generated root token (sandbox-k3d), or
// standalone with `vault operator init` and unseal automated, idempotently (sandbox-vms).
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";

export interface VaultBootstrapArgs {
    mode: "dev" | "standalone";
    /** Secret. */
    kubeconfig: pulumi.Input<string>;
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

export class VaultBootstrap extends pulumi.ComponentResource {
    /** Secret: the token the program configures Vault with. */
    readonly rootToken: pulumi.Output<string>;
    /** Vault answers and is unsealed once this resource is created. */
    readonly ready: pulumi.Resource;

    constructor(name: string, args: VaultBootstrapArgs, opts?: pulumi.ComponentResourceOptions) {
        super("lab:platform:VaultBootstrap", name, {}, opts);
        if (args.mode === "dev") {
            // stdout is the token: secret, and never logged.
            const token = new command.local.Command(`${name}-dev-token`, {
                create: script("vault-dev-token.sh"),
                interpreter: ["/bin/bash", "-c"],
                logging: "stderr",
            }, { parent: this, additionalSecretOutputs: ["stdout"] });
            this.rootToken = pulumi.secret(token.stdout);
            this.ready = args.install(this.rootToken);
        } else {
            const release = args.install();
            // stdout is {"rootToken", "unsealKey"}: secret, and never logged.
            const init = new command.local.Command(`${name}-init`, {
                create: script("vault-init.sh"),
                interpreter: ["/bin/bash", "-c"],
                environment: {
                    KUBECONFIG_DATA: args.kubeconfig,
                    VAULT_NAMESPACE: args.namespace,
                    VAULT_POD: `${args.releaseName}-0`,
                },
                logging: "stderr",
                // Unseal again after the release changes (a restarted pod comes back sealed).
                triggers: [release.urn],
            }, { parent: this, dependsOn: [release], additionalSecretOutputs: ["stdout"] });
            this.rootToken = pulumi.secret(init.stdout.apply((s) => (s ? (JSON.parse(s) as { rootToken: string }).rootToken : "")));
            this.ready = init;
        }
        this.registerOutputs({});
    }
}
