// homelab:versions (schema: definitions/config/properties/homelab:versions): the version manifest.
// The schema says it all (pinned chart versions, pinned image tags, never latest).
import { ChartKey, ChartSpec, CHART_KEYS, ImageKey, IMAGE_KEYS, Versions } from "./types";

/** A validated homelab:versions, as typed values. */
export function readVersions(v: unknown): Versions {
    const o = v as { k3s: string; charts: Record<ChartKey, ChartSpec>; images: Record<ImageKey, string> };
    const charts = {} as Record<ChartKey, ChartSpec>;
    for (const c of CHART_KEYS) charts[c] = { repo: o.charts[c].repo, chart: o.charts[c].chart, version: o.charts[c].version };
    const images = {} as Record<ImageKey, string>;
    for (const i of IMAGE_KEYS) images[i] = o.images[i];
    return { k3s: o.k3s, charts, images };
}
