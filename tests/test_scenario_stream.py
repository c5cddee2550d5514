"""End-to-end scenario over a real HTTP server, watched through the live SSE stream (issue acceptance 2)."""

from __future__ import annotations

import httpx
import pytest
from support.live_server import serving
from support.sse import StreamReader
from support.waiting import wait_for

from woes.app import create_app


@pytest.fixture
def live_server(settings, runtime):
    with serving(create_app(settings, runtime, background=True, migrate=False)) as base:
        yield base




def test_support_scenario_streams_every_event_in_order(live_server, ws):
    h = ws.headers
    before = httpx.get(live_server + "/api/v1/events?limit=500", headers=h).json()["events"][-1]["seq"]
    reader = StreamReader(live_server + "/api/v1/events/stream?heartbeat=1", h)
    reader.start()
    assert reader.connected.wait(10)
    with httpx.Client(base_url=live_server, headers=h, timeout=20) as c:
        cust = c.put("/api/v1/customers/by-external-id/user-42", json={"name": "Ada", "email": "ada@example.com"})
        assert cust.status_code in (200, 201), cust.text
        conv = c.post("/api/v1/conversations", json={"customer": {"id": cust.json()["id"]}, "subject": "429 on /v1/charges",
                                                     "initialMessage": {"body": "I get 429 on every call"}}).json()
        cid = conv["id"]
        assert c.post(f"/api/v1/conversations/{cid}/notes", json={"body": "enterprise customer"}).status_code == 201
        assert c.patch(f"/api/v1/conversations/{cid}", json={"tags": ["rate-limits"]}).status_code == 200
        owner = c.get("/api/v1/members").json()["members"][0]["id"]
        assert c.post(f"/api/v1/conversations/{cid}/assign", json={"assignee": {"type": "operator", "id": owner}}).status_code == 200
        assert c.post(f"/api/v1/conversations/{cid}/takeover", json={"reason": "needs an engineer"}).status_code == 200
        issue = c.post(f"/api/v1/conversations/{cid}/convert-to-issue", json={"title": "Rate limiter too strict"}).json()
        assert c.patch(f"/api/v1/issues/{issue['id']}", json={"status": "resolved"}).status_code == 200
        notes = c.get(f"/api/v1/conversations/{cid}/notes").json()["notes"]
        assert notes[-1]["authorType"] == "automation" and issue["reference"] in notes[-1]["body"]
        log = c.get("/api/v1/events?limit=500").json()["events"]

    expected = [e for e in log if e["seq"] > before]
    assert wait_for(lambda: reader.events and reader.events[-1]["id"] == expected[-1]["id"]), (len(reader.events), len(expected))
    reader.stop.set()
    assert [e["id"] for e in reader.events] == [e["id"] for e in expected]      # every event, same order
    assert [int(i) for i in reader.ids] == [e["seq"] for e in reader.events]  # SSE id = seq (for Last-Event-ID)
    types = [e["type"] for e in expected]
    for t in ("customer.created", "conversation.created", "message.created", "note.created", "conversation.updated",
              "conversation.assigned", "conversation.handed_off", "issue.created", "issue.linked", "issue.resolved"):
        assert t in types, t
    assert types.index("conversation.created") < types.index("note.created") < types.index("conversation.handed_off") \
        < types.index("issue.created") < types.index("issue.resolved")
    assert len({e["id"] for e in expected}) == len(expected)  # stable, unique ids


def test_stream_resumes_after_last_event_id(live_server, ws):
    with httpx.Client(base_url=live_server, headers=ws.headers, timeout=20) as c:
        cust = c.post("/api/v1/customers", json={"name": "Bo"}).json()
        for i in range(3):
            c.post("/api/v1/conversations", json={"customer": {"id": cust["id"]}, "subject": f"s{i}"})
        log = c.get("/api/v1/events?limit=500").json()["events"]
    resume_from = log[-3]["seq"]
    reader = StreamReader(live_server + "/api/v1/events/stream?heartbeat=1", {**ws.headers, "Last-Event-ID": str(resume_from)})
    reader.start()
    assert wait_for(lambda: len(reader.events) >= 2)
    reader.stop.set()
    assert [e["id"] for e in reader.events[:2]] == [e["id"] for e in log[-2:]]


def test_stream_filters_by_permission_and_workspace(live_server, ws, make_workspace):
    other = make_workspace("Other")
    with httpx.Client(base_url=live_server, headers=ws.headers, timeout=20) as c:
        key = c.post("/api/v1/keys", json={"name": "inbox", "scopes": ["conversations:read"]}).json()["secret"]
    reader = StreamReader(live_server + "/api/v1/events/stream?heartbeat=1", {"Authorization": f"Bearer {key}"})
    reader.start()
    assert reader.connected.wait(10)
    with httpx.Client(base_url=live_server, headers=ws.headers, timeout=20) as c:
        cust = c.post("/api/v1/customers", json={"name": "Cy"}).json()           # customers:* → not visible
        cust_id = cust["id"]
        c.post("/api/v1/conversations", json={"customer": {"id": cust["id"]}, "subject": "visible"})
    with httpx.Client(base_url=live_server, headers=other.headers, timeout=20) as c:
        cust = c.post("/api/v1/customers", json={"name": "Other"}).json()
        c.post("/api/v1/conversations", json={"customer": {"id": cust["id"]}, "subject": "other workspace"})
    with httpx.Client(base_url=live_server, headers=ws.headers, timeout=20) as c:  # committed after all of the above
        c.post("/api/v1/conversations", json={"customer": {"id": cust_id}, "subject": "sentinel"})
    # Events reach the stream in commit order: once the sentinel is there, anything it filtered out has passed.
    assert wait_for(lambda: any(e.get("data", {}).get("subject") == "sentinel" for e in reader.events))
    reader.stop.set()
    assert {e["type"] for e in reader.events} == {"conversation.created"}
    assert [e["data"]["subject"] for e in reader.events] == ["visible", "sentinel"]
    assert all(e["workspaceId"] == str(ws.id) for e in reader.events)
    r = httpx.get(live_server + "/api/v1/events/stream", headers={"Authorization": "Bearer woesk_nope"})
    assert r.status_code == 401
