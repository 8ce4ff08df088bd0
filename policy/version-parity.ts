// version-parity: every stack installs what the version manifest (Pulumi.yaml `versions`, read
// with the one config loader) says, so that a sandbox rehearses exactly what prod runs:
//   - each Helm release's chart is one of the manifest's, at the manifest's version (and repo);
//   - each k3s version named by a command (INSTALL_K3S_VERSION, the k3d image rancher/k3s:<tag>)
//     is the manifest's k3s;
//   - each manifest image a command names (docker compose, docker run) has the manifest's tag.
// A stack policy, mandatory in every stack.
import { StackValidationPolicy } from "@pulumi/policy";
import { Versions } from "../components/config";
import { manifest } from "./context";
import { HELM_RELEASE_TYPE, chartName } from "./prod-state-protected";
import { get, getString, stringLeaves } from "./runtime";

export const NAME = "version-parity";

export const COMMAND_TYPES = new Set(["command:local:Command", "command:remote:Command"]);

/** k3s versions in text: v1.34.3+k3s1, the image tag form v1.34.3-k3s1, URL-encoded v1.34.3%2Bk3s1. */
const K3S_RE = /(?<![A-Za-z0-9.])v(\d+)\.(\d+)\.(\d+)(?:\+|-|%2[Bb])k3s(\d+)(?![0-9])/g;

/** Every k3s version a text names, normalized to v1.2.3+k3sN. */
export function k3sVersionsIn(text: string): { raw: string; version: string }[] {
    return [...text.matchAll(K3S_RE)].map((m) => ({ raw: m[0], version: `v${m[1]}.${m[2]}.${m[3]}+k3s${m[4]}` }));
}

function imageRepoAndTag(ref: string): { repo: string; tag: string } {
    const i = ref.lastIndexOf(":");
    return { repo: ref.slice(0, i), tag: ref.slice(i + 1) };
}

function escapeRe(s: string): string {
    return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

interface Finding {
    urn: string;
    message: string;
}

function checkRelease(r: { urn: string; name: string; props: Record<string, unknown> }, v: Versions): Finding[] {
    const chart = getString(r.props, "chart");
    if (!chart) return [];
    const name = chartName(chart);
    const entry = Object.entries(v.charts).find(([, c]) => c.chart === name);
    const what = `${HELM_RELEASE_TYPE} "${r.name}"`;
    if (!entry) {
        return [{ urn: r.urn, message: `${what} installs chart "${chart}", which is not in the version manifest (Pulumi.yaml versions.charts).` }];
    }
    const [key, spec] = entry;
    const out: Finding[] = [];
    const version = getString(r.props, "version");
    if (version !== spec.version) {
        out.push({ urn: r.urn, message: `${what} installs ${name} ${version === undefined ? "without a pinned version" : `version ${version}`}; `
            + `the version manifest says ${spec.version} (Pulumi.yaml versions.charts.${key}.version).` });
    }
    const repo = getString(r.props, "repositoryOpts", "repo");
    if (repo !== undefined && repo.replace(/\/+$/, "") !== spec.repo.replace(/\/+$/, "")) {
        out.push({ urn: r.urn, message: `${what} pulls ${name} from ${repo}; the version manifest says ${spec.repo} (Pulumi.yaml versions.charts.${key}.repo).` });
    }
    return out;
}

function checkCommand(r: { urn: string; type: string; name: string; props: Record<string, unknown> }, v: Versions, images: boolean): Finding[] {
    const out: Finding[] = [];
    const seen = new Set<string>();
    const what = `${r.type} "${r.name}"`;
    for (const input of Object.keys(r.props).sort()) {
        for (const leaf of stringLeaves(get(r.props, input), input)) {
            for (const k of k3sVersionsIn(leaf.value)) {
                const key = `k3s|${k.version}`;
                if (k.version === v.k3s || seen.has(key)) continue;
                seen.add(key);
                out.push({ urn: r.urn, message: `${what} input ${leaf.path} names k3s ${k.raw}; the version manifest says ${v.k3s} (Pulumi.yaml versions.k3s).` });
            }
            if (!images) continue;
            for (const [key, ref] of Object.entries(v.images)) {
                const { repo, tag } = imageRepoAndTag(ref);
                const re = new RegExp(`(?<![A-Za-z0-9._/-])${escapeRe(repo)}:([A-Za-z0-9._-]+)`, "g");
                for (const m of leaf.value.matchAll(re)) {
                    const k2 = `${key}|${m[1]}`;
                    if (m[1] === tag || seen.has(k2)) continue;
                    seen.add(k2);
                    out.push({ urn: r.urn, message: `${what} input ${leaf.path} runs ${m[0]}; the version manifest says ${ref} (Pulumi.yaml versions.images.${key}).` });
                }
            }
        }
    }
    return out;
}

export const versionParity: StackValidationPolicy = {
    name: NAME,
    description: "Helm releases, the k3s version and the images every stack installs are the version manifest's (Pulumi.yaml versions).",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            checkImages: { type: "boolean", default: true, description: "Also check the manifest images' tags in commands." },
        },
    },
    validateStack: (args, reportViolation) => {
        const v = manifest();
        const images = args.getConfig<{ checkImages?: boolean }>().checkImages !== false;
        for (const r of args.resources) {
            const findings = r.type === HELM_RELEASE_TYPE ? checkRelease(r, v)
                : COMMAND_TYPES.has(r.type) ? checkCommand(r, v, images)
                    : [];
            for (const f of findings) reportViolation(f.message, f.urn);
        }
    },
};
