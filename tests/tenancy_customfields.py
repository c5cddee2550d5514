"""Tenant-isolation factory for custom fields."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from settings_helpers import create
from tenancy import factory


@factory("field_id")
def make_custom_field(client: TestClient, ws: Any) -> str:
    return create(client, ws, "/api/v1/custom-fields",
                  {"key": "victim_plan", "label": "Plan", "type": "select", "options": ["free", "pro"]})
