// The operator's documentation lives in the repository: every link of the README and docs/ points
// at a file of the repository (nothing outside it), the architecture page has its diagram, and
// each runbook the issue asks for is there. Node.js: engines and .nvmrc agree on 22.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { ROOT, STACKS } from "./helpers/plan";
import { parseConfig } from "../components/config";
import { readStackConfig } from "../components/stack-config";
import { COMPOSE_DEFAULTS, DATA_COMPOSE_PROJECT } from "../components/metal/render";
import { CHART_KEYS } from "../components/config";
import { releaseLocation } from "../components/platform/releases";
import { instanceNames, shared } from "../components/naming";
import { K3D_GITEA_PORT, K3D_MINIO_PORT, K3D_POSTGRES_PORT } from "../components/metal/k3d";
import { ARGOCD_NODE_PORT, VAULT_NODE_PORT } from "../components/metal/types";
import { TEST_VOLUME } from "../tools/drill/lab";

function docs(): string[] {
    const out = [path.join(ROOT, "README.md")];
    const walk = (d: string) => {
        for (const f of fs.readdirSync(d)) {
            const p = path.join(d, f);
            if (fs.statSync(p).isDirectory()) walk(p);
            else if (p.endsWith(".md")) out.push(p);
        }
    };
    walk(path.join(ROOT, "docs"));
    return out;
}

describe("documentation in the repository", () => {
    it("every Markdown link of README.md and docs/ resolves to a file inside the repository", () => {
        for (const file of docs()) {
            const text = fs.readFileSync(file, "utf8");
            for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
                const target = m[1].split("#")[0];
                assert.doesNotMatch(m[1], /^[a-z]+:/i, `${path.relative(ROOT, file)} links outside the repository: ${m[1]}`);
                if (!target) continue;
                const resolved = path.resolve(path.dirname(file), target);
                assert.ok(resolved.startsWith(ROOT + path.sep), `${path.relative(ROOT, file)}: ${m[1]} leaves the repository`);
                assert.ok(fs.existsSync(resolved), `${path.relative(ROOT, file)}: ${m[1]} does not exist`);
            }
            assert.doesNotMatch(text, /\.\.\/shared\//, `${path.relative(ROOT, file)} refers to a folder outside the repository`);
        }
    });

    it("docs/architecture.md has a Mermaid diagram and names the layers, the join key, the stacks and the guard's three layers", () => {
        const text = fs.readFileSync(path.join(ROOT, "docs", "architecture.md"), "utf8");
        assert.match(text, /```mermaid\n(flowchart|graph) /);
        for (const s of ["## Layers", "## The join key", "## The stacks", "## The guard's three layers", "Live identity"]) assert.ok(text.includes(s), s);
    });

    it("the runbooks: bring up and verify, seed, reach the services, add an app, add a sibling env, tear down, the drills and the cold start", () => {
        for (const f of ["bring-up-and-verify", "seed-a-sandbox", "reach-services", "add-an-app", "add-a-sibling-env", "tear-down",
            "drills", "drill-node-kill", "drill-vault-seal", "drill-db-restore", "drill-volume-restore", "cold-start"]) {
            assert.ok(fs.existsSync(path.join(ROOT, "docs", "runbooks", `${f}.md`)), f);
        }
    });

    it("Node.js 22: package.json engines, .nvmrc and @types/node agree", () => {
        const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));
        assert.equal(pkg.engines.node, ">=22");
        assert.equal(fs.readFileSync(path.join(ROOT, ".nvmrc"), "utf8").trim(), "22");
        assert.match(pkg.dependencies["@types/node"], /^22\./);
    });

    it("the runbooks name only organisations, namespaces, stacks, compose projects, ports and npm scripts the configuration and package.json have", () => {
        const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));
        const scripts = new Set(Object.keys(pkg.scripts));
        const org = parseConfig("prod", readStackConfig(ROOT, "prod")).giteaOrg;
        const stacks = new Set(STACKS as readonly string[]);
        const composeProjects = new Set([DATA_COMPOSE_PROJECT]);
        // every namespace a stack configures: the program's, prod's adopted releases', the instances', k3s's
        const cfgs = STACKS.map((st) => parseConfig(st, readStackConfig(ROOT, st)));
        const namespaces = new Set<string>(["kube-system", TEST_VOLUME.namespace, shared.argoCdNamespace, shared.vaultNamespace, shared.vsoNamespace, shared.longhornNamespace]);
        for (const c of cfgs) {
            for (const k of CHART_KEYS) namespaces.add(releaseLocation(c, k).namespace);
            if (c.vaultInCluster) namespaces.add(c.vaultInCluster.namespace);
            for (const a of c.apps) for (const e of a.envs) namespaces.add(instanceNames(a.name, e).namespace);
        }
        // every port a stack configures: k3d's published ports, the data host's services, the NodePorts
        const ports = new Set<number>([K3D_POSTGRES_PORT, K3D_GITEA_PORT, K3D_MINIO_PORT, VAULT_NODE_PORT, ARGOCD_NODE_PORT, ...Object.values(COMPOSE_DEFAULTS)]);
        for (const c of cfgs) if (c.k3d) for (const p of [c.k3d.apiPort, c.k3d.vaultPort, c.k3d.argoCdPort, c.k3d.ingressPort]) ports.add(p);
        const problems: string[] = [];
        for (const file of docs()) {
            const rel = path.relative(ROOT, file);
            const text = fs.readFileSync(file, "utf8");
            for (const m of text.matchAll(/npm run (-s )?([a-z][a-z0-9:-]*)/g)) if (!scripts.has(m[2])) problems.push(`${rel}: npm run ${m[2]} (package.json has no such script)`);
            for (const m of text.matchAll(/npm run -?s? ?[a-z0-9:-]+ -- ([a-z][a-z0-9-]*)/g)) if (/^(prod|sandbox)/.test(m[1]) && !stacks.has(m[1])) problems.push(`${rel}: stack ${m[1]}`);
            for (const m of text.matchAll(/(?:pulumi [a-z ]+)(?:-s|--stack) ([a-z][a-z0-9-]*)/g)) if (!stacks.has(m[1])) problems.push(`${rel}: stack ${m[1]}`);
            for (const m of text.matchAll(/`([a-z0-9][a-z0-9-]*)\/<app>/g)) if (m[1] !== org) problems.push(`${rel}: organisation ${m[1]} in \`${m[1]}/<app>\` (homelab:giteaOrg is ${org})`);
            for (const m of text.matchAll(/organisation `([^`]+)`/g)) if (m[1] !== org && m[1] !== "homelab:giteaOrg") problems.push(`${rel}: organisation ${m[1]} (homelab:giteaOrg is ${org})`);
            for (const m of text.matchAll(/docker compose -p ([a-z0-9_-]+)/g)) if (!composeProjects.has(m[1])) problems.push(`${rel}: compose project ${m[1]}`);
            for (const m of text.matchAll(/(?:kubectl|\)) (?:[a-z-]+ )*-n ([a-z][a-z0-9-]*)/g)) if (!namespaces.has(m[1])) problems.push(`${rel}: namespace ${m[1]} (no stack configures it)`);
            for (const m of text.matchAll(/(?:127\.0\.0\.1|localhost|<[a-z0-9 ]+>):(\d{2,5})\b/g)) if (!ports.has(Number(m[1]))) problems.push(`${rel}: port ${m[1]} (no stack configures it)`);
        }
        assert.deepEqual(problems, []);
    });
});
