"""Tenant-isolation factories for data settings (tags, custom fields, statuses, priorities)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from tenancy import factory


def _create(client: TestClient, ws: Any, path: str, body: dict) -> str:
    r = client.post(path, json=body, headers=ws.headers)
    assert r.status_code == 201, (path, r.status_code, r.text)
    return r.json()["id"]


@factory("tag_id")
def make_tag(client: TestClient, ws: Any) -> str:
    return _create(client, ws, "/api/v1/tags", {"name": "victim-tag", "color": "#ff0000"})


@factory("field_id")
def make_custom_field(client: TestClient, ws: Any) -> str:
    return _create(client, ws, "/api/v1/custom-fields",
                   {"key": "victim_plan", "label": "Plan", "type": "select", "options": ["free", "pro"]})


@factory("status_id")
def make_status(client: TestClient, ws: Any) -> str:
    return _create(client, ws, "/api/v1/statuses", {"label": "Victim status", "lifecycle": "waiting", "waitingOn": "team"})


@factory("priority_id")
def make_priority(client: TestClient, ws: Any) -> str:
    return _create(client, ws, "/api/v1/priorities", {"label": "victim-critical"})
