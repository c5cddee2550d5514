"""Sources and scans over the API (SPEC §7): creation from text, files and archives, the scan job,
idempotent and incremental rescans, partial results, failures, SSRF refusals, tenant scoping."""

from __future__ import annotations

import io
import os
import threading
import time
import uuid
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from conftest import make_key
from convo_helpers import events_of

from woes.config import reset_settings_cache

SPEC_V1 = """openapi: 3.0.0
info: {title: Widgets API, version: "1.0"}
servers: [{url: "https://api.widgets.test"}]
components:
  securitySchemes:
    bearer: {type: http, scheme: bearer}
security: [{bearer: []}]
paths:
  /widgets:
    get:
      operationId: listWidgets
      summary: List widgets
      parameters:
        - {name: limit, in: query, schema: {type: integer, default: 10}, description: How many to return}
        - {name: color, in: query, schema: {type: string, enum: [red, blue]}}
      responses: {"200": {description: A list of widgets}}
    post:
      operationId: createWidget
      summary: Create a widget
      requestBody:
        content:
          application/json:
            schema: {type: object, required: [name], properties: {name: {type: string}, size: {type: integer}}}
      responses: {"201": {description: Created}}
  /widgets/{id}:
    delete:
      operationId: deleteWidget
      summary: Delete a widget
      parameters: [{name: id, in: path, required: true, schema: {type: string}}]
      responses: {"204": {description: Deleted}}
"""


def run_pending_scans(runtime) -> None:
    """Run queued jobs (scans) to completion in this process, the way a worker would."""
    stop = threading.Event()
    worker = threading.Thread(target=runtime.queue.run_worker, args=(stop,), kwargs={"concurrency": 1}, daemon=True)
    worker.start()
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            pending = [j for j in runtime.queue.list_jobs() if j.status in ("queued", "running")]
            if not pending:
                break
            time.sleep(0.1)
    finally:
        stop.set()
        worker.join(30)


def create(client, ws, **body) -> dict:
    r = client.post("/api/v1/sources", json={"name": "Widgets", **body}, headers=ws.headers)
    assert r.status_code == 201, r.text
    return r.json()


def scan_of(client, ws, source: dict) -> dict:
    return client.get(f"/api/v1/sources/{source['id']}/scans/{source['lastScan']['id']}", headers=ws.headers).json()


def test_create_from_text_scans_to_endpoints_with_evidence(client, ws, runtime):
    src = create(client, ws, type="auto", content=SPEC_V1)
    assert src["status"] == "queued" and src["lastScan"]["status"] == "queued"
    run_pending_scans(runtime)
    scan = scan_of(client, ws, src)
    assert scan["status"] == "completed", scan
    assert scan["counts"]["endpoints"] == 3 and scan["counts"]["errors"] == 0 and scan["counts"]["chunks"] > 0
    assert set(scan["timings"]) >= {"parseMs", "embedMs", "totalMs"}
    got = client.get(f"/api/v1/sources/{src['id']}", headers=ws.headers).json()
    assert got["status"] == "ready" and got["detectedType"] == "openapi" and got["title"] == "Widgets API"
    assert got["auth"][0]["type"] == "bearer"
    eps = client.get(f"/api/v1/sources/{src['id']}/endpoints", headers=ws.headers).json()["endpoints"]
    assert {e["operationKey"] for e in eps} == {"GET /widgets", "POST /widgets", "DELETE /widgets/{id}"}
    listing = next(e for e in eps if e["operationKey"] == "GET /widgets")
    assert {p["name"] for p in listing["parameters"]} == {"limit", "color"}
    assert listing["auth"][0]["type"] == "bearer" and listing["servers"] == ["https://api.widgets.test"]
    full = client.get(f"/api/v1/endpoints/{listing['id']}", headers=ws.headers).json()
    md = full["markdown"]
    assert md.startswith("## GET /widgets — List widgets") and "`color`" in md and "`red`" in md and "curl -X GET" in md
    chunks = client.get(f"/api/v1/sources/{src['id']}/chunks?limit=100", headers=ws.headers).json()["chunks"]
    overviews = [c for c in chunks if c["ordinal"] == 0]
    assert overviews and all(c["embedded"] and c["embeddingModel"] for c in overviews)  # every overview has a vector
    assert not any(c["embedded"] for c in chunks if c["ordinal"] > 0)  # detail chunks are found lexically
    assert any(c["kind"] == "endpoint" and c["ordinal"] == 0 and c["embedded"] for c in chunks)
    types = [e.type for e in events_of(runtime, ws.id, ["source.created", "source.scan_completed"])]
    assert types == ["source.created", "source.scan_completed"]


def test_a_crashed_embedding_model_fails_the_scan_and_writes_nothing(client, ws, runtime, monkeypatch):
    import woes.scans.pipeline as scanning

    def crash(texts):
        raise RuntimeError("onnxruntime: out of memory")

    monkeypatch.setattr(scanning, "_embed", crash)
    src = create(client, ws, type="openapi", content=SPEC_V1)
    run_pending_scans(runtime)
    scan = scan_of(client, ws, src)
    assert scan["status"] == "failed" and "internal error (RuntimeError)" in scan["errors"][0]["reason"]
    assert "out of memory" not in str(scan)  # the exception text stays in the server log
    got = client.get(f"/api/v1/sources/{src['id']}", headers=ws.headers).json()
    assert got["status"] == "failed"
    assert client.get(f"/api/v1/sources/{src['id']}/endpoints", headers=ws.headers).json()["endpoints"] == []
    assert client.get(f"/api/v1/sources/{src['id']}/chunks", headers=ws.headers).json()["chunks"] == []
    assert [e.type for e in events_of(runtime, ws.id, ["source.scan_failed"])] == ["source.scan_failed"]
    # the model back: a new scan completes; a later crash on a changed file keeps that evidence
    monkeypatch.undo()
    r = client.post(f"/api/v1/sources/{src['id']}/scans", headers=ws.headers)
    run_pending_scans(runtime)
    assert client.get(f"/api/v1/sources/{src['id']}/scans/{r.json()['id']}", headers=ws.headers).json()["status"] == "completed"
    monkeypatch.setattr(scanning, "_embed", crash)
    changed = SPEC_V1.replace("summary: Delete a widget", "summary: Delete a widget forever")
    r = client.put(f"/api/v1/sources/{src['id']}/files", files={"file": ("openapi.yaml", changed.encode())}, headers=ws.headers)
    run_pending_scans(runtime)
    assert scan_of(client, ws, r.json())["status"] == "failed"
    got = client.get(f"/api/v1/sources/{src['id']}", headers=ws.headers).json()
    assert got["status"] == "ready" and got["counts"]["endpoints"] == 3
    eps = client.get(f"/api/v1/sources/{src['id']}/endpoints", headers=ws.headers).json()["endpoints"]
    assert {e["summary"] for e in eps} >= {"Delete a widget"}


def test_rescan_unchanged_reembeds_nothing_and_change_is_incremental(client, ws, runtime, monkeypatch):
    src = create(client, ws, type="openapi", content=SPEC_V1)
    run_pending_scans(runtime)
    import woes.scans.pipeline as scanning

    calls: list[int] = []
    real = scanning._embed
    monkeypatch.setattr(scanning, "_embed", lambda texts: (calls.append(len(texts)), real(texts))[1])
    r = client.post(f"/api/v1/sources/{src['id']}/scans", headers=ws.headers)
    assert r.status_code == 202
    run_pending_scans(runtime)
    second = client.get(f"/api/v1/sources/{src['id']}/scans/{r.json()['id']}", headers=ws.headers).json()
    assert second["status"] == "completed" and second["unchanged"] is True and second["counts"]["embedded"] == 0
    assert calls == []  # not parsed, not embedded
    # change one operation's description: only its chunks are re-embedded; coverage reports it
    changed = SPEC_V1.replace("summary: Delete a widget", "summary: Delete a widget forever")
    files = {"file": ("openapi.yaml", changed.encode(), "application/yaml")}
    r = client.put(f"/api/v1/sources/{src['id']}/files", files=files, headers=ws.headers)
    assert r.status_code == 200, r.text
    run_pending_scans(runtime)
    third = scan_of(client, ws, r.json())
    assert third["coverage"] == {"added": [], "changed": ["DELETE /widgets/{id}"], "removed": []}
    assert 0 < third["counts"]["embedded"] <= 3 and third["counts"]["reusedEmbeddings"] >= 0
    assert sum(calls) == third["counts"]["embedded"]
    cov = events_of(runtime, ws.id, ["source.coverage_changed"])
    assert len(cov) == 1 and cov[0].payload["changed"] == ["DELETE /widgets/{id}"]
    # remove one and add one
    v3 = changed.replace("  /widgets/{id}:", "  /gadgets:\n    get:\n      summary: List gadgets\n      responses: {\"200\": {description: ok}}\n  /widgets/{id}:")
    v3 = v3.replace("    post:\n      operationId: createWidget", "    put:\n      operationId: replaceWidgets")
    r = client.put(f"/api/v1/sources/{src['id']}/files", files={"file": ("openapi.yaml", v3.encode())}, headers=ws.headers)
    run_pending_scans(runtime)
    fourth = scan_of(client, ws, r.json())
    assert fourth["coverage"]["added"] == ["GET /gadgets", "PUT /widgets"] and fourth["coverage"]["removed"] == ["POST /widgets"]


def test_malformed_operation_is_skipped_rest_kept_partial(client, ws, runtime):
    broken = SPEC_V1.replace("  /widgets/{id}:\n    delete:", "  /widgets/{id}:\n    delete: 42\n    patch:")
    src = create(client, ws, type="openapi", content=broken)
    run_pending_scans(runtime)
    scan = scan_of(client, ws, src)
    assert scan["status"] == "partial" and scan["counts"]["endpoints"] >= 2 and scan["errors"]
    assert any("delete" in e["where"] for e in scan["errors"])
    assert client.get(f"/api/v1/sources/{src['id']}", headers=ws.headers).json()["status"] == "partial"


def test_unreadable_source_fails_with_clear_error_and_keeps_last_good_evidence(client, ws, runtime):
    src = create(client, ws, type="openapi", content="openapi: [unclosed")
    run_pending_scans(runtime)
    scan = scan_of(client, ws, src)
    assert scan["status"] == "failed" and scan["errors"][0]["reason"]
    assert client.get(f"/api/v1/sources/{src['id']}", headers=ws.headers).json()["status"] == "failed"
    assert [e.type for e in events_of(runtime, ws.id, ["source.scan_failed"])] == ["source.scan_failed"]
    good = create(client, ws, type="openapi", content=SPEC_V1)
    run_pending_scans(runtime)
    r = client.put(f"/api/v1/sources/{good['id']}/files", files={"file": ("openapi.yaml", b"{not: [yaml")}, headers=ws.headers)
    run_pending_scans(runtime)
    assert scan_of(client, ws, r.json())["status"] == "failed"
    kept = client.get(f"/api/v1/sources/{good['id']}/endpoints", headers=ws.headers).json()["endpoints"]
    assert len(kept) == 3 and client.get(f"/api/v1/sources/{good['id']}", headers=ws.headers).json()["status"] == "ready"


def test_multipart_files_and_archive(client, ws, runtime):
    zbuf = io.BytesIO()
    with zipfile.ZipFile(zbuf, "w") as zf:
        zf.writestr("docs/intro.md", "# Intro\n\nWidgets are great.\n\n## Auth\n\nUse a bearer token.")
        zf.writestr("docs/errors.md", "# Errors\n\n`429` means slow down.")
    r = client.post("/api/v1/sources", data={"name": "Docs", "type": "markdown"},
                    files=[("file", ("docs.zip", zbuf.getvalue(), "application/zip"))], headers=ws.headers)
    assert r.status_code == 201, r.text
    run_pending_scans(runtime)
    docs = client.get(f"/api/v1/sources/{r.json()['id']}/documents", headers=ws.headers).json()["documents"]
    assert sorted(d["path"] for d in docs) == ["docs/errors.md", "docs/intro.md"]
    evil = io.BytesIO()
    with zipfile.ZipFile(evil, "w") as zf:
        zf.writestr("../../etc/cron.d/x", "boom")
    r = client.post("/api/v1/sources", data={"name": "Evil"}, files=[("file", ("x.zip", evil.getvalue()))], headers=ws.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "file"


def test_create_validation(client, ws):
    cases = [({}, "name"), ({"name": "x"}, None), ({"name": "x", "content": "a", "url": "https://x.test"}, None),
             ({"name": "x", "type": "soap", "content": "a"}, "type"), ({"name": "x", "url": "ftp://x.test/spec"}, "url"),
             ({"name": "x", "url": "https://user:pw@x.test/spec"}, "url")]
    for body, field in cases:
        r = client.post("/api/v1/sources", json=body, headers=ws.headers)
        assert r.status_code == 422, (body, r.text)
        if field:
            assert r.json()["errors"][0]["field"] == field, (body, r.json())
    assert client.get("/api/v1/sources", headers=ws.headers).json()["sources"] == []
    reader = make_key(client, ws, ["knowledge:read"])
    r = client.post("/api/v1/sources", json={"name": "x", "content": "# a"}, headers={"Authorization": f"Bearer {reader['secret']}"})
    assert r.status_code == 403 and r.json()["requiredScope"] == "knowledge:write"


class _SpecHandler(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        if self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
            self.end_headers()
            return
        body = SPEC_V1.encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/yaml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def spec_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SpecHandler)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _with_allowlist(monkeypatch, value: str) -> None:
    monkeypatch.setenv("WOES_OUTBOUND_ALLOWLIST", value)
    reset_settings_cache()


def test_url_source_refused_for_private_addresses(client, ws, runtime, spec_server, monkeypatch):
    _with_allowlist(monkeypatch, "")
    try:
        for url in (f"http://{spec_server}/openapi.yaml", "http://169.254.169.254/latest/meta-data/",
                    "http://10.1.2.3/spec.json", "http://localhost/spec.json"):
            src = create(client, ws, type="openapi", url=url)
            run_pending_scans(runtime)
            scan = scan_of(client, ws, src)
            assert scan["status"] == "failed", (url, scan)
            assert "refused" in scan["errors"][0]["reason"].lower() or "address" in scan["errors"][0]["reason"].lower(), scan
    finally:
        reset_settings_cache()


def test_url_source_allowlisted_and_redirect_rechecked(client, ws, runtime, spec_server, monkeypatch):
    _with_allowlist(monkeypatch, spec_server)
    try:
        ok = create(client, ws, type="openapi", url=f"http://{spec_server}/openapi.yaml")
        bounced = create(client, ws, type="openapi", url=f"http://{spec_server}/redirect")
        run_pending_scans(runtime)
        assert scan_of(client, ws, ok)["counts"]["endpoints"] == 3
        scan = scan_of(client, ws, bounced)
        assert scan["status"] == "failed" and "169.254.169.254" in scan["errors"][0]["reason"]
    finally:
        reset_settings_cache()


def test_remote_ref_refused_without_allowlist(client, ws, runtime):
    spec = SPEC_V1.replace("schema: {type: integer, default: 10}", "schema: {$ref: 'http://169.254.169.254/schema.json'}")
    src = create(client, ws, type="openapi", content=spec)
    run_pending_scans(runtime)
    scan = scan_of(client, ws, src)
    assert scan["counts"]["endpoints"] == 3
    assert any("169.254.169.254" in e["where"] + e["reason"] for e in scan["errors"]), scan["errors"]


def test_delete_source_removes_its_evidence(client, ws, runtime):
    src = create(client, ws, type="openapi", content=SPEC_V1)
    run_pending_scans(runtime)
    ep = client.get(f"/api/v1/sources/{src['id']}/endpoints", headers=ws.headers).json()["endpoints"][0]
    assert client.delete(f"/api/v1/sources/{src['id']}", headers=ws.headers).status_code == 204
    assert client.get(f"/api/v1/endpoints/{ep['id']}", headers=ws.headers).status_code == 404
    assert client.get(f"/api/v1/sources/{uuid.uuid4()}", headers=ws.headers).status_code == 404


@pytest.fixture(autouse=True)
def _clean_env():
    yield
    os.environ.pop("WOES_OUTBOUND_ALLOWLIST", None)
    reset_settings_cache()


def test_search_ranks_endpoints_and_is_scoped(client, ws, runtime, make_workspace):
    src = create(client, ws, type="openapi", content=SPEC_V1)
    docs = create(client, ws, type="markdown", content="# Rate limits\n\nWhen you get HTTP 429, back off and retry.")
    run_pending_scans(runtime)
    r = client.get("/api/v1/search", params={"q": "how do I delete a widget", "sourceId": src["id"]}, headers=ws.headers)
    assert r.status_code == 200, r.text
    top = r.json()["results"][0]
    assert top["kind"] == "endpoint" and top["operationKey"] == "DELETE /widgets/{id}" and top["score"] > 0
    assert top["sourceId"] == src["id"] and top["method"] == "DELETE" and top["snippet"]
    r = client.get("/api/v1/search", params={"q": "GET /widgets color filter"}, headers=ws.headers).json()
    assert r["results"][0]["operationKey"] == "GET /widgets"
    r = client.get("/api/v1/search", params={"q": "what does 429 mean", "sourceId": docs["id"]}, headers=ws.headers).json()
    assert r["results"][0]["kind"] == "chunk" and "429" in r["results"][0]["snippet"]
    other = make_workspace("Other")
    r = client.get("/api/v1/search", params={"q": "delete widget", "sourceId": src["id"]}, headers=other.headers)
    assert r.status_code == 404
    assert client.get("/api/v1/search", params={"q": "delete widget"}, headers=other.headers).json()["results"] == []
    assert client.get("/api/v1/search", params={"q": ""}, headers=ws.headers).status_code == 422
