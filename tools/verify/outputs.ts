// The stack outputs verify reads: from the Pulumi CLI (`pulumi stack output --json
// --show-secrets -s <stack>`) or from a file (the same JSON, or the offline plan's JSON, whose
// "outputs" member has the same names).
import { execFile } from "child_process";
import * as fs from "fs";
import { NodeInfo } from "../../components/metal/types";

export interface StackOutputs {
    kubeconfig: string;
    nodes: NodeInfo[];
    vaultAddress: string;
    vaultRootToken?: string;
    /** host:port */
    postgresEndpoint: string;
    postgresAdminUser: string;
    postgresAdminPassword: string;
    giteaUrl: string;
    giteaOrg?: string;
    giteaAdminUser?: string;
    giteaAdminPassword?: string;
    argoCdUrl?: string;
    /** Traefik, the ingress (k3s's packaged one). */
    ingressUrl?: string;
}

/** verify cannot run: exit 2, with why. */
export class CannotRun extends Error {
    constructor(message: string) {
        super(message);
        this.name = "CannotRun";
    }
}

const REQUIRED: (keyof StackOutputs)[] = ["kubeconfig", "nodes", "vaultAddress", "postgresEndpoint", "postgresAdminUser", "postgresAdminPassword", "giteaUrl"];

/** Validates parsed outputs (the plan's or the CLI's). */
export function parseOutputs(doc: unknown, from: string): StackOutputs {
    let o = doc as Record<string, unknown>;
    if (o && typeof o === "object" && "resources" in o && "outputs" in o) o = o.outputs as Record<string, unknown>;
    if (!o || typeof o !== "object") throw new CannotRun(`${from} holds no stack outputs (expected a JSON object)`);
    const missing = REQUIRED.filter((k) => o[k] === undefined || o[k] === "");
    if (missing.length) {
        throw new CannotRun(`${from} lacks the output(s) ${missing.join(", ")}: was the stack brought up (pulumi up) with this program?`);
    }
    for (const k of Object.keys(o)) {
        if (o[k] === "[secret]") throw new CannotRun(`${from}: output ${k} is hidden ("[secret]"); read the outputs with --show-secrets`);
    }
    if (!Array.isArray(o.nodes)) throw new CannotRun(`${from}: output nodes is not a list`);
    return o as unknown as StackOutputs;
}

export function readOutputsFile(file: string): StackOutputs {
    let text: string;
    try {
        text = fs.readFileSync(file, "utf8");
    } catch (e) {
        throw new CannotRun(`cannot read ${file}: ${(e as Error).message}`);
    }
    try {
        return parseOutputs(JSON.parse(text), file);
    } catch (e) {
        if (e instanceof CannotRun) throw e;
        throw new CannotRun(`${file} is not JSON: ${(e as Error).message}`);
    }
}

export const PULUMI_TIMEOUT_MS = 60_000;

/** Asks the Pulumi CLI (read-only). */
export function readOutputsFromPulumi(stack: string, cwd: string, pulumi = "pulumi"): Promise<StackOutputs> {
    return new Promise((resolve, reject) => {
        execFile(pulumi, ["stack", "output", "--json", "--show-secrets", "-s", stack], {
            cwd, timeout: PULUMI_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024,
        }, (err, stdout, stderr) => {
            if (err) {
                const why = (err as NodeJS.ErrnoException).code === "ENOENT"
                    ? "the pulumi CLI is not installed (or pass --outputs <file>)"
                    : (stderr || err.message).trim().split("\n").slice(-3).join(" ");
                reject(new CannotRun(`cannot read the outputs of stack ${stack}: ${why}`));
                return;
            }
            try {
                resolve(parseOutputs(JSON.parse(stdout), `pulumi stack output -s ${stack}`));
            } catch (e) {
                reject(e instanceof CannotRun ? e : new CannotRun(`pulumi stack output -s ${stack} printed no JSON`));
            }
        });
    });
}
