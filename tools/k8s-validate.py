"""Validates Kubernetes objects against Kubernetes' own OpenAPI schemas, as bundled by PyPI
kubernetes-validate (willthames/kubernetes-validate 1.37.0, kubernetes_validate/utils.py: validate()
picks the newest bundled schema not newer than the version asked for; strict: the -local-strict
schemas, where a field the API does not declare is an error).

stdin:  {"version": "1.34.3", "objects": [{"id": "...", "object": {...}}]}
stdout: [{"id": "...", "ok": true, "schema": "1.34"} |
         {"id": "...", "ok": false, "schema": "1.34", "path": [...], "validator": "...", "message": "..."}]
Messages may quote a value: the caller decides what it prints.
"""
import json
import sys

from kubernetes_validate import utils


def main() -> int:
    request = json.load(sys.stdin)
    out = []
    for item in request["objects"]:
        entry = {"id": item["id"]}
        try:
            entry.update(ok=True, schema=utils.validate(item["object"], request["version"], strict=True))
        except utils.ValidationError as e:
            entry.update(ok=False, schema=e.version, path=[str(p) for p in e.absolute_path],
                         validator=str(e.validator), message=e.message)
        except utils.SchemaNotFoundError as e:
            entry.update(ok=False, schema=None, path=[], validator="kind", message=e.message)
        out.append(entry)
    json.dump(out, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
