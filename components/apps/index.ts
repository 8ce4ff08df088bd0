// The apps layer: one AppInstance per (app, env) of the catalogue.
import * as pulumi from "@pulumi/pulumi";
import { LabConfig } from "../config";
import { instanceId, PROD_ENV } from "../naming";
import { instanceExists } from "../adoption";
import { migrationOn } from "../migrations";
import { AppBackends, AppInstance, PublicDns } from "./app-instance";

export { AppInstance } from "./app-instance";

export function appInstances(cfg: LabConfig, backends: AppBackends, dns?: PublicDns, opts?: pulumi.ComponentResourceOptions): AppInstance[] {
    const instances: AppInstance[] = [];
    for (const app of cfg.apps) {
        for (const env of app.envs) {
            instances.push(new AppInstance(instanceId(app.name, env), {
                app,
                env,
                backends,
                protectState: cfg.isProd,
                exists: instanceExists(cfg, instanceId(app.name, env)),
                // Only prod's instance of a public app is published, and only from the prod stack.
                dns: app.public && env === PROD_ENV ? dns : undefined,
                migrationOn: (m) => migrationOn(cfg, m),
            }, opts));
        }
    }
    return instances;
}
