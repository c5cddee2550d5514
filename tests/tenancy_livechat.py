"""Tenant-isolation factory for ticket forms."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient
from tenancy import _post, factory


@factory("ticket_form_id")
def make_ticket_form(client: TestClient, ws: Any) -> str:
    return _post(client, ws, "/api/v1/ticket-forms", {"key": f"victim-{uuid.uuid4().hex[:8]}", "title": "Victim form"})["id"]
