"""Guarded live tests: opt-in per endpoint, reads only unless writes allowed, safe fetch, credentials
applied server-side and never echoed, sanitized results checked against the documented response."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from woes.config import reset_settings_cache

TOKEN = "live_" + "Q7w" * 10
SEEN: list[dict] = []


class _Api(BaseHTTPRequestHandler):
    def _send(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Set-Cookie", "session=abc123secretcookie")
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):  # noqa: N802
        SEEN.append({"path": self.path, "auth": self.headers.get("Authorization")})
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            return self._send(401, {"error": "unauthorized"})
        if self.path.startswith("/widgets/w1"):
            return self._send(200, {"id": "w1", "name": "Gear", "echo": self.headers.get("Authorization")})
        if self.path.startswith("/widgets/broken"):
            return self._send(200, {"id": "broken"})
        return self._send(404, {"error": "nope"})

    def do_DELETE(self):  # noqa: N802
        SEEN.append({"path": self.path, "method": "DELETE"})
        self._send(204, {})

    def log_message(self, *args):
        pass


@pytest.fixture
def api_server(monkeypatch):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Api)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host = f"127.0.0.1:{server.server_address[1]}"
    monkeypatch.setenv("WOES_OUTBOUND_ALLOWLIST", host)
    reset_settings_cache()
    SEEN.clear()
    yield host
    server.shutdown()
    reset_settings_cache()


def _spec(host: str) -> str:
    return f"""openapi: 3.0.0
info: {{title: Widgets, version: "1"}}
servers: [{{url: "http://{host}"}}]
paths:
  /widgets/{{id}}:
    get:
      operationId: getWidget
      parameters: [{{name: id, in: path, required: true, schema: {{type: string}}}}]
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {{type: object, required: [id, name], properties: {{id: {{type: string}}, name: {{type: string}}}}}}
        "404": {{description: not found}}
    delete:
      operationId: deleteWidget
      parameters: [{{name: id, in: path, required: true, schema: {{type: string}}}}]
      responses: {{"204": {{description: deleted}}}}
"""


def _setup(client, ws, host: str) -> tuple[str, dict[str, str]]:
    from test_sources_api import run_pending_scans  # noqa: F401  (same helper)

    src = client.post("/api/v1/sources", json={"name": "W", "type": "openapi", "content": _spec(host)}, headers=ws.headers).json()
    run_pending_scans(client.app.state.runtime)
    eps = {e["operationKey"]: e["id"] for e in client.get(f"/api/v1/sources/{src['id']}/endpoints", headers=ws.headers).json()["endpoints"]}
    return src["id"], eps


def test_live_test_guarded_and_sanitized(client, ws, runtime, api_server):
    src, eps = _setup(client, ws, api_server)
    get_id, del_id = eps["GET /widgets/{id}"], eps["DELETE /widgets/{id}"]
    url = f"/api/v1/sources/{src}/tests"
    r = client.post(url, json={"endpointId": get_id, "pathParams": {"id": "w1"}}, headers=ws.headers)
    assert r.status_code == 403 and "not enabled" in r.json()["error"]  # not opted in
    assert SEEN == []
    client.put(f"/api/v1/endpoints/{get_id}/live-test", json={"enabled": True}, headers=ws.headers)
    client.put(f"/api/v1/sources/{src}/auth", json={"type": "bearer", "token": TOKEN}, headers=ws.headers)
    r = client.post(url, json={"endpointId": get_id, "pathParams": {"id": "w1"}}, headers=ws.headers)
    assert r.status_code == 200, r.text
    res = r.json()
    assert res["status"] == 200 and res["validation"]["matches"] is True and res["latencyMs"] >= 0
    assert SEEN[-1]["auth"] == f"Bearer {TOKEN}"  # applied server-side
    dumped = json.dumps(res)
    assert TOKEN not in dumped and "abc123secretcookie" not in dumped  # echoed credential and cookies never shown
    assert res["headers"]["set-cookie"] == "[REDACTED]"
    r = client.post(url, json={"endpointId": get_id, "pathParams": {"id": "broken"}}, headers=ws.headers).json()
    assert r["validation"]["matches"] is False and "`name`" in r["validation"]["problems"][0]
    r = client.post(url, json={"endpointId": get_id}, headers=ws.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "pathParams.id"
    r = client.post(url, json={"endpointId": get_id, "pathParams": {"id": "w1"}, "headers": {"Authorization": "x"}}, headers=ws.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "headers"
    # writes need an explicit allowance
    client.put(f"/api/v1/endpoints/{del_id}/live-test", json={"enabled": True}, headers=ws.headers)
    r = client.post(url, json={"endpointId": del_id, "pathParams": {"id": "w1"}}, headers=ws.headers)
    assert r.status_code == 403 and "DELETE" in r.json()["error"]
    client.put(f"/api/v1/endpoints/{del_id}/live-test", json={"enabled": True, "allowWrite": True}, headers=ws.headers)
    assert client.post(url, json={"endpointId": del_id, "pathParams": {"id": "w1"}}, headers=ws.headers).json()["status"] == 204
    for ev in client.get("/api/v1/events?limit=500", headers=ws.headers).json()["events"]:
        assert TOKEN not in json.dumps(ev)


def test_live_test_refuses_private_targets(client, ws, runtime, api_server, monkeypatch):
    src, eps = _setup(client, ws, api_server)
    get_id = eps["GET /widgets/{id}"]
    client.put(f"/api/v1/endpoints/{get_id}/live-test", json={"enabled": True}, headers=ws.headers)
    monkeypatch.setenv("WOES_OUTBOUND_ALLOWLIST", "")  # 127.0.0.1 no longer allowlisted
    reset_settings_cache()
    r = client.post(f"/api/v1/sources/{src}/tests", json={"endpointId": get_id, "pathParams": {"id": "w1"}}, headers=ws.headers)
    assert r.status_code == 200 and r.json()["status"] is None
    assert "127.0.0.1" in r.json()["error"] and SEEN == []
    r = client.post(f"/api/v1/sources/{src}/tests", json={"endpointId": get_id, "pathParams": {"id": "w1"},
                                                        "server": "http://169.254.169.254"}, headers=ws.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "server"  # only documented servers


@pytest.mark.parametrize("host", ["169.254.169.254", "10.20.30.40", "192.168.1.5"])
def test_live_test_against_a_documented_metadata_or_private_server_is_refused(client, ws, runtime, host):
    """A spec may document any server; the guarded live test still never reaches metadata or private ranges."""
    src, eps = _setup(client, ws, host)
    get_id = eps["GET /widgets/{id}"]
    client.put(f"/api/v1/endpoints/{get_id}/live-test", json={"enabled": True}, headers=ws.headers)
    r = client.post(f"/api/v1/sources/{src}/tests", json={"endpointId": get_id, "pathParams": {"id": "w1"}}, headers=ws.headers)
    assert r.status_code == 200 and r.json()["status"] is None
    assert host in r.json()["error"] and ("blocked" in r.json()["error"] or "refused" in r.json()["error"])
