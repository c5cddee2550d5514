"""Lab runs over the API (SPEC §8 Lab): bank validation, the `lab.run` job through the real runtime,
results and aggregates, secrets kept out of everything stored, comparing runs across a source change,
tenant scoping and scopes."""

from __future__ import annotations

import json
import uuid

from conftest import all_database_text, make_key
from convo_helpers import events_of
from lab_helpers import BANK, SECRET, SPEC_V2, bank_jsonl, create_agent, create_source, start_lab_run
from sqlalchemy import select
from support.jobs import run_jobs

from woes.jobs.registry import JobContext


def _agent_with_source(client, ws, runtime) -> tuple[dict, dict]:
    source = create_source(client, ws)
    run_jobs(runtime)  # the source's first scan
    return source, create_agent(client, ws, [source["id"]])


def _problem(r, status: int) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    return r.json()


def test_bank_validation_names_the_question(client, ws):
    agent = create_agent(client, ws)
    url = f"/api/v1/agents/{agent['id']}/lab-runs"
    bad_line = "\n".join([json.dumps(BANK[0]), json.dumps(BANK[2]), '{"question": "broken"', json.dumps(BANK[3])])
    body = _problem(client.post(url, json={"jsonl": bad_line}, headers=ws.headers), 422)
    assert body["code"] == "validation_failed" and body["errors"][0]["field"] == "questions[3]"
    assert "Line 3" in body["errors"][0]["message"]

    body = _problem(client.post(url, json={"questions": [BANK[0], {"expected_operations": ["GET /pets"]}]},
                                headers=ws.headers), 422)
    assert [e["field"] for e in body["errors"]] == ["questions[1].question"]

    body = _problem(client.post(url, json={"questions": [{"question": "x" * 4001}, 7]}, headers=ws.headers), 422)
    assert [e["field"] for e in body["errors"]] == ["questions[0].question", "questions[1]"]

    body = _problem(client.post(url, json={"questions": [{"question": f"q{i}"} for i in range(2001)]},
                                headers=ws.headers), 422)
    assert body["errors"][0]["field"] == "questions" and "2000" in body["errors"][0]["message"]

    for both_or_neither in ({}, {"questions": BANK, "jsonl": bank_jsonl()}, {"name": "x"}):
        body = _problem(client.post(url, json=both_or_neither, headers=ws.headers), 422)
        assert body["errors"][0]["field"] == "questions"
    body = _problem(client.post(url, json={"jsonl": bank_jsonl(), "extra": 1}, headers=ws.headers), 422)
    assert body["errors"][0]["field"] == "extra"
    # nothing half-written
    assert client.get(url, headers=ws.headers).json()["labRuns"] == []


def test_lab_run_through_the_job(client, ws, runtime):
    source, agent = _agent_with_source(client, ws, runtime)
    created = start_lab_run(client, ws, agent["id"], jsonl=bank_jsonl(), name="Baseline")
    assert created["status"] == "queued" and created["questionCount"] == 4 and created["name"] == "Baseline"
    assert created["results"] == [] and created["aggregates"] is None
    assert created["sourceSnapshot"] == {source["id"]: source["lastScan"]["id"]}

    run_jobs(runtime)
    run = client.get(f"/api/v1/lab-runs/{created['id']}", headers=ws.headers).json()
    assert run["status"] == "completed", run
    assert run["startedAt"] and run["finishedAt"] and run["progress"] == {"done": 4, "total": 4}
    by_id = {r["id"]: r for r in run["results"]}
    assert list(by_id) == ["list", "refund", "get", "sso"]
    for qid, op in (("list", "GET /pets"), ("refund", "POST /orders/{orderId}/refunds"), ("get", "GET /pets/{petId}")):
        r = by_id[qid]
        assert r["outcome"] == "answer" and r["citations"][0]["operationKey"] == op, r
        assert r["evaluation"]["evidenceCorrect"] is True and r["evaluation"]["handoffCorrect"] is True
        assert r["confidence"]["label"] in ("high", "medium") and r["latencyMs"] > 0 and r["agentRunId"]
    assert by_id["list"]["evaluation"]["mustMention"] == {"found": ["status", "available"], "missing": []}
    refund = by_id["refund"]
    assert refund["hasSecrets"] and refund["evaluation"]["redactionHeld"] is True
    assert "[REDACTED:stripe_key]" in refund["question"]
    assert by_id["sso"]["answerable"] is False and by_id["sso"]["evaluation"]["evidenceCorrect"] is None

    agg = run["aggregates"]
    assert agg["hit1"] == 1.0 and agg["hitAny"] == 1.0 and agg["answerableAnswered"] == 1.0
    assert agg["answerableRefused"] == 0.0 and agg["secretsLeaked"] == 0 and agg["redactionHeld"] == 1.0
    assert agg["counts"]["questions"] == 4 and agg["counts"]["withSecrets"] == 1 and agg["p95LatencyMs"] > 0

    # the agent runs are recorded, linked to the lab run, with their traces
    trace = client.get(f"/api/v1/agent-runs/{refund['agentRunId']}/trace", headers=ws.headers)
    assert trace.status_code == 200 and SECRET not in trace.text
    # events: created → started → completed, plus the agent's own outcome events
    types = [e.type for e in events_of(runtime, ws.id) if e.type.startswith("lab_run.")]
    assert types == ["lab_run.created", "lab_run.started", "lab_run.completed"]
    completed = events_of(runtime, ws.id, ["lab_run.completed"])[0].payload
    assert completed["id"] == created["id"] and completed["aggregates"]["hit1"] == 1.0 and "results" not in completed
    assert len(events_of(runtime, ws.id, ["agent.answer_created", "agent.handoff_requested",
                                          "agent.clarification_requested"])) == 4
    # the secret of the bank is stored nowhere: not in the bank, results, traces, events or jobs
    assert SECRET not in all_database_text(runtime)
    assert SECRET not in client.get(f"/api/v1/lab-runs/{created['id']}", headers=ws.headers).text

    # list: newest first, paginated, without per-question results
    second = start_lab_run(client, ws, agent["id"], questions=BANK[:1])
    page = client.get(f"/api/v1/agents/{agent['id']}/lab-runs?limit=1", headers=ws.headers).json()
    assert [r["id"] for r in page["labRuns"]] == [second["id"]] and page["hasMore"] and "results" not in page["labRuns"][0]
    page2 = client.get(f"/api/v1/agents/{agent['id']}/lab-runs?limit=1&cursor={page['nextCursor']}", headers=ws.headers).json()
    assert [r["id"] for r in page2["labRuns"]] == [created["id"]] and not page2["hasMore"]
    assert page2["labRuns"][0]["aggregates"]["hit1"] == 1.0


def test_compare_shows_a_regression_after_a_source_change(client, ws, runtime):
    source, agent = _agent_with_source(client, ws, runtime)
    before = start_lab_run(client, ws, agent["id"], questions=BANK)
    # not comparable until both are completed
    other = start_lab_run(client, ws, agent["id"], questions=BANK)
    body = _problem(client.get(f"/api/v1/lab-runs/{before['id']}/compare?against={other['id']}", headers=ws.headers), 409)
    assert body["code"] == "conflict"
    run_jobs(runtime)

    # the refund operation disappears from the spec
    r = client.put(f"/api/v1/sources/{source['id']}/files", files={"file": ("petstore.yaml", SPEC_V2.encode())},
                   headers=ws.headers)
    assert r.status_code in (200, 202), r.text
    run_jobs(runtime)
    after = start_lab_run(client, ws, agent["id"], questions=BANK)
    assert after["sourceSnapshot"][source["id"]] != before["sourceSnapshot"][source["id"]]
    run_jobs(runtime)

    diff = client.get(f"/api/v1/lab-runs/{after['id']}/compare?against={before['id']}", headers=ws.headers)
    assert diff.status_code == 200, diff.text
    diff = diff.json()
    assert diff["labRunId"] == after["id"] and diff["againstId"] == before["id"]
    assert diff["sourceChanges"] == {"added": [], "removed": [], "rescanned": [source["id"]]}
    rows = {row["id"]: row for row in diff["questions"]}
    refund = rows["refund"]
    assert refund["status"] == "regressed" and diff["questions"][0]["id"] == "refund"
    assert refund["before"]["passed"] and refund["before"]["firstCitation"] == "POST /orders/{orderId}/refunds"
    assert not refund["after"]["passed"] and refund["after"]["firstCitation"] != "POST /orders/{orderId}/refunds"
    assert rows["list"]["status"] == "unchanged" and rows["get"]["status"] == "unchanged"
    assert diff["summary"]["regressed"] >= 1
    hit1 = diff["aggregates"]["hit1"]
    assert hit1["before"] == 1.0 and hit1["after"] < 1.0 and hit1["delta"] < 0
    assert SECRET not in json.dumps(diff)

    # `against` is required and must be a lab run of this workspace
    body = _problem(client.get(f"/api/v1/lab-runs/{after['id']}/compare", headers=ws.headers), 422)
    assert body["errors"][0]["field"] == "against"
    _problem(client.get(f"/api/v1/lab-runs/{after['id']}/compare?against={uuid.uuid4()}", headers=ws.headers), 404)
    body = _problem(client.get(f"/api/v1/lab-runs/{after['id']}/compare?against=nope", headers=ws.headers), 422)
    assert body["errors"][0]["field"] == "against"


def test_an_agent_without_sources_hands_everything_off(client, ws, runtime):
    agent = create_agent(client, ws)
    created = start_lab_run(client, ws, agent["id"], questions=BANK)
    assert created["sourceSnapshot"] == {}
    run_jobs(runtime)
    run = client.get(f"/api/v1/lab-runs/{created['id']}", headers=ws.headers).json()
    assert run["status"] == "completed"
    assert {r["outcome"] for r in run["results"]} == {"handoff"}
    agg = run["aggregates"]
    assert agg["answerableRefused"] == 1.0 and agg["unanswerableHandedOff"] == 1.0 and agg["hit1"] == 0.0
    assert agg["secretsLeaked"] == 0


def test_a_failing_question_does_not_sink_the_run(client, ws, runtime, monkeypatch):
    import woes.agents.runtime as agent_runtime

    def broken(*args, **kwargs):
        raise RuntimeError(f"boom with {SECRET}")

    monkeypatch.setattr(agent_runtime, "answer_question", broken)
    agent = create_agent(client, ws)
    created = start_lab_run(client, ws, agent["id"], questions=BANK)
    run_jobs(runtime)
    run = client.get(f"/api/v1/lab-runs/{created['id']}", headers=ws.headers).json()
    assert run["status"] == "completed" and run["aggregates"]["counts"]["error"] == 4
    assert all(r["error"].startswith("RuntimeError: boom") and r["outcome"] is None for r in run["results"])
    assert "error" in run["results"][0]["evaluation"]["failures"]
    assert SECRET not in all_database_text(runtime)


def test_the_last_failed_attempt_fails_the_run(client, ws, runtime, monkeypatch):
    from woes.lab import service, tasks

    agent = create_agent(client, ws)
    created = start_lab_run(client, ws, agent["id"], questions=BANK)

    def crash(*args, **kwargs):
        raise OSError("disk on fire")

    monkeypatch.setattr(service, "run_lab", crash)
    payload = {"workspaceId": str(ws.id), "labRunId": created["id"]}
    for attempt in (1, tasks.MAX_ATTEMPTS):
        try:
            tasks.run_lab_run(JobContext(runtime.db, "job", attempt), payload)
        except OSError:
            pass
        status = client.get(f"/api/v1/lab-runs/{created['id']}", headers=ws.headers).json()
        assert status["status"] == ("queued" if attempt == 1 else "failed"), status
    assert "disk on fire" in status["error"] and status["finishedAt"]
    assert [e.payload["status"] for e in events_of(runtime, ws.id, ["lab_run.failed"])] == ["failed"]
    # the stored bank no longer holds anything sealed
    from woes.lab.models import LabRun

    with runtime.db.reading() as s:
        assert all("sealed" not in q for q in s.get(LabRun, uuid.UUID(created["id"])).questions)


def test_lab_runs_are_workspace_scoped(client, make_workspace, runtime):
    a, b = make_workspace("A"), make_workspace("B")
    a_agent, b_agent = create_agent(client, a), create_agent(client, b)
    a_run = start_lab_run(client, a, a_agent["id"], questions=BANK[:1])
    b_run = start_lab_run(client, b, b_agent["id"], questions=BANK[:1])
    run_jobs(runtime)
    for method, url in (("GET", f"/api/v1/lab-runs/{a_run['id']}"),
                        ("GET", f"/api/v1/lab-runs/{a_run['id']}/compare?against={b_run['id']}"),
                        ("GET", f"/api/v1/lab-runs/{b_run['id']}/compare?against={a_run['id']}"),
                        ("GET", f"/api/v1/agents/{a_agent['id']}/lab-runs"),
                        ("POST", f"/api/v1/agents/{a_agent['id']}/lab-runs")):
        r = client.request(method, url, headers=b.headers, json={"questions": BANK[:1]} if method == "POST" else None)
        assert _problem(r, 404)["code"] == "not_found", url
    assert [r["id"] for r in client.get(f"/api/v1/agents/{b_agent['id']}/lab-runs", headers=b.headers).json()["labRuns"]] \
        == [b_run["id"]]
    assert client.get(f"/api/v1/agents/{a_agent['id']}/lab-runs", headers=a.headers).json()["labRuns"][0]["id"] == a_run["id"]


def test_scopes(client, ws):
    agent = create_agent(client, ws)
    run = start_lab_run(client, ws, agent["id"], questions=BANK[:1])
    reader = {"Authorization": f"Bearer {make_key(client, ws, ['agents:read'])['secret']}"}
    r = client.post(f"/api/v1/agents/{agent['id']}/lab-runs", json={"questions": BANK[:1]}, headers=reader)
    body = _problem(r, 403)
    assert body["code"] == "permission_denied" and body["requiredScope"] == "agents:write"
    assert client.get(f"/api/v1/lab-runs/{run['id']}", headers=reader).status_code == 200
    assert client.get(f"/api/v1/agents/{agent['id']}/lab-runs", headers=reader).status_code == 200
    other = {"Authorization": f"Bearer {make_key(client, ws, ['knowledge:write'])['secret']}"}
    assert _problem(client.get(f"/api/v1/lab-runs/{run['id']}", headers=other), 403)["requiredScope"] == "agents:read"
    doc = client.get("/api/v1/openapi.json").json()
    assert doc["paths"]["/api/v1/agents/{agent_id}/lab-runs"]["post"]["x-required-scope"] == "agents:write"
    assert doc["paths"]["/api/v1/lab-runs/{lab_run_id}/compare"]["get"]["x-required-scope"] == "agents:read"


def test_a_retried_job_resumes_after_the_saved_results(client, ws, runtime, monkeypatch):
    from sqlalchemy.exc import OperationalError

    import woes.agents.runtime as agent_runtime
    from woes.agents.models import AgentRun
    from woes.lab import service

    monkeypatch.setattr(service, "BATCH", 2)
    real, calls = agent_runtime.answer_question, []

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) == 4:
            raise OperationalError("SELECT 1", {}, Exception("database went away"))
        return real(*args, **kwargs)

    monkeypatch.setattr(agent_runtime, "answer_question", flaky)
    agent = create_agent(client, ws)
    created = start_lab_run(client, ws, agent["id"], questions=BANK)
    lab_id = uuid.UUID(created["id"])
    try:
        service.run_lab(runtime.db, ws.id, lab_id, provider=None)
    except OperationalError:
        pass
    partial = client.get(f"/api/v1/lab-runs/{created['id']}", headers=ws.headers).json()
    assert partial["status"] == "running" and partial["progress"] == {"done": 2, "total": 4}
    service.run_lab(runtime.db, ws.id, lab_id, provider=None)  # the retry
    done = client.get(f"/api/v1/lab-runs/{created['id']}", headers=ws.headers).json()
    assert done["status"] == "completed" and [r["index"] for r in done["results"]] == [0, 1, 2, 3]
    assert len(calls) == 6  # questions 3 (answered, not yet saved) and 4 again
    with runtime.db.reading() as s:
        runs = s.scalars(select(AgentRun).where(AgentRun.lab_run_id == lab_id)).all()
    assert {str(r.id) for r in runs} >= {r["agentRunId"] for r in done["results"]}
    assert service.run_lab(runtime.db, ws.id, lab_id) is None  # a completed run is left alone
