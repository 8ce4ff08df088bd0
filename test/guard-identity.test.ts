// Guard layer 3: a sandbox compares the live identity of what it is about to configure with
// prod's recorded one, before the providers get their credentials; and the config keys behind it.
//
// What the identities are, upstream:
//   - Kubernetes: ObjectMeta.uid, "a unique in time and space value" set by the API server
//     (kubernetes/kubernetes staging/src/k8s.io/apimachinery/pkg/apis/meta/v1/types.go): a UUID.
//   - Vault: GET /v1/sys/health answers cluster_id (a UUID) once initialised (hashicorp/vault
//     vault/logical_system.go / http/sys_health.go); unauthenticated.
//   - PostgreSQL: pg_control_system().system_identifier, a 64-bit integer chosen by initdb.
import { strict as assert } from "assert";
import * as pulumi from "@pulumi/pulumi";
import { parseConfig, ProdIdentity } from "../components/config";
import { readStackConfig } from "../components/stack-config";
import { loadFingerprint } from "../components/fingerprint";
import {
    checkLiveIdentity, compareIdentity, guardedMetal, guardedVaultAddress, IdentityError, IdentityReaders, isPlaceholderIdentity, liveIdentityGuard, requireProdIdentity,
} from "../components/guard/identity";
import { ROOT } from "./helpers/plan";

const PROD: ProdIdentity = {
    kubeSystemUid: "5c1b3a9e-2f4d-4e6a-9b8c-7d6e5f4a3b2c",
    vaultClusterId: "0d9c8b7a-6f5e-4d3c-2b1a-0f9e8d7c6b5a",
    postgresSystemIdentifier: "7301234567890123456",
};
const OTHER = "11111111-2222-4333-8444-555555555555";
const NO_HATCH = {};
const HATCH = { LAB_I_MEAN_PROD: "true" };

/** The value an Output settles to, or its rejection. */
function settle<T>(o: pulumi.Output<T>): Promise<T> {
    return (o as any).promise() as Promise<T>;
}

function readers(seen: Partial<Record<"kubernetes" | "vault" | "postgres", string | Error>>, calls: string[] = []): IdentityReaders {
    const answer = (kind: "kubernetes" | "vault" | "postgres", arg: string) => {
        calls.push(`${kind} ${arg}`);
        const v = seen[kind] ?? OTHER;
        return v instanceof Error ? Promise.reject(v) : Promise.resolve(v);
    };
    return {
        kubernetes: (k) => answer("kubernetes", k.slice(0, 10)),
        vault: (a) => answer("vault", a),
        postgres: (t) => answer("postgres", `${t.host}:${t.port}`),
    };
}

function metal(kubeconfig = "apiVersion: v1", password = "pw") {
    return {
        kubeconfig: pulumi.output(kubeconfig),
        postgres: {
            host: pulumi.output("127.0.0.1"), port: pulumi.output(15432),
            adminUser: pulumi.output("postgres"), adminPassword: pulumi.output(password),
        },
    };
}

describe("guard layer 3: live identity", () => {
    it("prod's stack file records the three identities, in their formats (placeholders until the operator records them)", () => {
        const id = loadFingerprint(ROOT).identity!;
        assert.match(id.kubeSystemUid, /^[0-9a-f-]{36}$/);
        assert.match(id.vaultClusterId, /^[0-9a-f-]{36}$/);
        assert.match(id.postgresSystemIdentifier, /^\d+$/);
    });

    it("an identity that differs from prod's passes; prod's stops the run, naming what and where it is recorded", () => {
        assert.equal(compareIdentity("sandbox-k3d", "vault", "its Vault", OTHER, PROD, NO_HATCH), undefined);
        assert.throws(() => compareIdentity("sandbox-k3d", "vault", "its Vault", PROD.vaultClusterId.toUpperCase(), PROD, NO_HATCH),
            (e: Error) => e instanceof IdentityError &&
                /stack "sandbox-k3d" is about to configure its Vault, whose identity is prod's: Vault's cluster_id .* \(Pulumi\.prod\.yaml homelab:identity\.vaultClusterId\)/.test(e.message) &&
                /LAB_I_MEAN_PROD=true for one run only/.test(e.message));
    });

    it("LAB_I_MEAN_PROD=true turns the stop into a warning", () => {
        const w = compareIdentity("sandbox-vms", "postgres", "its Postgres", PROD.postgresSystemIdentifier, PROD, HATCH);
        assert.match(w!, /^LAB_I_MEAN_PROD=true: .*system_identifier is 7301234567890123456/);
    });

    it("fails closed: an identity it cannot read stops the run (unless the escape hatch is set)", async () => {
        await assert.rejects(checkLiveIdentity("sandbox-k3d", "kubernetes", "the cluster", () => Promise.reject(new Error("ECONNREFUSED")), PROD, NO_HATCH),
            /cannot read the cluster's kube-system namespace UID of the cluster before configuring it: ECONNREFUSED/);
        const r = await checkLiveIdentity("sandbox-k3d", "kubernetes", "the cluster", () => Promise.reject(new Error("ECONNREFUSED")), PROD, HATCH);
        assert.match(r.warning!, /continuing unchecked for this run only/);
    });

    it("a target that needs a moment to answer gets a few bounded attempts", async () => {
        let n = 0;
        const read = () => (++n < 3 ? Promise.reject(new Error("connection refused")) : Promise.resolve(OTHER));
        assert.deepEqual(await checkLiveIdentity("sandbox-k3d", "vault", "its Vault", read, PROD, NO_HATCH, 3, 1), { seen: OTHER, warning: undefined });
        assert.equal(n, 3);
        n = -10;
        await assert.rejects(checkLiveIdentity("sandbox-k3d", "vault", "its Vault", read, PROD, NO_HATCH, 3, 1), /connection refused/);
    });

    it("the kubeconfig and the Postgres password reach the providers only after a read shows another identity", async () => {
        const calls: string[] = [];
        const g = guardedMetal(metal(), liveIdentityGuard("sandbox-k3d", PROD, NO_HATCH), readers({}, calls));
        assert.equal(await settle(g.kubeconfig), "apiVersion: v1");
        assert.equal(await settle(g.postgres.adminPassword), "pw");
        assert.deepEqual(calls.sort(), ["kubernetes apiVersion", "postgres 127.0.0.1:15432"]);
    });

    it("a cluster whose kube-system UID is prod's never gets to the providers", async () => {
        const g = guardedMetal(metal(), liveIdentityGuard("sandbox-k3d", PROD, NO_HATCH), readers({ kubernetes: PROD.kubeSystemUid }));
        await assert.rejects(settle(g.kubeconfig), /kube-system namespace UID is 5c1b3a9e/);
        assert.equal(await settle(g.postgres.adminPassword), "pw", "the other target is checked on its own");
    });

    it("a Postgres whose system_identifier is prod's stops; so does a Vault whose cluster_id is prod's", async () => {
        const g = guardedMetal(metal(), liveIdentityGuard("sandbox-vms", PROD, NO_HATCH), readers({ postgres: PROD.postgresSystemIdentifier }));
        await assert.rejects(settle(g.postgres.adminPassword), /system_identifier is 7301234567890123456/);
        const v = guardedVaultAddress(liveIdentityGuard("sandbox-vms", PROD, NO_HATCH), "http://10.0.0.5:30820", pulumi.output("root-token"), [],
            readers({ vault: PROD.vaultClusterId }));
        await assert.rejects(settle(v), /Vault's cluster_id is 0d9c8b7a/);
    });

    it("the offline plan reads nothing (its mocked commands reach nothing)", async () => {
        const calls: string[] = [];
        const offline = liveIdentityGuard("sandbox-k3d", PROD, NO_HATCH, true);
        const g = guardedMetal(metal("", ""), offline, readers({ kubernetes: PROD.kubeSystemUid }, calls));
        assert.equal(await settle(g.kubeconfig), "");
        assert.equal(await settle(g.postgres.adminPassword), "");
        const v = guardedVaultAddress(offline, "http://127.0.0.1:8200", pulumi.output(""), [], readers({}, calls));
        assert.equal(await settle(v), "http://127.0.0.1:8200");
        assert.deepEqual(calls, []);
    });

    it("under the engine an empty credential never skips the check: it stops the run (the provider would use an ambient one)", async () => {
        const calls: string[] = [];
        const live = liveIdentityGuard("sandbox-k3d", PROD, NO_HATCH, false);
        const g = guardedMetal(metal("", ""), live, readers({ kubernetes: PROD.kubeSystemUid }, calls));
        await assert.rejects(settle(g.kubeconfig), (e: Error) => e.name === "IdentityError" && /the kubeconfig is empty.*never skips/.test(e.message));
        await assert.rejects(settle(g.postgres.adminPassword), (e: Error) => /the Postgres admin password is empty/.test(e.message));
        const v = guardedVaultAddress(live, "http://127.0.0.1:8200", pulumi.output(""), [], readers({}, calls));
        await assert.rejects(settle(v), (e: Error) => /the Vault token is empty/.test(e.message));
        assert.deepEqual(calls, []);
    });

    it("a real run refuses while prod's identities are placeholders, and says how to record them", () => {
        const committed = loadFingerprint(ROOT).identity!;
        assert.throws(() => requireProdIdentity("sandbox-vms", committed, false),
            (e: Error) => e.name === "IdentityError" && /kubeSystemUid is "00000000-0000-0000-0000-000000000000"/.test(e.message) && /npm run discover -- prod/.test(e.message));
        assert.throws(() => requireProdIdentity("sandbox-vms", undefined, false), /missing/);
        assert.deepEqual(requireProdIdentity("sandbox-vms", PROD, false), PROD);
        // the offline plan only describes: it never reads an identity
        assert.deepEqual(requireProdIdentity("sandbox-vms", committed, true), committed);
        for (const v of ["00000000-0000-0000-0000-000000000000", "1000000000000000000", "REPLACE-ME", ""]) assert.ok(isPlaceholderIdentity(v), v);
        assert.ok(!isPlaceholderIdentity(PROD.kubeSystemUid));
    });
});

describe("config: seed, identity and repo credentials", () => {
    const raw = (stack: string, extra: Record<string, unknown>) => {
        const r = readStackConfig(ROOT, stack);
        for (const [k, v] of Object.entries(extra)) {
            if (v === null) delete r[k];
            else r[k] = typeof v === "string" ? v : JSON.stringify(v);
        }
        return r;
    };
    const fails = (stack: string, extra: Record<string, unknown>, re: RegExp) =>
        assert.throws(() => parseConfig(stack, raw(stack, extra)), (e: Error) => re.test(e.message) && e.name === "ConfigError");

    it("prod needs its identities, each in its format, and says how to read them", () => {
        fails("prod", { "homelab:identity": null }, /key "homelab:identity" is nothing; expected a value \(guard layer 3/);
        fails("prod", { "homelab:identity": { ...PROD, kubeSystemUid: "kube-system" } }, /identity\.kubeSystemUid.*kubectl get namespace kube-system/);
        fails("prod", { "homelab:identity": { ...PROD, vaultClusterId: "X" } }, /identity\.vaultClusterId.*cluster_id/);
        fails("prod", { "homelab:identity": { ...PROD, postgresSystemIdentifier: "18446744073709551616" } }, /an unsigned 64-bit integer/);
        fails("prod", { "homelab:identity": { ...PROD, extra: 1 } }, /identity\.extra/);
    });

    it("only prod records identities and repo credentials; only sandboxes are seeded", () => {
        fails("sandbox-k3d", { "homelab:identity": PROD }, /only prod's stack file records prod's identities/);
        fails("sandbox-vms", { "homelab:giteaRepoToken": "t" }, /bootstrapped with its own token/);
        fails("prod", { "homelab:seed": { folder: ".." } }, /only sandboxes are seeded/);
        // prod without its token: a placeholder that a real run refuses (guardPlaceholders), naming the command
        const noToken = parseConfig("prod", raw("prod", { "homelab:giteaRepoToken": null }));
        assert.match(noToken.placeholders.find((p) => p.key === "homelab:giteaRepoToken")!.value, /pulumi config set --secret homelab:giteaRepoToken -s prod/);
    });

    it("seed: a folder and/or a path per app of the catalogue", () => {
        const cfg = parseConfig("sandbox-k3d", raw("sandbox-k3d", { "homelab:seed": { folder: "~/src", repos: { erp: "/x/erp" } } }));
        assert.deepEqual(cfg.seed, { folder: "~/src", repos: { erp: "/x/erp" } });
        fails("sandbox-k3d", { "homelab:seed": { repos: { nope: "/x" } } }, /seed\.repos\.nope.*an app of the catalogue/);
        fails("sandbox-k3d", { "homelab:seed": { from: "prod" } }, /seed\.from/);
    });
});
