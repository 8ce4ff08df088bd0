// homelab:apps (schema: definitions/config/properties/homelab:apps and definitions/app): the app
// catalogue. The schema says each app's shape (kebab-case names, envs that are prod or do not begin
// with prod, bounds); here: what spans several fields (an override names one of the app's envs,
// instance names fit and do not collide across apps).
import { instanceNames, NamingError, PROD_ENV } from "../naming";
import { Reader } from "./reader";
import { configSchema } from "./schema";
import { AppSpec, RestartTarget, SyncPolicy } from "./types";

const appSchema = () => configSchema().definitions.app.properties.connectionLimit as { default: number; maximum: number };
/** An instance's database connection limit when its app names none (schema: app.connectionLimit.default). */
export const DEFAULT_CONNECTION_LIMIT: number = appSchema().default;
/** Above this, one instance could take most of a default server's max_connections (100) (schema: maximum). */
export const MAX_CONNECTION_LIMIT: number = appSchema().maximum;

const DEFAULT_SYNC: SyncPolicy = { automated: true, prune: true, selfHeal: true };

interface RawApp {
    public?: boolean;
    envs?: string[];
    sync?: Record<string, Partial<SyncPolicy>>;
    rolloutRestartTargets?: RestartTarget[];
    connectionLimit?: number;
}

/** A validated homelab:apps, with its defaults and cross-field rules. */
export function readApps(r: Reader, v: unknown): AppSpec[] {
    const catalogue = v as Record<string, RawApp | null>;
    const apps: AppSpec[] = [];
    for (const [name, raw] of Object.entries(catalogue)) {
        const k = `apps.${name}`;
        const o = raw ?? {};
        const envs = o.envs ?? [PROD_ENV];
        r.unique(`${k}.envs`, envs, "env");
        const sync: Record<string, SyncPolicy> = {};
        for (const env of envs) sync[env] = { ...DEFAULT_SYNC };
        for (const [env, ov] of Object.entries(o.sync ?? {})) {
            if (!envs.includes(env)) r.fail(`${k}.sync.${env}`, ov, `an override for one of this app's envs (${envs.join(", ")})`);
            Object.assign(sync[env], ov);
        }
        for (const env of envs) {
            try {
                instanceNames(name, env);
            } catch (e) {
                if (e instanceof NamingError) r.fail(`${k}.envs`, env, `names that fit (${e.rule})`);
                throw e;
            }
        }
        const rolloutRestartTargets = (o.rolloutRestartTargets ?? []).map((t) => ({ kind: t.kind, name: t.name }));
        r.unique(`${k}.rolloutRestartTargets`, rolloutRestartTargets.map((t) => `${t.kind}/${t.name}`), "target");
        apps.push({ name, public: o.public ?? false, envs, sync, rolloutRestartTargets, connectionLimit: o.connectionLimit ?? DEFAULT_CONNECTION_LIMIT });
    }
    // Instance ids must not collide across apps (app "a-b" env prod vs app "a" env "b").
    const ids = new Map<string, string>();
    for (const a of apps) {
        for (const env of a.envs) {
            const id = instanceNames(a.name, env).instance;
            const other = ids.get(id);
            if (other) r.fail(`apps.${a.name}.envs`, env, `instance ids unique across apps ("${id}" is also ${other})`);
            ids.set(id, `${a.name}/${env}`);
        }
    }
    return apps;
}
