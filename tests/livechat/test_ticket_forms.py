"""Ticket forms: configured by operators (fields are conversation custom fields), opened and submitted in the widget."""

from __future__ import annotations

import pytest
from conftest import make_key
from widget_helpers import Visitor, make_widget_key


def _field(client, ws, key, type_="text", **extra):
    r = client.post("/api/v1/custom-fields", json={"key": key, "label": key.title(), "type": type_, "target": "conversation",
                                                   **extra}, headers=ws.headers)
    assert r.status_code == 201, r.text


@pytest.fixture
def bug_form(client, ws):
    _field(client, ws, "endpoint")
    _field(client, ws, "severity", "select", options=[{"value": "low", "label": "Low"}, {"value": "high", "label": "High"}])
    r = client.post("/api/v1/ticket-forms", json={"key": "bug", "title": "Report a bug", "description": "Something broke",
                                                  "fields": [{"customField": "endpoint", "required": True},
                                                             {"customField": "severity"}]}, headers=ws.headers)
    assert r.status_code == 201, r.text
    return r.json()


def test_form_lifecycle(client, ws, bug_form):
    assert bug_form["object"] == "ticket_form" and bug_form["fields"][0] == {"customField": "endpoint", "required": True}
    listed = client.get("/api/v1/ticket-forms", headers=ws.headers).json()["ticketForms"]
    assert [f["key"] for f in listed] == ["bug"]
    r = client.patch(f"/api/v1/ticket-forms/{bug_form['id']}", json={"title": "Bug report", "enabled": False}, headers=ws.headers)
    assert r.status_code == 200 and r.json()["title"] == "Bug report" and r.json()["enabled"] is False
    assert client.delete(f"/api/v1/ticket-forms/{bug_form['id']}", headers=ws.headers).status_code == 204
    assert client.get(f"/api/v1/ticket-forms/{bug_form['id']}", headers=ws.headers).status_code == 404


@pytest.mark.parametrize(("body", "status", "field"), [
    ({"key": "Bad Key", "title": "x"}, 422, "key"),
    ({"key": "ok", "title": ""}, 422, "title"),
    ({"key": "ok", "title": "x", "fields": [{"customField": "nope"}]}, 422, "fields[0].customField"),
    ({"key": "ok", "title": "x", "fields": [{"customField": "endpoint"}, {"customField": "endpoint"}]}, 422, "fields[1].customField"),
    ({"key": "bug", "title": "again"}, 409, None),
])
def test_bad_forms_are_refused_naming_the_field(client, ws, bug_form, body, status, field):
    r = client.post("/api/v1/ticket-forms", json=body, headers=ws.headers)
    assert r.status_code == status, r.text
    if field:
        assert r.json()["errors"][0]["field"] == field


def test_forms_need_the_channels_scope(client, ws):
    reader = make_key(client, ws, ["channels:read"])
    h = {"Authorization": f"Bearer {reader['secret']}"}
    assert client.get("/api/v1/ticket-forms", headers=h).status_code == 200
    r = client.post("/api/v1/ticket-forms", json={"key": "x", "title": "x"}, headers=h)
    assert r.status_code == 403 and r.json()["requiredScope"] == "channels:write"


def test_the_widget_shows_enabled_forms_and_a_submission_is_a_conversation_with_the_fields(client, ws, bug_form):
    v = Visitor(client, make_widget_key(client, ws))
    forms = client.get("/api/widget/config", headers=v.headers()).json()["ticketForms"]
    assert forms == [{"key": "bug", "title": "Report a bug", "description": "Something broke", "fields": [
        {"key": "endpoint", "label": "Endpoint", "type": "text", "required": True, "options": None, "description": None},
        {"key": "severity", "label": "Severity", "type": "select", "required": False,
         "options": [{"value": "low", "label": "Low"}, {"value": "high", "label": "High"}], "description": None}]}]
    r = v.say("The label PDF is blank", ticketForm="bug", fields={"severity": "high"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "fields.endpoint"
    r = v.say("The label PDF is blank", ticketForm="bug", fields={"endpoint": "GET /v1/labels", "severity": "urgent"})
    assert r.status_code == 422  # not one of the select's options
    r = v.say("The label PDF is blank", ticketForm="bug", fields={"endpoint": "GET /v1/labels", "severity": "high"})
    assert r.status_code == 201, r.text
    conv = client.get(f"/api/v1/conversations/{v.conversation_id}", headers=ws.headers).json()
    assert conv["customFields"] == {"endpoint": "GET /v1/labels", "severity": "high"}
    assert conv["subject"].startswith("Report a bug: ")
    assert client.get(f"/api/v1/conversations/{v.conversation_id}/visitor", headers=ws.headers).json()["ticketForm"] == "bug"
    client.patch(f"/api/v1/ticket-forms/{bug_form['id']}", json={"enabled": False}, headers=ws.headers)
    assert client.get("/api/widget/config", headers=v.headers()).json()["ticketForms"] == []
    r = Visitor(client, v.public_key).say("x", ticketForm="bug", fields={"endpoint": "x"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "ticketForm"
