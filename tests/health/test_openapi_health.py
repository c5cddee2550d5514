from __future__ import annotations

from woes.app import api_routes


def test_openapi_lists_every_route_with_scope(client, app):
    doc = client.get("/api/v1/openapi.json").json()
    from openapi_spec_validator import validate

    validate(doc)
    public = {("post", "/api/v1/auth/login"), ("post", "/api/v1/auth/accept-invite"),
              ("post", "/api/v1/auth/logout"), ("get", "/api/v1/auth/me")}
    checked = 0
    for route in api_routes(app):
        if not route.path.startswith("/api/v1"):
            continue
        for method in route.methods:
            op = doc["paths"][route.path_format][method.lower()]
            assert "x-required-scope" in op, f"{method} {route.path_format}"
            if (method.lower(), route.path_format) not in public:
                assert op["x-required-scope"], f"{method} {route.path_format} has no scope"
                assert op["x-required-scope"] in op["description"]
            checked += 1
    assert checked >= 60  # the walk really saw the routes of every domain


def test_every_ref_in_the_openapi_document_resolves(client):
    """openapi-spec-validator does not follow refs that no schema it checks reaches; walk them all."""
    doc = client.get("/api/v1/openapi.json").json()
    refs: list[str] = []

    def walk(node):
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                refs.append(node["$ref"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(doc)
    assert len(refs) > 50
    for ref in set(refs):
        assert ref.startswith("#/"), ref
        target = doc
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            assert isinstance(target, dict) and part in target, f"{ref} does not resolve"
            target = target[part]


def test_invalid_utf8_or_json_bodies_are_4xx_on_every_route(client, ws):
    """A body that is not UTF-8 or not JSON is refused with a problem naming the body, on every route that
    takes one, never a 500."""
    doc = client.get("/api/v1/openapi.json").json()
    tried = 0
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method not in ("post", "put", "patch") or "requestBody" not in op:
                continue
            if "application/json" not in op["requestBody"].get("content", {}):
                continue
            url = path
            for name in [seg[1:-1] for seg in path.split("/") if seg.startswith("{")]:
                url = url.replace("{" + name + "}", "00000000-0000-4000-8000-000000000000")
            for raw in (b'{"name": "\xff\xfe"}', b'{"name": ', b"\x00\x01"):
                r = client.request(method, url, content=raw, headers={**ws.headers, "Content-Type": "application/json"})
                assert 400 <= r.status_code < 500, (method, path, raw, r.status_code, r.text[:200])
                assert r.headers["content-type"].startswith("application/problem+json"), (method, path)
            tried += 1
    assert tried >= 40


def test_health_and_ready(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    r = client.get("/readyz")
    assert r.status_code == 200, r.text
    checks = r.json()["checks"]
    assert checks["database"]["ok"] and checks["migrations"]["ok"] and checks["queue"]["ok"]


def test_not_ready_when_migrations_behind(client, runtime):
    from sqlalchemy import text

    with runtime.db.transaction() as s:
        versions = [r[0] for r in s.execute(text("SELECT version_num FROM alembic_version"))]
        s.execute(text("DELETE FROM alembic_version"))
        s.execute(text("INSERT INTO alembic_version (version_num) VALUES ('0001')"))
    try:
        r = client.get("/readyz")
        assert r.status_code == 503 and r.json()["checks"]["migrations"]["ok"] is False
    finally:
        with runtime.db.transaction() as s:
            s.execute(text("DELETE FROM alembic_version"))
            for v in versions:
                s.execute(text("INSERT INTO alembic_version (version_num) VALUES (:v)"), {"v": v})
