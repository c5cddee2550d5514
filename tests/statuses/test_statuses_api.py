"""Statuses over HTTP (SPEC §4, §5): lazily written defaults with stable ids, one default per lifecycle,
positions, the lifecycle rules, validation and the domain events; and the status helpers other domains call."""

from __future__ import annotations

import uuid

import pytest
from settings_helpers import events_with_prefix, problem, row_count

from woes.core.errors import ProblemError
from woes.events.service import SYSTEM
from woes.statuses import service
from woes.statuses.models import Status
from woes.statuses.schemas import StatusCreate


def _statuses(client, ws) -> list[dict]:
    body = client.get("/api/v1/statuses", headers=ws.headers).json()
    assert body["object"] == "list" and body["hasMore"] is False and body["nextCursor"] is None
    return body["statuses"]


def test_default_statuses_are_lazy_and_stable(client, ws, runtime, make_workspace):
    statuses = _statuses(client, ws)
    assert [(s["label"], s["lifecycle"], s["waitingOn"], s["position"], s["isDefault"]) for s in statuses] == [
        ("Open", "open", None, 0, True),
        ("Waiting on customer", "waiting", "customer", 1, True),
        ("Waiting on team", "waiting", "team", 2, False),
        ("Resolved", "solved", None, 3, True),
    ]
    assert row_count(runtime, Status, ws) == 0  # reads never write
    assert client.get(f"/api/v1/statuses/{statuses[2]['id']}", headers=ws.headers).json() == statuses[2]
    assert _statuses(client, ws) == statuses  # ids are stable
    other = make_workspace("Other")
    assert {s["id"] for s in _statuses(client, other)}.isdisjoint({s["id"] for s in statuses})
    problem(client.get(f"/api/v1/statuses/{statuses[0]['id']}", headers=other.headers), 404, code="not_found")
    waiting = client.get("/api/v1/statuses?lifecycle=waiting", headers=ws.headers).json()["statuses"]
    assert [s["label"] for s in waiting] == ["Waiting on customer", "Waiting on team"]

    # the first change writes the defaults with the same ids
    r = client.post("/api/v1/statuses", json={"label": "In review", "lifecycle": "open"}, headers=ws.headers)
    assert r.status_code == 201, r.text
    after = _statuses(client, ws)
    assert row_count(runtime, Status, ws) == 5
    assert [s["id"] for s in after[:4]] == [s["id"] for s in statuses] and after[4]["label"] == "In review"
    assert after[4]["position"] == 4 and after[4]["isDefault"] is False
    assert [e.type for e in events_with_prefix(runtime, ws, "status.")] == ["status.created"]  # seeding is not an event


def test_status_default_switch_position_and_events(client, ws, runtime):
    defaults = {s["label"]: s for s in _statuses(client, ws)}
    r = client.post("/api/v1/statuses", json={"label": "New", "lifecycle": "open", "isDefault": True, "position": 0},
                    headers=ws.headers)
    assert r.status_code == 201, r.text
    new = r.json()
    assert new["position"] == 0 and new["isDefault"] is True
    listing = _statuses(client, ws)
    assert [s["label"] for s in listing] == ["New", "Open", "Waiting on customer", "Waiting on team", "Resolved"]
    assert [s["position"] for s in listing] == [0, 1, 2, 3, 4]
    assert [s["label"] for s in listing if s["isDefault"]] == ["New", "Waiting on customer", "Resolved"]
    events = events_with_prefix(runtime, ws, "status.")
    assert [(e.type, e.resource_id) for e in events] == [("status.created", new["id"]),
                                                         ("status.updated", defaults["Open"]["id"])]
    assert events[1].payload["changedFields"] == ["is_default"] and events[1].payload["isDefault"] is False

    # make "Waiting on team" the waiting default, move it to the end, relabel it
    team = defaults["Waiting on team"]["id"]
    r = client.patch(f"/api/v1/statuses/{team}", json={"isDefault": True, "position": 99, "label": "Escalated"},
                     headers=ws.headers)
    assert r.status_code == 200, r.text
    assert r.json()["isDefault"] is True and r.json()["position"] == 4 and r.json()["label"] == "Escalated"
    listing = _statuses(client, ws)
    assert [s["label"] for s in listing] == ["New", "Open", "Waiting on customer", "Resolved", "Escalated"]
    assert [s["label"] for s in listing if s["isDefault"]] == ["New", "Resolved", "Escalated"]
    ev = events_with_prefix(runtime, ws, "status.updated")[-2]
    assert ev.resource_id == team and ev.payload["previousLabel"] == "Waiting on team"
    assert set(ev.payload["changedFields"]) == {"label", "position", "is_default"}

    # delete a non-default: positions close up
    assert client.delete(f"/api/v1/statuses/{defaults['Open']['id']}", headers=ws.headers).status_code == 204
    listing = _statuses(client, ws)
    assert [(s["label"], s["position"]) for s in listing] == [
        ("New", 0), ("Waiting on customer", 1), ("Resolved", 2), ("Escalated", 3)]
    assert events_with_prefix(runtime, ws, "status.deleted")[0].payload["label"] == "Open"


def test_status_rules(client, ws, runtime):
    by_label = {s["label"]: s for s in _statuses(client, ws)}
    open_id, resolved_id = by_label["Open"]["id"], by_label["Resolved"]["id"]
    team_id = by_label["Waiting on team"]["id"]
    body = problem(client.delete(f"/api/v1/statuses/{open_id}", headers=ws.headers), 409, code="conflict")
    assert "default" in body["error"]
    body = problem(client.patch(f"/api/v1/statuses/{resolved_id}", json={"isDefault": False}, headers=ws.headers), 409,
                code="conflict")
    assert "another" in body["error"]
    problem(client.patch(f"/api/v1/statuses/{open_id}", json={"lifecycle": "solved"}, headers=ws.headers), 409, code="conflict")
    body = problem(client.post("/api/v1/statuses", json={"label": "open", "lifecycle": "waiting"}, headers=ws.headers), 409,
                code="conflict")
    assert body["existingId"] == open_id
    problem(client.patch(f"/api/v1/statuses/{team_id}", json={"label": "RESOLVED"}, headers=ws.headers), 409)
    # moving a non-default waiting status to open clears waitingOn
    r = client.patch(f"/api/v1/statuses/{team_id}", json={"lifecycle": "open"}, headers=ws.headers)
    assert r.status_code == 200 and r.json()["lifecycle"] == "open" and r.json()["waitingOn"] is None
    assert r.json()["isDefault"] is False
    r = client.patch(f"/api/v1/statuses/{team_id}", json={"lifecycle": "waiting", "waitingOn": "team"}, headers=ws.headers)
    assert r.status_code == 200 and r.json()["waitingOn"] == "team"
    # a generic waiting status (waitingOn null) is allowed
    r = client.post("/api/v1/statuses", json={"label": "On hold", "lifecycle": "waiting"}, headers=ws.headers)
    assert r.status_code == 201 and r.json()["waitingOn"] is None
    # no-op patch: no event
    n = len(events_with_prefix(runtime, ws, "status."))
    assert client.patch(f"/api/v1/statuses/{team_id}", json={"label": "Waiting on team"}, headers=ws.headers).status_code == 200
    assert len(events_with_prefix(runtime, ws, "status.")) == n


@pytest.mark.parametrize("body, field", [
    ({"lifecycle": "open"}, "label"),
    ({"label": "", "lifecycle": "open"}, "label"),
    ({"label": "x" * 33, "lifecycle": "open"}, "label"),
    ({"label": "Fine"}, "lifecycle"),
    ({"label": "Fine", "lifecycle": "closed"}, "lifecycle"),
    ({"label": "Fine", "lifecycle": "open", "waitingOn": "customer"}, "waitingOn"),
    ({"label": "Fine", "lifecycle": "solved", "waitingOn": "team"}, "waitingOn"),
    ({"label": "Fine", "lifecycle": "waiting", "waitingOn": "vendor"}, "waitingOn"),
    ({"label": "Fine", "lifecycle": "open", "position": -1}, "position"),
    ({"label": "Fine", "lifecycle": "open", "position": "first"}, "position"),
    ({"label": "Fine", "lifecycle": "open", "isDefault": "maybe"}, "isDefault"),
    ({"label": "Fine", "lifecycle": "open", "color": "#fff"}, "color"),
])
def test_status_validation_names_the_field(client, ws, runtime, body, field):
    problem(client.post("/api/v1/statuses", json=body, headers=ws.headers), 422, field, "validation_failed")
    assert row_count(runtime, Status, ws) == 0  # nothing half-written (not even the defaults)


def test_status_patch_validation(client, ws, runtime):
    sid = _statuses(client, ws)[2]["id"]  # Waiting on team
    url = f"/api/v1/statuses/{sid}"
    for body, field in [({"label": None}, "label"), ({"lifecycle": None}, "lifecycle"), ({"position": None}, "position"),
                        ({"isDefault": None}, "isDefault"), ({"lifecycle": "open", "waitingOn": "team"}, "waitingOn"),
                        ({"label": "z" * 33}, "label")]:
        problem(client.patch(url, json=body, headers=ws.headers), 422, field)
    assert row_count(runtime, Status, ws) == 0
    problem(client.patch(f"/api/v1/statuses/{uuid.uuid4()}", json={}, headers=ws.headers), 404)
    problem(client.delete(f"/api/v1/statuses/{uuid.uuid4()}", headers=ws.headers), 404)


def test_status_helpers(runtime, make_workspace):
    ws = make_workspace()
    with runtime.db.reading() as s:
        assert service.default_status(s, ws.id).label == "Open"
        assert service.default_status(s, ws.id, "solved").label == "Resolved"
        assert service.resolve_status(s, ws.id, "waiting", "customer").label == "Waiting on customer"
        assert service.resolve_status(s, ws.id, "waiting", "team").label == "Waiting on team"
        assert service.resolve_status(s, ws.id, "waiting", None).label == "Waiting on customer"
        assert service.resolve_status(s, ws.id, "open").label == "Open"
        with pytest.raises(ProblemError) as exc:
            service.resolve_status(s, ws.id, "closed")
        assert exc.value.errors[0]["field"] == "status"
    with runtime.db.transaction() as s:
        service.do_create_status(s, ws.id, StatusCreate(label="On hold", lifecycle="waiting", is_default=True), SYSTEM)
    with runtime.db.reading() as s:
        assert service.default_status(s, ws.id, "waiting").label == "On hold"
        assert service.resolve_status(s, ws.id, "waiting", None).label == "On hold"
        assert service.resolve_status(s, ws.id, "waiting", "customer").label == "Waiting on customer"
