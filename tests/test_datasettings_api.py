"""Data settings over HTTP (SPEC §4): tags, custom fields, statuses, priorities — happy paths, every
validation error naming its field, conflicts, defaults, scopes and the domain events."""

from __future__ import annotations

import uuid

import pytest
from conftest import make_key
from sqlalchemy import func, select

from woes.datasettings.models import Priority, Status
from woes.events.models import DomainEvent


def _events(runtime, ws, prefix: str) -> list[DomainEvent]:
    with runtime.db.reading() as s:
        return list(s.scalars(select(DomainEvent).where(DomainEvent.workspace_id == ws.id,
                                                        DomainEvent.type.like(prefix + "%"))
                              .order_by(DomainEvent.seq)))


def _count(runtime, model, ws) -> int:
    with runtime.db.reading() as s:
        return s.scalar(select(func.count()).select_from(model).where(model.workspace_id == ws.id))


def _err(r, status: int, field: str | None = None, code: str | None = None) -> dict:
    assert r.status_code == status, r.text
    body = r.json()
    assert r.headers["content-type"].startswith("application/problem+json")
    if code:
        assert body["code"] == code
    if field is not None:
        assert field in [e["field"] for e in body.get("errors", [])], body
    return body


# == tags ==============================================================================================

def test_tag_lifecycle_and_events(client, ws, runtime):
    r = client.post("/api/v1/tags", json={"name": " Billing ", "color": "#FFAA00", "description": "Money things"},
                    headers=ws.headers)
    assert r.status_code == 201, r.text
    tag = r.json()
    assert tag["object"] == "tag" and tag["name"] == "Billing" and tag["color"] == "#ffaa00"
    assert tag["scope"] == "both" and tag["description"] == "Money things"
    assert tag["createdAt"].endswith("Z")
    assert client.get(f"/api/v1/tags/{tag['id']}", headers=ws.headers).json() == tag

    r = client.patch(f"/api/v1/tags/{tag['id']}", json={"name": "Payments", "scope": "conversation", "color": None},
                     headers=ws.headers)
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "Payments" and r.json()["scope"] == "conversation" and r.json()["color"] is None
    # a no-op patch records nothing
    assert client.patch(f"/api/v1/tags/{tag['id']}", json={"name": "Payments"}, headers=ws.headers).status_code == 200

    assert client.delete(f"/api/v1/tags/{tag['id']}", headers=ws.headers).status_code == 204
    _err(client.get(f"/api/v1/tags/{tag['id']}", headers=ws.headers), 404, code="not_found")
    _err(client.delete(f"/api/v1/tags/{tag['id']}", headers=ws.headers), 404, code="not_found")

    events = _events(runtime, ws, "tag.")
    assert [e.type for e in events] == ["tag.created", "tag.updated", "tag.deleted"]
    assert all(e.resource_type == "tag" and e.resource_id == tag["id"] and e.actor_type == "api_key" for e in events)
    assert events[0].payload["name"] == "Billing"
    assert set(events[1].payload["changedFields"]) == {"name", "scope", "color"}
    assert events[1].payload["previousName"] == "Billing"
    assert events[2].payload["name"] == "Payments"


def test_tag_names_unique_case_insensitively(client, ws):
    first = client.post("/api/v1/tags", json={"name": "Bug"}, headers=ws.headers).json()
    body = _err(client.post("/api/v1/tags", json={"name": "bUG"}, headers=ws.headers), 409, code="conflict")
    assert body["existingId"] == first["id"] and "Bug" in body["error"]
    other = client.post("/api/v1/tags", json={"name": "Feature"}, headers=ws.headers).json()
    body = _err(client.patch(f"/api/v1/tags/{other['id']}", json={"name": "BUG"}, headers=ws.headers), 409, code="conflict")
    assert body["existingId"] == first["id"]
    # changing only the case of its own name is fine
    r = client.patch(f"/api/v1/tags/{first['id']}", json={"name": "BUG"}, headers=ws.headers)
    assert r.status_code == 200 and r.json()["name"] == "BUG"


@pytest.mark.parametrize("body, field", [
    ({}, "name"),
    ({"name": ""}, "name"),
    ({"name": "   "}, "name"),
    ({"name": "x" * 65}, "name"),
    ({"name": "two\nlines"}, "name"),
    ({"name": 5}, "name"),
    ({"name": "ok", "color": "red"}, "color"),
    ({"name": "ok", "color": "#12345"}, "color"),
    ({"name": "ok", "color": "#1234567"}, "color"),
    ({"name": "ok", "description": "d" * 501}, "description"),
    ({"name": "ok", "scope": "customer"}, "scope"),
    ({"name": "ok", "colour": "#ffffff"}, "colour"),
])
def test_tag_validation_names_the_field(client, ws, runtime, body, field):
    body_json = _err(client.post("/api/v1/tags", json=body, headers=ws.headers), 422, field, "validation_failed")
    assert body_json["error"]
    assert _events(runtime, ws, "tag.") == []


def test_tag_patch_validation(client, ws):
    tag = client.post("/api/v1/tags", json={"name": "Bug"}, headers=ws.headers).json()
    url = f"/api/v1/tags/{tag['id']}"
    _err(client.patch(url, json={"name": None}, headers=ws.headers), 422, "name")
    _err(client.patch(url, json={"scope": None}, headers=ws.headers), 422, "scope")
    _err(client.patch(url, json={"color": "blue"}, headers=ws.headers), 422, "color")
    _err(client.patch(url, json={"name": "y" * 65}, headers=ws.headers), 422, "name")
    _err(client.patch(url, content=b"{not json", headers={**ws.headers, "Content-Type": "application/json"}), 400, "body")
    _err(client.patch(f"/api/v1/tags/{uuid.uuid4()}", json={}, headers=ws.headers), 404)
    _err(client.get("/api/v1/tags/not-a-uuid", headers=ws.headers), 422, "tag_id")
    assert client.get(url, headers=ws.headers).json()["name"] == "Bug"


def test_tag_list_scope_filter_and_pagination(client, ws):
    for name, scope in [("a", "conversation"), ("b", "issue"), ("c", "both"), ("d", "both")]:
        assert client.post("/api/v1/tags", json={"name": name, "scope": scope}, headers=ws.headers).status_code == 201
    names = lambda q: sorted(t["name"] for t in client.get(f"/api/v1/tags{q}", headers=ws.headers).json()["tags"])  # noqa: E731
    assert names("") == ["a", "b", "c", "d"]
    assert names("?scope=conversation") == ["a", "c", "d"]
    assert names("?scope=issue") == ["b", "c", "d"]
    assert names("?scope=both") == ["c", "d"]
    _err(client.get("/api/v1/tags?scope=nope", headers=ws.headers), 422, "scope")
    page = client.get("/api/v1/tags?limit=3", headers=ws.headers).json()
    assert page["object"] == "list" and page["hasMore"] is True and len(page["tags"]) == 3
    rest = client.get(f"/api/v1/tags?limit=3&cursor={page['nextCursor']}", headers=ws.headers).json()
    assert rest["hasMore"] is False and rest["nextCursor"] is None
    assert {t["name"] for t in page["tags"] + rest["tags"]} == {"a", "b", "c", "d"}
    assert [t["name"] for t in page["tags"]] == ["d", "c", "b"]  # newest first


# == custom fields =====================================================================================

def test_custom_field_lifecycle_and_events(client, ws, runtime):
    r = client.post("/api/v1/custom-fields", json={
        "key": "plan", "label": "Plan", "type": "select",
        "options": ["free", {"value": "pro", "label": "Pro plan"}], "description": "Billing plan",
    }, headers=ws.headers)
    assert r.status_code == 201, r.text
    cf = r.json()
    assert cf["object"] == "custom_field" and cf["target"] == "conversation" and cf["required"] is False
    assert cf["options"] == [{"value": "free", "label": "free"}, {"value": "pro", "label": "Pro plan"}]
    assert client.get(f"/api/v1/custom-fields/{cf['id']}", headers=ws.headers).json() == cf

    r = client.patch(f"/api/v1/custom-fields/{cf['id']}", json={
        "label": "Subscription", "options": ["free", "pro", "enterprise"], "required": True,
        "type": "select", "key": "plan", "target": "conversation",  # unchanged immutables are accepted
    }, headers=ws.headers)
    assert r.status_code == 200, r.text
    assert r.json()["label"] == "Subscription" and r.json()["required"] is True
    assert [o["value"] for o in r.json()["options"]] == ["free", "pro", "enterprise"]

    text = client.post("/api/v1/custom-fields", json={"key": "note", "label": "Note", "type": "text", "target": "customer"},
                       headers=ws.headers).json()
    assert text["options"] is None and text["target"] == "customer"

    listing = client.get("/api/v1/custom-fields", headers=ws.headers).json()
    assert [f["key"] for f in listing["customFields"]] == ["note", "plan"]
    only = client.get("/api/v1/custom-fields?target=customer", headers=ws.headers).json()["customFields"]
    assert [f["key"] for f in only] == ["note"]
    _err(client.get("/api/v1/custom-fields?target=account", headers=ws.headers), 422, "target")

    assert client.delete(f"/api/v1/custom-fields/{cf['id']}", headers=ws.headers).status_code == 204
    _err(client.get(f"/api/v1/custom-fields/{cf['id']}", headers=ws.headers), 404)
    types = [e.type for e in _events(runtime, ws, "custom_field.")]
    assert types == ["custom_field.created", "custom_field.updated", "custom_field.created", "custom_field.deleted"]
    updated = _events(runtime, ws, "custom_field.updated")[0].payload
    assert set(updated["changedFields"]) == {"label", "options", "required"}


@pytest.mark.parametrize("body, field", [
    ({"label": "x", "type": "text"}, "key"),
    ({"key": "Plan", "label": "x", "type": "text"}, "key"),
    ({"key": "1plan", "label": "x", "type": "text"}, "key"),
    ({"key": "my-plan", "label": "x", "type": "text"}, "key"),
    ({"key": "_plan", "label": "x", "type": "text"}, "key"),
    ({"key": "p" * 65, "label": "x", "type": "text"}, "key"),
    ({"key": "plan", "type": "text"}, "label"),
    ({"key": "plan", "label": "", "type": "text"}, "label"),
    ({"key": "plan", "label": "l" * 121, "type": "text"}, "label"),
    ({"key": "plan", "label": "x"}, "type"),
    ({"key": "plan", "label": "x", "type": "json"}, "type"),
    ({"key": "plan", "label": "x", "type": "text", "target": "account"}, "target"),
    ({"key": "plan", "label": "x", "type": "text", "description": "d" * 501}, "description"),
    ({"key": "plan", "label": "x", "type": "text", "required": "perhaps"}, "required"),
    ({"key": "plan", "label": "x", "type": "select"}, "options"),
    ({"key": "plan", "label": "x", "type": "multi_select", "options": []}, "options"),
    ({"key": "plan", "label": "x", "type": "select", "options": None}, "options"),
    ({"key": "plan", "label": "x", "type": "text", "options": ["a"]}, "options"),
    ({"key": "plan", "label": "x", "type": "number", "options": []}, "options"),
    ({"key": "plan", "label": "x", "type": "select", "options": ["a", "a"]}, "options[1].value"),
    ({"key": "plan", "label": "x", "type": "select", "options": [""]}, "options[0].value"),
    ({"key": "plan", "label": "x", "type": "select", "options": ["v" * 101]}, "options[0].value"),
    ({"key": "plan", "label": "x", "type": "select", "options": [{"label": "A"}]}, "options[0].value"),
    ({"key": "plan", "label": "x", "type": "select", "options": [{"value": "a", "label": ""}]}, "options[0].label"),
    ({"key": "plan", "label": "x", "type": "select", "options": [{"value": "a", "colour": "red"}]}, "options[0].colour"),
    ({"key": "plan", "label": "x", "type": "select", "options": [5]}, "options[0]"),
    ({"key": "plan", "label": "x", "type": "select", "options": "a,b"}, "options"),
])
def test_custom_field_validation_names_the_field(client, ws, runtime, body, field):
    _err(client.post("/api/v1/custom-fields", json=body, headers=ws.headers), 422, field, "validation_failed")
    assert _events(runtime, ws, "custom_field.") == []


def test_custom_field_keys_unique_per_target(client, ws):
    first = client.post("/api/v1/custom-fields", json={"key": "tier", "label": "Tier", "type": "text"}, headers=ws.headers).json()
    body = _err(client.post("/api/v1/custom-fields", json={"key": "tier", "label": "Other", "type": "number"},
                            headers=ws.headers), 409, code="conflict")
    assert body["existingId"] == first["id"]
    r = client.post("/api/v1/custom-fields", json={"key": "tier", "label": "Tier", "type": "text", "target": "issue"},
                    headers=ws.headers)
    assert r.status_code == 201


def test_custom_field_type_key_target_cannot_change(client, ws, runtime):
    cf = client.post("/api/v1/custom-fields", json={"key": "seats", "label": "Seats", "type": "number"}, headers=ws.headers).json()
    url = f"/api/v1/custom-fields/{cf['id']}"
    body = _err(client.patch(url, json={"type": "text"}, headers=ws.headers), 409, code="conflict")
    assert "type" in body["error"] and "new field" in body["error"] and body["field"] == "type"
    body = _err(client.patch(url, json={"key": "licenses"}, headers=ws.headers), 409, code="conflict")
    assert body["field"] == "key" and "'seats'" in body["error"]
    body = _err(client.patch(url, json={"target": "customer", "label": "New"}, headers=ws.headers), 409, code="conflict")
    assert body["field"] == "target"
    # nothing was written by the refused requests
    assert client.get(url, headers=ws.headers).json() == cf
    assert [e.type for e in _events(runtime, ws, "custom_field.")] == ["custom_field.created"]


def test_custom_field_patch_validation(client, ws):
    sel = client.post("/api/v1/custom-fields", json={"key": "plan", "label": "Plan", "type": "select", "options": ["a"]},
                      headers=ws.headers).json()
    txt = client.post("/api/v1/custom-fields", json={"key": "about", "label": "About", "type": "text"},
                      headers=ws.headers).json()
    _err(client.patch(f"/api/v1/custom-fields/{sel['id']}", json={"options": []}, headers=ws.headers), 422, "options")
    _err(client.patch(f"/api/v1/custom-fields/{sel['id']}", json={"options": None}, headers=ws.headers), 422, "options")
    _err(client.patch(f"/api/v1/custom-fields/{sel['id']}", json={"options": ["b", "b"]}, headers=ws.headers), 422,
         "options[1].value")
    _err(client.patch(f"/api/v1/custom-fields/{txt['id']}", json={"options": ["a"]}, headers=ws.headers), 422, "options")
    _err(client.patch(f"/api/v1/custom-fields/{txt['id']}", json={"label": None}, headers=ws.headers), 422, "label")
    _err(client.patch(f"/api/v1/custom-fields/{txt['id']}", json={"required": None}, headers=ws.headers), 422, "required")
    _err(client.patch(f"/api/v1/custom-fields/{txt['id']}", json={"type": "colour"}, headers=ws.headers), 422, "type")
    r = client.patch(f"/api/v1/custom-fields/{txt['id']}", json={"options": None, "description": "Free text"},
                     headers=ws.headers)
    assert r.status_code == 200 and r.json()["description"] == "Free text"


# == statuses ==========================================================================================

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
    assert _count(runtime, Status, ws) == 0  # reads never write
    assert client.get(f"/api/v1/statuses/{statuses[2]['id']}", headers=ws.headers).json() == statuses[2]
    assert _statuses(client, ws) == statuses  # ids are stable
    other = make_workspace("Other")
    assert {s["id"] for s in _statuses(client, other)}.isdisjoint({s["id"] for s in statuses})
    _err(client.get(f"/api/v1/statuses/{statuses[0]['id']}", headers=other.headers), 404, code="not_found")
    waiting = client.get("/api/v1/statuses?lifecycle=waiting", headers=ws.headers).json()["statuses"]
    assert [s["label"] for s in waiting] == ["Waiting on customer", "Waiting on team"]

    # the first change writes the defaults with the same ids
    r = client.post("/api/v1/statuses", json={"label": "In review", "lifecycle": "open"}, headers=ws.headers)
    assert r.status_code == 201, r.text
    after = _statuses(client, ws)
    assert _count(runtime, Status, ws) == 5
    assert [s["id"] for s in after[:4]] == [s["id"] for s in statuses] and after[4]["label"] == "In review"
    assert after[4]["position"] == 4 and after[4]["isDefault"] is False
    assert [e.type for e in _events(runtime, ws, "status.")] == ["status.created"]  # seeding is not an event


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
    events = _events(runtime, ws, "status.")
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
    ev = _events(runtime, ws, "status.updated")[-2]
    assert ev.resource_id == team and ev.payload["previousLabel"] == "Waiting on team"
    assert set(ev.payload["changedFields"]) == {"label", "position", "is_default"}

    # delete a non-default: positions close up
    assert client.delete(f"/api/v1/statuses/{defaults['Open']['id']}", headers=ws.headers).status_code == 204
    listing = _statuses(client, ws)
    assert [(s["label"], s["position"]) for s in listing] == [
        ("New", 0), ("Waiting on customer", 1), ("Resolved", 2), ("Escalated", 3)]
    assert _events(runtime, ws, "status.deleted")[0].payload["label"] == "Open"


def test_status_rules(client, ws, runtime):
    by_label = {s["label"]: s for s in _statuses(client, ws)}
    open_id, resolved_id = by_label["Open"]["id"], by_label["Resolved"]["id"]
    team_id = by_label["Waiting on team"]["id"]
    body = _err(client.delete(f"/api/v1/statuses/{open_id}", headers=ws.headers), 409, code="conflict")
    assert "default" in body["error"]
    body = _err(client.patch(f"/api/v1/statuses/{resolved_id}", json={"isDefault": False}, headers=ws.headers), 409,
                code="conflict")
    assert "another" in body["error"]
    _err(client.patch(f"/api/v1/statuses/{open_id}", json={"lifecycle": "solved"}, headers=ws.headers), 409, code="conflict")
    body = _err(client.post("/api/v1/statuses", json={"label": "open", "lifecycle": "waiting"}, headers=ws.headers), 409,
                code="conflict")
    assert body["existingId"] == open_id
    _err(client.patch(f"/api/v1/statuses/{team_id}", json={"label": "RESOLVED"}, headers=ws.headers), 409)
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
    n = len(_events(runtime, ws, "status."))
    assert client.patch(f"/api/v1/statuses/{team_id}", json={"label": "Waiting on team"}, headers=ws.headers).status_code == 200
    assert len(_events(runtime, ws, "status.")) == n


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
    _err(client.post("/api/v1/statuses", json=body, headers=ws.headers), 422, field, "validation_failed")
    assert _count(runtime, Status, ws) == 0  # nothing half-written (not even the defaults)


def test_status_patch_validation(client, ws, runtime):
    sid = _statuses(client, ws)[2]["id"]  # Waiting on team
    url = f"/api/v1/statuses/{sid}"
    for body, field in [({"label": None}, "label"), ({"lifecycle": None}, "lifecycle"), ({"position": None}, "position"),
                        ({"isDefault": None}, "isDefault"), ({"lifecycle": "open", "waitingOn": "team"}, "waitingOn"),
                        ({"label": "z" * 33}, "label")]:
        _err(client.patch(url, json=body, headers=ws.headers), 422, field)
    assert _count(runtime, Status, ws) == 0
    _err(client.patch(f"/api/v1/statuses/{uuid.uuid4()}", json={}, headers=ws.headers), 404)
    _err(client.delete(f"/api/v1/statuses/{uuid.uuid4()}", headers=ws.headers), 404)


# == priorities ========================================================================================

def _priorities(client, ws) -> list[dict]:
    body = client.get("/api/v1/priorities", headers=ws.headers).json()
    assert body["object"] == "list" and body["hasMore"] is False
    return body["priorities"]


def test_default_priorities(client, ws, runtime):
    prios = _priorities(client, ws)
    assert [(p["label"], p["position"], p["isDefault"]) for p in prios] == [
        ("low", 0, False), ("medium", 1, True), ("high", 2, False), ("urgent", 3, False)]
    assert all(p["object"] == "priority" for p in prios)
    assert _count(runtime, Priority, ws) == 0
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
    types = [(e.type, e.resource_id) for e in _events(runtime, ws, "priority.")]
    assert types == [("priority.created", crit["id"]), ("priority.updated", prios["medium"]["id"])]
    ws_event = _events(runtime, ws, "workspace.updated")[-1]
    assert ws_event.payload["defaultPriority"] == "Critical" and ws_event.payload["changedFields"] == ["default_priority"]

    # rename + move to the top
    r = client.patch(f"/api/v1/priorities/{crit['id']}", json={"label": "P0", "position": 0}, headers=ws.headers)
    assert r.status_code == 200 and r.json()["position"] == 0
    assert [p["label"] for p in _priorities(client, ws)] == ["P0", "low", "medium", "high", "urgent"]
    assert client.get("/api/v1/workspace", headers=ws.headers).json()["defaultPriority"] == "P0"
    ev = _events(runtime, ws, "priority.updated")[-1]
    assert ev.payload["previousLabel"] == "Critical" and set(ev.payload["changedFields"]) == {"label", "position"}

    # exactly one default: switching moves it, unsetting/deleting the default is refused
    _err(client.patch(f"/api/v1/priorities/{crit['id']}", json={"isDefault": False}, headers=ws.headers), 409, code="conflict")
    _err(client.delete(f"/api/v1/priorities/{crit['id']}", headers=ws.headers), 409, code="conflict")
    r = client.patch(f"/api/v1/priorities/{prios['high']['id']}", json={"isDefault": True}, headers=ws.headers)
    assert r.status_code == 200
    assert [p["label"] for p in _priorities(client, ws) if p["isDefault"]] == ["high"]
    assert client.delete(f"/api/v1/priorities/{crit['id']}", headers=ws.headers).status_code == 204
    assert [(p["label"], p["position"]) for p in _priorities(client, ws)] == [
        ("low", 0), ("medium", 1), ("high", 2), ("urgent", 3)]
    assert client.get("/api/v1/workspace", headers=ws.headers).json()["defaultPriority"] == "high"


def test_priority_conflicts_and_validation(client, ws, runtime):
    prios = {p["label"]: p for p in _priorities(client, ws)}
    body = _err(client.post("/api/v1/priorities", json={"label": "HIGH"}, headers=ws.headers), 409, code="conflict")
    assert body["existingId"] == prios["high"]["id"]
    for body, field in [({}, "label"), ({"label": ""}, "label"), ({"label": "x" * 33}, "label"),
                        ({"label": "ok", "position": -2}, "position"), ({"label": "ok", "isDefault": "no way"}, "isDefault"),
                        ({"label": "tab\there"}, "label"), ({"label": "ok", "rank": 1}, "rank")]:
        _err(client.post("/api/v1/priorities", json=body, headers=ws.headers), 422, field)
    assert _count(runtime, Priority, ws) == 0
    url = f"/api/v1/priorities/{prios['low']['id']}"
    for body, field in [({"label": None}, "label"), ({"position": None}, "position"), ({"isDefault": None}, "isDefault")]:
        _err(client.patch(url, json=body, headers=ws.headers), 422, field)
    _err(client.patch(url, json={"label": "Urgent"}, headers=ws.headers), 409, code="conflict")
    assert client.patch(url, json={"label": "LOW"}, headers=ws.headers).json()["label"] == "LOW"
    assert client.get("/api/v1/priorities/" + str(uuid.uuid4()), headers=ws.headers).status_code == 404


def test_workspace_default_priority_is_honored_before_any_edit(client, ws):
    assert client.patch("/api/v1/workspace", json={"defaultPriority": "high"}, headers=ws.headers).status_code == 200
    assert [p["label"] for p in _priorities(client, ws) if p["isDefault"]] == ["high"]
    client.post("/api/v1/priorities", json={"label": "minor", "position": 0}, headers=ws.headers)
    assert [p["label"] for p in _priorities(client, ws) if p["isDefault"]] == ["high"]


# == scopes and isolation ==============================================================================

LIST_ROUTES = ["/api/v1/tags", "/api/v1/custom-fields", "/api/v1/statuses", "/api/v1/priorities"]
CREATE_BODIES = {
    "/api/v1/tags": {"name": "scoped"},
    "/api/v1/custom-fields": {"key": "scoped", "label": "Scoped", "type": "boolean"},
    "/api/v1/statuses": {"label": "Scoped", "lifecycle": "open"},
    "/api/v1/priorities": {"label": "scoped"},
}


def test_scopes(client, ws):
    reader = {"Authorization": f"Bearer {make_key(client, ws, ['workspace:read'])['secret']}"}
    writer = {"Authorization": f"Bearer {make_key(client, ws, ['workspace:write'])['secret']}"}
    other = {"Authorization": f"Bearer {make_key(client, ws, ['conversations:write'])['secret']}"}
    for path in LIST_ROUTES:
        assert client.get(path, headers=reader).status_code == 200
        body = _err(client.get(path, headers=other), 403, code="permission_denied")
        assert body["requiredScope"] == "workspace:read" and "workspace:read" in body["error"]
        body = _err(client.post(path, json=CREATE_BODIES[path], headers=reader), 403, code="permission_denied")
        assert body["requiredScope"] == "workspace:write"
        r = client.post(path, json=CREATE_BODIES[path], headers=writer)
        assert r.status_code == 201, r.text
        item = f"{path}/{r.json()['id']}"
        assert client.get(item, headers=reader).status_code == 200
        assert _err(client.patch(item, json={}, headers=reader), 403)["requiredScope"] == "workspace:write"
        assert _err(client.delete(item, headers=reader), 403)["requiredScope"] == "workspace:write"
        assert client.get(item, headers={}).status_code == 401


def test_operator_roles(client, ws):
    r = client.post("/api/v1/members", json={"email": "agent@example.com", "role": "member"}, headers=ws.headers)
    token = r.json()["inviteToken"]
    session = client.post("/api/v1/auth/accept-invite", json={"token": token, "password": "a long enough password"}).json()
    csrf = {"X-CSRF-Token": session["csrfToken"]}
    assert client.get("/api/v1/tags").status_code == 200
    body = _err(client.post("/api/v1/tags", json={"name": "x"}, headers=csrf), 403, code="permission_denied")
    assert body["requiredScope"] == "workspace:write"
    client.cookies.clear()
    login = client.post("/api/v1/auth/login", json={"email": ws.owner_email, "password": ws.owner_password}).json()
    r = client.post("/api/v1/tags", json={"name": "x"}, headers={"X-CSRF-Token": login["csrfToken"]})
    assert r.status_code == 201, r.text


def test_cross_workspace_ids_are_404_and_untouched(client, make_workspace):
    """The generic isolation test restricted to these routes (it also runs in test_tenant_isolation.py)."""
    from tenancy import FACTORIES
    from test_tenant_isolation import PARAM, example_body, id_routes

    a, b = make_workspace("A"), make_workspace("B")
    doc = client.get("/api/v1/openapi.json").json()
    routes = [r for r in id_routes(doc) if r[0].split("/")[3] in ("tags", "custom-fields", "statuses", "priorities")]
    assert len(routes) == 12
    ids = {p: FACTORIES[p](client, a) for p in ("tag_id", "field_id", "status_id", "priority_id")}
    before = {p: client.get(PARAM.sub(ids[p], path), headers=a.headers).json()
              for path, method, _ in routes if method == "get" for p in PARAM.findall(path)}
    for path, method, op in routes:
        url = PARAM.sub(lambda m: ids[m.group(1)], path)
        kwargs = {"headers": b.headers}
        schema = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
        if schema is not None:
            kwargs["json"] = example_body(schema, doc)
        r = client.request(method.upper(), url, **kwargs)
        assert r.status_code == 404 and r.json()["code"] == "not_found", (method, path, r.text)
    for path, method, _ in routes:
        if method == "get":
            p = PARAM.findall(path)[0]
            assert client.get(PARAM.sub(ids[p], path), headers=a.headers).json() == before[p]
    # B's own lists do not show A's records
    assert client.get("/api/v1/tags", headers=b.headers).json()["tags"] == []
    assert client.get("/api/v1/custom-fields", headers=b.headers).json()["customFields"] == []
    assert ids["status_id"] not in {s["id"] for s in _statuses(client, b)}
    assert ids["priority_id"] not in {p["id"] for p in _priorities(client, b)}
