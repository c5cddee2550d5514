"""API keys (SPEC §3): 401/403 semantics, rotation grace, revocation, secrets never leak."""

from __future__ import annotations

import io
import logging
from datetime import timedelta
from uuid import UUID

from conftest import all_database_text, make_key
from sqlalchemy import update

from woes.core.logging import configure_logging
from woes.db import utcnow
from woes.keys.models import ApiKey


def _h(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def test_missing_unknown_malformed_key_is_401(client):
    for headers in ({}, _h("woesk_doesnotexist"), _h("nonsense"), {"Authorization": "Basic abc"}, {"Authorization": "Bearer "}):
        r = client.get("/api/v1/workspace", headers=headers)
        assert r.status_code == 401, headers
        body = r.json()
        assert body["code"] == "unauthorized"
        assert r.headers["content-type"].startswith("application/problem+json")
        assert body["status"] == 401 and body["type"].startswith("https://") and body["error"]


def test_revoked_key_is_401(client, ws):
    key = make_key(client, ws, ["workspace:read"])
    assert client.get("/api/v1/workspace", headers=_h(key["secret"])).status_code == 200
    r = client.delete(f"/api/v1/keys/{key['id']}", headers=ws.headers)
    assert r.status_code == 200 and r.json()["revokedAt"]
    r = client.get("/api/v1/workspace", headers=_h(key["secret"]))
    assert r.status_code == 401 and r.json()["code"] == "unauthorized"


def test_expired_key_is_401_key_expired(client, ws, monkeypatch):
    expires = utcnow() + timedelta(hours=1)
    key = make_key(client, ws, ["workspace:read"], expiresAt=expires.isoformat())
    assert client.get("/api/v1/workspace", headers=_h(key["secret"])).status_code == 200  # now cached
    later = lambda: expires + timedelta(seconds=1)  # noqa: E731 - the clock of the code that checks expiry
    monkeypatch.setattr("woes.auth.middleware.utcnow", later)
    monkeypatch.setattr("woes.auth.service.utcnow", later)
    r = client.get("/api/v1/workspace", headers=_h(key["secret"]))
    assert r.status_code == 401 and r.json()["code"] == "key_expired"


def test_expiry_in_the_past_is_rejected(client, ws):
    r = client.post("/api/v1/keys", json={"name": "x", "scopes": ["*"], "expiresAt": "2001-01-01T00:00:00Z"}, headers=ws.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "expiresAt"


def test_missing_scope_is_403_naming_scope(client, ws):
    key = make_key(client, ws, ["workspace:read"])
    r = client.patch("/api/v1/workspace", json={"name": "New"}, headers=_h(key["secret"]))
    assert r.status_code == 403
    body = r.json()
    assert body["code"] == "permission_denied" and "workspace:write" in body["error"] and body["requiredScope"] == "workspace:write"
    r = client.get("/api/v1/keys", headers=_h(key["secret"]))
    assert r.status_code == 403 and "keys:read" in r.json()["error"]


def test_write_scope_implies_read(client, ws):
    key = make_key(client, ws, ["workspace:write"])
    assert client.get("/api/v1/workspace", headers=_h(key["secret"])).status_code == 200


def test_unknown_scope_rejected(client, ws):
    r = client.post("/api/v1/keys", json={"name": "x", "scopes": ["root:all"]}, headers=ws.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "scopes"


def test_key_cannot_mint_broader_key(client, ws):
    keys_admin = make_key(client, ws, ["keys:write"])
    r = client.post("/api/v1/keys", json={"name": "escalate", "scopes": ["*"]}, headers=_h(keys_admin["secret"]))
    assert r.status_code == 403 and r.json()["code"] == "permission_denied"
    r = client.post("/api/v1/keys", json={"name": "escalate", "scopes": ["members:write"]}, headers=_h(keys_admin["secret"]))
    assert r.status_code == 403
    r = client.post("/api/v1/keys", json={"name": "ok", "scopes": ["keys:read"]}, headers=_h(keys_admin["secret"]))
    assert r.status_code == 201


def test_rotation_grace_works_and_ends(client, ws, monkeypatch):
    key = make_key(client, ws, ["workspace:read"])
    old = key["secret"]
    r = client.post(f"/api/v1/keys/{key['id']}/rotate", json={"gracePeriodSeconds": 600}, headers=ws.headers)
    assert r.status_code == 200
    new = r.json()["secret"]
    assert new != old and new.startswith("woesk_") and r.json()["prefix"] == new[:14]
    assert client.get("/api/v1/workspace", headers=_h(old)).status_code == 200
    assert client.get("/api/v1/workspace", headers=_h(new)).status_code == 200
    later = lambda: utcnow() + timedelta(seconds=601)  # noqa: E731 - the grace period has ended on the checking code's clock
    monkeypatch.setattr("woes.auth.middleware.utcnow", later)
    monkeypatch.setattr("woes.auth.service.utcnow", later)
    r = client.get("/api/v1/workspace", headers=_h(old))
    assert r.status_code == 401 and r.json()["code"] == "unauthorized"
    assert client.get("/api/v1/workspace", headers=_h(new)).status_code == 200


def test_revocation_takes_effect_in_other_replicas_through_events(client, ws, runtime):
    """A replica that cached the key learns of the revocation from the outbox event (shared bus)."""
    key = make_key(client, ws, ["workspace:read"])
    assert client.get("/api/v1/workspace", headers=_h(key["secret"])).status_code == 200
    runtime.auth_cache.put("key:other-replica-entry", "cached", runtime.auth_cache.generation)
    with runtime.db.transaction() as s:
        s.execute(update(ApiKey).where(ApiKey.id == UUID(key["id"])).values(revoked_at=utcnow()))
        from woes.events.service import SYSTEM, record_event
        record_event(s, workspace_id=ws.id, type="key.revoked", resource_type="api_key", resource_id=key["id"], data={}, actor=SYSTEM)
    runtime.relay.dispatch_pending()  # the relay publishes key.revoked; every replica's cache clears
    assert runtime.auth_cache.get("key:other-replica-entry") is None
    assert client.get("/api/v1/workspace", headers=_h(key["secret"])).status_code == 401


def test_rotation_with_zero_grace_stops_old_secret_at_once(client, ws):
    key = make_key(client, ws, ["workspace:read"])
    r = client.post(f"/api/v1/keys/{key['id']}/rotate", json={"gracePeriodSeconds": 0}, headers=ws.headers)
    assert client.get("/api/v1/workspace", headers=_h(key["secret"])).status_code == 401
    assert client.get("/api/v1/workspace", headers=_h(r.json()["secret"])).status_code == 200


def test_rotation_default_grace_is_24h_and_bounds_checked(client, ws):
    key = make_key(client, ws, ["workspace:read"])
    r = client.post(f"/api/v1/keys/{key['id']}/rotate", headers=ws.headers)
    assert r.status_code == 200
    assert client.get("/api/v1/workspace", headers=_h(key["secret"])).status_code == 200
    r = client.post(f"/api/v1/keys/{key['id']}/rotate", json={"gracePeriodSeconds": -1}, headers=ws.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "gracePeriodSeconds"


def test_revoked_key_cannot_rotate(client, ws):
    key = make_key(client, ws, ["workspace:read"])
    client.delete(f"/api/v1/keys/{key['id']}", headers=ws.headers)
    r = client.post(f"/api/v1/keys/{key['id']}/rotate", json={}, headers=ws.headers)
    assert r.status_code == 409 and r.json()["code"] == "conflict"


def test_secret_never_returned_logged_or_stored(client, ws, runtime):
    stream = io.StringIO()
    configure_logging("DEBUG", True, stream=stream)
    try:
        key = make_key(client, ws, ["workspace:read", "keys:read"])
        secret = key["secret"]
        rotated = client.post(f"/api/v1/keys/{key['id']}/rotate", json={"gracePeriodSeconds": 60}, headers=ws.headers).json()["secret"]
        client.get("/api/v1/workspace", headers=_h(secret))
        client.get(f"/api/v1/workspace?token={secret}", headers=_h(rotated))
        logging.getLogger("woes.test").info("caller sent %s", secret)  # even a careless log line is redacted
        bodies = [
            client.get("/api/v1/keys", headers=ws.headers).text,
            client.get(f"/api/v1/keys/{key['id']}", headers=ws.headers).text,
            client.get(f"/api/v1/keys/{key['id']}", headers=_h(secret)).text,
            client.delete(f"/api/v1/keys/{key['id']}", headers=ws.headers).text,
            client.get("/api/v1/auth/me", headers=_h(rotated)).text,
        ]
        runtime.usage.flush()
        runtime.relay.dispatch_pending()
    finally:
        logging.getLogger().handlers = [h for h in logging.getLogger().handlers if not getattr(h, "_woes", False)]
    for s in (secret, rotated):
        for body in bodies:
            assert s not in body
        assert s not in stream.getvalue()
        assert s not in all_database_text(runtime)
    assert '"path": "/api/v1/workspace"' in stream.getvalue()  # the request log exists
    assert "authorization" not in stream.getvalue().lower()


def test_usage_metadata_recorded(client, ws, runtime):
    key = make_key(client, ws, ["workspace:read"])
    for _ in range(3):
        client.get("/api/v1/workspace", headers=_h(key["secret"]))
    runtime.usage.flush()
    got = client.get(f"/api/v1/keys/{key['id']}", headers=ws.headers).json()
    assert got["usageCount"] == 3 and got["lastUsedAt"] and got["lastUsedIp"]


def test_keys_list_and_get(client, ws):
    created = [make_key(client, ws, ["workspace:read"]) for _ in range(3)]
    listing = client.get("/api/v1/keys?limit=2", headers=ws.headers).json()
    assert listing["object"] == "list" and len(listing["keys"]) == 2 and listing["hasMore"]
    rest = client.get(f"/api/v1/keys?limit=2&cursor={listing['nextCursor']}", headers=ws.headers).json()
    ids = {k["id"] for k in listing["keys"] + rest["keys"]}
    assert {c["id"] for c in created} <= ids and len(ids) == 4  # 3 + the workspace's root key
    assert client.get("/api/v1/keys/not-a-uuid", headers=ws.headers).status_code == 422
