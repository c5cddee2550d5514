"""The README path: `woes init --json` then `woes serve`, then a real HTTP call with the printed key."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(settings) -> dict[str, str]:
    env = {**os.environ, "WOES_DATA_DIR": str(settings.data_dir), "WOES_LOG_LEVEL": "INFO"}
    env.pop("WOES_DATABASE_URL", None)
    if settings.database_url:
        env["WOES_DATABASE_URL"] = settings.database_url
    return env


@pytest.mark.slow
def test_init_then_serve_then_call(settings, runtime):
    env = _env(settings)
    out = subprocess.run([sys.executable, "-m", "woes", "init", "--json", "--email", "Boss@Example.com"],
                         env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    created = json.loads(out.stdout)
    assert set(created) == {"workspaceId", "apiKey", "ownerEmail", "ownerPassword"}
    assert created["apiKey"].startswith("woesk_") and created["ownerEmail"] == "boss@example.com"

    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "woes", "serve", "--port", str(port)], env=env, cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(base + "/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            raise AssertionError("server never became ready")
        r = httpx.get(base + "/api/v1/workspace", headers={"Authorization": f"Bearer {created['apiKey']}"})
        assert r.status_code == 200 and r.json()["id"] == created["workspaceId"]
        assert httpx.get(base + "/api/v1/workspace").status_code == 401
        r = httpx.post(base + "/api/v1/auth/login", json={"email": created["ownerEmail"], "password": created["ownerPassword"]})
        assert r.status_code == 200
    finally:
        server.terminate()
        logs, _ = server.communicate(timeout=30)
    assert created["apiKey"] not in logs  # the key never reaches the server's logs
    assert '"message": "request"' in logs and "/api/v1/workspace" in logs
    # uvicorn shuts down gracefully, then re-raises the SIGTERM it caught
    assert "Application shutdown complete" in logs and server.returncode in (0, -15)


def test_worker_refuses_unmigrated_database(tmp_path):
    env = {**os.environ, "WOES_DATA_DIR": str(tmp_path / "empty")}
    env.pop("WOES_DATABASE_URL", None)
    (tmp_path / "empty").mkdir()
    out = subprocess.run([sys.executable, "-m", "woes", "worker"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "woes migrate" in out.stderr


def test_source_add_and_rescan_from_the_command_line(settings, runtime, tmp_path):
    env = _env(settings)
    assert subprocess.run([sys.executable, "-m", "woes", "init", "--json"], env=env, cwd=ROOT, capture_output=True,
                          timeout=120).returncode == 0
    spec = tmp_path / "petstore.yaml"
    spec.write_text("openapi: 3.0.0\ninfo: {title: Pets, version: '1'}\npaths:\n  /pets:\n    get:\n      summary: List pets\n"
                    "      responses: {'200': {description: ok}}\n")
    out = subprocess.run([sys.executable, "-m", "woes", "source", "add", "--path", str(spec)], env=env, cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    added = json.loads(out.stdout)
    assert added["status"] == "completed" and added["counts"]["endpoints"] == 1
    out = subprocess.run([sys.executable, "-m", "woes", "source", "scan", added["sourceId"]], env=env, cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and json.loads(out.stdout)["unchanged"] is True
