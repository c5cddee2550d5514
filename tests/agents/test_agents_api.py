"""Agents CRUD (SPEC §8): every field, bad input naming the field, scopes, tenant scoping, and the links
to sources (deletion, search) and conversations (assignment)."""

from __future__ import annotations

import uuid

import pytest
from conftest import make_key
from convo_helpers import conversation, events_of
from helpers import create_agent, create_source

OPENAPI = """openapi: 3.0.0
info: {title: Widgets API, version: "1"}
paths:
  /widgets:
    get:
      operationId: listWidgets
      summary: List widgets
      responses: {"200": {description: ok}}
"""
MARKDOWN = "# Billing guide\n\nInvoices are sent monthly. Refunds take five days."


def test_create_read_update_delete_with_events(client, ws, runtime):
    src = create_source(client, ws)
    wk = client.post("/api/v1/widget-keys", json={"name": "Agent widget"}, headers=ws.headers).json()
    agent = create_agent(client, ws, name="Support bot", description="Answers API questions", persona="Friendly",
                         greeting="Hi!", instructions="Never guess.", guardrails=["No pricing promises"],
                         sourceIds=[src["id"]], channels=["live-chat", "api"], widgetKey=wk["id"])
    assert agent["object"] == "agent" and agent["name"] == "Support bot"
    assert agent["instructions"] == "Never guess." and agent["instructionsHidden"] is False
    assert agent["confidenceThreshold"] == 0.6 and agent["mode"] == "draft"
    assert agent["sourceIds"] == [src["id"]] and agent["channels"] == ["live-chat", "api"]
    assert agent["widgetKey"] == wk["id"] and agent["widgetPublicKey"] == wk["publicKey"]
    assert agent["learnedProfile"] is None and agent["learningStatus"] == "idle"
    assert agent["guardrails"] == ["No pricing promises"] and agent["greeting"] == "Hi!"

    got = client.get(f"/api/v1/agents/{agent['id']}", headers=ws.headers).json()
    assert got == agent
    listed = client.get("/api/v1/agents", headers=ws.headers).json()
    assert listed["object"] == "list" and [a["id"] for a in listed["agents"]] == [agent["id"]]

    r = client.patch(f"/api/v1/agents/{agent['id']}", json={"mode": "auto_reply", "confidenceThreshold": 0.75,
                                                           "widgetKey": None, "description": None}, headers=ws.headers)
    assert r.status_code == 200, r.text
    assert r.json()["mode"] == "auto_reply" and r.json()["confidenceThreshold"] == 0.75
    assert r.json()["widgetKey"] is None and r.json()["widgetPublicKey"] is None and r.json()["description"] is None

    assert client.delete(f"/api/v1/agents/{agent['id']}", headers=ws.headers).status_code == 204
    assert client.get(f"/api/v1/agents/{agent['id']}", headers=ws.headers).status_code == 404
    events = events_of(runtime, ws.id, ["agent.created", "agent.updated", "agent.deleted"])
    assert [e.type for e in events] == ["agent.created", "agent.updated", "agent.deleted"]
    assert sorted(events[1].payload["changedFields"]) == ["confidenceThreshold", "description", "mode", "widgetKey"]
    assert all(e.payload["instructions"] is None for e in events)  # the system prompt stays out of events


def test_patch_without_changes_records_no_event(client, ws, runtime):
    agent = create_agent(client, ws, mode="off")
    r = client.patch(f"/api/v1/agents/{agent['id']}", json={"mode": "off"}, headers=ws.headers)
    assert r.status_code == 200 and r.json()["updatedAt"] == agent["updatedAt"]
    assert not events_of(runtime, ws.id, ["agent.updated"])


def test_source_ids_keep_order_and_drop_repeats(client, ws):
    a, b = create_source(client, ws, name="A"), create_source(client, ws, name="B")
    agent = create_agent(client, ws, sourceIds=[b["id"], a["id"], b["id"]], channels=["email", "email"])
    assert agent["sourceIds"] == [b["id"], a["id"]] and agent["channels"] == ["email"]


@pytest.mark.parametrize(("body", "field"), [
    ({"confidenceThreshold": 1.5}, "confidenceThreshold"),
    ({"confidenceThreshold": -0.1}, "confidenceThreshold"),
    ({"mode": "sometimes"}, "mode"),
    ({"channels": ["sms"]}, "channels[0]"),
    ({"sourceIds": ["not-a-uuid"]}, "sourceIds[0]"),
    ({"sourceIds": [str(uuid.uuid4())]}, "sourceIds"),
    ({"widgetKey": str(uuid.uuid4())}, "widgetKey"),
    ({"learnedProfile": {"brief": "x"}}, "learnedProfile"),
    ({"learningStatus": "ready"}, "learningStatus"),
    ({"nickname": "x"}, "nickname"),
    ({"name": ""}, "name"),
    ({"guardrails": [""]}, "guardrails[0]"),
])
def test_bad_input_names_the_field(client, ws, body, field):
    r = client.post("/api/v1/agents", json={"name": "Bot", **body}, headers=ws.headers)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "validation_failed"
    assert [e["field"] for e in r.json()["errors"]] == [field]
    assert client.get("/api/v1/agents", headers=ws.headers).json()["agents"] == []  # nothing half-written


@pytest.mark.parametrize("field", ["name", "mode", "confidenceThreshold", "sourceIds", "channels", "guardrails"])
def test_patch_refuses_null_for_required_fields(client, ws, field):
    agent = create_agent(client, ws)
    r = client.patch(f"/api/v1/agents/{agent['id']}", json={field: None}, headers=ws.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == field


def test_patch_bad_source_names_the_field_and_changes_nothing(client, ws):
    agent = create_agent(client, ws)
    r = client.patch(f"/api/v1/agents/{agent['id']}", json={"mode": "off", "sourceIds": [str(uuid.uuid4())]},
                     headers=ws.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "sourceIds"
    assert client.get(f"/api/v1/agents/{agent['id']}", headers=ws.headers).json()["mode"] == "draft"


def test_names_are_unique_per_workspace(client, ws, make_workspace):
    first = create_agent(client, ws, name="Support")
    r = client.post("/api/v1/agents", json={"name": "SUPPORT"}, headers=ws.headers)
    assert r.status_code == 409 and r.json()["code"] == "conflict" and r.json()["existingId"] == first["id"]
    other = create_agent(client, ws, name="Sales")
    r = client.patch(f"/api/v1/agents/{other['id']}", json={"name": "support"}, headers=ws.headers)
    assert r.status_code == 409 and r.json()["existingId"] == first["id"]
    assert client.patch(f"/api/v1/agents/{first['id']}", json={"name": "Support"}, headers=ws.headers).status_code == 200
    create_agent(client, make_workspace("B"), name="Support")  # another workspace may reuse the name


def test_scopes_and_hidden_instructions(client, ws):
    agent = create_agent(client, ws, instructions="Secret runbook")
    reader = {"Authorization": f"Bearer {make_key(client, ws, ['agents:read'])['secret']}"}
    r = client.post("/api/v1/agents", json={"name": "Nope"}, headers=reader)
    assert r.status_code == 403 and r.json()["requiredScope"] == "agents:write"
    assert client.patch(f"/api/v1/agents/{agent['id']}", json={"mode": "off"}, headers=reader).status_code == 403
    assert client.delete(f"/api/v1/agents/{agent['id']}", headers=reader).status_code == 403
    got = client.get(f"/api/v1/agents/{agent['id']}", headers=reader).json()
    assert got["instructions"] is None and got["instructionsHidden"] is True
    listed = client.get("/api/v1/agents", headers=reader).json()["agents"]
    assert listed[0]["instructions"] is None and listed[0]["instructionsHidden"] is True
    writer = {"Authorization": f"Bearer {make_key(client, ws, ['agents:write'])['secret']}"}
    assert client.get(f"/api/v1/agents/{agent['id']}", headers=writer).json()["instructions"] == "Secret runbook"
    nobody = {"Authorization": f"Bearer {make_key(client, ws, ['conversations:read'])['secret']}"}
    r = client.get("/api/v1/agents", headers=nobody)
    assert r.status_code == 403 and r.json()["requiredScope"] == "agents:read"


def test_operator_with_read_only_agents_section_sees_instructions_hidden(client, ws):
    agent = create_agent(client, ws, instructions="Secret runbook")
    inv = client.post("/api/v1/members", json={"email": "m@example.com", "role": "member"}, headers=ws.headers).json()
    r = client.post("/api/v1/auth/accept-invite", json={"token": inv["inviteToken"], "password": "a long enough password"})
    assert r.status_code == 200, r.text
    got = client.get(f"/api/v1/agents/{agent['id']}").json()  # cookie session of a member: agents section read
    assert got["instructions"] is None and got["instructionsHidden"] is True


def test_other_workspaces_ids_are_not_found_or_refused(client, ws, make_workspace):
    other = make_workspace("B")
    theirs = create_agent(client, other)
    for method in ("GET", "PATCH", "DELETE"):
        kwargs = {"json": {"mode": "off"}} if method == "PATCH" else {}
        r = client.request(method, f"/api/v1/agents/{theirs['id']}", headers=ws.headers, **kwargs)
        assert r.status_code == 404 and r.json()["code"] == "not_found"
    foreign_source = create_source(client, other)
    r = client.post("/api/v1/agents", json={"name": "Bot", "sourceIds": [foreign_source["id"]]}, headers=ws.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "sourceIds"
    foreign_wk = client.post("/api/v1/widget-keys", json={"name": "theirs"}, headers=other.headers).json()
    r = client.post("/api/v1/agents", json={"name": "Bot", "widgetKey": foreign_wk["id"]}, headers=ws.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "widgetKey"
    assert [a["id"] for a in client.get("/api/v1/agents", headers=other.headers).json()["agents"]] == [theirs["id"]]


def test_list_is_paginated_newest_first(client, ws):
    ids = [create_agent(client, ws, name=f"Bot {i}")["id"] for i in range(3)]
    page = client.get("/api/v1/agents?limit=2", headers=ws.headers).json()
    assert page["hasMore"] is True and [a["id"] for a in page["agents"]] == ids[::-1][:2]
    rest = client.get(f"/api/v1/agents?limit=2&cursor={page['nextCursor']}", headers=ws.headers).json()
    assert rest["hasMore"] is False and [a["id"] for a in rest["agents"]] == ids[:1]


def test_deleting_a_source_removes_it_from_agents(client, ws, runtime):
    a, b = create_source(client, ws, name="A"), create_source(client, ws, name="B")
    agent = create_agent(client, ws, sourceIds=[a["id"], b["id"]])
    untouched = create_agent(client, ws, name="Other", sourceIds=[b["id"]])
    assert client.delete(f"/api/v1/sources/{a['id']}", headers=ws.headers).status_code == 204
    assert client.get(f"/api/v1/agents/{agent['id']}", headers=ws.headers).json()["sourceIds"] == [b["id"]]
    assert client.get(f"/api/v1/agents/{untouched['id']}", headers=ws.headers).json()["sourceIds"] == [b["id"]]
    updates = events_of(runtime, ws.id, ["agent.updated"])
    assert [(e.resource_id, e.payload["changedFields"]) for e in updates] == [(agent["id"], ["sourceIds"])]


def test_search_is_restricted_to_the_agents_sources(client, ws, make_workspace):
    api = create_source(client, ws, OPENAPI, "openapi", scanned=True, name="API")
    guide = create_source(client, ws, MARKDOWN, scanned=True, name="Guide")
    agent = create_agent(client, ws, sourceIds=[api["id"]])

    def sources_of(query: str) -> set[str]:
        r = client.get(f"/api/v1/search?{query}", headers=ws.headers)
        assert r.status_code == 200, r.text
        return {hit["sourceId"] for hit in r.json()["results"]}

    assert sources_of("q=widgets invoices") == {api["id"], guide["id"]}
    assert sources_of(f"q=widgets invoices&agentId={agent['id']}") == {api["id"]}
    assert sources_of(f"q=widgets invoices&agentId={agent['id']}&sourceId={api['id']}") == {api["id"]}
    assert sources_of(f"q=widgets invoices&agentId={agent['id']}&sourceId={guide['id']}") == set()
    empty = create_agent(client, ws, name="No sources")
    assert sources_of(f"q=widgets invoices&agentId={empty['id']}") == set()
    theirs = create_agent(client, make_workspace("B"))
    r = client.get(f"/api/v1/search?q=widgets&agentId={theirs['id']}", headers=ws.headers)
    assert r.status_code == 404 and r.json()["code"] == "not_found"


def test_conversations_can_be_assigned_to_an_agent(client, ws, make_workspace, runtime):
    agent = create_agent(client, ws)
    conv = conversation(client, ws)
    r = client.post(f"/api/v1/conversations/{conv['id']}/assign", json={"assignee": {"type": "agent", "id": agent["id"]}},
                    headers=ws.headers)
    assert r.status_code == 200, r.text
    assert r.json()["assignee"] == {"type": "agent", "id": agent["id"]}
    assert r.json()["agentId"] == agent["id"] and r.json()["handling"] == "agent"

    theirs = create_agent(client, make_workspace("B"))
    r = client.post(f"/api/v1/conversations/{conv['id']}/assign", json={"assignee": {"type": "agent", "id": theirs["id"]}},
                    headers=ws.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "assignee.id"
    r = client.post("/api/v1/conversations", json={"customer": {"id": conv["customer"]["id"]}, "subject": "x",
                                                   "agentId": theirs["id"]}, headers=ws.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "agentId"

    # deleting the agent leaves no dangling assignee behind
    assert client.delete(f"/api/v1/agents/{agent['id']}", headers=ws.headers).status_code == 204
    after = client.get(f"/api/v1/conversations/{conv['id']}", headers=ws.headers).json()
    assert after["assignee"] is None and after["agentId"] is None and after["handling"] == "none"
    last = events_of(runtime, ws.id, ["conversation.updated"])[-1]
    assert last.payload["reason"] == "agent_deleted" and "assignee" in last.payload["changedFields"]
