// Parity between stacks: the sandboxes rehearse prod only if they run what prod runs. Every
// difference fails, except the ones declared here, each with its reason.
import { CHART_KEYS, LabConfig } from "./config";
import { releasesOf, vaultMode } from "./platform/releases";

export interface ParityException {
    stack: string;
    fact: string;
    reason: string;
}

/** The declared differences: the only place a stack may differ from the others. */
export const PARITY_EXCEPTIONS: ParityException[] = [
    { stack: "sandbox-k3d", fact: "charts.longhorn", reason: "k3d nodes are containers and cannot run Longhorn; k3s's local-path is the StorageClass there" },
    { stack: "sandbox-k3d", fact: "nodes", reason: "one k3d node: the fast inner loop (about a minute to bring up)" },
    { stack: "sandbox-k3d", fact: "vault", reason: "Vault in dev mode: in memory, unsealed, no init to automate" },
    { stack: "prod", fact: "vault", reason: "prod's Vault is the existing one at its configured address (no release)" },
    { stack: "prod", fact: "charts.vault", reason: "prod's Vault is the existing one at its configured address (no release)" },
    { stack: "prod", fact: "images.vault", reason: "prod's Vault is the existing one at its configured address (no release)" },
    { stack: "prod", fact: "images.minio", reason: "prod backs up to its GCS bucket; a sandbox runs its own MinIO as its backup target" },
];

export type Facts = Record<string, string>;

/** What a stack runs, as comparable facts. */
export function factsOf(cfg: LabConfig): Facts {
    const releases = releasesOf(cfg);
    const f: Facts = { "versions.k3s": cfg.versions.k3s };
    for (const c of CHART_KEYS) f[`charts.${c}`] = releases.includes(c) ? cfg.versions.charts[c].version : "absent";
    f["images.postgres"] = cfg.versions.images.postgres;
    f["images.gitea"] = cfg.versions.images.gitea;
    f["images.vault"] = releases.includes("vault") ? cfg.versions.images.vault : "absent";
    f["images.minio"] = cfg.isProd || cfg.backup ? "absent" : cfg.versions.images.minio;
    f["apps"] = cfg.apps.map((a) => `${a.name}[${a.envs.join(",")}]${a.public ? "+public" : ""}`).join(" ");
    f["nodes"] = String(cfg.mode === "k3d" ? 1 : (cfg.hosts ?? cfg.vms ?? []).length);
    f["vault"] = vaultMode(cfg);
    return f;
}

export interface ParityDifference {
    fact: string;
    values: Record<string, string>;
}

/** Differences between the stacks' facts that no declared exception covers. */
export function parityDifferences(stacks: Record<string, Facts>, exceptions = PARITY_EXCEPTIONS): ParityDifference[] {
    const names = Object.keys(stacks).sort();
    const facts = new Set(names.flatMap((s) => Object.keys(stacks[s])));
    const out: ParityDifference[] = [];
    for (const fact of [...facts].sort()) {
        const compared = names.filter((s) => !exceptions.some((e) => e.stack === s && e.fact === fact));
        const values = Object.fromEntries(compared.map((s) => [s, stacks[s][fact] ?? "absent"]));
        if (new Set(Object.values(values)).size > 1) out.push({ fact, values });
    }
    return out;
}

export function describeParity(diffs: ParityDifference[], stacks: string[]): string {
    if (diffs.length === 0) {
        return `parity: ${stacks.join(", ")} run the same versions and catalogue (declared exceptions: ${PARITY_EXCEPTIONS.map((e) => `${e.stack} ${e.fact}`).join("; ")})`;
    }
    return `parity: DIFFERENCES between ${stacks.join(", ")}:\n` +
        diffs.map((d) => `  ${d.fact}: ${Object.entries(d.values).map(([s, v]) => `${s}=${v}`).join(", ")}`).join("\n") +
        "\n  (declare an intended difference, with its reason, in components/parity.ts)";
}
