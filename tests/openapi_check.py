#!/usr/bin/env python3
"""Checks that real responses carry what openapi.yaml declares for them.

    openapi_check.py SPEC LIST

LIST has one response per line, tab-separated: METHOD, PATH (a query string is ignored), STATUS,
CONTENT_TYPE, BODY_FILE.
Finds the response declared for (PATH, METHOD, STATUS) and, for JSON, walks the schema: every
required property must be present, every present property must have the declared type (and enum
or const value), recursively through $ref, allOf, oneOf, properties and items. Exits 1 with the
problems of each response that does not conform, 0 when all do. Used by tests/integration.sh."""
import json
import re
import sys

import yaml


def resolve(spec, node):
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        assert ref.startswith("#/"), ref
        node = spec
        for part in ref[2:].split("/"):
            node = node[part]
    return node


TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


def check(spec, schema, value, where, problems):
    schema = resolve(spec, schema)
    if "allOf" in schema:
        for part in schema["allOf"]:
            check(spec, part, value, where, problems)
    if "oneOf" in schema or "anyOf" in schema:
        branches = schema.get("oneOf", schema.get("anyOf"))
        results = []
        for b in branches:
            p = []
            check(spec, b, value, where, p)
            results.append(p)
        if all(results):
            problems.append(f"{where}: matches no branch: " + "; ".join(r[0] for r in results))
    types = schema.get("type")
    if types is not None:
        types = types if isinstance(types, list) else [types]
        if not any(TYPES[t](value) for t in types):
            problems.append(f"{where}: {json.dumps(value)[:60]} is not {'/'.join(types)}")
            return
    if "enum" in schema and value not in schema["enum"]:
        problems.append(f"{where}: {value!r} not in {schema['enum']}")
    if "const" in schema and value != schema["const"]:
        problems.append(f"{where}: {value!r} is not {schema['const']!r}")
    if isinstance(value, dict):
        for key in schema.get("required", []):
            if key not in value:
                problems.append(f"{where}: missing required '{key}'")
        for key, sub in schema.get("properties", {}).items():
            if key in value:
                check(spec, sub, value[key], f"{where}.{key}", problems)
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            check(spec, schema["items"], item, f"{where}[{i}]", problems)


def check_one(spec, method, path, status, ctype, body_file):
    path = path.split("?")[0]
    op = spec["paths"].get(path, {}).get(method.lower())
    if op is None:  # a templated path: /v2/models/{name}/infer
        for template, item in spec["paths"].items():
            pattern = "^" + re.sub(r"\\{[^}]+\\}", "[^/]+", re.escape(template)) + "$"
            if "{" in template and re.match(pattern, path) and method.lower() in item:
                op = item[method.lower()]
                break
    if op is None and status in ("404", "405"):
        # an unknown path, or a known path with another method: the common error schema
        op = {"responses": {status: {"content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/Error"}}}}}}
    if op is None:
        print(f"openapi: {method} {path} is not described")
        return 1
    resp = op["responses"].get(status)
    if resp is None:
        print(f"openapi: {method} {path} does not declare status {status}")
        return 1
    resp = resolve(spec, resp)
    media = ctype.split(";")[0].strip().lower()
    content = resp.get("content", {})
    if media not in content:
        print(f"openapi: {method} {path} {status}: content type {media} not declared "
              f"({', '.join(content)})")
        return 1
    if media != "application/json":
        return 0
    body = json.load(open(body_file))
    problems = []
    check(spec, content[media]["schema"], body, "body", problems)
    if problems:
        print(f"openapi: {method} {path} {status}:")
        for p in problems:
            print("   ", p)
        return 1
    return 0


def main():
    spec = yaml.safe_load(open(sys.argv[1]))
    failed = checked = 0
    for line in open(sys.argv[2]):
        if line.strip():
            checked += 1
            failed += check_one(spec, *line.rstrip("\n").split("\t"))
    print(f"openapi: {checked} responses checked, {failed} do not conform")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
