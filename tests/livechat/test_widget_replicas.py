"""Two `woes serve` replicas on one PostgreSQL database and Redis: a visitor's stream on one replica sees what an
operator does through the other (the outbox relay publishes through Redis pub/sub to every replica)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest
from support.live_server import free_port
from support.sse import StreamReader
from support.waiting import wait_for
from widget_helpers import ORIGIN

ROOT = Path(__file__).resolve().parents[2]
PG_BASE = os.environ.get("WOES_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/")
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379

pytestmark = pytest.mark.slow


def _unreachable() -> str | None:
    """Why PostgreSQL or Redis cannot be used here, or None."""
    try:
        psycopg.connect(PG_BASE + "postgres", connect_timeout=3).close()
    except psycopg.Error as exc:
        return f"PostgreSQL unreachable ({exc})"
    import redis

    try:
        redis.Redis(host=REDIS_HOST, port=REDIS_PORT, socket_connect_timeout=3).ping()
    except redis.RedisError as exc:
        return f"Redis unreachable ({exc})"
    return None


@dataclass
class Replicas:
    a: str
    b: str
    api_key: str
    widget_key: str

    @property
    def operator(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}


def _wait_ready(base: str, server: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"{base} exited with {server.returncode}")
        try:
            if httpx.get(base + "/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{base} never became ready")


def _admin(sql: str) -> None:
    with psycopg.connect(PG_BASE + "postgres", autocommit=True) as conn:
        conn.execute(sql)


@pytest.fixture(scope="module")
def replicas(request) -> Iterator[Replicas]:
    """Both replicas, started once for this module (each test starts its own conversations)."""
    worker_id = getattr(request.config, "workerinput", {}).get("workerid", "main")
    why = _unreachable()
    if why:
        if os.environ.get("CI"):
            pytest.fail(why)
        pytest.skip(why)
    name = f"woes_replicas_{worker_id}_{os.getpid()}"
    _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _admin(f'CREATE DATABASE "{name}"')
    worker = int(worker_id[2:]) if worker_id.startswith("gw") else 0
    data = tempfile.mkdtemp(prefix="woes-replicas-")  # shared: both replicas use the same data_dir/secret.key
    env = {**os.environ, "WOES_DATA_DIR": data, "WOES_DATABASE_URL": PG_BASE + name,
           # the limits live in Redis: a database of its own per test worker (pub/sub channels span databases:
           # the streams filter by workspace, and each test has a fresh one)
           "WOES_REDIS_URL": f"redis://{REDIS_HOST}:{REDIS_PORT}/{2 + worker % 4}",
           "WOES_RATE_LIMIT_PER_MINUTE": "100000", "WOES_WIDGET_IP_RATE_LIMIT_PER_MINUTE": "100000",
           "WOES_WIDGET_STARTS_PER_HOUR": "100000", "WOES_WIDGET_KEY_RATE_LIMIT_PER_MINUTE": "100000",
           "WOES_LOG_LEVEL": "WARNING"}
    servers: list[subprocess.Popen] = []
    try:
        out = subprocess.run([sys.executable, "-m", "woes", "init", "--json"], env=env, cwd=ROOT, capture_output=True,
                             text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        api_key = json.loads(out.stdout)["apiKey"]
        bases = []
        for workers in ("1", "0"):
            port = free_port()
            servers.append(subprocess.Popen(
                [sys.executable, "-m", "woes", "serve", "--host", "127.0.0.1", "--port", str(port)],
                env={**env, "WOES_EMBEDDED_WORKERS": workers}, cwd=ROOT, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL))
            bases.append(f"http://127.0.0.1:{port}")
        for base, server in zip(bases, servers, strict=True):
            _wait_ready(base, server)
        r = httpx.post(bases[0] + "/api/v1/widget-keys", json={"name": "Docs", "allowedOrigins": [ORIGIN]},
                       headers={"Authorization": f"Bearer {api_key}"})
        assert r.status_code == 201, r.text
        yield Replicas(bases[0], bases[1], api_key, r.json()["publicKey"])
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(10)
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        shutil.rmtree(data, ignore_errors=True)


def _start(r: Replicas, base: str) -> tuple[str, str]:
    resp = httpx.post(base + "/api/widget/messages", json={"body": "Where is my label?"},
                      headers={"X-Woes-Public-Key": r.widget_key, "Origin": ORIGIN})
    assert resp.status_code == 201, resp.text
    return resp.json()["conversationId"], resp.json()["conversationSecret"]


def _stream(r: Replicas, base: str, conv: str, secret: str) -> StreamReader:
    reader = StreamReader(f"{base}/api/widget/conversations/{conv}/stream",
                          {"X-Woes-Public-Key": r.widget_key, "Origin": ORIGIN, "X-Woes-Conversation-Secret": secret})
    reader.start()
    assert reader.connected.wait(10)
    assert wait_for(lambda: reader.frames("message") and reader.frames("conversation"), 10)  # the opening state
    return reader


def test_an_operator_reply_through_one_replica_reaches_a_stream_on_the_other(replicas):
    r = replicas
    conv, secret = _start(r, r.a)
    reader = _stream(r, r.b, conv, secret)
    assert [m["body"] for m in reader.frames("message")] == ["Where is my label?"]
    resp = httpx.post(f"{r.a}/api/v1/conversations/{conv}/messages", json={"body": "It ships today.", "role": "assistant"},
                      headers=r.operator)
    assert resp.status_code == 201, resp.text
    assert wait_for(lambda: any(m["body"] == "It ships today." for m in reader.frames("message")), 10)
    reply = next(m for m in reader.frames("message") if m["body"] == "It ships today.")
    assert reply["id"] == resp.json()["id"] and reply["author"]["type"] != "customer"
    reader.stop.set()


def test_typing_through_one_replica_reaches_a_stream_on_the_other(replicas):
    r = replicas
    conv, secret = _start(r, r.b)
    reader = _stream(r, r.a, conv, secret)
    resp = httpx.post(f"{r.b}/api/v1/conversations/{conv}/typing", json={"typing": True}, headers=r.operator)
    assert resp.status_code == 202, resp.text
    assert wait_for(lambda: reader.frames("typing"), 10)
    assert reader.frames("typing")[-1] == {"author": {"type": "operator", "name": None}, "typing": True}
    reader.stop.set()
