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
