"""Tags over HTTP (SPEC §4): happy paths, every validation error naming its field, case-insensitive
uniqueness, the scope filter, paging, operator roles and the domain events."""

from __future__ import annotations

import uuid

import pytest
from settings_helpers import events_with_prefix, problem


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
    problem(client.get(f"/api/v1/tags/{tag['id']}", headers=ws.headers), 404, code="not_found")
    problem(client.delete(f"/api/v1/tags/{tag['id']}", headers=ws.headers), 404, code="not_found")

    events = events_with_prefix(runtime, ws, "tag.")
    assert [e.type for e in events] == ["tag.created", "tag.updated", "tag.deleted"]
    assert all(e.resource_type == "tag" and e.resource_id == tag["id"] and e.actor_type == "api_key" for e in events)
    assert events[0].payload["name"] == "Billing"
    assert set(events[1].payload["changedFields"]) == {"name", "scope", "color"}
    assert events[1].payload["previousName"] == "Billing"
    assert events[2].payload["name"] == "Payments"


def test_tag_names_unique_case_insensitively(client, ws):
    first = client.post("/api/v1/tags", json={"name": "Bug"}, headers=ws.headers).json()
    body = problem(client.post("/api/v1/tags", json={"name": "bUG"}, headers=ws.headers), 409, code="conflict")
    assert body["existingId"] == first["id"] and "Bug" in body["error"]
    other = client.post("/api/v1/tags", json={"name": "Feature"}, headers=ws.headers).json()
    body = problem(client.patch(f"/api/v1/tags/{other['id']}", json={"name": "BUG"}, headers=ws.headers), 409, code="conflict")
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
    body_json = problem(client.post("/api/v1/tags", json=body, headers=ws.headers), 422, field, "validation_failed")
    assert body_json["error"]
    assert events_with_prefix(runtime, ws, "tag.") == []


def test_tag_patch_validation(client, ws):
    tag = client.post("/api/v1/tags", json={"name": "Bug"}, headers=ws.headers).json()
    url = f"/api/v1/tags/{tag['id']}"
    problem(client.patch(url, json={"name": None}, headers=ws.headers), 422, "name")
    problem(client.patch(url, json={"scope": None}, headers=ws.headers), 422, "scope")
    problem(client.patch(url, json={"color": "blue"}, headers=ws.headers), 422, "color")
    problem(client.patch(url, json={"name": "y" * 65}, headers=ws.headers), 422, "name")
    problem(client.patch(url, content=b"{not json", headers={**ws.headers, "Content-Type": "application/json"}), 400, "body")
    problem(client.patch(f"/api/v1/tags/{uuid.uuid4()}", json={}, headers=ws.headers), 404)
    problem(client.get("/api/v1/tags/not-a-uuid", headers=ws.headers), 422, "tag_id")
    assert client.get(url, headers=ws.headers).json()["name"] == "Bug"


def test_tag_list_scope_filter_and_pagination(client, ws):
    for name, scope in [("a", "conversation"), ("b", "issue"), ("c", "both"), ("d", "both")]:
        assert client.post("/api/v1/tags", json={"name": name, "scope": scope}, headers=ws.headers).status_code == 201
    names = lambda q: sorted(t["name"] for t in client.get(f"/api/v1/tags{q}", headers=ws.headers).json()["tags"])  # noqa: E731
    assert names("") == ["a", "b", "c", "d"]
    assert names("?scope=conversation") == ["a", "c", "d"]
    assert names("?scope=issue") == ["b", "c", "d"]
    assert names("?scope=both") == ["c", "d"]
    problem(client.get("/api/v1/tags?scope=nope", headers=ws.headers), 422, "scope")
    page = client.get("/api/v1/tags?limit=3", headers=ws.headers).json()
    assert page["object"] == "list" and page["hasMore"] is True and len(page["tags"]) == 3
    rest = client.get(f"/api/v1/tags?limit=3&cursor={page['nextCursor']}", headers=ws.headers).json()
    assert rest["hasMore"] is False and rest["nextCursor"] is None
    assert {t["name"] for t in page["tags"] + rest["tags"]} == {"a", "b", "c", "d"}
    assert [t["name"] for t in page["tags"]] == ["d", "c", "b"]  # newest first


def test_operator_roles(client, ws):
    r = client.post("/api/v1/members", json={"email": "agent@example.com", "role": "member"}, headers=ws.headers)
    token = r.json()["inviteToken"]
    session = client.post("/api/v1/auth/accept-invite", json={"token": token, "password": "a long enough password"}).json()
    csrf = {"X-CSRF-Token": session["csrfToken"]}
    assert client.get("/api/v1/tags").status_code == 200
    body = problem(client.post("/api/v1/tags", json={"name": "x"}, headers=csrf), 403, code="permission_denied")
    assert body["requiredScope"] == "workspace:write"
    client.cookies.clear()
    login = client.post("/api/v1/auth/login", json={"email": ws.owner_email, "password": ws.owner_password}).json()
    r = client.post("/api/v1/tags", json={"name": "x"}, headers={"X-CSRF-Token": login["csrfToken"]})
    assert r.status_code == 201, r.text
