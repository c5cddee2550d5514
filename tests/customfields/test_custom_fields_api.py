"""Custom field definitions over HTTP (SPEC §4): happy paths, every validation error naming its field,
unique keys per target, the fields that cannot change and the domain events."""

from __future__ import annotations

import pytest
from settings_helpers import events_with_prefix, problem


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
    problem(client.get("/api/v1/custom-fields?target=account", headers=ws.headers), 422, "target")

    assert client.delete(f"/api/v1/custom-fields/{cf['id']}", headers=ws.headers).status_code == 204
    problem(client.get(f"/api/v1/custom-fields/{cf['id']}", headers=ws.headers), 404)
    types = [e.type for e in events_with_prefix(runtime, ws, "custom_field.")]
    assert types == ["custom_field.created", "custom_field.updated", "custom_field.created", "custom_field.deleted"]
    updated = events_with_prefix(runtime, ws, "custom_field.updated")[0].payload
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
    problem(client.post("/api/v1/custom-fields", json=body, headers=ws.headers), 422, field, "validation_failed")
    assert events_with_prefix(runtime, ws, "custom_field.") == []


def test_custom_field_keys_unique_per_target(client, ws):
    first = client.post("/api/v1/custom-fields", json={"key": "tier", "label": "Tier", "type": "text"}, headers=ws.headers).json()
    body = problem(client.post("/api/v1/custom-fields", json={"key": "tier", "label": "Other", "type": "number"},
                            headers=ws.headers), 409, code="conflict")
    assert body["existingId"] == first["id"]
    r = client.post("/api/v1/custom-fields", json={"key": "tier", "label": "Tier", "type": "text", "target": "issue"},
                    headers=ws.headers)
    assert r.status_code == 201


def test_custom_field_type_key_target_cannot_change(client, ws, runtime):
    cf = client.post("/api/v1/custom-fields", json={"key": "seats", "label": "Seats", "type": "number"}, headers=ws.headers).json()
    url = f"/api/v1/custom-fields/{cf['id']}"
    body = problem(client.patch(url, json={"type": "text"}, headers=ws.headers), 409, code="conflict")
    assert "type" in body["error"] and "new field" in body["error"] and body["field"] == "type"
    body = problem(client.patch(url, json={"key": "licenses"}, headers=ws.headers), 409, code="conflict")
    assert body["field"] == "key" and "'seats'" in body["error"]
    body = problem(client.patch(url, json={"target": "customer", "label": "New"}, headers=ws.headers), 409, code="conflict")
    assert body["field"] == "target"
    # nothing was written by the refused requests
    assert client.get(url, headers=ws.headers).json() == cf
    assert [e.type for e in events_with_prefix(runtime, ws, "custom_field.")] == ["custom_field.created"]


def test_custom_field_patch_validation(client, ws):
    sel = client.post("/api/v1/custom-fields", json={"key": "plan", "label": "Plan", "type": "select", "options": ["a"]},
                      headers=ws.headers).json()
    txt = client.post("/api/v1/custom-fields", json={"key": "about", "label": "About", "type": "text"},
                      headers=ws.headers).json()
    problem(client.patch(f"/api/v1/custom-fields/{sel['id']}", json={"options": []}, headers=ws.headers), 422, "options")
    problem(client.patch(f"/api/v1/custom-fields/{sel['id']}", json={"options": None}, headers=ws.headers), 422, "options")
    problem(client.patch(f"/api/v1/custom-fields/{sel['id']}", json={"options": ["b", "b"]}, headers=ws.headers), 422,
         "options[1].value")
    problem(client.patch(f"/api/v1/custom-fields/{txt['id']}", json={"options": ["a"]}, headers=ws.headers), 422, "options")
    problem(client.patch(f"/api/v1/custom-fields/{txt['id']}", json={"label": None}, headers=ws.headers), 422, "label")
    problem(client.patch(f"/api/v1/custom-fields/{txt['id']}", json={"required": None}, headers=ws.headers), 422, "required")
    problem(client.patch(f"/api/v1/custom-fields/{txt['id']}", json={"type": "colour"}, headers=ws.headers), 422, "type")
    r = client.patch(f"/api/v1/custom-fields/{txt['id']}", json={"options": None, "description": "Free text"},
                     headers=ws.headers)
    assert r.status_code == 200 and r.json()["description"] == "Free text"
