"""Outbox events and the job queue on both databases (SPEC §1.6, §10 outbox guarantee)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select
from support import jobs_fixture  # noqa: F401  (registers the test job handlers in this process)

from woes.events.models import DomainEvent
from woes.events.service import SYSTEM, record_event
from woes.jobs.queue import make_queue

ROOT = Path(__file__).resolve().parents[2]


def test_rolled_back_event_is_never_published(runtime, ws):
    received = []
    runtime.bus.subscribe(received.append)
    runtime.relay.dispatch_pending()
    received.clear()
    with pytest.raises(RuntimeError):
        with runtime.db.transaction() as s:
            record_event(s, workspace_id=ws.id, type="test.rolled_back", resource_type="test", resource_id="1", data={}, actor=SYSTEM)
            s.flush()
            raise RuntimeError("the change fails after the event was written")
    with runtime.db.transaction() as s:
        record_event(s, workspace_id=ws.id, type="test.committed", resource_type="test", resource_id="2", data={"n": 2}, actor=SYSTEM)
    assert runtime.relay.dispatch_pending() == 1
    assert [e["type"] for e in received] == ["test.committed"]
    assert received[0]["data"] == {"n": 2} and received[0]["workspaceId"] == str(ws.id)
    with runtime.db.reading() as s:
        types = [e.type for e in s.scalars(select(DomainEvent).where(DomainEvent.workspace_id == ws.id))]
    assert "test.rolled_back" not in types and "test.committed" in types


def test_events_delivered_in_order_with_stable_ids_and_not_twice(runtime, ws):
    got = []
    runtime.bus.subscribe(got.append)
    runtime.relay.dispatch_pending()
    got.clear()
    with runtime.db.transaction() as s:
        for i in range(5):
            record_event(s, workspace_id=ws.id, type="test.seq", resource_type="test", resource_id=str(i), data={"i": i})
    runtime.relay.dispatch_pending()
    runtime.relay.dispatch_pending()
    assert [e["data"]["i"] for e in got] == [0, 1, 2, 3, 4]
    assert len({e["id"] for e in got}) == 5


def test_relay_thread_wakes_on_commit(runtime, ws):
    got = threading.Event()
    runtime.bus.subscribe(lambda e: got.set() if e["type"] == "test.wake" else None)
    runtime.relay.poll_seconds = 30  # only the commit hook can wake it in time
    runtime.relay.start()
    try:
        time.sleep(0.2)
        with runtime.db.transaction() as s:
            record_event(s, workspace_id=ws.id, type="test.wake", resource_type="test", resource_id="1", data={})
        assert got.wait(5)
    finally:
        runtime.relay.stop()


def test_redis_bus_fans_out_between_replicas(runtime, ws):
    from woes.events.bus import RedisEventBus

    a, b = RedisEventBus("redis://127.0.0.1:6379/14"), RedisEventBus("redis://127.0.0.1:6379/14")
    seen = threading.Event()
    b.subscribe(lambda e: seen.set() if e["type"] == "test.redis" else None)
    time.sleep(0.3)
    try:
        a.publish({"type": "test.redis", "id": "x"})
        assert seen.wait(5)
    finally:
        a.close()
        b.close()


def _enqueue(runtime, name: str, payload: dict, ws_id=None) -> None:
    with runtime.db.transaction() as s:
        runtime.queue.enqueue(s, name, payload, workspace_id=ws_id)


def _wait(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_enqueue_rolls_back_with_the_transaction(runtime, ws, tmp_path):
    with pytest.raises(RuntimeError):
        with runtime.db.transaction() as s:
            runtime.queue.enqueue(s, "test.slow_record", {"dir": str(tmp_path), "value": "never"}, workspace_id=ws.id)
            raise RuntimeError
    assert runtime.queue.list_jobs(workspace_id=ws.id) == []


def test_retries_then_succeeds_in_process(runtime, ws, tmp_path):
    _enqueue(runtime, "test.flaky", {"dir": str(tmp_path)}, ws.id)
    stop = threading.Event()
    t = threading.Thread(target=runtime.queue.run_worker, args=(stop,), kwargs={"concurrency": 1}, daemon=True)
    t.start()
    try:
        _wait(lambda: (tmp_path / "flaky_done").exists(), 60, "flaky job to succeed on its third attempt")
    finally:
        stop.set()
        t.join(20)
    assert (tmp_path / "flaky_attempts").read_text() == "3"


def test_job_that_keeps_failing_ends_failed_and_visible(runtime, ws):
    _enqueue(runtime, "test.always_fails", {}, ws.id)
    stop = threading.Event()
    t = threading.Thread(target=runtime.queue.run_worker, args=(stop,), kwargs={"concurrency": 1}, daemon=True)
    t.start()
    try:
        _wait(lambda: [j for j in runtime.queue.list_jobs(status="failed", workspace_id=ws.id)], 60, "job to end failed")
    finally:
        stop.set()
        t.join(20)
    [job] = runtime.queue.list_jobs(status="failed", workspace_id=ws.id)
    assert job.name == "test.always_fails" and job.attempts == 3


def _worker_env(settings) -> dict[str, str]:
    env = {**os.environ, "WOES_JOB_MODULES": "support.jobs_fixture", "WOES_JOB_LEASE_SECONDS": "2",
           "WOES_DATA_DIR": str(settings.data_dir), "WOES_LOG_LEVEL": "WARNING",
           "PYTHONPATH": os.pathsep.join([str(ROOT / "tests"), os.environ.get("PYTHONPATH", "")])}
    env.pop("WOES_DATABASE_URL", None)
    if settings.database_url:
        env["WOES_DATABASE_URL"] = settings.database_url
    return env


def _spawn_worker(settings, name: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "woes", "worker", "--concurrency", "1", "--name", name],
                            env=_worker_env(settings), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


@pytest.mark.slow
def test_sigkilled_worker_job_is_finished_by_another(settings, runtime, ws, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    _enqueue(runtime, "test.slow_record", {"dir": str(work), "value": "payload-42", "seconds": 4}, ws.id)
    first = _spawn_worker(settings, "first")
    second = None
    try:
        _wait(lambda: list(work.glob("started.*")), 60, "the first worker to start the job")
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        assert not (work / "done").exists()
        second = _spawn_worker(settings, "second")
        _wait(lambda: (work / "done").exists(), 90, "another worker to finish the job")
        time.sleep(0.5)
    finally:
        for p in (first, second):
            if p and p.poll() is None:
                p.terminate()
                p.wait(20)
    lines = (work / "done").read_text().splitlines()
    assert len(lines) == 1 and lines[0].startswith("payload-42:")
    assert lines[0].split(":")[1] != str(first.pid)
    _wait(lambda: [j.status for j in runtime.queue.list_jobs(workspace_id=ws.id)] == ["succeeded"], 20, "job to show succeeded")


def test_make_queue_rejects_unknown_backend(runtime):
    with pytest.raises(ValueError):
        make_queue(runtime.db, "carrier-pigeon")
