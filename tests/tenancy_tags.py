"""Tenant-isolation factory for tags."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from settings_helpers import create
from tenancy import factory


@factory("tag_id")
def make_tag(client: TestClient, ws: Any) -> str:
    return create(client, ws, "/api/v1/tags", {"name": "victim-tag", "color": "#ff0000"})
