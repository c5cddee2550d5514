"""Helpers for the agents tests. Runs are written straight into the database (the runtime that makes
them is built separately); drafts go through `do_create_draft`, the function the runtime calls."""

from __future__ import annotations

import uuid
from typing import Any

from woes.agents.models import AgentRun
from woes.agents.service import do_create_draft
from woes.db import utcnow

CITATION = {"n": 1, "sourceId": None, "endpointId": None, "operationKey": "GET /widgets", "method": "GET",
            "path": "/widgets", "title": "List widgets", "snippet": "GET /widgets lists widgets."}


def create_agent(client, ws, **body) -> dict[str, Any]:
    r = client.post("/api/v1/agents", json={"name": "Helper", **body}, headers=ws.headers)
    assert r.status_code == 201, r.text
    return r.json()


def create_source(client, ws, content: str = "# Guide\n\nHello.", type_: str = "markdown", *, scanned: bool = False,
                  name: str = "Docs", runtime: Any = None) -> dict[str, Any]:
    r = client.post("/api/v1/sources", json={"name": name, "type": type_, "content": content}, headers=ws.headers)
    assert r.status_code == 201, r.text
    source = r.json()
    if scanned:
        from woes.scans.pipeline import run_scan

        run_scan((runtime or client.app.state.runtime).db, ws.id, uuid.UUID(source["id"]), uuid.UUID(source["lastScan"]["id"]))
    return source


def make_run(runtime, workspace_id, agent_id, conversation_id=None, **fields) -> str:
    """Store one agent run the way the runtime would, and return its id."""
    values: dict[str, Any] = {
        "trigger": "conversation" if conversation_id else "direct", "question": "How do I list widgets?",
        "outcome": "answer", "text": "Call GET /widgets [1].", "citations": [CITATION],
        "confidence": {"score": 0.82, "label": "high", "signals": {}}, "provider": "offline", "latency_ms": 12.5,
        "trace": {"retrieval": [{"id": "e1", "score": 0.9}], "decisions": ["answer"]}, "created_at": utcnow(),
    } | fields
    with runtime.db.transaction() as s:
        run = AgentRun(workspace_id=workspace_id, agent_id=uuid.UUID(str(agent_id)),
                       conversation_id=uuid.UUID(str(conversation_id)) if conversation_id else None, **values)
        s.add(run)
        s.flush()
        return str(run.id)


def make_draft(runtime, workspace_id, agent_id, conversation_id, body: str = "Call GET /widgets to list them.") -> str:
    """A pending draft on a new run, created through the service the runtime calls."""
    run_id = make_run(runtime, workspace_id, agent_id, conversation_id, trigger="draft", text=body)
    with runtime.db.transaction() as s:
        run = s.get(AgentRun, uuid.UUID(run_id))
        return str(do_create_draft(s, run, body, [CITATION]).id)
