"""Attacks on the widget API: origins, keys, history secrets, other workspaces, server routes, leaks, floods."""

from __future__ import annotations

import json
import re
import uuid

import pytest
from widget_helpers import ORIGIN, Visitor, make_widget_key

CANARY = "CANARY-widget-7d1e"


@pytest.fixture
def key(client, ws):
    return make_widget_key(client, ws)


@pytest.fixture
def started(client, key):
    v = Visitor(client, key)
    assert v.say("hello").status_code == 201
    return v


def test_a_page_of_another_origin_is_refused(client, key):
    for origin in ("https://evil.example", "https://docs.example.com.evil.example", "http://docs.example.com", None):
        v = Visitor(client, key, origin=origin)
        r = v.say("hi")
        assert r.status_code == 403 and r.json()["code"] == "origin_not_allowed", origin
        assert "access-control-allow-origin" not in r.headers
    assert Visitor(client, key, origin="https://DOCS.example.com:443").say("hi").status_code == 201


def test_a_key_without_origins_accepts_any_page(client, ws):
    open_key = make_widget_key(client, ws, origins=[])
    assert Visitor(client, open_key, origin="http://localhost:5173").say("hi").status_code == 201


def test_unknown_missing_and_disabled_keys_are_refused(client, ws, key):
    assert client.get("/api/widget/config").status_code == 401
    assert client.get("/api/widget/config", headers={"X-Woes-Public-Key": "trovw_nope", "Origin": ORIGIN}).status_code == 401
    ws_key = client.get("/api/v1/widget-keys", headers=ws.headers).json()["widgetKeys"][0]
    assert client.get("/api/widget/config", headers={"X-Woes-Public-Key": key, "Origin": ORIGIN}).status_code == 200
    client.patch(f"/api/v1/widget-keys/{ws_key['id']}", json={"enabled": False}, headers=ws.headers)
    r = client.get("/api/widget/config", headers={"X-Woes-Public-Key": key, "Origin": ORIGIN})
    assert r.status_code == 401  # at once: the cached key is dropped when it changes


def _widget_reads(v: Visitor, conversation_id: str, secret: str | None):
    h = v.headers(secret) if secret is not None else {k: val for k, val in v.headers().items() if k != "X-Woes-Conversation-Secret"}
    c = v.client
    yield "state", c.get(f"/api/widget/conversations/{conversation_id}", headers=h)
    yield "history", c.get(f"/api/widget/conversations/{conversation_id}/messages", headers=h)
    yield "stream", c.get(f"/api/widget/conversations/{conversation_id}/stream", headers=h)
    yield "message", c.post("/api/widget/messages", json={"body": "x", "conversationId": conversation_id}, headers=h)
    yield "event", c.post("/api/widget/events", json={"type": "read", "conversationId": conversation_id}, headers=h)
    yield "csat", c.post("/api/widget/csat", json={"conversationId": conversation_id, "score": 1}, headers=h)


def test_history_needs_this_conversations_secret(client, key, started):
    other = Visitor(client, key)
    other.say("mine")
    cases = {"no secret": None, "garbage": "wcs_garbage", "another conversation's": other.secret, "empty": ""}
    for label, secret in cases.items():
        for route, r in _widget_reads(started, started.conversation_id, secret):
            assert r.status_code == 404, (label, route, r.text)
            assert r.json()["code"] == "not_found"
    unknown = str(uuid.uuid4())
    for route, r in _widget_reads(started, unknown, started.secret):
        assert r.status_code == 404, (route, r.text)


def test_a_widget_key_of_one_workspace_cannot_touch_another(client, make_workspace, key, started):
    other_ws = make_workspace("Other")
    other_key = make_widget_key(client, other_ws)
    outsider = Visitor(client, other_key, conversation_id=started.conversation_id, secret=started.secret)
    for route, r in _widget_reads(outsider, started.conversation_id, started.secret):
        assert r.status_code == 404, (route, r.text)
    # and nothing the outsider does lands in the first workspace
    outsider.conversation_id = outsider.secret = None
    assert outsider.say("hello from B").status_code == 201
    assert outsider.conversation_id != started.conversation_id


def test_a_widget_key_calls_no_server_api_route(client, key):
    doc = client.get("/api/v1/openapi.json").json()
    tried = 0
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            if not op.get("x-required-scope"):
                continue
            url = re.sub(r"\{[^}]+\}", str(uuid.uuid4()), path)
            for headers in ({"Authorization": f"Bearer {key}"}, {"X-Woes-Public-Key": key, "Origin": ORIGIN}):
                r = client.request(method.upper(), url, headers=headers, json={})
                assert r.status_code == 401, (method, path, r.status_code, r.text[:200])
                tried += 1
    assert tried > 100


def _plant_internals(client, ws, runtime, conversation_id: str) -> None:
    """Everything operators see about a conversation that a visitor must not: a note, tags, a custom field,
    priority and assignee, an agent run with its trace."""
    h = ws.headers
    assert client.post(f"/api/v1/conversations/{conversation_id}/notes", json={"body": f"internal {CANARY} note"},
                       headers=h).status_code == 201
    assert client.post("/api/v1/custom-fields", json={"key": "risk", "label": "Risk", "type": "text", "target": "conversation"},
                       headers=h).status_code == 201
    r = client.patch(f"/api/v1/conversations/{conversation_id}", json={"tags": ["vip-canary"], "customFields": {"risk": CANARY},
                                                                      "priority": "high"}, headers=h)
    assert r.status_code == 200, r.text
    from agents.helpers import create_agent, make_run

    agent = create_agent(client, ws, name="Internal bot", instructions=f"runbook {CANARY}")
    make_run(runtime, ws.id, agent["id"], conversation_id, trace={"retrieval": [CANARY]}, text=f"draft {CANARY}")


FORBIDDEN_KEYS = {"notes", "note", "trace", "tags", "customFields", "assignee", "priority", "snippet", "sourceId",
                  "endpointId", "containsSecrets", "bodyMasked", "agentId", "instructions", "confidence", "email_hash"}


def _walk_keys(data):
    if isinstance(data, dict):
        for k, v in data.items():
            yield k
            yield from _walk_keys(v)
    elif isinstance(data, list):
        for v in data:
            yield from _walk_keys(v)


def assert_customer_safe(body: str, where: str) -> None:
    assert CANARY not in body and "vip-canary" not in body, where
    data = json.loads(body)
    leaked = FORBIDDEN_KEYS & set(_walk_keys(data))
    assert not leaked, (where, leaked)


def test_no_widget_response_carries_notes_traces_or_internal_fields(client, ws, runtime, key, started):
    _plant_internals(client, ws, runtime, started.conversation_id)
    client.post(f"/api/v1/conversations/{started.conversation_id}/messages", json={"body": "Operator reply", "role": "assistant"},
                headers=ws.headers)
    c, h = client, started.headers()
    responses = {
        "config": c.get("/api/widget/config", headers=h),
        "identify": started.identify(email="ada@example.com", name="Ada"),
        "message": started.say("And another question"),
        "state": c.get(f"/api/widget/conversations/{started.conversation_id}", headers=h),
        "history": started.history(),
        "event": c.post("/api/widget/events", json={"type": "read", "conversationId": started.conversation_id}, headers=h),
    }
    client.patch(f"/api/v1/conversations/{started.conversation_id}", json={"status": "solved"}, headers=ws.headers)
    responses["csat"] = c.post("/api/widget/csat", json={"conversationId": started.conversation_id, "score": 4}, headers=h)
    for where, r in responses.items():
        assert r.status_code < 300, (where, r.text)
        assert_customer_safe(r.text, where)
    assert len(started.history().json()["messages"]) == 3  # the note is not a message


def test_secrets_in_the_visitors_text_are_masked_in_the_widget_too(client, key):
    v = Visitor(client, key)
    v.say("my key is sk_live_" + "a" * 24)
    body = v.history().json()["messages"][0]["body"]
    assert "sk_live_" + "a" * 24 not in body
