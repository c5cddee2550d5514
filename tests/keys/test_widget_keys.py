from __future__ import annotations

from conftest import make_key


def test_widget_key_lifecycle(client, ws):
    r = client.post("/api/v1/widget-keys", json={"name": "Docs site", "allowedOrigins": ["https://docs.example.com", "http://localhost:3000/"]},
                    headers=ws.headers)
    assert r.status_code == 201, r.text
    wk = r.json()
    assert wk["publicKey"].startswith("trovw_") and wk["enabled"] is True
    assert wk["allowedOrigins"] == ["http://localhost:3000", "https://docs.example.com"]
    r = client.patch(f"/api/v1/widget-keys/{wk['id']}", json={"enabled": False}, headers=ws.headers)
    assert r.status_code == 200 and r.json()["enabled"] is False
    assert client.get(f"/api/v1/widget-keys/{wk['id']}", headers=ws.headers).json()["enabled"] is False
    listing = client.get("/api/v1/widget-keys", headers=ws.headers).json()
    assert [k["id"] for k in listing["widgetKeys"]] == [wk["id"]]
    assert client.delete(f"/api/v1/widget-keys/{wk['id']}", headers=ws.headers).status_code == 204
    assert client.get(f"/api/v1/widget-keys/{wk['id']}", headers=ws.headers).status_code == 404


def test_widget_key_bad_origin_named(client, ws):
    r = client.post("/api/v1/widget-keys", json={"allowedOrigins": ["javascript:alert(1)"]}, headers=ws.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "allowedOrigins"
    r = client.post("/api/v1/widget-keys", json={"allowedOrigins": ["https://x.com/path"]}, headers=ws.headers)
    assert r.status_code == 422


def test_widget_key_is_not_an_api_credential(client, ws):
    wk = client.post("/api/v1/widget-keys", json={}, headers=ws.headers).json()
    r = client.get("/api/v1/workspace", headers={"Authorization": f"Bearer {wk['publicKey']}"})
    assert r.status_code == 401


def test_widget_keys_need_keys_scope(client, ws):
    key = make_key(client, ws, ["workspace:read"])
    r = client.post("/api/v1/widget-keys", json={}, headers={"Authorization": f"Bearer {key['secret']}"})
    assert r.status_code == 403 and "keys:write" in r.json()["error"]
