// The guard over the files a run reads besides its configuration, and over what could open the
// escape hatch without the operator's shell:
//   - Pulumi.yaml, whole (every stack reads it: chart repositories, image references, runtime
//     options, backend, plugins): a prod reference there fails every sandbox;
//   - Node.js runtime options that inject environment or code at start (Pulumi.yaml
//     runtime.options). The Node.js language host reads four options: typescript, tsconfig,
//     nodeargs, packagemanager (pulumi/pulumi v3.270.0 sdk/nodejs/cmd/pulumi-language-nodejs/
//     main.go, parseOptions); nodeargs is handed to node before the program. Refused: nodeargs
//     that load an environment file or a module, evaluate code or open an inspector, and a
//     tsconfig other than the project's tsconfig.json (ts-node reads "require" from it). A stack
//     file has no runtime options, but its `environment:` imports (Pulumi ESC) set environment
//     variables for the run: refused in a sandbox's stack file;
//   - a committed file that sets LAB_I_MEAN_PROD (see committedHatchSettings for what "sets" means).
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { ConfigError, PROD_STACK } from "../config";
import { Fingerprint } from "../fingerprint";
import { describeReference, isAddressKey, lastKey, PathSeg, scanForProd } from "./scan";

export const HATCH_NAME = "LAB_I_MEAN_PROD";

/** node options that load code or environment at start, or let another process inject code. */
const INJECTING_NODE_FLAGS = [
    "--env-file", "--env-file-if-exists", "-r", "--require", "--import", "--loader", "--experimental-loader",
    "-e", "--eval", "-p", "--print", "--inspect", "--inspect-brk", "--inspect-wait", "--inspect-port",
    "--experimental-policy", "--experimental-config-file", "--experimental-default-config-file", "--snapshot-blob",
];

function flagOf(arg: string): string {
    return arg.split("=")[0];
}

/** The runtime options of Pulumi.yaml that can inject environment or code; each a sentence. */
export function injectingRuntimeOptions(project: Record<string, unknown>): string[] {
    const runtime = project.runtime;
    if (!runtime || typeof runtime !== "object") return [];
    const options = ((runtime as Record<string, unknown>).options ?? {}) as Record<string, unknown>;
    const out: string[] = [];
    const nodeargs = options.nodeargs;
    if (nodeargs !== undefined) {
        const args = String(nodeargs).split(/\s+/).filter(Boolean);
        const bad = args.filter((a) => INJECTING_NODE_FLAGS.includes(flagOf(a)) || /^-[rep]./.test(a) || /^--inspect/.test(a));
        if (bad.length) out.push(`runtime.options.nodeargs ${JSON.stringify(String(nodeargs))} passes ${bad.join(", ")} to node (loads environment or code at start)`);
    }
    const tsconfig = options.tsconfig;
    if (tsconfig !== undefined && path.normalize(String(tsconfig)) !== "tsconfig.json") {
        out.push(`runtime.options.tsconfig ${JSON.stringify(String(tsconfig))} replaces the project's tsconfig.json (ts-node loads the modules its "require" names)`);
    }
    return out;
}

/**
 * Whether a line sets the escape hatch: an assignment (`LAB_I_MEAN_PROD=...`, `export`/`setenv`/
 * `ENV LAB_I_MEAN_PROD`), a mapping key (`LAB_I_MEAN_PROD: ...`, `"LAB_I_MEAN_PROD": ...`, an
 * `env:` entry), or a write to process.env. A comparison (`==`, `===`) or a mention is not.
 */
const SETS_HATCH = [
    new RegExp(String.raw`(?<![A-Za-z0-9_])${HATCH_NAME}["'\]]?\s*(?:=(?!=)|:(?!:))`),
    new RegExp(String.raw`\b(?:export|setenv|ENV|declare\s+-x)\s+${HATCH_NAME}\b`),
    new RegExp(String.raw`name:\s*["']?${HATCH_NAME}["']?\s*$`),
];

/** Committed files that are documentation or tests: they explain and exercise the hatch, they never run a stack. */
function explainsOnly(file: string): boolean {
    return /\.md$/i.test(file) || file.startsWith("test/") || file.startsWith("docs/");
}

function isComment(line: string): boolean {
    const t = line.trim();
    return t.startsWith("//") || t.startsWith("*") || t.startsWith("/*") || t.startsWith("#");
}

/** The files of the repository (git ls-files), or every file under `dir` outside node_modules and .git. */
export function committedFiles(dir: string): string[] {
    try {
        const out = execFileSync("git", ["ls-files", "-z"], { cwd: dir, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], timeout: 10_000 });
        const files = out.split("\0").filter(Boolean);
        if (files.length) return files;
    } catch {
        // not a git work tree: walk it
    }
    const files: string[] = [];
    const walk = (rel: string) => {
        for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
            if (e.name === "node_modules" || e.name === ".git") continue;
            const p = rel ? `${rel}/${e.name}` : e.name;
            if (e.isDirectory()) walk(p);
            else if (e.isFile()) files.push(p);
        }
    };
    walk("");
    return files;
}

/** `file:line: text` for every committed line (outside docs and tests) that sets the escape hatch. */
export function committedHatchSettings(dir: string, files: string[] = committedFiles(dir)): string[] {
    const out: string[] = [];
    for (const f of files) {
        if (explainsOnly(f)) continue;
        let text: string;
        try {
            const full = path.join(dir, f);
            if (fs.statSync(full).size > 4 * 1024 * 1024) continue;
            text = fs.readFileSync(full, "utf8");
        } catch {
            continue;
        }
        if (!text.includes(HATCH_NAME)) continue;
        text.split("\n").forEach((line, i) => {
            if (isComment(line)) return;
            if (SETS_HATCH.some((re) => re.test(line))) out.push(`${f}:${i + 1}: ${line.trim().slice(0, 160)}`);
        });
    }
    return out;
}

function readYaml(file: string): Record<string, unknown> {
    return (YAML.parse(fs.readFileSync(file, "utf8")) ?? {}) as Record<string, unknown>;
}

/** Address context in Pulumi.yaml: an address-like last key (config values: their key's rules). */
function projectAddressContext(segs: readonly PathSeg[]): boolean {
    const k = lastKey(segs);
    return k !== undefined && k !== "value" && isAddressKey(k);
}

/**
 * The guard over the project's files, for `stack`: throws a ConfigError naming the file, the key
 * and the value. The escape hatch does not open it: a committed file is not the operator's shell.
 * Prod names itself in its own files; the runtime options and committed hatch apply to prod too.
 */
export function guardProjectFiles(stack: string, dir: string, fp: Fingerprint, stackFile?: string): void {
    const problems: string[] = [];
    const project = readYaml(path.join(dir, "Pulumi.yaml"));
    for (const p of injectingRuntimeOptions(project)) problems.push(`Pulumi.yaml ${p}`);
    if (stack !== PROD_STACK && stack !== fp.stack) {
        for (const r of scanForProd(project, fp, [], { addressContext: projectAddressContext })) {
            problems.push(`Pulumi.yaml (shared by every stack) ${describeReference(r)} (prod declares it in ${r.item.source})`);
        }
        const file = stackFile ?? path.join(dir, `Pulumi.${stack}.yaml`);
        if (fs.existsSync(file)) {
            const doc = readYaml(file);
            if (doc.environment !== undefined) {
                problems.push(`${path.basename(file)} imports environments (environment: ${JSON.stringify(doc.environment)}), which set environment variables for the run`);
            }
            if (doc.runtime !== undefined) problems.push(`${path.basename(file)} sets runtime (only Pulumi.yaml has runtime options, and the guard checks them there)`);
        }
    }
    for (const line of committedHatchSettings(dir)) problems.push(`${line} sets ${HATCH_NAME} in a committed file`);
    if (problems.length === 0) return;
    throw new ConfigError(stack, "Pulumi.yaml",
        `the project's files would let stack "${stack}" reach prod or open the escape hatch without the operator:\n`
        + problems.map((p) => `  - ${p}`).join("\n")
        + `\nFix these files. ${HATCH_NAME}=true is honoured only in the environment of one invocation, from the operator's shell.`);
}
