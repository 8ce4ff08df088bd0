// A sandbox's Gitea brought to life, and Argo CD's access to the app repositories in every stack:
//   - GiteaBootstrap (sandboxes): the admin account (Gitea's CLI in its container), the
//     organisation, one repository per app and Argo CD's token (Gitea's REST API), then each
//     repository seeded from the operator's local clone (git push). Scripts in ./scripts, run
//     by command.local.Command (laptop) or command.remote.Command (the data host's Docker);
//     each is idempotent and undone by its delete on `pulumi destroy`.
//   - ArgoCdRepoCreds (every stack): a `repo-creds` Secret for the organisation's URL prefix
//     (argoproj/argo-cd v3.4.4 docs/operator-manual/declarative-setup.md, "Repository Credentials").
//
// Why scripts and not a dynamic provider: the admin must be made by Gitea's CLI inside its
// container, on the laptop or on the data host over SSH, which the command provider already
// does for the metal layer (same SSH agent, same logging rules); a dynamic provider would have
// to reimplement SSH and serialise its code into the state.
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { requireHostKey } from "../guard/ssh";
import * as k8s from "@pulumi/kubernetes";
import { GiteaEndpoint } from "../metal/types";
import { shellQuote } from "../metal/scripts";
import { DATA_HOST_DIR } from "../metal/render";
import { shared } from "../naming";
import { missingCloneWarning, SeedSource } from "./seed-source";

/** The sandbox Gitea's admin account, Argo CD's token and Secret: names from naming.ts. */
export const GITEA_ADMIN_USER = shared.giteaAdminUser;
export const ARGOCD_TOKEN_NAME = shared.argoCdTokenName;
export const REPO_CREDS_SECRET = shared.repoCredsSecret;
/** On the data host (sandbox-vms), where the admin password is kept (beside postgres.env). */
export const REMOTE_ADMIN_PASSWORD_FILE = `${DATA_HOST_DIR}/gitea-admin.password`;

const LOCAL_INTERPRETER = ["/usr/bin/env", "bash", "-c"];
export const GITEA_SCRIPTS = ["gitea-admin.sh", "gitea-bootstrap.sh", "gitea-seed.sh"] as const;
export type GiteaScript = (typeof GITEA_SCRIPTS)[number];

export function giteaScriptPath(name: GiteaScript): string {
    return path.join(__dirname, "scripts", name);
}

function script(name: GiteaScript): string {
    return fs.readFileSync(giteaScriptPath(name), "utf8");
}

/** `ACTION=delete` before the script: the same file undoes what it made. */
function deleting(text: string): string {
    return `ACTION=delete\n${text}`;
}

/** The remote form: `[sudo -n] env K='v'... bash -c '<script>' <name>` (no secrets in env: they go through stdin). */
function remoteCommand(name: GiteaScript, env: Record<string, pulumi.Input<string>>, sudo: boolean): pulumi.Output<string> {
    return pulumi.all(env).apply((values) => {
        const assignments = Object.keys(values).sort().map((k) => `${k}=${shellQuote(values[k])}`);
        return `${sudo ? "sudo -n " : ""}env ${assignments.join(" ")} bash -c ${shellQuote(script(name))} ${name}`;
    });
}

export interface GiteaBootstrapArgs {
    stack: string;
    org: string;
    /** One repository per app of the catalogue. */
    apps: string[];
    gitea: GiteaEndpoint;
    /** The local clones, read at program time. */
    seeds: SeedSource[];
}

export class GiteaBootstrap extends pulumi.ComponentResource {
    readonly adminUser: pulumi.Output<string>;
    /** Secret. */
    readonly adminPassword: pulumi.Output<string>;
    /** Secret: Argo CD's token (scope read:repository). */
    readonly token: pulumi.Output<string>;
    readonly admin: command.local.Command | command.remote.Command;
    readonly api: command.local.Command;
    readonly seeded: Record<string, command.local.Command> = {};
    /** Apps whose repository stays empty (no usable local clone). */
    readonly unseeded: string[] = [];

    constructor(name: string, args: GiteaBootstrapArgs, opts?: pulumi.ComponentResourceOptions) {
        super("lab:platform:GiteaBootstrap", name, {}, opts);
        const g = args.gitea;

        // 1. The admin, by Gitea's CLI where its container runs. The Gitea URL is an input so
        // that the command waits for the container (the URL resolves once it runs).
        const adminEnv: Record<string, pulumi.Input<string>> = {
            ADMIN_USER: GITEA_ADMIN_USER,
            GITEA_URL: g.url,
        };
        if (g.exec.container) adminEnv.GITEA_CONTAINER = g.exec.container;
        if (g.exec.volume) adminEnv.GITEA_VOLUME = g.exec.volume;
        if (g.exec.ssh) {
            const ssh = g.exec.ssh;
            const sudo = ssh.user !== "root";
            const env = { ...adminEnv, PASSWORD_FILE: REMOTE_ADMIN_PASSWORD_FILE };
            const create = remoteCommand("gitea-admin.sh", env, sudo);
            this.admin = new command.remote.Command(`${name}-admin`, {
                // The data host's pinned key: without one the command provider accepts any
                // (pulumi/pulumi-command v1.2.1 provider/pkg/provider/remote/connection.go).
                connection: { host: ssh.host, user: ssh.user, hostKey: requireHostKey(`${name}`, ssh.hostKey) },
                triggers: [ssh.host, GITEA_ADMIN_USER, g.exec.instance],
                create,
                update: create,
                delete: remoteCommand("gitea-admin.sh", { ...env, ACTION: "delete" }, sudo),
                logging: "stderr",
                addPreviousOutputInEnv: false,
            }, { parent: this, additionalSecretOutputs: ["stdout"] });
        } else {
            const text = script("gitea-admin.sh");
            this.admin = new command.local.Command(`${name}-admin`, {
                interpreter: LOCAL_INTERPRETER,
                create: text,
                update: text,
                delete: deleting(text),
                environment: { ...adminEnv, STACK: args.stack },
                triggers: [GITEA_ADMIN_USER, g.exec.container ?? "", g.exec.instance],
                logging: "stderr",
                addPreviousOutputInEnv: false,
            }, { parent: this, additionalSecretOutputs: ["stdout"], deleteBeforeReplace: true });
        }
        this.adminUser = pulumi.output(GITEA_ADMIN_USER);
        this.adminPassword = pulumi.secret(this.admin.stdout.apply((s) => (s ?? "").trim()));

        // 2. The organisation, the repositories and the token, through the REST API from the laptop.
        const password = pulumi.secret(this.adminPassword.apply((p) => `${p}\n`));
        const bootstrap = script("gitea-bootstrap.sh");
        const repos = [...args.apps].sort().join(" ");
        this.api = new command.local.Command(`${name}-api`, {
            interpreter: LOCAL_INTERPRETER,
            create: bootstrap,
            update: bootstrap,
            delete: deleting(bootstrap),
            environment: {
                STACK: args.stack,
                GITEA_URL: g.url,
                ADMIN_USER: GITEA_ADMIN_USER,
                ORG: args.org,
                REPOS: repos,
                TOKEN_NAME: ARGOCD_TOKEN_NAME,
            },
            stdin: password,
            // A Gitea made anew (its container or data stack replaced) is bootstrapped again.
            triggers: [args.org, repos, ARGOCD_TOKEN_NAME, g.exec.instance],
            logging: "stderr",
            addPreviousOutputInEnv: false,
        }, { parent: this, dependsOn: [this.admin], additionalSecretOutputs: ["stdout"], deleteBeforeReplace: true });
        this.token = pulumi.secret(this.api.stdout.apply((s) => (s ?? "").trim()));

        // 3. Seeding: one push per app with a clone; its triggers are the clone's state, so a new
        // commit or tag (after `git pull`) pushes again, and an unchanged clone changes nothing.
        const seedScript = script("gitea-seed.sh");
        for (const s of args.seeds) {
            if (s.problem || !s.path || !s.branch || !s.head) {
                this.unseeded.push(s.app);
                pulumi.log.warn(missingCloneWarning(args.stack, s), this);
                continue;
            }
            this.seeded[s.app] = new command.local.Command(`${name}-seed-${s.app}`, {
                interpreter: LOCAL_INTERPRETER,
                create: seedScript,
                environment: {
                    GITEA_URL: g.url,
                    ORG: args.org,
                    APP: s.app,
                    SOURCE: s.path,
                    BRANCH: s.branch,
                    ADMIN_USER: GITEA_ADMIN_USER,
                },
                stdin: password,
                triggers: [s.path, s.branch, s.head, s.tags ?? "", g.exec.instance],
                logging: "stdoutAndStderr",
                addPreviousOutputInEnv: false,
            }, { parent: this, dependsOn: [this.api] });
        }

        this.registerOutputs({ adminUser: this.adminUser, unseeded: this.unseeded });
    }
}

export interface ArgoCdRepoCredsArgs {
    /** Gitea as Argo CD reaches it from inside the cluster. */
    giteaClusterUrl: pulumi.Input<string>;
    org: string;
    username: pulumi.Input<string>;
    /** Secret: a Gitea access token (Gitea accepts it as the password of HTTP basic auth). */
    password: pulumi.Input<string>;
}

/** The repo-creds Secret's data: the documented keys (type, url, username, password). */
export function repoCredsData(giteaClusterUrl: string, org: string, username: string, password: string): Record<string, string> {
    return { type: "git", url: `${giteaClusterUrl.replace(/\/+$/, "")}/${org}`, username, password };
}

export class ArgoCdRepoCreds extends pulumi.ComponentResource {
    readonly secret: k8s.core.v1.Secret;

    constructor(name: string, args: ArgoCdRepoCredsArgs, opts?: pulumi.ComponentResourceOptions & { provider: k8s.Provider }) {
        super("lab:platform:ArgoCdRepoCreds", name, {}, opts);
        const data = pulumi.all([args.giteaClusterUrl, args.username, args.password]).apply(([u, user, pw]) =>
            repoCredsData(u, args.org, user, pw));
        this.secret = new k8s.core.v1.Secret(`${name}-secret`, {
            metadata: {
                name: REPO_CREDS_SECRET,
                namespace: shared.argoCdNamespace,
                labels: { "argocd.argoproj.io/secret-type": "repo-creds" },
            },
            type: "Opaque",
            stringData: pulumi.secret(data),
        }, { parent: this, provider: opts?.provider, dependsOn: opts?.dependsOn });
        this.registerOutputs({ name: REPO_CREDS_SECRET });
    }
}
