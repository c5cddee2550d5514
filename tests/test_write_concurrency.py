"""Concurrent writes on one server process: every request is answered 2xx (or 503 with Retry-After under
true overload), never a 500; waiting for a write holds no thread; no write transaction is open while the
agent's provider composes (woes.db.WriteTurns, woes.access.deps.write_session / run_write)."""

from __future__ import annotations

import asyncio
import json
import sys
import threading
from pathlib import Path

import httpx
import pytest
from agents.helpers import create_agent, create_source
from support.live_server import serving

from woes.agents.providers.base import Composition
from woes.app import create_app
from woes.db import WritesOverloaded, WriteTurns

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import write_concurrency as load  # noqa: E402  (the bench's load driver: the same requests as bench/write_concurrency.py)


def test_200_concurrent_mixed_writes_are_all_answered(settings, runtime, make_workspace):
    ws = make_workspace()
    app = create_app(settings, runtime, background=True, migrate=False)
    with serving(app) as base:
        conversations = load.setup_conversations(base, ws.key, count=10)
        results = asyncio.run(load.fire(base, ws.key, load.write_requests(200, conversations), timeout=90))
    summary = load.summarize(results)
    assert summary["acceptable"] == 200, summary
    assert summary["statuses"].get("500") is None and not any(k.startswith("error") for k in summary["statuses"])
    written = sum(1 for r in results if r["kind"] == "message" and r["status"] == 201)
    with httpx.Client(timeout=30) as c, serving(create_app(settings, runtime, background=False, migrate=False)) as base:
        total = 0
        for conv in conversations:
            page = c.get(f"{base}/api/v1/conversations/{conv}/messages?limit=100", headers=ws.headers).json()
            total += len(page["messages"])
    assert total == written  # every acknowledged message is stored, none twice


def test_a_write_with_no_turn_in_time_is_503_with_retry_after(client, ws, runtime):
    runtime.db.write_turns.max_waiting = 0  # every write request finds the queue full
    try:
        r = client.post("/api/v1/tags", json={"name": "urgent"}, headers=ws.headers)
        assert r.status_code == 503 and r.headers["retry-after"].isdigit()
        assert r.json()["code"] == "upstream_unavailable" and r.headers["content-type"].startswith("application/problem+json")
        r = client.post("/api/v1/tags", json={"name": "urgent"}, headers={**ws.headers, "Idempotency-Key": "k1"})
        assert r.status_code == 503 and r.headers["retry-after"].isdigit()
        assert client.get("/api/v1/tags", headers=ws.headers).status_code == 200  # reads need no turn
    finally:
        runtime.db.write_turns.max_waiting = 5000
    assert client.get("/api/v1/tags", headers=ws.headers).json()["tags"] == []  # nothing half-written
    r = client.post("/api/v1/tags", json={"name": "urgent"}, headers={**ws.headers, "Idempotency-Key": "k1"})
    assert r.status_code == 201  # the refused attempt left no idempotency record behind


def test_write_turns_wait_without_threads_and_give_up_in_time():
    async def take(turns: WriteTurns, log: list[str], name: str) -> None:
        async with turns.turn():
            log.append(name)

    async def scenario() -> list[str]:
        turns = WriteTurns(1, wait_seconds=5, max_waiting=1)
        log: list[str] = []
        async with turns.turn():
            waiter = asyncio.create_task(take(turns, log, "second"))
            await asyncio.sleep(0)
            assert turns.waiting == 1
            with pytest.raises(WritesOverloaded):  # the queue is full: refused at once
                async with turns.turn():
                    pass
            log.append("first done")
        await waiter
        quick = WriteTurns(1, wait_seconds=0.05)
        async with quick.turn():
            with pytest.raises(WritesOverloaded) as refused:  # no turn within the wait budget
                async with quick.turn():
                    pass
            assert refused.value.retry_after >= 1
        turns.max_waiting = 0
        async with turns.turn(patient=True):  # recording an answered request is never refused
            log.append("patient")
        return log

    assert asyncio.run(scenario()) == ["first done", "second", "patient"]


WIDGETS_SPEC = json.dumps({
    "openapi": "3.0.3", "info": {"title": "Widgets API", "version": "1.0"},
    "paths": {"/widgets": {"get": {"operationId": "listWidgets", "summary": "List widgets",
                                   "parameters": [{"name": "limit", "in": "query", "schema": {"type": "integer"}}],
                                   "responses": {"200": {"description": "A page of widgets"}}}}},
})


class BlockingProvider:
    """A provider that holds its answer until the test lets it go (a slow remote model)."""

    name = "slow"

    def __init__(self) -> None:
        self.entered, self.release = threading.Event(), threading.Event()

    def compose(self, request) -> Composition:
        self.entered.set()
        assert self.release.wait(30)
        return Composition(text="Use `GET /widgets` [1].", provider=self.name)


def _while_the_provider_composes(settings, runtime, make_workspace, monkeypatch, meanwhile) -> httpx.Response:
    """Ask an agent a question over real HTTP; while its provider is composing, call `meanwhile(client,
    agent)`; then let the provider answer. The answer's response."""
    ws = make_workspace()
    provider = BlockingProvider()
    monkeypatch.setattr("woes.agents.responding.configured_provider", lambda: provider)
    app = create_app(settings, runtime, background=False, migrate=False)
    with serving(app) as base, httpx.Client(base_url=base, headers=ws.headers, timeout=60) as c:
        source = create_source(c, ws, WIDGETS_SPEC, "openapi", scanned=True, name="Widgets API", runtime=runtime)
        agent = create_agent(c, ws, sourceIds=[source["id"]])
        answers: list[httpx.Response] = []
        asking = threading.Thread(target=lambda: answers.append(
            c.post(f"/api/v1/agents/{agent['id']}/answer", json={"question": "How do I list widgets?"})))
        asking.start()
        try:
            assert provider.entered.wait(30)
            meanwhile(c, agent)
        finally:
            provider.release.set()
            asking.join(30)
    assert answers, "the answer request did not finish"
    return answers[0]


def test_no_write_transaction_is_open_while_the_provider_composes(settings, runtime, make_workspace, monkeypatch):
    def write_meanwhile(c: httpx.Client, agent: dict) -> None:
        # While the provider composes, other writes go through at once (on SQLite: the only writer).
        r = c.post("/api/v1/tags", json={"name": "while-composing"}, timeout=5)
        assert r.status_code == 201, r.text

    answer = _while_the_provider_composes(settings, runtime, make_workspace, monkeypatch, write_meanwhile)
    assert answer.status_code == 200, answer.text
    run = answer.json()
    assert run["outcome"] == "answer" and run["citations"] and "GET /widgets" in run["text"]


def test_an_agent_deleted_while_composing_is_404_not_500(settings, runtime, make_workspace, monkeypatch):
    def delete_meanwhile(c: httpx.Client, agent: dict) -> None:
        assert c.delete(f"/api/v1/agents/{agent['id']}", timeout=5).status_code == 204

    answer = _while_the_provider_composes(settings, runtime, make_workspace, monkeypatch, delete_meanwhile)
    assert answer.status_code == 404 and answer.json()["code"] == "not_found", answer.text
