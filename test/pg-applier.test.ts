// The test applier itself: it follows its upstream sources (hashicorp/vault
// plugins/database/postgresql/postgresql.go, go-secure-stdlib strutil, sdk/helper/dbtxn) and refuses
// what it does not know, rather than ignoring it.
import { strict as assert } from "assert";
import { creationStatements, revocationStatements } from "../components/apps/app-instance";
import { PlanResource } from "../tools/plan-types";
import {
    applyPlan, containsMultilineStatement, parseArbitraryStringSlice, parseQuery, quoteIdent, quoteLiteral,
} from "./helpers/pg-applier";
import { PostgresServer } from "./helpers/postgres-server";

const resource = (type: string, inputs: Record<string, unknown>): PlanResource => ({
    urn: `urn:pulumi:prod::homelab::${type}::x`, type, name: "x", parent: null, provider: null, protect: false, import: null, retainOnDelete: false, dependsOn: [], inputs,
});
/** A server nothing may reach: the checks below fail before any SQL. */
const noServer = new Proxy({}, { get: () => { throw new Error("the applier touched the server"); } }) as PostgresServer;

describe("the test applier of PostgreSQL resources and Vault statements", () => {
    it("refuses a postgresql resource type it does not implement", async () => {
        for (const type of ["postgresql:index/schema:Schema", "postgresql:index/defaultPrivileges:DefaultPrivileges", "postgresql:index/extension:Extension"]) {
            await assert.rejects(applyPlan(noServer, [resource(type, { name: "s" })]), new RegExp(`resource type ${type.replace(/[/]/g, "\\/")} is not implemented by the applier`));
        }
    });

    it("refuses a grant object type it does not implement and a privilege the provider rejects", async () => {
        await assert.rejects(applyPlan(noServer, [resource("postgresql:index/grant:Grant", { objectType: "type", schema: "public", database: "d", role: "r", privileges: ["USAGE"] })]), /object type type is not implemented/);
        await assert.rejects(applyPlan(noServer, [resource("postgresql:index/grant:Grant", { objectType: "database", database: "d", role: "r", privileges: ["USAGE"] })]), /USAGE is not allowed for type database/);
        await assert.rejects(applyPlan(noServer, [resource("postgresql:index/grant:Grant", { objectType: "table", database: "d", role: "r", privileges: ["SELECT"] })]), /parameter 'schema' is mandatory/);
    });

    it("splits statements as Vault does: on ';', unless the statement has END outside quotes", () => {
        assert.deepEqual(parseArbitraryStringSlice(" A; B ;; C; ", ";"), ["A", "B", "", "C", ""]);
        assert.deepEqual(parseArbitraryStringSlice('["A; B", "C"]', ";"), ["A; B", "C"], "a JSON array is taken as is");
        assert.deepEqual(parseArbitraryStringSlice(Buffer.from("A;B").toString("base64"), ";"), ["A", "B"], "base64 is decoded first");
        assert.ok(containsMultilineStatement("DO $$ BEGIN PERFORM 1; END $$;"));
        assert.ok(!containsMultilineStatement(`ALTER ROLE "{{name}}" SET role = 'APPEND';`));
        assert.ok(!containsMultilineStatement(`CREATE ROLE "END";`), "END inside the only quoted literal is ignored");
        // The program's statements: creation is split (3 statements), the first revocation runs whole.
        assert.deepEqual(creationStatements("erp_role").map(containsMultilineStatement), [false, false, false]);
        assert.deepEqual(revocationStatements("erp_role").map(containsMultilineStatement), [true, false]);
    });

    it("templates {{name}} and {{password}} as dbtxn.parseQuery does", () => {
        assert.equal(parseQuery({ name: "v-u", password: "p" }, `CREATE ROLE "{{name}}" PASSWORD '{{password}}' IN ROLE "{{name}}_x"`), `CREATE ROLE "v-u" PASSWORD 'p' IN ROLE "v-u_x"`);
    });

    it("quotes as lib/pq and the provider do", () => {
        assert.equal(quoteIdent('a"b'), '"a""b"');
        assert.equal(quoteLiteral("it's \\"), "it''s \\\\");
    });
});
