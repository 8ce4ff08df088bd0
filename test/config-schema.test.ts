// The configuration schema (components/config/homelab-config.schema.json) is the one source of what a
// stack may say: editors validate the committed stack files with it, the README's table is
// generated from it, and the loader's messages name the file that holds the key.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import Ajv from "ajv";
import * as YAML from "yaml";
import {
    CHART_KEYS, ConfigError, DATA_HOST_SCHEDULES, DOCKER_RUNTIMES, IMAGE_KEYS, isConfigError, parseCatalogue, parseConfig, RESTART_KINDS, SCHEMA_FILE, sourcesFromFiles,
} from "../components/config";
import { generate, PROJECT_SCHEMA_FILE } from "../components/config/docs";
import { configSchema } from "../components/config/schema";
import { listStacks, readProjectDefaults, readStackConfig, StackFileError } from "../components/stack-config";
import { rawConfig as raw, ROOT, runPlanCli, writeStackFile } from "./helpers/plan";
import { removeProject, tempProject } from "./fixtures/policy/harness";

/** The schema as an editor applies it: plain ajv, draft-07, the x- annotations ignored (strict off). */
function editorValidator(file: string) {
    const ajv = new Ajv({ allErrors: true, strict: false });
    ajv.addSchema(JSON.parse(fs.readFileSync(SCHEMA_FILE, "utf8")), path.basename(SCHEMA_FILE));
    return ajv.compile(JSON.parse(fs.readFileSync(file, "utf8")));
}

const stackFiles = () => listStacks(ROOT).map((s) => path.join(ROOT, `Pulumi.${s}.yaml`));

function configError(fn: () => unknown): ConfigError {
    try {
        fn();
    } catch (e) {
        assert.ok(isConfigError(e), `a ConfigError, got ${(e as Error).stack}`);
        return e as ConfigError;
    }
    assert.fail("no configuration error");
}

const refused = (stack: string, overrides: Record<string, unknown | null>) => configError(() => parseConfig(stack, raw(stack, overrides))).message;

describe("the configuration schema: editors validate the stack files", () => {
    it("every committed stack file starts with the yaml-language-server line naming the schema, and validates against it", () => {
        const validate = editorValidator(SCHEMA_FILE);
        assert.ok(stackFiles().length >= 3);
        for (const file of stackFiles()) {
            const text = fs.readFileSync(file, "utf8");
            const m = /^# yaml-language-server: \$schema=(\S+)\n/.exec(text);
            assert.ok(m, `${path.basename(file)} names its schema on its first line`);
            assert.equal(path.resolve(path.dirname(file), m![1]), SCHEMA_FILE, `${path.basename(file)}: the path is relative to the file`);
            assert.ok(validate(YAML.parse(text)), `${path.basename(file)}: ${JSON.stringify(validate.errors)}`);
        }
    });

    it("Pulumi.yaml names the generated project schema, and validates against it", () => {
        const text = fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8");
        const m = /^# yaml-language-server: \$schema=(\S+)\n/.exec(text);
        assert.ok(m);
        assert.equal(path.resolve(ROOT, m![1]), PROJECT_SCHEMA_FILE);
        const validate = editorValidator(PROJECT_SCHEMA_FILE);
        assert.ok(validate(YAML.parse(text)), JSON.stringify(validate.errors));
        const doc = YAML.parse(text);
        doc.config.apps.value.erp.pubilc = true;
        assert.equal(validate(doc), false, "a misspelt key in Pulumi.yaml is flagged in the editor");
    });

    it("flags in the editor what the loader refuses: a secure: value where allowed only, a misspelt namespace, a mode's forbidden key, a 400G VM", () => {
        const validate = editorValidator(SCHEMA_FILE);
        const prod = YAML.parse(fs.readFileSync(path.join(ROOT, "Pulumi.prod.yaml"), "utf8"));
        prod.config["homelab:giteaRepoToken"] = { secure: "v1:AAAABBBB" };
        assert.ok(validate(prod), JSON.stringify(validate.errors));
        const k3d = () => YAML.parse(fs.readFileSync(path.join(ROOT, "Pulumi.sandbox-k3d.yaml"), "utf8"));
        for (const [what, edit] of [
            ["secure: where no secret goes", (d: any) => { d.config["homelab:giteaOrg"] = { secure: "v1:x" }; }],
            ["homelb:seed", (d: any) => { d.config["homelb:seed"] = { folder: ".." }; }],
            ["vms in k3d mode", (d: any) => { d.config["homelab:vms"] = []; }],
            ["a misspelt config:", (d: any) => { d.confg = d.config; delete d.config; }],
            ["an env beginning with prod", (d: any) => { d.config["homelab:apps"] = { erp: { envs: ["prod", "prod-2"] } }; }],
        ] as const) {
            const d = k3d();
            edit(d);
            assert.equal(validate(d), false, what);
        }
    });

    it("the README's configuration table and Pulumi.yaml's schema are generated from the schema (npm run config:docs)", () => {
        assert.deepEqual(generate(ROOT, true), [], "run npm run config:docs");
        const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
        for (const key of Object.keys(configSchema().definitions.config.properties)) assert.ok(readme.includes(`| \`${key}\` |`), key);
    });

    it("the precompiled validators carry the schema's hash (stale ones are not used: the schema compiles at run time)", () => {
        const text = fs.readFileSync(path.join(ROOT, "components", "config", "validators.generated.js"), "utf8");
        const hash = require("crypto").createHash("sha256").update(fs.readFileSync(SCHEMA_FILE)).digest("hex");
        assert.ok(text.includes(`exports.schemaHash = "${hash}";`));
    });

    it("the typed constants are the schema's enums", () => {
        const c = configSchema().definitions;
        assert.deepEqual(Object.keys(c.config.properties["homelab:versions"].properties.charts.properties), [...CHART_KEYS]);
        assert.deepEqual(Object.keys(c.config.properties["homelab:versions"].properties.images.properties), [...IMAGE_KEYS]);
        assert.deepEqual(c.config.properties["homelab:k3d"].properties.dockerRuntime.enum, [...DOCKER_RUNTIMES]);
        assert.deepEqual(c.config.properties["homelab:backupSchedule"].properties.dataHost.properties.schedule.enum, [...DATA_HOST_SCHEDULES]);
        assert.deepEqual(c.app.properties.rolloutRestartTargets.items.properties.kind.enum, [...RESTART_KINDS]);
    });
});

describe("the configuration loader: messages name the right file", () => {
    it("a mistake in Pulumi.yaml says Pulumi.yaml; one in the stack file says the stack file", () => {
        const dir = tempProject({ edit: (p) => { p.config.giteaOrg.value = "Arcodange_Org"; } });
        try {
            const msg = configError(() => parseConfig("sandbox-k3d", readStackConfig(dir, "sandbox-k3d"))).message;
            assert.match(msg, /key "homelab:giteaOrg" is "Arcodange_Org"; expected a kebab-case Gitea organisation\. Fix it in Pulumi\.yaml\.$/);
        } finally {
            removeProject(dir);
        }
        const dir2 = tempProject({ edit: (p) => { p.config.apps.value.erp.envs = ["prod", "Sandbox"]; } });
        try {
            assert.match(configError(() => parseCatalogue("prod", readProjectDefaults(dir2))).message, /apps\.erp\.envs\[1\].*Fix it in Pulumi\.yaml\./);
        } finally {
            removeProject(dir2);
        }
        // The same key overridden in the stack file: the stack file holds it.
        const file = writeStackFile("sandbox-k3d", { "homelab:giteaOrg": "Arcodange_Org" });
        const r = runPlanCli(["sandbox-k3d", "--config-file", file]);
        assert.equal(r.status, 2);
        assert.ok(r.stderr.includes(`Fix it in ${file}.`), r.stderr);
        assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
    });

    it("under the Pulumi CLI (which hands over merged config), the files themselves say which holds each key", () => {
        const dir = tempProject({ edit: (p) => { p.config.giteaOrg.value = "Arcodange_Org"; } });
        try {
            const sources = sourcesFromFiles(dir, "sandbox-k3d");
            assert.equal(sources["homelab:giteaOrg"], "Pulumi.yaml");
            assert.equal(sources["homelab:mode"], "Pulumi.sandbox-k3d.yaml");
            const merged = { ...readStackConfig(dir, "sandbox-k3d") }; // a plain copy: nothing recorded
            assert.match(configError(() => parseConfig("sandbox-k3d", merged, sources)).message, /Fix it in Pulumi\.yaml\.$/);
            merged["homelab:giteaOrg"] = "arcodange-org";
            merged["homelab:k3d"] = JSON.stringify({ apiPort: "six" });
            assert.match(configError(() => parseConfig("sandbox-k3d", merged, sources)).message, /"homelab:k3d\.apiPort" is "six".*Fix it in Pulumi\.sandbox-k3d\.yaml\.$/);
        } finally {
            removeProject(dir);
        }
    });

    it("says did you mean for a misspelt key, nested key, namespace and stack name", () => {
        assert.match(refused("sandbox-k3d", { "homelab:sed": { folder: ".." } }), /key "homelab:sed".*no such key \(did you mean "homelab:seed"\?\)/);
        assert.match(refused("sandbox-k3d", { "homelab:k3d": { apiPrt: 7000 } }), /"homelab:k3d\.apiPrt".*did you mean "apiPort"\?/);
        assert.match(refused("sandbox-k3d", { "homelb:seed": { folder: ".." } }),
            /key "homelb:seed" is \{"folder":".."\}; expected a key of a namespace this program reads \(homelab, pulumi, kubernetes, vault.*\): nothing reads "homelb:" \(did you mean "homelab:seed"\?\)\. Fix it in Pulumi\.sandbox-k3d\.yaml\./);
        assert.match(refused("sandbox-k3d", { "aws:region": "eu-west-1" }), /nothing reads "aws:"/, "a namespace no part of the program reads is refused too");
        assert.equal(parseConfig("sandbox-k3d", raw("sandbox-k3d", { "vault:skipChildToken": "true" })).mode, "k3d", "a provider's namespace is theirs");
        assert.throws(() => readStackConfig(ROOT, "sandbox-k3"), (e: Error) => e instanceof StackFileError && /did you mean "sandbox-k3d"\?/.test(e.message));
    });

    it("reports a misspelt top-level config: as such, not as a missing homelab:mode", () => {
        const dir = tempProject({ stacks: { "sandbox-k3d": "confg:\n  homelab:mode: k3d\n" } });
        try {
            assert.throws(() => readStackConfig(dir, "sandbox-k3d"),
                (e: Error) => e instanceof StackFileError && /top-level key "confg" \(did you mean "config"\?\) is not one Pulumi reads/.test(e.message) && !/homelab:mode/.test(e.message));
        } finally {
            removeProject(dir);
        }
    });

    it("never prints a secret it refuses", () => {
        const msg = refused("sandbox-k3d", { "homelab:giteaRepoToken": "s3cr3t-value" });
        assert.match(msg, /key "homelab:giteaRepoToken" is \[secret\]; expected nothing/);
        assert.doesNotMatch(msg, /s3cr3t/);
    });
});

describe("the configuration loader: the cases that used to pass silently", () => {
    it("refuses an env beginning with prod (prod-2, production) beside prod itself", () => {
        const apps = JSON.parse(raw("prod")["homelab:apps"]);
        for (const env of ["prod-2", "production", "prod2"]) {
            apps.erp.envs = ["prod", env];
            assert.match(refused("prod", { "homelab:apps": apps }), new RegExp(`"homelab:apps\\.erp\\.envs\\[1\\]" is "${env}".*does not begin with prod.*Fix it in Pulumi\\.yaml`));
        }
        apps.erp.envs = ["prod", "staging", "preprod"];
        assert.deepEqual(parseConfig("prod", raw("prod", { "homelab:apps": apps })).apps.find((a) => a.name === "erp")!.envs, ["prod", "staging", "preprod"]);
    });

    it("refuses two laptop ports of a k3d stack that clash, defaults included", () => {
        assert.match(refused("sandbox-k3d", { "homelab:k3d": { apiPort: 8200 } }), /"homelab:k3d\.vaultPort" is 8200; expected a laptop port no other part of the sandbox uses \(8200 is already k3d\.apiPort\)/);
        assert.match(refused("sandbox-k3d", { "homelab:k3d": { apiPort: 7000, vaultPort: 7000 } }), /"homelab:k3d\.vaultPort" is 7000/);
        assert.match(refused("sandbox-k3d", { "homelab:k3d": { ingressPort: 15432 } }), /15432 is already the sandbox's Postgres/);
        assert.equal(parseConfig("sandbox-k3d", raw("sandbox-k3d", { "homelab:k3d": { apiPort: 7000, vaultPort: 7001 } })).k3d!.vaultPort, 7001);
    });

    it("refuses VMs beyond what the laptop can give, one by one and together", () => {
        const vm = (name: string, role: string, memory = "4G", cpus = 2, disk = "20G") => ({ name, role, cpus, memory, disk });
        assert.match(refused("sandbox-vms", { "homelab:vms": [vm("pi1", "server", "400G"), vm("pi2", "agent"), vm("pi3", "agent")] }),
            /"homelab:vms\[0\]\.memory" is "400G"; expected a size such as 4G, from 1G to 16G/);
        assert.match(refused("sandbox-vms", { "homelab:vms": [vm("pi1", "server", "512M"), vm("pi2", "agent"), vm("pi3", "agent")] }), /vms\[0\]\.memory/);
        assert.match(refused("sandbox-vms", { "homelab:vms": [vm("pi1", "server", "4G", 2, "2T"), vm("pi2", "agent"), vm("pi3", "agent")] }), /vms\[0\]\.disk/);
        assert.match(refused("sandbox-vms", { "homelab:vms": [vm("pi1", "server", "12G"), vm("pi2", "agent", "12G"), vm("pi3", "agent", "12G")] }),
            /"homelab:vms" is "6 CPUs, 36G memory, 60G disk in all"; expected VMs that fit the laptop together: at most 8 CPUs, 24G memory/);
    });

    it("fails the plan of a sandbox that drifts from prod's node count (exit 1), naming the fact and where to declare an exception", () => {
        const vms = YAML.parse(fs.readFileSync(path.join(ROOT, "Pulumi.sandbox-vms.yaml"), "utf8")).config["homelab:vms"].slice(0, 2);
        const r = runPlanCli(["sandbox-vms", "--json", "--config-file", writeStackFile("sandbox-vms", { "homelab:vms": vms })]);
        assert.equal(r.status, 1, r.stderr);
        assert.match(r.stderr, /parity: stack sandbox-vms drifts from prod without a declared exception[\s\S]*nodes: prod=3, sandbox-vms=2[\s\S]*components\/parity\.ts/);
    });
});
