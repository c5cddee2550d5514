"""Tenant-isolation factory for lab runs (the agent_id factory lives in tenancy_agents.py)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from tenancy import factory
from tenancy_agents import make_agent


@factory("lab_run_id")
def make_lab_run(client: TestClient, ws: Any) -> str:
    r = client.post(f"/api/v1/agents/{make_agent(client, ws)}/lab-runs",
                    json={"questions": [{"question": "How do I list things?", "expected_operations": ["GET /things"]}]},
                    headers=ws.headers)
    assert r.status_code == 202, r.text
    return r.json()["id"]
