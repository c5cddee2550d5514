"""Tenant-isolation factories for sources, scans, endpoints and documents."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient
from tenancy import _post, factory

SPEC = """openapi: 3.0.0
info: {title: Victim API, version: "1"}
paths:
  /things:
    get:
      operationId: listThings
      summary: List things
      responses: {"200": {description: ok}}
"""


def _scanned_source(client: TestClient, ws: Any, content: str, type_: str) -> dict:
    from woes.scans.pipeline import run_scan

    src = _post(client, ws, "/api/v1/sources", {"name": "victim", "type": type_, "content": content})
    run_scan(client.app.state.runtime.db, ws.id, uuid.UUID(src["id"]), uuid.UUID(src["lastScan"]["id"]))
    return src


@factory("source_id")
def make_source(client: TestClient, ws: Any) -> str:
    return _post(client, ws, "/api/v1/sources", {"name": "victim", "type": "markdown", "content": "# Guide\n\nhello"})["id"]


@factory("scan_id")
def make_scan(client: TestClient, ws: Any) -> str:
    return _post(client, ws, "/api/v1/sources", {"name": "victim", "type": "markdown", "content": "# Guide\n\nhi"})["lastScan"]["id"]


@factory("endpoint_id")
def make_endpoint(client: TestClient, ws: Any) -> str:
    src = _scanned_source(client, ws, SPEC, "openapi")
    r = client.get(f"/api/v1/sources/{src['id']}/endpoints", headers=ws.headers)
    return r.json()["endpoints"][0]["id"]


@factory("document_id")
def make_document(client: TestClient, ws: Any) -> str:
    src = _scanned_source(client, ws, "# Guide\n\nSome text.", "markdown")
    r = client.get(f"/api/v1/sources/{src['id']}/documents", headers=ws.headers)
    return r.json()["documents"][0]["id"]
