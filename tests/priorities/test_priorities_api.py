"""Priorities over HTTP (SPEC §4): lazily written defaults, exactly one default mirrored into the
workspace, ordering, conflicts, validation and the domain events; and `valid_priority` for other domains."""

from __future__ import annotations

import uuid

import pytest
from settings_helpers import events_with_prefix, problem, row_count

from woes.core.errors import ProblemError
from woes.events.service import SYSTEM
from woes.priorities import service
from woes.priorities.models import Priority
from woes.priorities.schemas import PriorityCreate


def _priorities(client, ws) -> list[dict]:
    body = client.get("/api/v1/priorities", headers=ws.headers).json()
    assert body["object"] == "list" and body["hasMore"] is False
    return body["priorities"]


def test_default_priorities(client, ws, runtime):
    prios = _priorities(client, ws)
    assert [(p["label"], p["position"], p["isDefault"]) for p in prios] == [
        ("low", 0, False), ("medium", 1, True), ("high", 2, False), ("urgent", 3, False)]
    assert all(p["object"] == "priority" for p in prios)
    assert row_count(runtime, Priority, ws) == 0
    assert client.get(f"/api/v1/priorities/{prios[3]['id']}", headers=ws.headers).json() == prios[3]


def test_priority_changes_follow_workspace_default(client, ws, runtime):
    prios = {p["label"]: p for p in _priorities(client, ws)}
    r = client.post("/api/v1/priorities", json={"label": "Critical", "isDefault": True}, headers=ws.headers)
    assert r.status_code == 201, r.text
    crit = r.json()
    assert crit["position"] == 4 and crit["isDefault"] is True
    listing = _priorities(client, ws)
    assert [p["label"] for p in listing if p["isDefault"]] == ["Critical"]
    assert [p["id"] for p in listing[:4]] == [prios[x]["id"] for x in ("low", "medium", "high", "urgent")]
    assert client.get("/api/v1/workspace", headers=ws.headers).json()["defaultPriority"] == "Critical"
    types = [(e.type, e.resource_id) for e in events_with_prefix(runtime, ws, "priority.")]
    assert types == [("priority.created", crit["id"]), ("priority.updated", prios["medium"]["id"])]
    ws_event = events_with_prefix(runtime, ws, "workspace.updated")[-1]
    assert ws_event.payload["defaultPriority"] == "Critical" and ws_event.payload["changedFields"] == ["default_priority"]

    # rename + move to the top
    r = client.patch(f"/api/v1/priorities/{crit['id']}", json={"label": "P0", "position": 0}, headers=ws.headers)
    assert r.status_code == 200 and r.json()["position"] == 0
    assert [p["label"] for p in _priorities(client, ws)] == ["P0", "low", "medium", "high", "urgent"]
    assert client.get("/api/v1/workspace", headers=ws.headers).json()["defaultPriority"] == "P0"
    ev = events_with_prefix(runtime, ws, "priority.updated")[-1]
    assert ev.payload["previousLabel"] == "Critical" and set(ev.payload["changedFields"]) == {"label", "position"}

    # exactly one default: switching moves it, unsetting/deleting the default is refused
    problem(client.patch(f"/api/v1/priorities/{crit['id']}", json={"isDefault": False}, headers=ws.headers), 409, code="conflict")
    problem(client.delete(f"/api/v1/priorities/{crit['id']}", headers=ws.headers), 409, code="conflict")
    r = client.patch(f"/api/v1/priorities/{prios['high']['id']}", json={"isDefault": True}, headers=ws.headers)
    assert r.status_code == 200
    assert [p["label"] for p in _priorities(client, ws) if p["isDefault"]] == ["high"]
    assert client.delete(f"/api/v1/priorities/{crit['id']}", headers=ws.headers).status_code == 204
    assert [(p["label"], p["position"]) for p in _priorities(client, ws)] == [
        ("low", 0), ("medium", 1), ("high", 2), ("urgent", 3)]
    assert client.get("/api/v1/workspace", headers=ws.headers).json()["defaultPriority"] == "high"


def test_priority_conflicts_and_validation(client, ws, runtime):
    prios = {p["label"]: p for p in _priorities(client, ws)}
    body = problem(client.post("/api/v1/priorities", json={"label": "HIGH"}, headers=ws.headers), 409, code="conflict")
    assert body["existingId"] == prios["high"]["id"]
    for body, field in [({}, "label"), ({"label": ""}, "label"), ({"label": "x" * 33}, "label"),
                        ({"label": "ok", "position": -2}, "position"), ({"label": "ok", "isDefault": "no way"}, "isDefault"),
                        ({"label": "tab\there"}, "label"), ({"label": "ok", "rank": 1}, "rank")]:
        problem(client.post("/api/v1/priorities", json=body, headers=ws.headers), 422, field)
    assert row_count(runtime, Priority, ws) == 0
    url = f"/api/v1/priorities/{prios['low']['id']}"
    for body, field in [({"label": None}, "label"), ({"position": None}, "position"), ({"isDefault": None}, "isDefault")]:
        problem(client.patch(url, json=body, headers=ws.headers), 422, field)
    problem(client.patch(url, json={"label": "Urgent"}, headers=ws.headers), 409, code="conflict")
    assert client.patch(url, json={"label": "LOW"}, headers=ws.headers).json()["label"] == "LOW"
    assert client.get("/api/v1/priorities/" + str(uuid.uuid4()), headers=ws.headers).status_code == 404


def test_workspace_default_priority_is_honored_before_any_edit(client, ws):
    assert client.patch("/api/v1/workspace", json={"defaultPriority": "high"}, headers=ws.headers).status_code == 200
    assert [p["label"] for p in _priorities(client, ws) if p["isDefault"]] == ["high"]
    client.post("/api/v1/priorities", json={"label": "minor", "position": 0}, headers=ws.headers)
    assert [p["label"] for p in _priorities(client, ws) if p["isDefault"]] == ["high"]


def test_valid_priority(runtime, make_workspace):
    ws = make_workspace()
    with runtime.db.reading() as s:
        assert service.valid_priority(s, ws.id, "medium") == "medium"
        assert service.valid_priority(s, ws.id, " URGENT ") == "urgent"
        assert service.valid_priority(s, ws.id, None) == "medium"
        assert service.default_priority(s, ws.id) == "medium"
        for bad in ("critical", "", 3):
            with pytest.raises(ProblemError) as exc:
                service.valid_priority(s, ws.id, bad)
            assert exc.value.status == 422 and exc.value.errors[0]["field"] == "priority"
        with pytest.raises(ProblemError) as exc:
            service.valid_priority(s, ws.id, "critical", field="initialPriority")
        assert exc.value.errors[0]["field"] == "initialPriority"
        assert "low, medium, high, urgent" in exc.value.errors[0]["message"]
    with runtime.db.transaction() as s:
        service.do_create_priority(s, ws.id, PriorityCreate(label="Critical", is_default=True), SYSTEM)
    with runtime.db.reading() as s:
        assert service.valid_priority(s, ws.id, "critical") == "Critical"
        assert service.valid_priority(s, ws.id, None) == "Critical"
        assert service.default_priority(s, ws.id) == "Critical"
