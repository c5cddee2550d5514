"""Tenant-isolation factories for conversations, messages, notes, issues, attachments and teams."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from tenancy import _post, factory


def new_customer(client: TestClient, ws: Any) -> str:
    return _post(client, ws, "/api/v1/customers", {"name": "Victim Customer", "email": "victim@example.com"})["id"]


@factory("conversation_id")
def make_conversation(client: TestClient, ws: Any) -> str:
    return _post(client, ws, "/api/v1/conversations", {"customer": {"id": new_customer(client, ws)}, "subject": "victim"})["id"]


@factory("message_id")
def make_message(client: TestClient, ws: Any) -> str:
    conv = make_conversation(client, ws)
    return _post(client, ws, f"/api/v1/conversations/{conv}/messages", {"body": "hello"})["id"]


@factory("note_id")
def make_note(client: TestClient, ws: Any) -> str:
    conv = make_conversation(client, ws)
    return _post(client, ws, f"/api/v1/conversations/{conv}/notes", {"body": "private"})["id"]


@factory("issue_id")
def make_issue(client: TestClient, ws: Any) -> str:
    return _post(client, ws, "/api/v1/issues", {"title": "victim issue"})["id"]


@factory("link_id")
def make_external_link(client: TestClient, ws: Any) -> str:
    issue = make_issue(client, ws)
    got = _post(client, ws, f"/api/v1/issues/{issue}/external-links", {"provider": "url", "url": "https://example.com/x"})
    return got["externalLinks"][0]["id"]


@factory("attachment_id")
def make_attachment(client: TestClient, ws: Any) -> str:
    r = client.post("/api/v1/attachments", files={"file": ("a.txt", b"hello", "text/plain")}, headers=ws.headers)
    assert r.status_code == 201, r.text
    return r.json()["id"]


@factory("team_id")
def make_team(client: TestClient, ws: Any) -> str:
    return _post(client, ws, "/api/v1/teams", {"name": "Victim team"})["id"]
