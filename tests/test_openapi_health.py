from __future__ import annotations

from fastapi.routing import APIRoute


def test_openapi_lists_every_route_with_scope(client, app):
    doc = client.get("/api/v1/openapi.json").json()
    from openapi_spec_validator import validate

    validate(doc)
    public = {("post", "/api/v1/auth/login"), ("post", "/api/v1/auth/accept-invite"),
              ("post", "/api/v1/auth/logout"), ("get", "/api/v1/auth/me")}
    for route in app.routes:
        if not isinstance(route, APIRoute) or not route.path.startswith("/api/v1"):
            continue
        for method in route.methods:
            op = doc["paths"][route.path_format][method.lower()]
            assert "x-required-scope" in op
            if (method.lower(), route.path_format) not in public:
                assert op["x-required-scope"], f"{method} {route.path_format} has no scope"


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
