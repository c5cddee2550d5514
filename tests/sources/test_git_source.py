"""Git repository sources: a real smart-HTTP server (dulwich.web) on 127.0.0.1, reached only when allowlisted."""

from __future__ import annotations

import threading
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest
from dulwich.repo import Repo
from dulwich.server import DictBackend
from dulwich.web import make_wsgi_chain
from test_sources_api import SPEC_V1, run_pending_scans, scan_of

from woes.config import reset_settings_cache


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def git_server(tmp_path):
    repo_dir = tmp_path / "repo"
    repo = Repo.init(str(repo_dir), mkdir=True)
    (repo_dir / "api").mkdir()
    (repo_dir / "api" / "openapi.yaml").write_text(SPEC_V1)
    (repo_dir / "README.md").write_text("# Not the spec")
    repo.get_worktree().stage([b"api/openapi.yaml", b"README.md"])
    repo.get_worktree().commit(message=b"spec", committer=b"T <t@example.com>", author=b"T <t@example.com>")
    app = make_wsgi_chain(DictBackend({"/widgets.git": repo}))
    server = make_server("127.0.0.1", 0, app, handler_class=_Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"127.0.0.1:{server.server_port}"
    server.shutdown()


def test_git_source_clones_path_filter(client, ws, runtime, git_server, monkeypatch):
    monkeypatch.setenv("WOES_OUTBOUND_ALLOWLIST", git_server)
    reset_settings_cache()
    try:
        r = client.post("/api/v1/sources", json={"name": "repo", "type": "openapi", "gitUrl": f"http://{git_server}/widgets.git",
                                                 "gitPath": "api"}, headers=ws.headers)
        assert r.status_code == 201, r.text
        assert r.json()["origin"] == "git"
        run_pending_scans(runtime)
        scan = scan_of(client, ws, r.json())
        assert scan["status"] == "completed", scan
        assert scan["counts"]["endpoints"] == 3
        # unchanged repository → unchanged rescan
        again = client.post(f"/api/v1/sources/{r.json()['id']}/scans", headers=ws.headers).json()
        run_pending_scans(runtime)
        assert client.get(f"/api/v1/sources/{r.json()['id']}/scans/{again['id']}", headers=ws.headers).json()["unchanged"] is True
    finally:
        reset_settings_cache()


def test_git_source_refused_when_not_allowlisted(client, ws, runtime, git_server, monkeypatch):
    monkeypatch.setenv("WOES_OUTBOUND_ALLOWLIST", "")
    reset_settings_cache()
    try:
        r = client.post("/api/v1/sources", json={"name": "repo", "gitUrl": f"http://{git_server}/widgets.git"}, headers=ws.headers)
        run_pending_scans(runtime)
        scan = scan_of(client, ws, r.json())
        assert scan["status"] == "failed" and "127.0.0.1" in scan["errors"][0]["reason"]
        r = client.post("/api/v1/sources", json={"name": "x", "gitUrl": "https://user:pw@github.com/a/b.git"}, headers=ws.headers)
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "gitUrl"
    finally:
        reset_settings_cache()


def test_failed_clone_and_failed_crawl_say_why(client, ws, runtime, git_server, monkeypatch):
    """A scan that fetched nothing names what failed and why, never an empty or generic reason."""
    monkeypatch.setenv("WOES_OUTBOUND_ALLOWLIST", git_server)
    reset_settings_cache()
    try:
        clone = client.post("/api/v1/sources", json={"name": "missing repo", "gitUrl": f"http://{git_server}/nope.git"},
                            headers=ws.headers)
        crawl = client.post("/api/v1/sources", json={"name": "missing site", "type": "website",
                                                     "url": f"http://{git_server}/no-such-page"}, headers=ws.headers)
        assert clone.status_code == crawl.status_code == 201, (clone.text, crawl.text)
        run_pending_scans(runtime)
        scan = scan_of(client, ws, clone.json())
        reason = scan["errors"][0]["reason"]
        assert scan["status"] == "failed" and reason.startswith(f"Cloning http://{git_server}/nope.git failed: ")
        assert not reason.endswith(": "), reason
        scan = scan_of(client, ws, crawl.json())
        reason = scan["errors"][0]["reason"]
        assert scan["status"] == "failed" and "no-such-page" in reason and "404" in reason, reason
        assert "has no files" not in reason
    finally:
        reset_settings_cache()
