"""`woes demo` (SPEC §13): a demo workspace whose agent answers from the bundled sample API, the public
`/demo` page, and the command itself (a real server in a subprocess)."""

from __future__ import annotations

import os
import queue
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
import yaml
from sqlalchemy import func, select

from woes.agents.models import Agent
from woes.demo.service import AGENT_NAME, WORKSPACE_NAME, sample_spec, setup_demo
from woes.sources.models import Source
from woes.workspaces.models import Workspace

ROOT = Path(__file__).resolve().parents[2]
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def spec_operations() -> int:
    doc = yaml.safe_load(sample_spec())
    return sum(1 for item in doc["paths"].values() for method in item if method in HTTP_METHODS)


def test_the_sample_spec_is_valid_openapi_31():
    from openapi_spec_validator import validate

    doc = yaml.safe_load(sample_spec())
    validate(doc)
    assert doc["openapi"].startswith("3.1") and 15 <= spec_operations() <= 25
    deprecated = [(p, m) for p, item in doc["paths"].items() for m, op in item.items() if isinstance(op, dict) and op.get("deprecated")]
    assert len(deprecated) == 1
    assert "demo/*.yaml" in (ROOT / "pyproject.toml").read_text()  # shipped as package data


def test_setup_demo_is_idempotent(runtime):
    first = setup_demo(runtime.db)
    assert first["scanStatus"] == "completed" and first["operations"] == spec_operations() == 24
    assert first["apiKey"].startswith("woesk_") and first["ownerPassword"] and first["learningStatus"] == "ready"
    second = setup_demo(runtime.db)
    for k in ("workspaceId", "sourceId", "agentId", "ownerEmail"):
        assert second[k] == first[k], k
    assert second["apiKey"] != first["apiKey"] and second["ownerPassword"] is None
    assert second["scanStatus"] == "completed" and second["learningStatus"] == "ready"
    with runtime.db.reading() as s:
        assert s.scalar(select(func.count()).select_from(Workspace).where(Workspace.name == WORKSPACE_NAME)) == 1
        assert s.scalar(select(func.count()).select_from(Source)) == 1
        agents = list(s.scalars(select(Agent)))
    assert [(a.name, a.mode, a.source_ids) for a in agents] == [(AGENT_NAME, "auto_reply", [first["sourceId"]])]
    assert agents[0].learned_profile["coverage"]["totals"]["operations"] == 24


def test_the_demo_agent_answers_with_citations_and_hands_off_pricing(client, runtime):
    info = setup_demo(runtime.db)
    headers = {"Authorization": f"Bearer {info['apiKey']}"}
    url = f"/api/v1/agents/{info['agentId']}/answer"

    r = client.post(url, json={"question": info["exampleQuestion"]}, headers=headers)
    assert r.status_code == 200, r.text
    run = r.json()
    assert run["outcome"] == "answer" and run["confidence"]["label"] in ("high", "medium")
    assert run["citations"][0]["operationKey"] == "POST /shipments/{shipment_id}/buy"
    assert run["citations"][0]["sourceId"] == info["sourceId"] and "[1]" in run["text"]

    r = client.post(url, json={"question": "How much does Parcelpost cost per month?"}, headers=headers)
    assert r.status_code == 200 and r.json()["outcome"] == "handoff" and r.json()["handoff"]["reason"]

    agent = client.get(f"/api/v1/agents/{info['agentId']}", headers=headers).json()
    assert agent["learningStatus"] == "ready" and "Shipments" in agent["learnedProfile"]["brief"]


def _nonce(csp: str) -> str:
    m = re.search(r"script-src 'nonce-([A-Za-z0-9_-]+)'", csp)
    assert m, csp
    return m.group(1)


def test_the_demo_console_is_public_strict_and_holds_no_key(client, runtime):
    info = setup_demo(runtime.db)
    r = client.get("/demo/console")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    csp = r.headers["content-security-policy"]
    for directive in ("default-src 'none'", "connect-src 'self'", "base-uri 'none'", "frame-ancestors 'none'",
                      "form-action 'none'"):
        assert directive in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    nonce = _nonce(csp)
    page = r.text
    assert page.count(f'nonce="{nonce}"') == 2  # the one <style> and the one <script>
    assert "<script src" not in page and "http://" not in page and "https://" not in page  # no external assets
    assert "innerHTML" not in page and "insertAdjacentHTML" not in page and "document.write" not in page
    assert info["apiKey"] not in page and not re.search(r"woesk_[A-Za-z0-9_-]{10,}", page)
    assert "/api/v1/agents/" in page and "sessionStorage" in page
    assert r.headers["cache-control"] == "no-store" and r.headers["x-content-type-options"] == "nosniff"
    assert _nonce(client.get("/demo/console").headers["content-security-policy"]) != nonce  # a fresh nonce per response
    # The page lets the API key through to the API only: the exemption is this one path.
    assert client.get("/demo/anything").status_code == 404
    assert client.get("/api/v1/agents").status_code == 401
    assert "<b>bold</b>" not in client.get("/demo/console?agent=<b>bold</b>").text  # nothing from the request is reflected


def test_the_demo_site_is_the_sample_docs_with_the_widget_installed(client, runtime):
    before = client.get("/demo")
    assert before.status_code == 200 and "woes demo" in before.text and "data-public-key" not in before.text
    info = setup_demo(runtime.db)
    r = client.get("/demo")
    assert r.status_code == 200 and "Parcelpost" in r.text and "Buy a rate (purchase the label)" in r.text
    csp = r.headers["content-security-policy"]
    assert "script-src 'self' 'nonce-" in csp and "connect-src 'self'" in csp and "unsafe" not in csp
    assert f'data-public-key="{info["widgetKey"]}"' in r.text and 'src="/widget.js"' in r.text
    assert 'data-api="/api/widget/messages"' in r.text and "window.Woes.q" in r.text
    assert info["apiKey"] not in r.text and not re.search(r"woesk_[A-Za-z0-9_-]{10,}", r.text)
    assert setup_demo(runtime.db)["widgetKey"] == info["widgetKey"]  # one widget key, reused
    # the demo widget reaches the demo agent
    config = client.get("/api/widget/config", headers={"X-Woes-Public-Key": info["widgetKey"]}).json()
    assert config["agent"] == {"name": AGENT_NAME}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_woes_demo_command_prints_what_to_open_and_serves_it(tmp_path):
    env = {**os.environ, "WOES_LOG_LEVEL": "INFO"}
    env.pop("WOES_DATABASE_URL", None)
    env.pop("WOES_DATA_DIR", None)
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "woes", "demo", "--port", str(port), "--data-dir", str(tmp_path / "data")],
                            env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
    seen: list[str] = []
    try:
        deadline = time.monotonic() + 240
        while not any(line.lstrip().startswith("-d ") for line in seen):
            assert time.monotonic() < deadline and proc.poll() is None, "".join(seen)
            try:
                seen.append(lines.get(timeout=1))
            except queue.Empty:
                pass
        out = "".join(seen)
        base = f"http://127.0.0.1:{port}"
        key = re.search(r"API key:\s+(woesk_\S+)", out).group(1)
        agent_id = re.search(re.escape(base) + r"/demo/console\?agent=([0-9a-f-]{36})", out).group(1)
        assert f"{base}/demo " in out and "Widget key:" in out
        assert f"{base}/api/v1/docs" in out and "App:" in out
        assert f"curl -s {base}/api/v1/agents/{agent_id}/answer" in out and f"Authorization: Bearer {key}" in out

        while True:
            try:
                if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline and proc.poll() is None, "server never came up"
            time.sleep(0.2)
        page = httpx.get(f"{base}/demo/console?agent={agent_id}")
        assert page.status_code == 200 and "content-security-policy" in page.headers and key not in page.text
        r = httpx.post(f"{base}/api/v1/agents/{agent_id}/answer", json={"question": "How do I buy a label for a shipment?"},
                       headers={"Authorization": f"Bearer {key}"}, timeout=60)
        assert r.status_code == 200, r.text
        assert r.json()["outcome"] == "answer"
        assert r.json()["citations"][0]["operationKey"] == "POST /shipments/{shipment_id}/buy"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    assert (tmp_path / "data" / "woes.db").exists()
