"""Tenant-isolation factory for statuses."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from settings_helpers import create
from tenancy import factory


@factory("status_id")
def make_status(client: TestClient, ws: Any) -> str:
    return create(client, ws, "/api/v1/statuses", {"label": "Victim status", "lifecycle": "waiting", "waitingOn": "team"})
