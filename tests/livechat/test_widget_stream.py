"""The widget's live stream over a real server: operator replies, typing, state changes, handoff notices and the
end of access, every frame customer-safe."""

from __future__ import annotations

import json

import httpx
import pytest
from support.live_server import serving
from support.sse import StreamReader
from support.waiting import wait_for
from test_widget_security import CANARY, _plant_internals, assert_customer_safe
from widget_helpers import ORIGIN

from woes.app import create_app


@pytest.fixture
def live(settings, runtime):
    with serving(create_app(settings, runtime, background=True, migrate=False)) as base:
        yield base


def _start(base: str, key: str) -> tuple[str, str]:
    r = httpx.post(base + "/api/widget/messages", json={"body": "How do I print a label?"},
                   headers={"X-Woes-Public-Key": key, "Origin": ORIGIN})
    assert r.status_code == 201, r.text
    return r.json()["conversationId"], r.json()["conversationSecret"]


def _key(base: str, ws) -> str:
    r = httpx.post(base + "/api/v1/widget-keys", json={"name": "Docs", "allowedOrigins": [ORIGIN]}, headers=ws.headers)
    assert r.status_code == 201, r.text
    return r.json()["publicKey"]


def _reader(base: str, key: str, conv: str, secret: str, **extra: str) -> StreamReader:
    reader = StreamReader(f"{base}/api/widget/conversations/{conv}/stream",
                          {"X-Woes-Public-Key": key, "Origin": ORIGIN, "X-Woes-Conversation-Secret": secret, **extra})
    reader.start()
    assert reader.connected.wait(10)
    return reader


def test_operator_replies_typing_and_state_reach_the_stream(live, ws, runtime, client):
    key = _key(live, ws)
    conv, secret = _start(live, key)
    reader = _reader(live, key, conv, secret)
    assert wait_for(lambda: reader.frames("message") and reader.frames("conversation"), 10)  # the opening state
    _plant_internals(client, ws, runtime, conv)
    h = ws.headers
    httpx.post(f"{live}/api/v1/conversations/{conv}/typing", json={"typing": True}, headers=h)
    assert wait_for(lambda: reader.frames("typing"), 10)
    assert reader.frames("typing")[-1] == {"author": {"type": "operator", "name": None}, "typing": True}
    r = httpx.post(f"{live}/api/v1/conversations/{conv}/messages", json={"body": "Use GET /v1/labels/{id}.", "role": "assistant"},
                   headers=h)
    assert r.status_code == 201
    assert wait_for(lambda: any(m["body"] == "Use GET /v1/labels/{id}." for m in reader.frames("message")), 10)
    httpx.patch(f"{live}/api/v1/conversations/{conv}", json={"status": "solved"}, headers=h)
    assert wait_for(lambda: any(c["status"] == "solved" for c in reader.frames("conversation")), 10)
    reader.stop.set()
    for frame in reader.events:
        assert_customer_safe(json.dumps(frame), "stream frame")
    assert all(CANARY not in str(f) for f in reader.events)


def test_a_handoff_shows_the_visitor_a_person_will_reply(live, ws, client):
    key = _key(live, ws)
    agent = client.post("/api/v1/agents", json={"name": "Bot", "channels": ["live-chat"], "mode": "draft"}, headers=ws.headers).json()
    conv, secret = _start(live, key)
    assert client.get(f"/api/v1/conversations/{conv}", headers=ws.headers).json()["agentId"] == agent["id"]
    reader = _reader(live, key, conv, secret)
    assert wait_for(lambda: reader.frames("conversation"), 10)
    r = httpx.post(f"{live}/api/v1/conversations/{conv}/takeover", json={"reason": "Billing question"}, headers=ws.headers)
    assert r.status_code == 200, r.text
    assert wait_for(lambda: any(c.get("notice") for c in reader.frames("conversation")), 10)
    frame = next(c for c in reader.frames("conversation") if c.get("notice"))
    assert frame["handling"] == "human" and "person" in frame["notice"]
    assert "Billing" not in str(reader.events)  # the operator's reason is internal
    reader.stop.set()


def test_rotating_the_history_secret_ends_the_stream(live, ws):
    key = _key(live, ws)
    conv, secret = _start(live, key)
    reader = _reader(live, key, conv, secret)
    assert wait_for(lambda: reader.frames("conversation"), 10)
    assert httpx.post(f"{live}/api/v1/conversations/{conv}/history-secret/rotate", headers=ws.headers).status_code == 200
    httpx.post(f"{live}/api/v1/conversations/{conv}/messages", json={"body": "after rotation", "role": "assistant"},
               headers=ws.headers)
    assert wait_for(lambda: reader.frames("end"), 10)
    assert not any(m["body"] == "after rotation" for m in reader.frames("message"))
    reader.join(10)
    assert not reader.is_alive()


def test_a_reconnect_resumes_after_the_last_message(live, ws):
    key = _key(live, ws)
    conv, secret = _start(live, key)
    h = ws.headers
    first = httpx.get(f"{live}/api/widget/conversations/{conv}/messages",
                      headers={"X-Woes-Public-Key": key, "Origin": ORIGIN, "X-Woes-Conversation-Secret": secret}).json()
    last_id = first["messages"][-1]["id"]
    httpx.post(f"{live}/api/v1/conversations/{conv}/messages", json={"body": "while you were away", "role": "assistant"}, headers=h)
    reader = _reader(live, key, conv, secret, **{"Last-Event-ID": last_id})
    assert wait_for(lambda: reader.frames("message"), 10)
    assert [m["body"] for m in reader.frames("message")] == ["while you were away"]
    reader.stop.set()
