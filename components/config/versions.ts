// homelab:versions (schema: definitions/config/properties/homelab:versions): the version manifest.
// The schema says the shapes (pinned chart versions, pinned image tags, never latest); here: the
// rclone floor and its checksum placeholder.
import { PLACEHOLDER_MARK } from "./errors";
import { Reader } from "./reader";
import { ChartKey, ChartSpec, CHART_KEYS, ImageKey, IMAGE_KEYS, RcloneSpec, Versions } from "./types";

/**
 * The oldest rclone that can read GCS back through its S3 interface: the `GCS` provider quirk
 * (rclone/rclone commit 54a9488e5, v1.63.0 backend/s3/s3.go `case "GCS": useAcceptEncodingGzip =
 * false`, issue 6670) keeps GCS's front end from breaking the signature of every download.
 */
export const RCLONE_MIN_VERSION = "1.63.0";

/** a >= b for dotted versions (1.63.0, v1.73.5). */
export function versionAtLeast(a: string, b: string): boolean {
    const x = a.replace(/^v/, "").split(/[.-]/).map((n) => parseInt(n, 10) || 0);
    const y = b.replace(/^v/, "").split(/[.-]/).map((n) => parseInt(n, 10) || 0);
    for (let i = 0; i < 3; i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) > (y[i] ?? 0);
    return true;
}

/** A validated homelab:versions, as typed values. */
export function readVersions(v: unknown, r?: Reader): Versions {
    const o = v as { k3s: string; charts: Record<ChartKey, ChartSpec>; images: Record<ImageKey, string>; rclone: RcloneSpec };
    const charts = {} as Record<ChartKey, ChartSpec>;
    for (const c of CHART_KEYS) charts[c] = { repo: o.charts[c].repo, chart: o.charts[c].chart, version: o.charts[c].version };
    const images = {} as Record<ImageKey, string>;
    for (const i of IMAGE_KEYS) images[i] = o.images[i];
    const rclone = { version: o.rclone.version, sha256LinuxArm64: o.rclone.sha256LinuxArm64 };
    if (r) {
        if (!versionAtLeast(rclone.version, RCLONE_MIN_VERSION)) {
            r.fail("versions.rclone.version", rclone.version, `${RCLONE_MIN_VERSION} or later (the GCS provider quirk, rclone issue 6670: older releases cannot read GCS back)`);
        }
        if (rclone.sha256LinuxArm64.startsWith(PLACEHOLDER_MARK)) r.placeholder("versions.rclone.sha256LinuxArm64", rclone.sha256LinuxArm64);
    }
    return { k3s: o.k3s, charts, images, rclone };
}
