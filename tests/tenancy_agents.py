"""Tenant-isolation factories for agents, agent runs and drafts."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from tenancy import _post, factory
from tenancy_conversations import make_conversation

sys.path.insert(0, str(Path(__file__).parent / "agents"))

from helpers import make_draft, make_run  # noqa: E402


@factory("agent_id")
def make_agent(client: TestClient, ws: Any) -> str:
    return _post(client, ws, "/api/v1/agents", {"name": f"Victim {uuid.uuid4().hex[:8]}", "instructions": "secret"})["id"]


@factory("run_id")
def make_agent_run(client: TestClient, ws: Any) -> str:
    return make_run(client.app.state.runtime, ws.id, make_agent(client, ws), make_conversation(client, ws),
                    trace={"systemPrompt": "secret"})


@factory("draft_id")
def make_pending_draft(client: TestClient, ws: Any) -> str:
    conv = make_conversation(client, ws)
    return make_draft(client.app.state.runtime, ws.id, make_agent(client, ws), conv)
