"""The widget API (SPEC §9): start and continue a conversation, history, identity, agent routing, events, CSAT."""

from __future__ import annotations

import jwt
import pytest
from support.jobs import run_jobs
from widget_helpers import ORIGIN, Visitor, make_widget_key

from woes.db import utcnow
from woes.livechat.identity import email_hash

SPEC = """openapi: 3.0.3
info: {title: Parcels API, version: '1'}
paths:
  /v1/shipments:
    post:
      operationId: createShipment
      summary: Create a shipment
      description: Creates a shipment from a sender, a recipient and parcel dimensions.
      responses: {'201': {description: The shipment}}
  /v1/shipments/{id}/label:
    get:
      operationId: getLabel
      summary: Download a shipping label
      parameters: [{name: id, in: path, required: true, schema: {type: string}}]
      responses: {'200': {description: The label PDF}}
"""


@pytest.fixture
def visitor(client, ws):
    return Visitor(client, make_widget_key(client, ws))


def _reply(client, ws, conversation_id, body="Use POST /v1/shipments."):
    r = client.post(f"/api/v1/conversations/{conversation_id}/messages", json={"body": body, "role": "assistant"},
                    headers=ws.headers)
    assert r.status_code == 201, r.text
    return r.json()


def test_start_continue_and_read_history(client, ws, visitor):
    r = visitor.say("How do I create a shipment?")
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["conversationSecret"].startswith("wcs_") and out["message"]["body"] == "How do I create a shipment?"
    assert out["conversation"]["status"] == "open" and out["message"]["author"] == {"type": "customer", "name": None}
    conv = client.get(f"/api/v1/conversations/{visitor.conversation_id}", headers=ws.headers).json()
    assert conv["channel"] == "live-chat" and conv["customer"]["identitySource"] == "anonymous"
    assert conv["subject"] == "How do I create a shipment?"
    _reply(client, ws, visitor.conversation_id)
    r = visitor.say("Thanks, and the label?")
    assert r.status_code == 201 and "conversationSecret" not in r.json()
    history = visitor.history().json()["messages"]
    assert [m["author"]["type"] for m in history] == ["customer", "operator", "customer"]
    assert history[1]["body"] == "Use POST /v1/shipments." and history[1]["deliveryStatus"] == "sent"


def test_the_subject_is_the_first_words_and_long_bodies_are_refused(client, ws, visitor):
    visitor.say("word " * 100)
    subject = client.get(f"/api/v1/conversations/{visitor.conversation_id}", headers=ws.headers).json()["subject"]
    assert len(subject) <= 120 and subject.endswith("…")
    r = Visitor(client, visitor.public_key).say("x" * 8001)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body"


@pytest.mark.parametrize(("payload", "field"), [
    ({"body": ""}, "body"),
    ({"body": "hi", "conversationId": "not-a-uuid"}, "conversationId"),
    ({"body": "hi", "visitorId": "short"}, "visitorId"),
    ({"body": "hi", "context": {"k" * 65: 1}}, "context"),
    ({"body": "hi", "context": {"nested": {"a": 1}}}, "context"),
    ({"body": "hi", "identity": {"email": "not an email"}}, "identity.email"),
    ({"body": "hi", "page": {"url": "u" * 3000}}, "page.url"),
    ({"body": "hi", "unknown": 1}, "unknown"),
])
def test_bad_input_names_the_field_and_writes_nothing(client, ws, visitor, payload, field):
    r = client.post("/api/widget/messages", json=payload, headers=visitor.headers())
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == field
    assert client.get("/api/v1/conversations", headers=ws.headers).json()["conversations"] == []


def test_unknown_custom_fields_are_refused_and_known_ones_set(client, ws, visitor):
    r = visitor.say("hi", fields={"plan_tier": "pro"})
    assert r.status_code == 422 and "plan_tier" in r.json()["errors"][0]["field"]
    assert client.post("/api/v1/custom-fields", json={"key": "plan_tier", "label": "Plan", "type": "text",
                                                     "target": "conversation"}, headers=ws.headers).status_code == 201
    assert visitor.say("hi", fields={"plan_tier": "pro"}).status_code == 201
    conv = client.get(f"/api/v1/conversations/{visitor.conversation_id}", headers=ws.headers).json()
    assert conv["customFields"] == {"plan_tier": "pro"}


def test_context_and_page_reach_operators(client, ws, visitor):
    visitor.say("hi", context={"environment": "production", "apiVersion": "2026-06-01"},
                page={"url": "https://docs.example.com/labels", "title": "Labels"})
    r = client.post("/api/widget/events", json={"type": "context", "conversationId": visitor.conversation_id,
                                                "context": {"page": "/labels/pdf"}}, headers=visitor.headers())
    assert r.status_code == 202
    seen = client.get(f"/api/v1/conversations/{visitor.conversation_id}/visitor", headers=ws.headers).json()
    assert seen["context"] == {"environment": "production", "apiVersion": "2026-06-01", "page": "/labels/pdf"}
    assert seen["page"]["title"] == "Labels" and seen["ticketForm"] is None


def test_read_event_marks_replies_read(client, ws, visitor):
    visitor.say("hi")
    _reply(client, ws, visitor.conversation_id)
    r = client.post("/api/widget/events", json={"type": "read", "conversationId": visitor.conversation_id},
                    headers=visitor.headers())
    assert r.status_code == 202
    msgs = client.get(f"/api/v1/conversations/{visitor.conversation_id}/messages", headers=ws.headers).json()["messages"]
    assert [m["readAt"] is not None for m in msgs] == [False, True]


def test_csat_after_resolution_once_and_in_range(client, ws, visitor):
    visitor.say("hi")
    body = {"conversationId": visitor.conversation_id, "score": 5}
    r = client.post("/api/widget/csat", json=body, headers=visitor.headers())
    assert r.status_code == 409  # not resolved yet
    client.patch(f"/api/v1/conversations/{visitor.conversation_id}", json={"status": "solved"}, headers=ws.headers)
    r = client.post("/api/widget/csat", json={**body, "score": 6}, headers=visitor.headers())
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "score"
    r = client.post("/api/widget/csat", json={**body, "comment": "Quick and right"}, headers=visitor.headers())
    assert r.status_code == 201 and r.json() == {"score": 5}
    assert client.post("/api/widget/csat", json=body, headers=visitor.headers()).status_code == 409
    state = client.get(f"/api/widget/conversations/{visitor.conversation_id}", headers=visitor.headers()).json()
    assert state["status"] == "solved" and state["csat"] == {"score": 5}
    events = client.get("/api/v1/events?type=survey.response_created", headers=ws.headers).json()["events"]
    assert events[0]["data"]["score"] == 5 and events[0]["data"]["channel"] == "live-chat"


def test_a_message_on_a_solved_conversation_reopens_it(client, ws, visitor):
    visitor.say("hi")
    client.patch(f"/api/v1/conversations/{visitor.conversation_id}", json={"status": "solved"}, headers=ws.headers)
    visitor.say("One more thing")
    assert client.get(f"/api/v1/conversations/{visitor.conversation_id}", headers=ws.headers).json()["status"] == "open"


# ------------------------------------------------------------------------------------------- identity

def _set_mode(client, ws, mode: str) -> str:
    assert client.patch("/api/v1/workspace", json={"identityMode": mode}, headers=ws.headers).status_code == 200
    r = client.get("/api/v1/workspace/identity-secret", headers=ws.headers)
    assert r.status_code == 200 and r.json()["identityMode"] == mode
    return r.json()["secret"]


def test_unverified_identity_is_display_data_on_its_own_profile(client, ws, visitor):
    existing = client.post("/api/v1/customers", json={"externalId": "user_1", "email": "ada@example.com", "name": "Ada"},
                           headers=ws.headers).json()
    r = visitor.say("hi", identity={"email": "ada@example.com", "name": "Eve", "id": "user_1"})
    assert r.status_code == 201
    conv = client.get(f"/api/v1/conversations/{visitor.conversation_id}", headers=ws.headers).json()
    assert conv["customer"]["identitySource"] == "unverified"
    assert conv["customer"]["id"] != existing["id"] and conv["customer"]["id"] != "user_1"  # not Ada's profile


def test_hmac_identity_links_the_existing_profile(client, ws, visitor):
    secret = _set_mode(client, ws, "hmac")
    ada = client.post("/api/v1/customers", json={"externalId": "user_1", "email": "ada@example.com", "name": "Ada"},
                      headers=ws.headers).json()
    identity = {"email": "ada@example.com", "name": "Ada", "email_hash": email_hash(secret, "ada@example.com")}
    assert visitor.say("hi", identity=identity).status_code == 201
    conv = client.get(f"/api/v1/conversations/{visitor.conversation_id}", headers=ws.headers).json()
    assert conv["customer"]["identitySource"] == "hmac" and conv["customer"]["id"] == "user_1"
    profile = client.get(f"/api/v1/customers/{ada['id']}", headers=ws.headers).json()
    assert {"channel": "email", "value": "ada@example.com", "verified": True} in [
        {k: i[k] for k in ("channel", "value", "verified")} for i in profile["identities"]]
    r = visitor.say("hi", identity={**identity, "email_hash": "00" * 32})
    assert r.status_code == 401 and r.json()["code"] == "identity_invalid"


def test_a_verified_identity_sees_its_history_on_another_device(client, ws):
    key = make_widget_key(client, ws)
    secret = _set_mode(client, ws, "jwt")
    now = int(utcnow().timestamp())

    def token(email, user="user_7"):
        return jwt.encode({"email": email, "aud": key, "iat": now, "exp": now + 600, "contact_external_id": user},
                          secret, algorithm="HS256")

    laptop = Visitor(client, key)
    assert laptop.say("Where is my label?", identity={"jwt": token("ada@example.com")}).status_code == 201
    phone = Visitor(client, key)
    r = phone.identify(jwt=token("ada@example.com"))
    assert r.status_code == 200 and r.json()["identitySource"] == "jwt"
    convs = r.json()["conversations"]
    assert [c["id"] for c in convs] == [laptop.conversation_id]
    assert convs[0]["conversationSecret"] != laptop.secret
    assert phone.history(secret=convs[0]["conversationSecret"], conversation_id=laptop.conversation_id).status_code == 200
    assert laptop.history().status_code == 200  # the first device's secret still works
    # someone else's verified identity gets nothing of Ada's
    assert Visitor(client, key).identify(jwt=token("eve@example.com", "user_8")).json()["conversations"] == []
    # an unverified claim of Ada's email gets no conversations at all
    _set_mode(client, ws, "off")
    assert Visitor(client, key).identify(email="ada@example.com").json()["conversations"] == []


def test_rotating_the_identity_secret_stops_old_proofs(client, ws, visitor):
    secret = _set_mode(client, ws, "hmac")
    identity = {"email": "ada@example.com", "email_hash": email_hash(secret, "ada@example.com")}
    assert visitor.identify(**identity).status_code == 200
    new = client.post("/api/v1/workspace/identity-secret/rotate", headers=ws.headers).json()["secret"]
    assert new != secret
    assert visitor.identify(**identity).status_code == 401
    assert visitor.identify(email="ada@example.com", email_hash=email_hash(new, "ada@example.com")).status_code == 200


# ------------------------------------------------------------------------------------------- routing

def _agent(client, ws, runtime, name="Parcel bot", **extra):
    source = client.post("/api/v1/sources", json={"name": "Parcels", "type": "openapi", "content": SPEC}, headers=ws.headers).json()
    run_jobs(runtime)
    r = client.post("/api/v1/agents", json={"name": name, "sourceIds": [source["id"]], "mode": "auto_reply",
                                            **extra}, headers=ws.headers)
    assert r.status_code == 201, r.text
    return r.json()


def test_the_workspace_key_routes_to_the_default_live_chat_agent_which_answers_with_citations(client, ws, runtime, visitor):
    agent = _agent(client, ws, runtime, channels=["live-chat"])
    assert client.get("/api/widget/config", headers=visitor.headers()).json()["agent"] == {"name": "Parcel bot"}
    visitor.say("How do I create a shipment?")
    conv = client.get(f"/api/v1/conversations/{visitor.conversation_id}", headers=ws.headers).json()
    assert conv["agentId"] == agent["id"] and conv["handling"] == "agent"
    run_jobs(runtime, dispatch_events=True)
    history = visitor.history().json()["messages"]
    answer = history[-1]
    assert answer["author"] == {"type": "agent", "name": "Parcel bot"}
    assert answer["citations"] and answer["citations"][0]["n"] == 1
    assert set(answer["citations"][0]) == {"n", "title", "url"}  # no snippets, ids or scores for customers
    assert "POST /v1/shipments" in answer["body"] or "shipment" in answer["body"].lower()


def test_an_agent_key_routes_to_its_agent(client, ws, runtime):
    _agent(client, ws, runtime, channels=["live-chat"])
    other = _agent(client, ws, runtime, name="Label bot")
    key = make_widget_key(client, ws, agent_id=other["id"])
    v = Visitor(client, key)
    v.say("hi")
    assert client.get(f"/api/v1/conversations/{v.conversation_id}", headers=ws.headers).json()["agentId"] == other["id"]


def test_without_an_agent_the_team_answers(client, ws, visitor):
    visitor.say("hi")
    conv = client.get(f"/api/v1/conversations/{visitor.conversation_id}", headers=ws.headers).json()
    assert conv["agentId"] is None and conv["handling"] == "none"


# ------------------------------------------------------------------------------------------- operator side

def test_operators_rotate_history_secrets(client, ws, visitor):
    visitor.say("hi")
    old = visitor.secret
    r = client.post(f"/api/v1/conversations/{visitor.conversation_id}/history-secret/rotate", headers=ws.headers)
    assert r.status_code == 200
    new = r.json()["conversationSecret"]
    assert visitor.history(secret=old).status_code == 404
    assert visitor.history(secret=new).status_code == 200


def test_history_secret_rotation_is_for_live_chat_conversations(client, ws):
    conv = client.post("/api/v1/conversations", json={"customer": {"id": "c1"}, "subject": "API"}, headers=ws.headers).json()
    r = client.post(f"/api/v1/conversations/{conv['id']}/history-secret/rotate", headers=ws.headers)
    assert r.status_code == 409


def test_config_shows_branding(client, ws, visitor):
    client.patch("/api/v1/workspace", json={"companyName": "Parcelpost", "branding": {"color": "#112233", "greeting": "Hi!"}},
                 headers=ws.headers)
    config = client.get("/api/widget/config", headers=visitor.headers()).json()
    assert config["workspace"]["companyName"] == "Parcelpost"
    assert config["branding"] == {"color": "#112233", "greeting": "Hi!"} and config["identityMode"] == "off"


def test_cors_echoes_only_an_allowed_origin(client, ws, visitor):
    r = client.get("/api/widget/config", headers=visitor.headers())
    assert r.headers["access-control-allow-origin"] == ORIGIN
    pre = client.options("/api/widget/messages", headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST",
                                                         "Access-Control-Request-Headers": "x-woes-public-key"})
    assert pre.status_code == 204 and "X-Woes-Conversation-Secret" in pre.headers["access-control-allow-headers"]


def test_the_visitor_sees_who_owes_the_next_reply(client, ws, runtime):
    key = make_widget_key(client, ws)
    v = Visitor(client, key)
    assert v.say("hi").json()["conversation"]["awaiting"] == "team"  # no agent: a person
    _reply(client, ws, v.conversation_id)
    assert client.get(f"/api/widget/conversations/{v.conversation_id}", headers=v.headers()).json()["awaiting"] is None
    agent = _agent(client, ws, runtime, channels=["live-chat"])
    bot = Visitor(client, key)
    assert bot.say("How do I create a shipment?").json()["conversation"]["awaiting"] == "agent"
    client.patch(f"/api/v1/agents/{agent['id']}", json={"mode": "draft"}, headers=ws.headers)
    state = client.get(f"/api/widget/conversations/{bot.conversation_id}", headers=bot.headers()).json()
    assert state["awaiting"] == "team"  # a draft waits for an operator: a person will reply
