"""Tenant-isolation factory for priorities."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from settings_helpers import create
from tenancy import factory


@factory("priority_id")
def make_priority(client: TestClient, ws: Any) -> str:
    return create(client, ws, "/api/v1/priorities", {"label": "victim-critical"})
