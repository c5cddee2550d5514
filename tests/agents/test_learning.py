"""Context learning (SPEC §8): `POST /api/v1/agents/{id}/learn` queues a job that turns the attached sources
into an operating brief, a coverage summary, cautions and suggestions: deterministic, redacted, scoped."""

from __future__ import annotations

import json
import uuid

from conftest import make_key
from convo_helpers import events_of
from helpers import create_agent, create_source
from support.jobs import run_jobs

from woes.agents import learning
from woes.jobs.registry import HANDLERS

SECRET = "sk_live_4eC39HqLyjWDarjtT1zdp7dc"
SPEC = f"""openapi: 3.0.3
info:
  title: Widgets API
  version: "2"
  description: |
    Widgets API manages widgets and gadgets for hardware stores.

    Authenticate every request with your API key in the X-Api-Key header.
    Lists are paginated with a cursor: pass the next_cursor you received as cursor.
servers:
  - url: https://api.widgets.example/v2
components:
  securitySchemes:
    storeKey: {{type: apiKey, in: header, name: X-Api-Key, description: Your store's key.}}
security:
  - storeKey: []
tags:
  - name: Widgets
  - name: Gadgets
paths:
  /widgets:
    get:
      tags: [Widgets]
      summary: List widgets
      parameters:
        - {{name: limit, in: query, schema: {{type: integer}}}}
        - {{name: cursor, in: query, schema: {{type: string}}}}
      responses:
        "200": {{description: A page of widgets.}}
        "401": {{description: Missing key.}}
    post:
      tags: [Widgets]
      summary: Create a widget
      description: "Creates a widget. Support tested it with {SECRET}, do not share."
      parameters:
        - {{name: Idempotency-Key, in: header, schema: {{type: string}}}}
      responses:
        "201": {{description: Created.}}
        "422": {{description: Invalid widget.}}
  /widgets/{{widget_id}}:
    delete:
      tags: [Widgets]
      parameters:
        - {{name: widget_id, in: path, required: true, schema: {{type: string}}}}
      responses:
        "204": {{description: Deleted.}}
  /gadgets:
    get:
      tags: [Gadgets]
      summary: List gadgets
      deprecated: true
      responses:
        "200": {{description: Gadgets.}}
"""


def learn(client, ws, agent_id: str, headers=None):
    return client.post(f"/api/v1/agents/{agent_id}/learn", headers=headers or ws.headers)


def get(client, ws, agent_id: str) -> dict:
    r = client.get(f"/api/v1/agents/{agent_id}", headers=ws.headers)
    assert r.status_code == 200, r.text
    return r.json()


def learn_jobs(runtime) -> list:
    return [j for j in runtime.queue.list_jobs() if j.name == learning.LEARN_JOB]


def test_learning_builds_a_grounded_profile(client, ws, runtime):
    src = create_source(client, ws, SPEC, "openapi", scanned=True, name="Widgets spec")
    agent = create_agent(client, ws, name="Widget helper", sourceIds=[src["id"]], instructions="Be precise.")

    r = learn(client, ws, agent["id"])
    assert r.status_code == 202, r.text
    assert r.json()["learningStatus"] == "pending" and r.json()["learnedProfile"] is None
    assert r.json()["instructions"] == "Be precise."
    again = learn(client, ws, agent["id"])  # while pending: the same state, no second job
    assert again.status_code == 202 and again.json()["learningStatus"] == "pending"
    assert len(learn_jobs(runtime)) == 1

    run_jobs(runtime)
    got = get(client, ws, agent["id"])
    assert got["learningStatus"] == "ready"
    profile = got["learnedProfile"]
    source = client.get(f"/api/v1/sources/{src['id']}", headers=ws.headers).json()
    assert profile["sourceSnapshot"] == {src["id"]: source["lastScan"]["id"]}
    assert profile["learnedAt"].endswith("Z")

    cov = profile["coverage"]
    assert cov["totals"] == {"sources": 1, "operations": 4, "documents": 1, "deprecatedOperations": 1, "writeOperations": 2}
    assert [(s["id"], s["operations"], s["documents"], s["type"]) for s in cov["sources"]] == [(src["id"], 4, 1, "openapi")]
    assert [(g["name"], g["operations"], g["deprecated"]) for g in cov["resourceGroups"]] == [("Widgets", 3, 0), ("Gadgets", 1, 1)]
    assert cov["methods"] == {"GET": 2, "DELETE": 1, "POST": 1}
    assert [(a["scheme"], a["type"], a["parameter"], a["operations"]) for a in cov["auth"]] == [("storeKey", "api_key", "X-Api-Key", 4)]
    assert cov["servers"] == [{"url": "https://api.widgets.example/v2", "operations": 4}]

    conv = profile["conventions"]
    assert conv["pagination"]["style"] == "cursor" and sorted(conv["pagination"]["parameters"]) == ["cursor", "limit"]
    assert conv["pagination"]["examples"] == ["GET /widgets"]
    assert conv["idempotency"]["headers"] == ["Idempotency-Key"] and conv["idempotency"]["writeOperationsWithout"] == 1
    assert conv["versioning"]["pathVersions"] == ["v2"]
    assert {c["code"] for c in conv["errors"]["statusCodes"]} == {"401", "422"}

    cautions = {c["code"]: c for c in profile["cautions"]}
    assert cautions["deprecated_operations"]["count"] == 1 and cautions["deprecated_operations"]["examples"] == ["GET /gadgets"]
    assert cautions["undocumented_operations"]["examples"] == ["DELETE /widgets/{widget_id}"]
    assert cautions["write_operations"]["count"] == 2
    assert 0 <= profile["suggestedThreshold"] <= 1 and profile["thresholdReasons"]
    assert "Widget helper" in profile["suggestedGreeting"] and "Widgets API" in profile["suggestedGreeting"]

    brief = profile["brief"]
    assert brief.startswith("# Operating brief: Widget helper")
    for needle in ("## Authentication", "X-Api-Key", "## Resource groups", "**Widgets** — 3 operation(s)",
                   "**Gadgets** — 1 operation(s), 1 deprecated", "https://api.widgets.example/v2", "## Hand off to a person",
                   "Widgets API manages widgets and gadgets", "Not found in the sources: rate limits"):
        assert needle in brief, needle

    events = events_of(runtime, ws.id, ["agent.learning_started", "agent.learning_completed", "agent.learning_failed"])
    assert [e.type for e in events] == ["agent.learning_started", "agent.learning_completed"]
    assert all(e.payload["id"] == agent["id"] and e.payload["instructions"] is None for e in events)
    assert events[1].payload["learningStatus"] == "ready"

    # Learning again gives the same profile (deterministic), apart from the time it was learned.
    assert learn(client, ws, agent["id"]).json()["learningStatus"] == "pending"
    run_jobs(runtime)
    relearned = get(client, ws, agent["id"])["learnedProfile"]
    assert {k: v for k, v in relearned.items() if k != "learnedAt"} == {k: v for k, v in profile.items() if k != "learnedAt"}


def test_an_agent_without_sources_learns_that_it_must_hand_off(client, ws, runtime):
    agent = create_agent(client, ws, name="Lonely")
    assert learn(client, ws, agent["id"]).status_code == 202
    run_jobs(runtime)
    got = get(client, ws, agent["id"])
    assert got["learningStatus"] == "ready"
    profile = got["learnedProfile"]
    assert profile["coverage"]["sources"] == [] and profile["coverage"]["totals"]["operations"] == 0
    assert profile["coverage"]["resourceGroups"] == [] and profile["coverage"]["auth"] == []
    assert [c["code"] for c in profile["cautions"]] == ["no_sources"]
    assert profile["suggestedThreshold"] == 0.9 and profile["sourceSnapshot"] == {}
    assert "No sources are attached" in profile["brief"] and "pass your question" in profile["suggestedGreeting"]


def test_a_failed_source_is_a_caution_and_raises_the_threshold(client, ws, runtime):
    good = create_source(client, ws, SPEC, "openapi", scanned=True, name="Widgets spec")
    bad = create_source(client, ws, "openapi: [not valid", "openapi", scanned=True, name="Broken spec")
    agent = create_agent(client, ws, name="Cautious", sourceIds=[good["id"], bad["id"]])
    solo = create_agent(client, ws, name="Solo", sourceIds=[good["id"]])
    for a in (agent, solo):
        learn(client, ws, a["id"])
    run_jobs(runtime)
    profile, solo_profile = get(client, ws, agent["id"])["learnedProfile"], get(client, ws, solo["id"])["learnedProfile"]
    failed = [c for c in profile["cautions"] if c["code"] == "source_failed"]
    assert len(failed) == 1 and failed[0]["sourceId"] == bad["id"] and "Broken spec" in failed[0]["message"]
    assert profile["suggestedThreshold"] > solo_profile["suggestedThreshold"]
    assert [s["lastScanStatus"] for s in profile["coverage"]["sources"]] == ["completed", "failed"]
    assert "Broken spec" in profile["brief"].split("## Hand off to a person", 1)[1]


def test_learning_needs_agents_write(client, ws):
    agent = create_agent(client, ws)
    reader = make_key(client, ws, ["agents:read"])
    r = learn(client, ws, agent["id"], headers={"Authorization": f"Bearer {reader['secret']}"})
    assert r.status_code == 403 and r.json()["code"] == "permission_denied" and "agents:write" in r.json()["error"]
    writer = make_key(client, ws, ["agents:write"])
    r = learn(client, ws, agent["id"], headers={"Authorization": f"Bearer {writer['secret']}"})
    assert r.status_code == 202 and r.json()["learningStatus"] == "pending"
    assert client.post(f"/api/v1/agents/{agent['id']}/learn").status_code == 401


def test_another_workspace_gets_404_and_changes_nothing(client, make_workspace, runtime):
    a, b = make_workspace("A"), make_workspace("B")
    agent = create_agent(client, a)
    r = learn(client, b, agent["id"])
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    assert learn(client, b, str(uuid.uuid4())).status_code == 404
    assert get(client, a, agent["id"])["learningStatus"] == "idle"
    assert not learn_jobs(runtime) and not events_of(runtime, a.id, ["agent.learning_started"])


def test_secrets_in_sources_never_reach_the_profile(client, ws, runtime):
    from sqlalchemy import select

    from woes.sources.models import Endpoint

    src = create_source(client, ws, SPEC, "openapi", scanned=True)
    # A scan stores the evidence redacted; put the raw secret back where learning reads (as in rows stored
    # before redaction on scan), so that learning's own redaction is what this tests.
    with runtime.db.transaction() as s:
        for row in s.scalars(select(Endpoint).where(Endpoint.source_id == uuid.UUID(src["id"]))):
            row.description = (row.description or "").replace("[REDACTED:stripe_key]", SECRET)
    endpoints = client.get(f"/api/v1/sources/{src['id']}/endpoints", headers=ws.headers).json()
    assert any(SECRET in (e["description"] or "") for e in endpoints["endpoints"])  # planted where learning reads
    agent = create_agent(client, ws, sourceIds=[src["id"]])
    learn(client, ws, agent["id"])
    run_jobs(runtime)
    got = get(client, ws, agent["id"])
    assert got["learningStatus"] == "ready"
    assert SECRET not in json.dumps(got) and SECRET not in got["learnedProfile"]["brief"]
    for e in events_of(runtime, ws.id, ["agent.learning_started", "agent.learning_completed"]):
        assert SECRET not in json.dumps(e.payload)


def test_a_run_that_breaks_ends_failed_with_a_redacted_error(client, ws, runtime, monkeypatch):
    agent = create_agent(client, ws)
    learn(client, ws, agent["id"])

    def broken(session, agent):
        raise ValueError(f"cannot read source with {SECRET}")

    monkeypatch.setattr(learning, "build_profile", broken)
    assert learning.learn_agent(runtime.db, ws.id, uuid.UUID(agent["id"])) == "failed"
    got = get(client, ws, agent["id"])
    assert got["learningStatus"] == "failed"
    error = got["learnedProfile"]["error"]
    assert "ValueError" in error["message"] and SECRET not in error["message"] and error["failedAt"]
    events = events_of(runtime, ws.id, ["agent.learning_failed"])
    assert len(events) == 1 and SECRET not in json.dumps(events[0].payload)

    monkeypatch.undo()  # a retry succeeds and clears the error
    assert learn(client, ws, agent["id"]).json()["learningStatus"] == "pending"
    assert learning.learn_agent(runtime.db, ws.id, uuid.UUID(agent["id"])) == "ready"
    got = get(client, ws, agent["id"])
    assert got["learningStatus"] == "ready" and "error" not in got["learnedProfile"]


def test_a_request_pending_for_too_long_is_queued_again(client, ws, runtime):
    from datetime import timedelta

    from woes.agents.models import Agent
    from woes.db import utcnow

    agent = create_agent(client, ws)
    learn(client, ws, agent["id"])
    learn(client, ws, agent["id"])
    assert len(learn_jobs(runtime)) == 1
    with runtime.db.transaction() as s:  # its job was lost long ago
        s.get(Agent, uuid.UUID(agent["id"])).updated_at = utcnow() - learning.STALE_PENDING - timedelta(seconds=1)
    assert learn(client, ws, agent["id"]).json()["learningStatus"] == "pending"
    assert len(learn_jobs(runtime)) == 2
    run_jobs(runtime)
    assert get(client, ws, agent["id"])["learningStatus"] == "ready"


def test_the_job_serves_pending_requests_only(client, ws, runtime):
    assert HANDLERS[learning.LEARN_JOB].func.__module__ == "woes.agents.tasks"
    agent = create_agent(client, ws)
    learn(client, ws, agent["id"])
    assert learning.learn_agent(runtime.db, ws.id, uuid.UUID(agent["id"])) == "ready"  # served right away (as `woes demo` does)
    run_jobs(runtime)  # the queued job finds nothing pending and changes nothing
    assert [j.status for j in learn_jobs(runtime)] == ["succeeded"]
    assert len(events_of(runtime, ws.id, ["agent.learning_completed"])) == 1
