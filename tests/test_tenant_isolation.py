"""Generic tenant isolation (SPEC §1.1): for every route in the OpenAPI document that takes a resource
id, workspace B's all-powerful key gets 404 for workspace A's ids, and A's resource is left untouched."""

from __future__ import annotations

import re
import uuid
from typing import Any

from tenancy import FACTORIES

PARAM = re.compile(r"{([^}]+)}")


def _resolve(schema: dict[str, Any], doc: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].split("/")[-1]
        schema = doc["components"]["schemas"][name]
    return schema


def example_body(schema: dict[str, Any], doc: dict[str, Any]) -> Any:
    """A minimal valid instance of a request-body schema, so that validation passes and the route's
    own workspace check is what answers."""
    schema = _resolve(schema, doc)
    for combo in ("anyOf", "oneOf", "allOf"):
        if combo in schema:
            options = [o for o in schema[combo] if o.get("type") != "null"]
            return example_body(options[0], doc)
    if "enum" in schema:
        return schema["enum"][0]
    if "default" in schema and schema["default"] is not None:
        return schema["default"]
    t = schema.get("type")
    if t == "object" or "properties" in schema:
        props = schema.get("properties", {})
        return {k: example_body(props[k], doc) for k in schema.get("required", [])}
    if t == "array":
        return [example_body(schema.get("items", {}), doc) for _ in range(schema.get("minItems", 0))]
    if t == "integer":
        return max(schema.get("minimum", 1), 1)
    if t == "number":
        return max(schema.get("minimum", 1.0), 1.0)
    if t == "boolean":
        return True
    fmt = schema.get("format")
    if fmt == "email":
        return "someone@example.com"
    if fmt == "uuid":
        return str(uuid.uuid4())
    if fmt == "date-time":
        return "2099-01-01T00:00:00Z"
    if fmt == "uri":
        return "https://example.com"
    return "x" * max(schema.get("minLength", 1), 1)


def id_routes(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    out = []
    for path, ops in doc["paths"].items():
        if not path.startswith("/api/v1/") or not PARAM.search(path):
            continue
        for method, op in ops.items():
            out.append((path, method, op))
    return out


def test_every_id_route_answers_404_across_workspaces(client, make_workspace):
    a, b = make_workspace("A"), make_workspace("B")
    doc = client.get("/api/v1/openapi.json").json()
    routes = id_routes(doc)
    assert len(routes) >= 8, "expected the keys, widget-keys and members id routes at least"
    params = {p for path, _, _ in routes for p in PARAM.findall(path)}
    missing = params - FACTORIES.keys()
    assert not missing, f"add factories in tests/tenancy.py for: {sorted(missing)}"
    ids = {p: FACTORIES[p](client, a) for p in params}

    checked = []
    for path, method, op in routes:
        url = PARAM.sub(lambda m: ids[m.group(1)], path)
        kwargs: dict[str, Any] = {"headers": b.headers}
        body_schema = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
        if body_schema is not None:
            kwargs["json"] = example_body(body_schema, doc)
        r = client.request(method.upper(), url, **kwargs)
        if op.get("x-woes-upsert"):
            # Upsert by a workspace-scoped external id: B gets (or makes) its OWN record, never A's.
            assert r.status_code in (200, 201, 422), f"{method.upper()} {path}: {r.status_code} {r.text}"
            if r.status_code != 422:
                assert r.json()["id"] not in ids.values()
            checked.append(f"{method.upper()} {path}")
            continue
        assert r.status_code == 404, f"{method.upper()} {path} with another workspace's id gave {r.status_code}: {r.text}"
        assert r.json()["code"] == "not_found"
        checked.append(f"{method.upper()} {path}")
    # A's resources are still there and unchanged after B's attempts (including DELETE and rotate).
    for p, rid in ids.items():
        for path, method, _ in routes:
            if method == "get" and path.endswith("{" + p + "}") and PARAM.findall(path) == [p]:
                r = client.get(PARAM.sub(rid, path), headers=a.headers)
                assert r.status_code == 200, (path, r.text)
                if "revokedAt" in r.json():
                    assert r.json()["revokedAt"] is None
    assert len(checked) == len(routes)


def test_a_key_only_sees_its_own_workspace(client, make_workspace):
    a, b = make_workspace("A"), make_workspace("B")
    assert client.get("/api/v1/workspace", headers=a.headers).json()["id"] == str(a.id)
    assert client.get("/api/v1/workspace", headers=b.headers).json()["id"] == str(b.id)
    a_keys = {k["id"] for k in client.get("/api/v1/keys", headers=a.headers).json()["keys"]}
    b_keys = {k["id"] for k in client.get("/api/v1/keys", headers=b.headers).json()["keys"]}
    assert a_keys.isdisjoint(b_keys)
    b_members = client.get("/api/v1/members", headers=b.headers).json()["members"]
    assert [m["email"] for m in b_members] == [b.owner_email]
