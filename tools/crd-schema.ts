// Validates rendered CustomResources against the upstream CRDs' openAPIV3Schema, strictly: a
// field the schema does not declare is an error (the API server would silently drop it), except
// under metadata and where the schema says x-kubernetes-preserve-unknown-fields.
import * as fs from "fs";
import * as path from "path";
import Ajv, { ValidateFunction } from "ajv";
import * as YAML from "yaml";

export interface CrdProblem {
    path: string;
    message: string;
}

type Schema = Record<string, any>;

/** The Kubernetes structural-schema dialect turned into strict JSON Schema. */
export function strictSchema(s: Schema): Schema {
    if (!s || typeof s !== "object") return s;
    const out: Schema = {};
    for (const [k, v] of Object.entries(s)) {
        if (k.startsWith("x-kubernetes-")) continue;
        if (k === "properties" || k === "patternProperties" || k === "definitions") {
            out[k] = Object.fromEntries(Object.entries(v as Schema).map(([pk, pv]) => [pk, strictSchema(pv as Schema)]));
        } else if (k === "items" || k === "additionalProperties" || k === "not") {
            out[k] = typeof v === "object" ? strictSchema(v as Schema) : v;
        } else if (k === "allOf" || k === "anyOf" || k === "oneOf") {
            out[k] = (v as Schema[]).map(strictSchema);
        } else {
            out[k] = v;
        }
    }
    if (s["x-kubernetes-int-or-string"]) {
        delete out.type;
        out.anyOf = [{ type: "integer" }, { type: "string" }];
    }
    const preserves = s["x-kubernetes-preserve-unknown-fields"] === true;
    if (out.type === "object" && out.properties && out.additionalProperties === undefined && !preserves) {
        out.additionalProperties = false;
    }
    return out;
}

export interface CrdVersion {
    group: string;
    kind: string;
    version: string;
    validate: ValidateFunction;
}

/** Every served version of every CRD file in `dir`, keyed by apiVersion/kind. */
export function loadCrds(dir: string): Map<string, CrdVersion> {
    const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: false, logger: false });
    const out = new Map<string, CrdVersion>();
    for (const file of fs.readdirSync(dir).filter((f) => /\.ya?ml$/.test(f))) {
        for (const doc of YAML.parseAllDocuments(fs.readFileSync(path.join(dir, file), "utf8"))) {
            const crd = doc.toJS() as Schema | null;
            if (!crd || crd.kind !== "CustomResourceDefinition") continue;
            const { group, names } = crd.spec;
            for (const v of crd.spec.versions as Schema[]) {
                const schema = strictSchema(v.schema.openAPIV3Schema);
                // metadata is the API server's business: anything goes there.
                schema.properties = { ...schema.properties, metadata: { type: "object" } };
                out.set(`${group}/${v.name}/${names.kind}`, { group, kind: names.kind, version: v.name, validate: ajv.compile(schema) });
            }
        }
    }
    return out;
}

/** Problems of one rendered object (apiVersion, kind, metadata, spec...). */
export function validateObject(crds: Map<string, CrdVersion>, obj: Schema): CrdProblem[] {
    const key = `${obj.apiVersion}/${obj.kind}`;
    const crd = crds.get(key);
    if (!crd) return [{ path: "", message: `no CRD for ${key}` }];
    if (crd.validate(obj)) return [];
    return (crd.validate.errors ?? []).map((e) => {
        const extra = (e.params as { additionalProperty?: string }).additionalProperty;
        const p = `${e.instancePath}${extra ? `/${extra}` : ""}`.replace(/^\//, "").replace(/\//g, ".");
        return { path: p, message: extra ? `field "${extra}" is not declared by the schema` : e.message ?? "invalid" };
    });
}
