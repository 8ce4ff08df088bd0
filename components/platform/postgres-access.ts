// The shared PostgreSQL's own access rules, before any app instance: Vault's login (not a
// superuser) and the shared databases closed to everyone but the superuser. See README.md,
// "The database contract".
import * as pulumi from "@pulumi/pulumi";
import * as postgresql from "@pulumi/postgresql";
import * as random from "@pulumi/random";
import { shared } from "../naming";

/** The databases every server has, which no instance credential may enter. */
export const SHARED_DATABASES = ["postgres", "template1"] as const;

export interface PostgresAccessArgs {
    provider: postgresql.Provider;
}

export class PostgresAccess extends pulumi.ComponentResource {
    /** Vault's own login: CREATEROLE, and (per instance, from the apps layer) ADMIN OPTION on its role. */
    readonly vaultRole: postgresql.Role;
    readonly vaultUser: pulumi.Output<string>;
    /** Secret. */
    readonly vaultPassword: pulumi.Output<string>;

    constructor(name: string, args: PostgresAccessArgs, opts?: pulumi.ComponentResourceOptions) {
        super("lab:platform:PostgresAccess", name, {}, opts);
        const pgOpts = { parent: this, provider: args.provider };

        const password = new random.RandomPassword(`${name}-vault-password`, {
            length: 40,
            special: false,
        }, { parent: this });
        // CREATEROLE without SUPERUSER: on PostgreSQL 16+ it may create roles, and alter, grant and
        // drop only the roles it has ADMIN OPTION on (those it created, and the instances' roles,
        // granted per instance). Vault's creation statements set createrole_self_grant so that it
        // also holds the privileges of the users it creates (REASSIGN OWNED / DROP OWNED need them).
        this.vaultRole = new postgresql.Role(`${name}-vault-role`, {
            name: shared.vaultPostgresRole,
            login: true,
            createRole: true,
            superuser: false,
            createDatabase: false,
            password: password.result,
        }, pgOpts);
        this.vaultUser = this.vaultRole.name;
        this.vaultPassword = pulumi.secret(password.result);

        // `postgres` and `template1` accept every role by default (CONNECT and TEMPORARY to PUBLIC):
        // every role name and every session is visible there. Only the superuser keeps them.
        for (const db of SHARED_DATABASES) {
            new postgresql.Grant(`${name}-revoke-public-${db}`, {
                database: db,
                role: "public",
                objectType: "database",
                privileges: [],
            }, pgOpts);
        }
        this.registerOutputs({ vaultUser: this.vaultUser });
    }
}
