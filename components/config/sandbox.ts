// A sandbox's own keys (schema: homelab:seed). Here: a per-app clone names an app of the catalogue.
import { Reader } from "./reader";
import { AppSpec, SeedSpec } from "./types";

export function readSeed(r: Reader, v: unknown, apps: AppSpec[]): SeedSpec {
    const sd = v as { folder?: string; repos?: Record<string, string> };
    const appNames = apps.map((a) => a.name);
    const repos: Record<string, string> = {};
    for (const [app, p] of Object.entries(sd.repos ?? {})) {
        if (!appNames.includes(app)) r.fail(`seed.repos.${app}`, p, `an app of the catalogue (${appNames.join(", ")})`);
        repos[app] = p;
    }
    return { folder: sd.folder, repos };
}
