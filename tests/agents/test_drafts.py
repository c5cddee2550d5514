"""Drafts (SPEC §8, mode `draft`): operators approve, edit-and-send or reject the agent's suggested
replies; approving sends the agent's message on the conversation in the same transaction."""

from __future__ import annotations

import uuid

import pytest
from conftest import make_key
from convo_helpers import conversation, events_of, message
from helpers import CITATION, create_agent, make_draft


@pytest.fixture
def setup(client, ws, runtime):
    agent = create_agent(client, ws)
    conv = conversation(client, ws)
    message(client, ws, conv["id"], "How do I list widgets?")
    return agent, conv


def _messages(client, ws, conv_id) -> list[dict]:
    return client.get(f"/api/v1/conversations/{conv_id}/messages", headers=ws.headers).json()["messages"]


def test_created_draft_is_pending_with_citations(client, ws, runtime, setup):
    agent, conv = setup
    draft_id = make_draft(runtime, ws.id, agent["id"], conv["id"])
    d = client.get(f"/api/v1/drafts/{draft_id}", headers=ws.headers).json()
    assert d["object"] == "draft" and d["status"] == "pending" and d["agentId"] == agent["id"]
    assert d["conversationId"] == conv["id"] and d["citations"] == [CITATION] and d["body"].startswith("Call GET")
    assert d["sentBody"] is None and d["decidedBy"] is None and d["messageId"] is None and d["edited"] is False
    created = events_of(runtime, ws.id, ["draft.created"])
    assert len(created) == 1 and created[0].actor_type == "agent" and created[0].aggregate_id == conv["id"]


def test_approve_sends_the_agents_message(client, ws, runtime, setup):
    agent, conv = setup
    draft_id = make_draft(runtime, ws.id, agent["id"], conv["id"])
    r = client.post(f"/api/v1/drafts/{draft_id}/approve", headers=ws.headers)
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["status"] == "sent" and d["edited"] is False and d["sentBody"] == d["body"]
    assert d["decidedBy"]["type"] == "api_key" and d["decidedAt"] and d["messageId"]
    last = _messages(client, ws, conv["id"])[-1]
    assert last["id"] == d["messageId"] and last["role"] == "assistant" and last["body"] == d["body"]
    assert last["author"] == {"type": "agent", "id": agent["id"]}
    run = client.get(f"/api/v1/agent-runs/{d['runId']}", headers=ws.headers).json()
    assert run["replyMessageId"] == d["messageId"]
    assert [e.type for e in events_of(runtime, ws.id, ["draft.approved"])] == ["draft.approved"]
    assert client.get(f"/api/v1/conversations/{conv['id']}", headers=ws.headers).json()["isNew"] is False


def test_edit_and_send(client, ws, runtime, setup):
    agent, conv = setup
    draft_id = make_draft(runtime, ws.id, agent["id"], conv["id"])
    r = client.post(f"/api/v1/drafts/{draft_id}/approve", json={"body": "Use GET /widgets?limit=10."}, headers=ws.headers)
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["edited"] is True and d["sentBody"] == "Use GET /widgets?limit=10." and d["body"].startswith("Call GET")
    assert _messages(client, ws, conv["id"])[-1]["body"] == "Use GET /widgets?limit=10."


def test_reject_keeps_the_reason(client, ws, runtime, setup):
    agent, conv = setup
    draft_id = make_draft(runtime, ws.id, agent["id"], conv["id"])
    before = len(_messages(client, ws, conv["id"]))
    r = client.post(f"/api/v1/drafts/{draft_id}/reject", json={"reason": "Wrong endpoint"}, headers=ws.headers)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "rejected" and r.json()["rejectionReason"] == "Wrong endpoint"
    assert len(_messages(client, ws, conv["id"])) == before
    rejected = events_of(runtime, ws.id, ["draft.rejected"])
    assert [e.payload["reason"] for e in rejected] == ["Wrong endpoint"]
    r = client.post(f"/api/v1/drafts/{draft_id}/approve", headers=ws.headers)
    assert r.status_code == 409 and r.json()["code"] == "conflict" and r.json()["draftStatus"] == "rejected"


@pytest.mark.parametrize(("body", "field"), [({}, "reason"), ({"reason": ""}, "reason"), ({"reason": "x" * 1001}, "reason"),
                                             ({"reason": "ok", "extra": 1}, "extra")])
def test_reject_needs_a_reason(client, ws, runtime, setup, body, field):
    agent, conv = setup
    draft_id = make_draft(runtime, ws.id, agent["id"], conv["id"])
    r = client.post(f"/api/v1/drafts/{draft_id}/reject", json=body, headers=ws.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == field
    assert client.get(f"/api/v1/drafts/{draft_id}", headers=ws.headers).json()["status"] == "pending"


def test_approving_twice_is_a_conflict(client, ws, runtime, setup):
    agent, conv = setup
    draft_id = make_draft(runtime, ws.id, agent["id"], conv["id"])
    assert client.post(f"/api/v1/drafts/{draft_id}/approve", headers=ws.headers).status_code == 200
    count = len(_messages(client, ws, conv["id"]))
    r = client.post(f"/api/v1/drafts/{draft_id}/approve", headers=ws.headers)
    assert r.status_code == 409 and r.json()["draftStatus"] == "sent"
    assert client.post(f"/api/v1/drafts/{draft_id}/reject", json={"reason": "late"}, headers=ws.headers).status_code == 409
    assert len(_messages(client, ws, conv["id"])) == count


def test_a_suggestion_too_long_to_send_must_be_edited(client, ws, runtime, setup):
    agent, conv = setup
    draft_id = make_draft(runtime, ws.id, agent["id"], conv["id"], body="x" * 9000)
    r = client.post(f"/api/v1/drafts/{draft_id}/approve", headers=ws.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body"
    assert client.get(f"/api/v1/drafts/{draft_id}", headers=ws.headers).json()["status"] == "pending"
    r = client.post(f"/api/v1/drafts/{draft_id}/approve", json={"body": "Short version."}, headers=ws.headers)
    assert r.status_code == 200 and r.json()["edited"] is True


def test_list_filters_and_pagination(client, ws, runtime, setup):
    agent, conv = setup
    other_agent = create_agent(client, ws, name="Other")
    other_conv = conversation(client, ws, subject="Second")
    d1 = make_draft(runtime, ws.id, agent["id"], conv["id"])
    d2 = make_draft(runtime, ws.id, other_agent["id"], conv["id"])
    d3 = make_draft(runtime, ws.id, agent["id"], other_conv["id"])
    client.post(f"/api/v1/drafts/{d1}/reject", json={"reason": "no"}, headers=ws.headers)

    def ids(query: str = "") -> list[str]:
        r = client.get(f"/api/v1/drafts?{query}", headers=ws.headers)
        assert r.status_code == 200, r.text
        return [d["id"] for d in r.json()["drafts"]]

    assert ids() == [d3, d2, d1]
    assert ids("status=pending") == [d3, d2] and ids("status=rejected") == [d1]
    assert ids(f"agentId={agent['id']}") == [d3, d1]
    assert ids(f"conversationId={conv['id']}") == [d2, d1]
    assert ids(f"agentId={agent['id']}&status=pending&conversationId={other_conv['id']}") == [d3]
    page = client.get("/api/v1/drafts?limit=2", headers=ws.headers).json()
    assert page["hasMore"] is True
    assert ids(f"limit=2&cursor={page['nextCursor']}") == [d1]
    r = client.get("/api/v1/drafts?status=maybe", headers=ws.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "status"


def test_draft_scopes(client, ws, runtime, setup):
    agent, conv = setup
    draft_id = make_draft(runtime, ws.id, agent["id"], conv["id"])
    reader = {"Authorization": f"Bearer {make_key(client, ws, ['conversations:read'])['secret']}"}
    assert client.get("/api/v1/drafts", headers=reader).status_code == 200
    assert client.get(f"/api/v1/drafts/{draft_id}", headers=reader).status_code == 200
    r = client.post(f"/api/v1/drafts/{draft_id}/approve", headers=reader)
    assert r.status_code == 403 and r.json()["requiredScope"] == "conversations:write"
    agents_only = {"Authorization": f"Bearer {make_key(client, ws, ['agents:write'])['secret']}"}
    r = client.get("/api/v1/drafts", headers=agents_only)
    assert r.status_code == 403 and r.json()["requiredScope"] == "conversations:read"
    inbox = {"Authorization": f"Bearer {make_key(client, ws, ['conversations:write'])['secret']}"}
    assert client.post(f"/api/v1/drafts/{draft_id}/approve", headers=inbox).status_code == 200


def test_an_operator_approves_from_the_inbox(client, ws, runtime, setup):
    agent, conv = setup
    draft_id = make_draft(runtime, ws.id, agent["id"], conv["id"])
    inv = client.post("/api/v1/members", json={"email": "op@example.com", "role": "member"}, headers=ws.headers).json()
    session = client.post("/api/v1/auth/accept-invite", json={"token": inv["inviteToken"], "password": "a long enough password"})
    assert session.status_code == 200, session.text
    r = client.post(f"/api/v1/drafts/{draft_id}/approve", headers={"X-CSRF-Token": session.json()["csrfToken"]})
    assert r.status_code == 200, r.text
    assert r.json()["decidedBy"] == {"type": "operator", "id": inv["id"]}
    assert _messages(client, ws, conv["id"])[-1]["author"] == {"type": "agent", "id": agent["id"]}


def test_other_workspaces_drafts_are_not_found(client, ws, make_workspace, runtime):
    other = make_workspace("B")
    agent = create_agent(client, other)
    conv = conversation(client, other)
    draft_id = make_draft(runtime, other.id, agent["id"], conv["id"])
    for method, path, body in (("GET", f"/api/v1/drafts/{draft_id}", None),
                               ("POST", f"/api/v1/drafts/{draft_id}/approve", None),
                               ("POST", f"/api/v1/drafts/{draft_id}/reject", {"reason": "x"}),
                               ("GET", f"/api/v1/drafts/{uuid.uuid4()}", None)):
        r = client.request(method, path, json=body, headers=ws.headers)
        assert r.status_code == 404 and r.json()["code"] == "not_found"
    assert client.get("/api/v1/drafts", headers=ws.headers).json()["drafts"] == []
    assert client.get(f"/api/v1/drafts/{draft_id}", headers=other.headers).json()["status"] == "pending"


def test_deleting_the_agent_removes_its_drafts(client, ws, runtime, setup):
    agent, conv = setup
    draft_id = make_draft(runtime, ws.id, agent["id"], conv["id"])
    assert client.delete(f"/api/v1/agents/{agent['id']}", headers=ws.headers).status_code == 204
    assert client.get(f"/api/v1/drafts/{draft_id}", headers=ws.headers).status_code == 404
