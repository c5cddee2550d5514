"""Conversations and messages (SPEC §5): shapes, filters, validation, state changes, events."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

from conftest import make_key
from convo_helpers import conversation, customer, events_of, message

from woes.db import utcnow


def test_create_conversation_v1_shape(client, ws, runtime):
    cust = customer(client, ws, company="Acme")
    r = client.post("/api/v1/conversations", headers=ws.headers, json={
        "customer": {"id": cust["id"]}, "subject": "Cannot list charges",
        "initialMessage": {"body": "GET /v1/charges returns 401 for me"}, "tags": ["billing", "Billing"]})
    assert r.status_code == 201, r.text
    c = r.json()
    assert c["object"] == "conversation" and c["channel"] == "api" and c["status"] == "open" and c["priority"] == "medium"
    assert c["subject"] == "Cannot list charges" and c["preview"] == "GET /v1/charges returns 401 for me"
    assert c["customer"] == {"id": cust["id"], "name": "Dev Person", "email": "dev@example.com", "company": "Acme",
                             "identitySource": "api"}
    assert c["isNew"] is True and c["handling"] == "none" and c["assignee"] is None and c["tags"] == ["billing"]
    for key in ("createdAt", "updatedAt", "lastMessageAt"):
        assert c[key].endswith("Z")
    assert c["closedAt"] is None
    got = client.get(f"/api/v1/conversations/{c['id']}", headers=ws.headers).json()
    assert got == c
    listing = client.get("/api/v1/conversations", headers=ws.headers).json()
    assert listing["object"] == "list" and listing["conversations"][0]["id"] == c["id"] and listing["hasMore"] is False
    types = [e.type for e in events_of(runtime, ws.id)]
    assert "conversation.created" in types and "message.created" in types


def test_create_validation_names_fields(client, ws, make_workspace):
    cust = customer(client, ws)
    other = make_workspace("Other")
    foreign = customer(client, other)
    cases = [
        ({"subject": "x"}, "customer"),
        ({"customer": {"id": cust["id"]}}, "subject"),
        ({"customer": {"id": ""}, "subject": "x"}, "customer.id"),
        ({"customer": {"id": "c" * 256}, "subject": "x"}, "customer.id"),
        ({"customer": {"id": "cus_1", "email": "not an email"}, "subject": "x"}, "customer.email"),
        ({"customer": {"id": "cus_1", "name": ""}, "subject": "x"}, "customer.name"),
        ({"customer": {"id": "cus_1", "company": "a\nb"}, "subject": "x"}, "customer.company"),
        ({"customer": {"id": "cus_1", "traits": {}}, "subject": "x"}, "customer.traits"),
        ({"customer": {"id": cust["id"]}, "subject": "x" * 301}, "subject"),
        ({"customer": {"id": cust["id"]}, "subject": "x", "channel": "fax"}, "channel"),
        ({"customer": {"id": cust["id"]}, "subject": "x", "priority": "p" * 33}, "priority"),
        ({"customer": {"id": cust["id"]}, "subject": "x", "initialMessage": {"body": ""}}, "initialMessage.body"),
        ({"customer": {"id": cust["id"]}, "subject": "x", "initialMessage": {"body": "a" * 8001}}, "initialMessage.body"),
        ({"customer": {"id": cust["id"]}, "subject": "x", "assignee": {"type": "operator", "id": cust["id"]}}, "assignee.id"),
    ]
    for body, field in cases:
        r = client.post("/api/v1/conversations", json=body, headers=ws.headers)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["errors"][0]["field"] == field, (body, r.json())
    assert client.get("/api/v1/conversations", headers=ws.headers).json()["conversations"] == []
    # Nothing half-written: no customer was created by a refused request.
    assert [c["id"] for c in client.get("/api/v1/customers", headers=ws.headers).json()["customers"]] == [cust["id"]]
    # Another workspace's customer id is only a string here: it names no customer of this workspace.
    r = client.post("/api/v1/conversations", json={"customer": {"id": foreign["id"]}, "subject": "x"}, headers=ws.headers)
    assert r.status_code == 201 and r.json()["customerId"] != foreign["id"]
    assert client.get(f"/api/v1/customers/{foreign['id']}", headers=other.headers).json()["externalId"] is None


def test_customer_id_is_the_integrators_id_upserted(client, ws, runtime):
    body = {"externalId": "ticket_123", "subject": "Need help with auth",
            "customer": {"id": "cus_123", "name": "Ada Lovelace", "email": "ada@example.com", "company": "Example API Co"}}
    r = client.post("/api/v1/conversations", json=body, headers=ws.headers)
    assert r.status_code == 201, r.text
    c = r.json()
    assert c["customer"] == {"id": "cus_123", "name": "Ada Lovelace", "email": "ada@example.com",
                             "company": "Example API Co", "identitySource": "api"}
    profile = client.get("/api/v1/customers/by-external-id/cus_123", headers=ws.headers).json()
    assert profile["id"] == c["customerId"] and profile["name"] == "Ada Lovelace"
    # The same id again: the same customer, its profile updated with what was given.
    r = client.post("/api/v1/conversations", json={"subject": "Again", "customer": {"id": "cus_123", "name": "Ada King"}},
                    headers=ws.headers)
    assert r.status_code == 201 and r.json()["customerId"] == c["customerId"]
    assert r.json()["customer"] == {**c["customer"], "name": "Ada King"}
    # The Woes id of the customer is accepted too, and the list filters by either id.
    r = client.post("/api/v1/conversations", json={"subject": "Third", "customer": {"id": c["customerId"]}}, headers=ws.headers)
    assert r.status_code == 201 and r.json()["customer"]["id"] == "cus_123"
    for ref in ("cus_123", c["customerId"]):
        listed = client.get("/api/v1/conversations", params={"customerId": ref}, headers=ws.headers).json()["conversations"]
        assert len(listed) == 3, ref
    assert client.get("/api/v1/conversations", params={"customerId": "cus_999"}, headers=ws.headers).json()["conversations"] == []
    customers = client.get("/api/v1/customers", headers=ws.headers).json()["customers"]
    assert len(customers) == 1
    created = [e for e in events_of(runtime, ws.id, ["customer.created", "customer.updated"])]
    assert [e.type for e in created] == ["customer.created", "customer.updated"]


def test_external_id_conflict_carries_existing_id(client, ws):
    c = conversation(client, ws, externalId="ticket-1")
    cust = customer(client, ws, email="b@example.com")
    r = client.post("/api/v1/conversations", json={"customer": {"id": cust["id"]}, "subject": "dup", "externalId": "ticket-1"},
                    headers=ws.headers)
    assert r.status_code == 409 and r.json()["code"] == "conflict" and r.json()["existingId"] == c["id"]


def test_filters(client, ws):
    a = conversation(client, ws, subject="A", channel="email", tags=["vip"])
    b = conversation(client, ws, subject="B")
    client.patch(f"/api/v1/conversations/{b['id']}", json={"status": "solved"}, headers=ws.headers)

    def ids(query: str) -> list[str]:
        r = client.get(f"/api/v1/conversations?{query}", headers=ws.headers)
        assert r.status_code == 200, r.text
        return [c["id"] for c in r.json()["conversations"]]

    assert ids("status=solved") == [b["id"]]
    assert ids("channel=email") == [a["id"]]
    assert ids("tag=VIP") == [a["id"]]
    assert ids(f"customerId={a['customer']['id']}") == [a["id"]]
    assert set(ids("handling=none")) == {a["id"], b["id"]}
    since = (utcnow() + timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    assert ids(f"updatedSince={since}") == []
    assert client.get("/api/v1/conversations?status=closed", headers=ws.headers).status_code == 422


def test_full_text_finds_word_only_in_third_message(client, ws, make_workspace):
    target = conversation(client, ws, subject="Question about the API")
    message(client, ws, target["id"], "Hello there")
    message(client, ws, target["id"], "I tried again", role="assistant")
    message(client, ws, target["id"], "The idempotency header gets ignored on refunds")
    decoy = conversation(client, ws, subject="Something else")
    message(client, ws, decoy["id"], "Refunds are fine")
    other = make_workspace("Other")
    foreign = conversation(client, other, subject="idempotency elsewhere")
    found = client.get("/api/v1/conversations?q=idempotency", headers=ws.headers).json()["conversations"]
    assert [c["id"] for c in found] == [target["id"]]
    found = client.get("/api/v1/conversations?q=Idempotency%20REFUNDS", headers=ws.headers).json()["conversations"]
    assert [c["id"] for c in found] == [target["id"]]
    assert client.get("/api/v1/conversations?q=nonexistentword", headers=ws.headers).json()["conversations"] == []
    # FTS syntax in user input is just text, never an error
    for q in ('"unbalanced', "rate-limit", "error: 429", "AND", "*", "NEAR(a b)"):
        assert client.get("/api/v1/conversations", params={"q": q}, headers=ws.headers).status_code == 200
    assert foreign["id"] not in [c["id"] for c in client.get("/api/v1/conversations?q=idempotency", headers=ws.headers).json()["conversations"]]


def test_messages_authors_status_and_first_response(client, ws):
    c = conversation(client, ws)
    m1 = message(client, ws, c["id"], "My webhook fails")
    assert m1["role"] == "user" and m1["author"] == {"type": "customer", "id": c["customer"]["id"]}
    m2 = message(client, ws, c["id"], "Check the signing secret", role="assistant")
    assert m2["author"]["type"] == "operator"
    conv = client.get(f"/api/v1/conversations/{c['id']}", headers=ws.headers).json()
    assert conv["isNew"] is False and conv["firstResponseAt"] and conv["status"] == "waiting" and conv["waitingOn"] == "customer"
    message(client, ws, c["id"], "Still failing")
    conv = client.get(f"/api/v1/conversations/{c['id']}", headers=ws.headers).json()
    assert conv["status"] == "open" and conv["waitingOn"] is None and conv["preview"] == "Still failing"
    msgs = client.get(f"/api/v1/conversations/{c['id']}/messages", headers=ws.headers).json()["messages"]
    assert [m["body"] for m in msgs] == ["My webhook fails", "Check the signing secret", "Still failing"]
    r = client.post(f"/api/v1/conversations/{c['id']}/messages", json={"body": "x", "role": "user", "authorType": "agent"},
                    headers=ws.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "authorType"
    r = client.post(f"/api/v1/conversations/{c['id']}/messages", json={"body": "x" * 8001}, headers=ws.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body"
    r = client.post(f"/api/v1/conversations/{c['id']}/messages", json={"body": ""}, headers=ws.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body"


def test_secrets_in_customer_message_stored_but_masked(client, ws, runtime):
    c = conversation(client, ws)
    secret = "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc"
    m = message(client, ws, c["id"], f"my key is {secret} please help")
    assert m["containsSecrets"] is True and m["bodyMasked"] is True and secret not in m["body"]
    conv = client.get(f"/api/v1/conversations/{c['id']}", headers=ws.headers).json()
    assert secret not in conv["preview"]
    full = client.get(f"/api/v1/conversations/{c['id']}/messages?unmasked=true", headers=ws.headers).json()["messages"]
    assert full[0]["body"] == f"my key is {secret} please help"
    reader = make_key(client, ws, ["conversations:read"])
    r = client.get(f"/api/v1/conversations/{c['id']}/messages?unmasked=true", headers={"Authorization": f"Bearer {reader['secret']}"})
    assert r.status_code == 403 and r.json()["requiredScope"] == "conversations:write"
    for ev in events_of(runtime, ws.id):
        assert secret not in str(ev.payload)


def test_delivery_and_read_state(client, ws):
    c = conversation(client, ws, channel="email")
    m = message(client, ws, c["id"], "Reply", role="assistant")
    assert m["deliveryStatus"] == "queued"
    r = client.patch(f"/api/v1/conversations/{c['id']}/messages/{m['id']}", json={"deliveryStatus": "failed", "deliveryError": "550 mailbox"},
                     headers=ws.headers)
    assert r.json()["deliveryStatus"] == "failed" and r.json()["deliveryError"] == "550 mailbox"
    r = client.patch(f"/api/v1/conversations/{c['id']}/messages/{m['id']}", json={"deliveryStatus": "delivered", "read": True},
                     headers=ws.headers)
    assert r.json()["deliveryError"] is None and r.json()["readAt"]
    r = client.patch(f"/api/v1/conversations/{c['id']}/messages/{m['id']}", json={"deliveryStatus": "lost"}, headers=ws.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "deliveryStatus"


def test_status_lifecycle_and_events(client, ws, runtime):
    c = conversation(client, ws)
    r = client.patch(f"/api/v1/conversations/{c['id']}", json={"status": "waiting", "waitingOn": "team"}, headers=ws.headers)
    assert r.json()["status"] == "waiting" and r.json()["waitingOn"] == "team"
    r = client.patch(f"/api/v1/conversations/{c['id']}", json={"status": "solved"}, headers=ws.headers)
    assert r.json()["closedAt"] and r.json()["waitingOn"] is None
    r = client.patch(f"/api/v1/conversations/{c['id']}", json={"status": None}, headers=ws.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "status"
    types = [e.type for e in events_of(runtime, ws.id, ["conversation.status_changed", "conversation.resolved"])]
    assert types == ["conversation.status_changed", "conversation.status_changed", "conversation.resolved"]


def test_assign_takeover_handback(client, ws, runtime):
    c = conversation(client, ws)
    members = client.get("/api/v1/members", headers=ws.headers).json()["members"]
    owner = members[0]["id"]
    team = client.post("/api/v1/teams", json={"name": "Tier 2", "memberIds": [owner]}, headers=ws.headers).json()
    r = client.post(f"/api/v1/conversations/{c['id']}/assign", json={"assignee": {"type": "team", "id": team["id"]}}, headers=ws.headers)
    assert r.json()["assignee"] == {"type": "team", "id": team["id"]}
    ids = [x["id"] for x in client.get(f"/api/v1/conversations?assigneeId={team['id']}", headers=ws.headers).json()["conversations"]]
    assert ids == [c["id"]]
    r = client.post(f"/api/v1/conversations/{c['id']}/assign", json={"assignee": {"type": "operator", "id": team["id"]}}, headers=ws.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "assignee.id"
    r = client.post(f"/api/v1/conversations/{c['id']}/takeover", json={"reason": "customer is angry"}, headers=ws.headers)
    assert r.status_code == 200 and r.json()["handling"] == "human"
    assert client.post(f"/api/v1/conversations/{c['id']}/takeover", json={"reason": "again"}, headers=ws.headers).status_code == 409
    assert client.post(f"/api/v1/conversations/{c['id']}/takeover", json={}, headers=ws.headers).status_code == 422
    r = client.post(f"/api/v1/conversations/{c['id']}/handback", json={}, headers=ws.headers)
    assert r.status_code == 409  # no agent to hand back to
    [ev] = events_of(runtime, ws.id, ["conversation.handed_off"])
    assert ev.payload["handoff"] == {"reason": "customer is angry", "from": "none", "to": "human"}
    r = client.post(f"/api/v1/conversations/{c['id']}/assign", json={"assignee": None}, headers=ws.headers)
    assert r.json()["assignee"] is None


def test_notes_rules(client, ws, runtime):
    c = conversation(client, ws)
    n = client.post(f"/api/v1/conversations/{c['id']}/notes", json={"body": "customer on old SDK"}, headers=ws.headers).json()
    assert n["object"] == "note" and n["targetType"] == "conversation"
    listing = client.get(f"/api/v1/conversations/{c['id']}/notes", headers=ws.headers).json()
    assert [x["id"] for x in listing["notes"]] == [n["id"]]
    # automation notes are kept
    import uuid

    from woes.events.service import Actor
    from woes.notes.service import do_add_note

    with runtime.db.transaction() as s:
        auto = do_add_note(s, ws.id, "conversation", uuid.UUID(c["id"]), "auto-tagged", "automation", None, Actor("automation"))
    assert client.delete(f"/api/v1/conversations/{c['id']}/notes/{auto.id}", headers=ws.headers).status_code == 409
    assert client.delete(f"/api/v1/conversations/{c['id']}/notes/{n['id']}", headers=ws.headers).status_code == 204
    assert client.get(f"/api/v1/conversations/{c['id']}/notes", headers=ws.headers).json()["notes"][0]["body"] == "auto-tagged"
    assert client.post(f"/api/v1/conversations/{c['id']}/notes", json={"body": ""}, headers=ws.headers).status_code == 422


def test_member_cannot_delete_another_operators_note(client, ws):
    c = conversation(client, ws)
    login = client.post("/api/v1/auth/login", json={"email": ws.owner_email, "password": ws.owner_password}).json()
    n = client.post(f"/api/v1/conversations/{c['id']}/notes", json={"body": "owner's note"},
                    headers={"X-CSRF-Token": login["csrfToken"]}).json()
    assert n["authorType"] == "operator" and n["authorId"] == login["member"]["id"]
    client.cookies.clear()
    inv = client.post("/api/v1/members", json={"email": "m@example.com", "role": "member"}, headers=ws.headers).json()
    s = client.post("/api/v1/auth/accept-invite", json={"token": inv["inviteToken"], "password": "long enough password"}).json()
    r = client.delete(f"/api/v1/conversations/{c['id']}/notes/{n['id']}", headers={"X-CSRF-Token": s["csrfToken"]})
    assert r.status_code == 403


def test_snooze_reopens_on_time_through_job_queue(client, ws, runtime):
    c = conversation(client, ws)
    client.patch(f"/api/v1/conversations/{c['id']}", json={"status": "waiting"}, headers=ws.headers)
    until = utcnow() + timedelta(seconds=1.5)
    r = client.post(f"/api/v1/conversations/{c['id']}/snooze", json={"until": until.isoformat()}, headers=ws.headers)
    assert r.status_code == 200 and r.json()["snoozedUntil"]
    assert client.post(f"/api/v1/conversations/{c['id']}/snooze", json={"until": "2001-01-01T00:00:00Z"},
                       headers=ws.headers).json()["errors"][0]["field"] == "snoozedUntil"
    stop = threading.Event()
    worker = threading.Thread(target=runtime.queue.run_worker, args=(stop,), kwargs={"concurrency": 1}, daemon=True)
    worker.start()
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            conv = client.get(f"/api/v1/conversations/{c['id']}", headers=ws.headers).json()
            if conv["snoozedUntil"] is None:
                break
            assert conv["status"] == "waiting"  # not before its time
            time.sleep(0.2)
    finally:
        stop.set()
        worker.join(20)
    assert conv["snoozedUntil"] is None and conv["status"] == "open"
    assert utcnow() >= until
    ev = events_of(runtime, ws.id, ["conversation.updated"])[-1]
    assert ev.payload["reason"] == "snooze_ended"


def _due_unsnooze_jobs(runtime, conversation_id: str) -> list:
    from woes.conversations.service import UNSNOOZE_JOB

    return [j for j in runtime.queue.list_jobs() if j.name == UNSNOOZE_JOB and j.payload["conversationId"] == conversation_id
            and j.status == "queued"]


def _run_as_the_worker_would(runtime, job) -> None:
    """Run a queued job's handler now, as a worker does when its time comes (no waiting for the clock)."""
    from woes.jobs.registry import JobContext, get_spec

    get_spec(job.name).func(JobContext(db=runtime.db, job_id=str(job.id), attempt=1), job.payload)


def test_unsnooze_cancels_the_reopen(client, ws, runtime):
    c = conversation(client, ws)
    client.patch(f"/api/v1/conversations/{c['id']}", json={"status": "solved"}, headers=ws.headers)
    until = utcnow() + timedelta(hours=1)
    client.post(f"/api/v1/conversations/{c['id']}/snooze", json={"until": until.isoformat()}, headers=ws.headers)
    client.post(f"/api/v1/conversations/{c['id']}/unsnooze", headers=ws.headers)
    [job] = _due_unsnooze_jobs(runtime, c["id"])
    before = len(events_of(runtime, ws.id, ["conversation.updated"]))
    _run_as_the_worker_would(runtime, job)  # the hour has passed: the job of the cancelled snooze runs
    conv = client.get(f"/api/v1/conversations/{c['id']}", headers=ws.headers).json()
    assert conv["status"] == "solved" and conv["snoozedUntil"] is None
    assert len(events_of(runtime, ws.id, ["conversation.updated"])) == before  # it changed nothing
    # The control: the job of a snooze that still stands does reopen the conversation.
    client.post(f"/api/v1/conversations/{c['id']}/snooze", json={"until": (until + timedelta(hours=1)).isoformat()},
                headers=ws.headers)
    standing = [j for j in _due_unsnooze_jobs(runtime, c["id"]) if j.id != job.id]
    assert len(standing) == 1
    _run_as_the_worker_would(runtime, standing[0])
    assert client.get(f"/api/v1/conversations/{c['id']}", headers=ws.headers).json()["status"] == "open"


def test_merge_keeps_all_messages_in_time_order(client, ws, runtime):
    cust = customer(client, ws)
    a = conversation(client, ws, subject="first", cust=cust)
    b = conversation(client, ws, subject="duplicate", cust=cust, tags=["dup"])
    order = []
    for i, conv in enumerate([a, b, a, b, b, a]):
        order.append(message(client, ws, conv["id"], f"m{i}")["id"])
    client.post(f"/api/v1/conversations/{b['id']}/notes", json={"body": "note on b"}, headers=ws.headers)
    r = client.post(f"/api/v1/conversations/{a['id']}/merge", json={"sourceConversationId": b["id"]}, headers=ws.headers)
    assert r.status_code == 200, r.text
    assert "dup" in r.json()["tags"]
    msgs = client.get(f"/api/v1/conversations/{a['id']}/messages?limit=100", headers=ws.headers).json()["messages"]
    assert [m["id"] for m in msgs] == order
    assert [m["body"] for m in msgs] == [f"m{i}" for i in range(6)]
    notes = client.get(f"/api/v1/conversations/{a['id']}/notes", headers=ws.headers).json()["notes"]
    assert [n["body"] for n in notes] == ["note on b"]
    src = client.get(f"/api/v1/conversations/{b['id']}", headers=ws.headers).json()
    assert src["mergedIntoId"] == a["id"] and src["archivedAt"] and src["status"] == "solved"
    listed = [c["id"] for c in client.get("/api/v1/conversations", headers=ws.headers).json()["conversations"]]
    assert b["id"] not in listed
    found = client.get("/api/v1/conversations?q=m4", headers=ws.headers).json()["conversations"]
    assert [c["id"] for c in found] == [a["id"]]
    assert client.post(f"/api/v1/conversations/{a['id']}/merge", json={"sourceConversationId": a["id"]},
                       headers=ws.headers).status_code == 422
    assert client.post(f"/api/v1/conversations/{b['id']}/messages", json={"body": "late"}, headers=ws.headers).status_code == 409


def test_archive_and_timeline(client, ws):
    c = conversation(client, ws)
    client.post(f"/api/v1/conversations/{c['id']}/archive", headers=ws.headers)
    assert client.get("/api/v1/conversations", headers=ws.headers).json()["conversations"] == []
    assert [x["id"] for x in client.get("/api/v1/conversations?archived=true", headers=ws.headers).json()["conversations"]] == [c["id"]]
    client.post(f"/api/v1/conversations/{c['id']}/unarchive", headers=ws.headers)
    message(client, ws, c["id"], "hi")
    timeline = client.get(f"/api/v1/conversations/{c['id']}/events", headers=ws.headers).json()["events"]
    types = [e["type"] for e in timeline]
    assert types[:3] == ["conversation.created", "conversation.archived", "conversation.unarchived"]
    assert "message.created" in types
    assert all(e["actor"]["type"] == "api_key" for e in timeline)
    assert [e["seq"] for e in timeline] == sorted(e["seq"] for e in timeline)


def test_scopes(client, ws):
    c = conversation(client, ws)
    reader = {"Authorization": f"Bearer {make_key(client, ws, ['conversations:read'])['secret']}"}
    assert client.get(f"/api/v1/conversations/{c['id']}", headers=reader).status_code == 200
    r = client.post(f"/api/v1/conversations/{c['id']}/messages", json={"body": "x"}, headers=reader)
    assert r.status_code == 403 and r.json()["requiredScope"] == "conversations:write"
    nobody = {"Authorization": f"Bearer {make_key(client, ws, ['customers:read'])['secret']}"}
    assert client.get("/api/v1/conversations", headers=nobody).status_code == 403


def test_tag_rename_and_delete_follow_on_conversations_and_issues(client, ws):
    c = conversation(client, ws, tags=["billing", "urgent"])
    issue = client.post("/api/v1/issues", json={"title": "x", "tags": ["billing"]}, headers=ws.headers).json()
    tags = {t["name"]: t["id"] for t in client.get("/api/v1/tags?limit=100", headers=ws.headers).json()["tags"]}
    assert client.patch(f"/api/v1/tags/{tags['billing']}", json={"name": "payments"}, headers=ws.headers).status_code == 200
    assert client.delete(f"/api/v1/tags/{tags['urgent']}", headers=ws.headers).status_code == 204
    assert client.get(f"/api/v1/conversations/{c['id']}", headers=ws.headers).json()["tags"] == ["payments"]
    assert client.get(f"/api/v1/issues/{issue['id']}", headers=ws.headers).json()["tags"] == ["payments"]
    assert [x["id"] for x in client.get("/api/v1/conversations?tag=payments", headers=ws.headers).json()["conversations"]] == [c["id"]]


def test_custom_fields_on_conversations_validated_by_definition(client, ws):
    r = client.post("/api/v1/custom-fields", json={"key": "plan", "label": "Plan", "type": "select", "target": "conversation",
                                                   "options": ["free", "pro"]}, headers=ws.headers)
    assert r.status_code == 201, r.text
    c = conversation(client, ws, customFields={"plan": "pro"})
    assert c["customFields"] == {"plan": "pro"}
    r = client.patch(f"/api/v1/conversations/{c['id']}", json={"customFields": {"plan": "gold"}}, headers=ws.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "customFields.plan"
    r = client.patch(f"/api/v1/conversations/{c['id']}", json={"customFields": {"nope": 1}}, headers=ws.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "customFields.nope"
    r = client.patch(f"/api/v1/conversations/{c['id']}", json={"customFields": {"plan": None}}, headers=ws.headers)
    assert r.json()["customFields"] == {}
    r = client.post("/api/v1/conversations", json={"customer": {"id": c["customer"]["id"]}, "subject": "p", "priority": "whenever"},
                    headers=ws.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "priority"
