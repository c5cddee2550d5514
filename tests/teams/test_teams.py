from __future__ import annotations

from conftest import make_key


def test_team_lifecycle_validation_and_scopes(client, ws, make_workspace):
    owner = client.get("/api/v1/members", headers=ws.headers).json()["members"][0]["id"]
    r = client.post("/api/v1/teams", json={"name": "Tier 1", "memberIds": [owner, owner]}, headers=ws.headers)
    assert r.status_code == 201 and r.json()["memberIds"] == [owner]
    team = r.json()
    assert client.post("/api/v1/teams", json={"name": "tier 1"}, headers=ws.headers).json()["existingId"] == team["id"]
    other = make_workspace("Other")
    foreign_member = client.get("/api/v1/members", headers=other.headers).json()["members"][0]["id"]
    r = client.patch(f"/api/v1/teams/{team['id']}", json={"memberIds": [foreign_member]}, headers=ws.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "memberIds"
    for body, field in (({"name": ""}, "name"), ({"memberIds": ["x"]}, "memberIds[0]"), ({"nme": "x"}, "nme")):
        r = client.post("/api/v1/teams", json={"name": "ok", **body} if "name" not in body else body, headers=ws.headers)
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == field, r.text
    r = client.patch(f"/api/v1/teams/{team['id']}", json={"name": "Escalations"}, headers=ws.headers)
    assert r.json()["name"] == "Escalations"
    assert [t["id"] for t in client.get("/api/v1/teams", headers=ws.headers).json()["teams"]] == [team["id"]]
    reader = {"Authorization": f"Bearer {make_key(client, ws, ['members:read'])['secret']}"}
    assert client.get(f"/api/v1/teams/{team['id']}", headers=reader).status_code == 200
    r = client.delete(f"/api/v1/teams/{team['id']}", headers=reader)
    assert r.status_code == 403 and r.json()["requiredScope"] == "members:write"
    assert client.delete(f"/api/v1/teams/{team['id']}", headers=ws.headers).status_code == 204
    assert client.get(f"/api/v1/teams/{team['id']}", headers=ws.headers).status_code == 404
