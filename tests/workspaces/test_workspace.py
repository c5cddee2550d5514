from __future__ import annotations

from sqlalchemy import select

from woes.events.models import DomainEvent


def test_get_and_patch_workspace(client, ws, runtime):
    r = client.get("/api/v1/workspace", headers=ws.headers)
    assert r.status_code == 200
    body = r.json()
    assert body["object"] == "workspace" and body["id"] == str(ws.id) and body["defaultPriority"] == "medium"
    r = client.patch("/api/v1/workspace", headers=ws.headers, json={
        "companyName": "Acme Inc", "supportUrl": "https://support.acme.dev/", "timezone": "Europe/Paris",
        "branding": {"color": "#112233", "greeting": "Hi!"}, "identityMode": "hmac",
        "businessHours": [{"day": "mon", "start": "09:00", "end": "17:00"}],
    })
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["companyName"] == "Acme Inc" and got["timezone"] == "Europe/Paris" and got["identityMode"] == "hmac"
    assert got["branding"] == {"color": "#112233", "greeting": "Hi!"}
    r = client.patch("/api/v1/workspace", headers=ws.headers, json={"branding": {"greeting": "Hello"}})
    assert r.json()["branding"] == {"color": "#112233", "greeting": "Hello"}
    with runtime.db.reading() as s:
        events = s.scalars(select(DomainEvent).where(DomainEvent.workspace_id == ws.id, DomainEvent.type == "workspace.updated")
                           .order_by(DomainEvent.seq)).all()
    assert len(events) == 2 and "companyName" in events[0].payload
    assert events[0].actor_type == "api_key"


def test_noop_patch_records_no_event(client, ws, runtime):
    name = client.get("/api/v1/workspace", headers=ws.headers).json()["name"]
    client.patch("/api/v1/workspace", headers=ws.headers, json={"name": name})
    with runtime.db.reading() as s:
        assert s.scalar(select(DomainEvent).where(DomainEvent.type == "workspace.updated")) is None


def test_patch_validation(client, ws):
    for body, field in [({"identityMode": "magic"}, "identityMode"), ({"supportUrl": "not a url"}, "supportUrl"),
                        ({"name": ""}, "name"), ({"name": None}, "name"), ({"defaultPriority": "x" * 33}, "defaultPriority"),
                        ({"businessHours": [{"day": "mon", "start": "9am", "end": "17:00"}]}, "businessHours[0].start")]:
        r = client.patch("/api/v1/workspace", headers=ws.headers, json=body)
        assert r.status_code == 422, body
        assert r.json()["errors"][0]["field"] == field, r.json()


def test_branding_is_merged_and_null_clears_it(client, ws):
    client.patch("/api/v1/workspace", headers=ws.headers, json={"branding": {"color": "#112233", "greeting": "Hello"}})
    r = client.patch("/api/v1/workspace", headers=ws.headers, json={"branding": {"color": None}})
    assert r.status_code == 200 and r.json()["branding"] == {"greeting": "Hello"}  # a null member removes it
    r = client.patch("/api/v1/workspace", headers=ws.headers, json={"branding": None})
    assert r.status_code == 200 and r.json()["branding"] == {}  # null clears it
