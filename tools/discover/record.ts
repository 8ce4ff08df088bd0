// Recording what discover read: facts/prod.json (whole file, written by discover) and the values of
// Pulumi.prod.yaml the live lab can answer, changed in place through the yaml Document API so that
// every comment and the layout of the file stay as they are.
//
// A value is replaced only when it is a placeholder (it contains REPLACE-ME, or is one of the
// identity stand-ins: the all-zero UUID, the round 1000000000000000000). A recorded value that
// differs from what the lab answers is NOT overwritten: that is a changed host key, another cluster,
// a recreated zone... the operator looks first. discover reports it as a conflict (exit 1).
import * as fs from "fs";
import * as YAML from "yaml";
import { PLACEHOLDER_MARK } from "../../components/config";

export interface ConfigUpdate {
    /** The key as the operator reads it, e.g. homelab:hosts[0].hostKey. */
    key: string;
    /** The path in the YAML document, under `config`. */
    path: (string | number)[];
    value: string;
}

export interface UpdatePlan {
    /** Placeholders that get the discovered value. */
    replace: (ConfigUpdate & { old: string })[];
    /** Recorded values equal to the discovered one. */
    same: ConfigUpdate[];
    /** Recorded values that differ from the discovered one: not written. */
    conflicts: (ConfigUpdate & { old: string })[];
}

const IDENTITY_STAND_INS = new Set(["00000000-0000-0000-0000-000000000000", "1000000000000000000"]);

export function isPlaceholder(v: unknown): boolean {
    if (v === undefined || v === null) return true;
    const s = String(v);
    return s.toUpperCase().includes(PLACEHOLDER_MARK) || IDENTITY_STAND_INS.has(s);
}

/** Compares the wanted updates with the stack file's current values. */
export function planUpdates(text: string, updates: ConfigUpdate[]): UpdatePlan {
    const doc = YAML.parseDocument(text);
    const plan: UpdatePlan = { replace: [], same: [], conflicts: [] };
    for (const u of updates) {
        const cur = doc.getIn(["config", ...u.path]);
        const old = cur === undefined ? "" : String(cur);
        if (cur !== undefined && old === u.value) plan.same.push(u);
        else if (isPlaceholder(cur)) plan.replace.push({ ...u, old });
        else plan.conflicts.push({ ...u, old });
    }
    return plan;
}

/** The stack file's text with the placeholders replaced (comments and order kept). */
export function applyUpdates(text: string, replace: ConfigUpdate[]): string {
    const doc = YAML.parseDocument(text);
    for (const u of replace) {
        const node = doc.getIn(["config", ...u.path], true);
        if (YAML.isScalar(node)) {
            // keep the scalar node (its comments); a string that looks like a number stays a string
            node.value = u.value;
            if (/^\d+$/.test(u.value)) node.type = "QUOTE_DOUBLE";
        } else {
            doc.setIn(["config", ...u.path], u.value);
        }
    }
    return doc.toString({ lineWidth: 0, flowCollectionPadding: false });
}

export function writeFileAtomic(file: string, text: string): void {
    const tmp = `${file}.discover-${process.pid}.tmp`;
    fs.writeFileSync(tmp, text);
    fs.renameSync(tmp, file);
}
