"""SPEC §2 machinery shared by every route: errors, request ids, pagination, idempotency, rate limits, 413."""

from __future__ import annotations

import os
import threading
import uuid
from typing import Annotated

from conftest import make_key
from fastapi import Depends
from fastapi.testclient import TestClient

from woes.access.deps import require
from woes.access.principal import Principal
from woes.app import create_app
from woes.events.service import SYSTEM
from woes.keys.schemas import WidgetKeyCreate
from woes.keys.service import do_create_widget_key


def test_request_id_generated_and_echoed(client, ws):
    r = client.get("/api/v1/workspace", headers=ws.headers)
    assert len(r.headers["x-request-id"]) >= 16
    r = client.get("/api/v1/workspace", headers={**ws.headers, "X-Request-Id": "trace-abc.123"})
    assert r.headers["x-request-id"] == "trace-abc.123"
    r = client.get("/api/v1/nope", headers={"X-Request-Id": "bad id with spaces <script>"})
    assert r.headers["x-request-id"] != "bad id with spaces <script>"
    assert r.status_code == 404 and r.json()["code"] == "not_found" and r.json()["requestId"] == r.headers["x-request-id"]


def test_validation_errors_name_the_field(client, ws):
    r = client.patch("/api/v1/workspace", json={"timezone": "Mars/Olympus", "branding": {"color": "red"}}, headers=ws.headers)
    assert r.status_code == 422
    body = r.json()
    assert body["code"] == "validation_failed" and r.headers["content-type"].startswith("application/problem+json")
    fields = {e["field"] for e in body["errors"]}
    assert fields == {"timezone", "branding.color"}
    assert "timezone" in body["error"]
    r = client.patch("/api/v1/workspace", json={"nmae": "typo"}, headers=ws.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "nmae"
    r = client.post("/api/v1/keys", content=b"{not json", headers={**ws.headers, "Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["code"] == "validation_failed" and r.json()["errors"][0]["field"] == "body"
    r = client.post("/api/v1/keys", json={"scopes": ["*"]}, headers=ws.headers)
    assert r.status_code == 422 and r.json()["errors"] == [{"field": "name", "message": "This field is required."}]
    r = client.get("/api/v1/keys?limit=0", headers=ws.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "limit"
    r = client.get("/api/v1/keys?cursor=garbage!!", headers=ws.headers)
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "cursor"


def test_bad_input_leaves_nothing_half_written(client, ws):
    before = client.get("/api/v1/workspace", headers=ws.headers).json()
    r = client.patch("/api/v1/workspace", json={"name": "Renamed", "timezone": "Nowhere/Else"}, headers=ws.headers)
    assert r.status_code == 422
    assert client.get("/api/v1/workspace", headers=ws.headers).json() == before


def test_payload_too_large_413(client, ws):
    big = "x" * (1024 * 1024 + 10)
    r = client.post("/api/v1/keys", json={"name": big, "scopes": ["*"]}, headers=ws.headers)
    assert r.status_code == 413 and r.json()["code"] == "payload_too_large"

    def chunks():  # no Content-Length: counted while streaming
        for _ in range(20):
            yield b"x" * 65536

    r = client.post("/api/v1/keys", content=chunks(), headers={**ws.headers, "Content-Type": "application/json"})
    assert r.status_code == 413 and r.json()["code"] == "payload_too_large"


def test_pagination_no_skips_or_repeats_under_concurrent_inserts(client, ws, runtime):
    with runtime.db.transaction() as s:
        for i in range(45):
            do_create_widget_key(s, ws.id, WidgetKeyCreate(name=f"initial {i}"), SYSTEM)
    seen: list[str] = []
    cursor = None
    inserted = 0
    while True:
        url = "/api/v1/widget-keys?limit=10" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(url, headers=ws.headers).json()
        seen += [k["id"] for k in page["widgetKeys"]]
        assert all(k["name"].startswith("initial") for k in page["widgetKeys"])
        # 200 rows appear between the pages (newer than the cursor: they must neither shift nor repeat pages)
        with runtime.db.transaction() as s:
            for _ in range(40):
                do_create_widget_key(s, ws.id, WidgetKeyCreate(name="late"), SYSTEM)
                inserted += 1
        if not page["hasMore"]:
            assert page["nextCursor"] is None
            break
        cursor = page["nextCursor"]
    assert inserted == 200
    assert len(seen) == 45 and len(set(seen)) == 45


def _idem(ws, key: str) -> dict[str, str]:
    return {**ws.headers, "Idempotency-Key": key}


def test_idempotency_replay(client, ws):
    body = {"name": "idem", "scopes": ["workspace:read"]}
    first = client.post("/api/v1/keys", json=body, headers=_idem(ws, "k-1"))
    assert first.status_code == 201 and "idempotent-replayed" not in first.headers
    again = client.post("/api/v1/keys", json=body, headers=_idem(ws, "k-1"))
    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    names = [k["name"] for k in client.get("/api/v1/keys?limit=100", headers=ws.headers).json()["keys"]]
    assert names.count("idem") == 1


def test_idempotency_conflict_on_different_body(client, ws):
    client.post("/api/v1/keys", json={"name": "a", "scopes": ["*"]}, headers=_idem(ws, "k-2"))
    r = client.post("/api/v1/keys", json={"name": "b", "scopes": ["*"]}, headers=_idem(ws, "k-2"))
    assert r.status_code == 422 and r.json()["code"] == "idempotency_conflict"


def test_idempotency_errors_are_replayed_and_keys_are_per_workspace(client, ws, make_workspace):
    r1 = client.post("/api/v1/keys", json={"name": "", "scopes": ["*"]}, headers=_idem(ws, "k-3"))
    r2 = client.post("/api/v1/keys", json={"name": "", "scopes": ["*"]}, headers=_idem(ws, "k-3"))
    assert r1.status_code == r2.status_code == 422 and r2.headers["idempotent-replayed"] == "true"
    other = make_workspace("Other")
    r3 = client.post("/api/v1/keys", json={"name": "", "scopes": ["*"]}, headers=_idem(other, "k-3"))
    assert r3.status_code == 422 and "idempotent-replayed" not in r3.headers


def test_idempotency_in_progress_409(settings, runtime, ws):
    app = create_app(settings, runtime, background=False, migrate=False)
    entered, release = threading.Event(), threading.Event()

    @app.post("/api/v1/_test/slow")
    def slow(p: Annotated[Principal, Depends(require("workspace:write"))]) -> dict:
        entered.set()
        release.wait(10)
        return {"ok": True, "id": str(uuid.uuid4())}

    results = {}
    with TestClient(app) as c:
        t = threading.Thread(target=lambda: results.setdefault("first", c.post("/api/v1/_test/slow", json={}, headers=_idem(ws, "slow"))))
        t.start()
        assert entered.wait(10)
        second = c.post("/api/v1/_test/slow", json={}, headers=_idem(ws, "slow"))
        assert second.status_code == 409 and second.json()["code"] == "idempotency_in_progress"
        release.set()
        t.join(10)
        assert results["first"].status_code == 200
        third = c.post("/api/v1/_test/slow", json={}, headers=_idem(ws, "slow"))
        assert third.headers["idempotent-replayed"] == "true" and third.json() == results["first"].json()


def test_rate_limit_headers_and_429(settings, runtime, ws, make_workspace):
    settings.rate_limit_per_minute = 5
    app = create_app(settings, runtime, background=False, migrate=False)
    with TestClient(app) as c:
        r = c.get("/api/v1/workspace", headers=ws.headers)
        assert r.headers["ratelimit-policy"] == "default;q=5;w=60"
        assert r.headers["ratelimit"].startswith("default;r=4;t=")
        # the sliding-window counter weighs the previous clock minute's requests by how much of it is left,
        # so a burst that straddles a minute boundary may get one or two more through: allow for that
        codes = []
        for _ in range(7):
            r = c.get("/api/v1/workspace", headers=ws.headers)
            codes.append(r.status_code)
            if r.status_code == 429:
                break
        assert codes[:4] == [200] * 4 and codes[-1] == 429, codes
        assert r.json()["code"] == "rate_limited"
        assert int(r.headers["retry-after"]) >= 1 and "ratelimit" in r.headers
        other = make_workspace("Other")  # a different key has its own budget
        assert c.get("/api/v1/workspace", headers=other.headers).status_code == 200


def test_rate_limit_shared_through_redis(settings, runtime, ws):
    import redis

    settings.rate_limit_per_minute = 3
    # one Redis database per parallel test worker: a flush in one must not reset the other's counters
    worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
    settings.redis_url = f"redis://127.0.0.1:6379/{15 - worker % 8}"
    redis.Redis.from_url(settings.redis_url).flushdb()
    replicas = [create_app(settings, runtime, background=False, migrate=False) for _ in range(2)]
    with TestClient(replicas[0]) as a, TestClient(replicas[1]) as b:
        codes = []
        for c in (a, b, a, b, a, b):  # a burst across a clock minute may get one or two more through
            codes.append(c.get("/api/v1/workspace", headers=ws.headers).status_code)
            if codes[-1] == 429:
                break
    assert codes[:3] == [200, 200, 200] and codes[-1] == 429, codes


def test_scope_read_key_sees_problem_for_unknown_route(client, ws):
    key = make_key(client, ws, ["workspace:read"])
    r = client.delete("/api/v1/workspace", headers={"Authorization": f"Bearer {key['secret']}"})
    assert r.status_code == 405 and r.json()["code"] == "method_not_allowed"
