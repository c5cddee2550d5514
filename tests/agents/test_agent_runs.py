"""Read-only views over agent runs (SPEC §8): the answer object, a conversation's runs, and traces whose
system prompts only agents:write callers see."""

from __future__ import annotations

import uuid

from conftest import make_key
from convo_helpers import conversation
from helpers import create_agent, make_run

TRACE = {
    "systemPrompt": "You are the support agent. Runbook: never guess.",
    "provider": {"name": "openai", "model": "gpt-x", "systemPrompt": "You are...", "apiKey": "sk-should-never-leak"},
    "retrieval": [{"id": "e1", "score": 0.91}],
    "decisions": ["answer"],
    "timings": {"totalMs": 12},
}


def test_conversation_runs_are_listed_oldest_first(client, ws, runtime):
    agent = create_agent(client, ws)
    conv = conversation(client, ws)
    other_conv = conversation(client, ws, subject="Other")
    first = make_run(runtime, ws.id, agent["id"], conv["id"])
    second = make_run(runtime, ws.id, agent["id"], conv["id"], outcome="handoff", text="Handing over.",
                      handoff_reason="No evidence for refunds.")
    make_run(runtime, ws.id, agent["id"], other_conv["id"])
    r = client.get(f"/api/v1/conversations/{conv['id']}/agent-runs?limit=1", headers=ws.headers)
    assert r.status_code == 200, r.text
    page = r.json()
    assert page["object"] == "list" and page["hasMore"] is True and [x["id"] for x in page["agentRuns"]] == [first]
    rest = client.get(f"/api/v1/conversations/{conv['id']}/agent-runs?cursor={page['nextCursor']}", headers=ws.headers).json()
    assert [x["id"] for x in rest["agentRuns"]] == [second] and rest["hasMore"] is False
    assert rest["agentRuns"][0]["handoff"] == {"reason": "No evidence for refunds."}


def test_run_answer_object(client, ws, runtime):
    agent = create_agent(client, ws)
    conv = conversation(client, ws)
    run_id = make_run(runtime, ws.id, agent["id"], conv["id"])
    run = client.get(f"/api/v1/agent-runs/{run_id}", headers=ws.headers).json()
    assert run["object"] == "agent_run" and run["id"] == run_id and run["traceId"] == run_id
    assert run["agentId"] == agent["id"] and run["conversationId"] == conv["id"]
    assert run["outcome"] == "answer" and run["text"] == "Call GET /widgets [1]." and run["handoff"] is None
    assert run["citations"][0]["operationKey"] == "GET /widgets"
    assert run["confidence"]["label"] == "high" and run["latencyMs"] == 12.5 and run["provider"] == "offline"
    assert set(run) >= {"messageId", "replyMessageId", "trigger", "createdAt"}


def test_trace_hides_system_prompts_without_agents_write(client, ws, runtime):
    agent = create_agent(client, ws)
    run_id = make_run(runtime, ws.id, agent["id"], trace=TRACE)
    full = client.get(f"/api/v1/agent-runs/{run_id}/trace", headers=ws.headers).json()
    assert full["object"] == "agent_trace" and full["runId"] == run_id
    assert full["systemPrompt"] == TRACE["systemPrompt"] and full["provider"]["systemPrompt"] == "You are..."
    assert full["retrieval"] == TRACE["retrieval"] and full["decisions"] == ["answer"]
    assert "apiKey" not in full["provider"]  # provider credentials never leave, whoever asks

    reader = {"Authorization": f"Bearer {make_key(client, ws, ['agents:read'])['secret']}"}
    r = client.get(f"/api/v1/agent-runs/{run_id}/trace", headers=reader)
    assert r.status_code == 200, r.text
    trace = r.json()
    assert "systemPrompt" not in trace and "systemPrompt" not in trace["provider"]
    assert trace["provider"]["model"] == "gpt-x" and trace["timings"] == {"totalMs": 12}
    assert "sk-should-never-leak" not in r.text


def test_runs_need_agents_read(client, ws, runtime):
    agent = create_agent(client, ws)
    conv = conversation(client, ws)
    run_id = make_run(runtime, ws.id, agent["id"], conv["id"])
    inbox = {"Authorization": f"Bearer {make_key(client, ws, ['conversations:write'])['secret']}"}
    for path in (f"/api/v1/agent-runs/{run_id}", f"/api/v1/agent-runs/{run_id}/trace",
                 f"/api/v1/conversations/{conv['id']}/agent-runs"):
        r = client.get(path, headers=inbox)
        assert r.status_code == 403 and r.json()["requiredScope"] == "agents:read"


def test_other_workspaces_runs_are_not_found(client, ws, make_workspace, runtime):
    other = make_workspace("B")
    agent = create_agent(client, other)
    conv = conversation(client, other)
    run_id = make_run(runtime, other.id, agent["id"], conv["id"])
    for path in (f"/api/v1/agent-runs/{run_id}", f"/api/v1/agent-runs/{run_id}/trace",
                 f"/api/v1/conversations/{conv['id']}/agent-runs", f"/api/v1/agent-runs/{uuid.uuid4()}"):
        r = client.get(path, headers=ws.headers)
        assert r.status_code == 404 and r.json()["code"] == "not_found"
