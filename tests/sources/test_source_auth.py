"""Source credentials: write-only, encrypted at rest, kept when unset, never in responses/logs/events."""

from __future__ import annotations

import io
import logging

from conftest import all_database_text, make_key

from woes.core.logging import configure_logging


def _source(client, ws) -> dict:
    r = client.post("/api/v1/sources", json={"name": "Widgets", "type": "markdown", "content": "# Widgets"}, headers=ws.headers)
    assert r.status_code == 201, r.text
    return r.json()


def test_credentials_write_only_encrypted_and_kept(client, ws, runtime):
    stream = io.StringIO()
    configure_logging("DEBUG", True, stream=stream)
    try:
        src = _source(client, ws)
        token = "tok_" + "Zx9" * 12
        url = f"/api/v1/sources/{src['id']}/auth"
        r = client.put(url, json={"type": "bearer", "token": token}, headers=ws.headers)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["type"] == "bearer" and body["secrets"] == {"token": {"set": True, "hint": "••••" + token[-4:]}}
        # updating other settings without the secret keeps it
        r = client.put(url, json={"type": "bearer"}, headers=ws.headers)
        assert r.status_code == 200 and r.json()["secrets"]["token"]["set"] is True
        got = client.get(url, headers=ws.headers)
        from woes.sources.credentials import credentials
        from woes.sources.models import SourceAuth

        with runtime.db.reading() as s:
            import uuid

            row = s.get(SourceAuth, uuid.UUID(src["id"]))
            assert credentials(row) == {"token": token}
        texts = [r.text, got.text, client.get(f"/api/v1/sources/{src['id']}", headers=ws.headers).text,
                 client.get("/api/v1/events?limit=500", headers=ws.headers).text]
        runtime.relay.dispatch_pending()
    finally:
        logging.getLogger().handlers = [h for h in logging.getLogger().handlers if not getattr(h, "_woes", False)]
    for t in texts:
        assert token not in t
    assert token not in stream.getvalue()
    assert token not in all_database_text(runtime)  # encrypted at rest


def test_type_change_needs_new_secret_and_validation(client, ws):
    src = _source(client, ws)
    url = f"/api/v1/sources/{src['id']}/auth"
    client.put(url, json={"type": "bearer", "token": "t" * 20}, headers=ws.headers)
    r = client.put(url, json={"type": "basic", "username": "svc"}, headers=ws.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "password"
    r = client.put(url, json={"type": "api_key", "apiKey": "k" * 20}, headers=ws.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "name"
    r = client.put(url, json={"type": "api_key", "apiKey": "k" * 20, "name": "X-Api-Key", "location": "header"}, headers=ws.headers)
    assert r.status_code == 200 and r.json()["config"] == {"name": "X-Api-Key", "location": "header"}
    r = client.put(url, json={"type": "oauth2_client_credentials", "tokenUrl": "not a url", "clientId": "c", "clientSecret": "s" * 12},
                   headers=ws.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "tokenUrl"
    r = client.put(url, json={"type": "none"}, headers=ws.headers)
    assert r.json() == {**r.json(), "type": "none", "secrets": {}}
    assert client.put(url, json={"type": "magic"}, headers=ws.headers).status_code == 422


def test_auth_scopes_and_tenancy(client, ws, make_workspace):
    src = _source(client, ws)
    reader = make_key(client, ws, ["knowledge:read"])
    h = {"Authorization": f"Bearer {reader['secret']}"}
    assert client.get(f"/api/v1/sources/{src['id']}/auth", headers=h).status_code == 200
    r = client.put(f"/api/v1/sources/{src['id']}/auth", json={"type": "bearer", "token": "x" * 20}, headers=h)
    assert r.status_code == 403 and r.json()["requiredScope"] == "knowledge:write"
    other = make_workspace("Other")
    assert client.get(f"/api/v1/sources/{src['id']}/auth", headers=other.headers).status_code == 404
