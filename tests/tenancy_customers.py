"""Tenant-isolation factories for the customers domain (customers, identities, accounts)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient
from tenancy import factory


def _post(client: TestClient, ws: Any, path: str, body: dict) -> dict:
    r = client.post(path, json=body, headers=ws.headers)
    assert r.status_code in (200, 201), (path, r.status_code, r.text)
    return r.json()


@factory("customer_id")
def make_customer(client: TestClient, ws: Any) -> str:
    return _post(client, ws, "/api/v1/customers", {"name": "Victim", "email": "victim@example.com"})["id"]


@factory("identity_id")
def make_identity(client: TestClient, ws: Any) -> str:
    customer = _post(client, ws, "/api/v1/customers", {"name": "Victim with identity"})
    return _post(client, ws, f"/api/v1/customers/{customer['id']}/identities",
                 {"channel": "discord", "value": f"victim-{uuid.uuid4().hex[:8]}"})["id"]


@factory("account_id")
def make_account(client: TestClient, ws: Any) -> str:
    return _post(client, ws, "/api/v1/accounts", {"name": "Victim Inc"})["id"]


@factory("external_id")
def make_external_ids(client: TestClient, ws: Any) -> str:
    """A customer and an account sharing one external id (both upsert routes use `{external_id}`)."""
    external_id = f"victim-{uuid.uuid4().hex[:8]}"
    _post(client, ws, "/api/v1/customers", {"externalId": external_id, "name": "Victim by external id"})
    _post(client, ws, "/api/v1/accounts", {"externalId": external_id, "name": "Victim account by external id"})
    return external_id
