"""Accounts (companies) over the API and the customer → account link (SPEC §6)."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from woes.events.models import DomainEvent

API = "/api/v1/accounts"


def events(runtime, ws, prefix: str) -> list[DomainEvent]:
    with runtime.db.reading() as s:
        return [e for e in s.scalars(select(DomainEvent).where(DomainEvent.workspace_id == ws.id).order_by(DomainEvent.seq))
                if e.type.startswith(prefix)]


def create(client, ws, **body) -> dict:
    r = client.post(API, json=body, headers=ws.headers)
    assert r.status_code == 201, r.text
    return r.json()


def fields(r) -> set[str]:
    return {e["field"] for e in r.json().get("errors", [])}


def test_account_crud_and_events(client, ws, runtime):
    r = client.post(API, json={"name": " Acme Corp ", "domain": "WWW.Acme.com", "externalId": "acc-1",
                               "traits": {"tier": "enterprise", "mrr": 1200, "drop": None}}, headers=ws.headers)
    assert r.status_code == 201, r.text
    acc = r.json()
    assert acc["object"] == "account" and uuid.UUID(acc["id"])
    assert (acc["name"], acc["domain"], acc["externalId"]) == ("Acme Corp", "www.acme.com", "acc-1")
    assert acc["traits"] == {"tier": "enterprise", "mrr": 1200}
    assert client.get(f"{API}/{acc['id']}", headers=ws.headers).json() == acc
    assert client.get(f"{API}/by-external-id/acc-1", headers=ws.headers).json() == acc

    r = client.patch(f"{API}/{acc['id']}", json={"name": "Acme Inc", "traits": {"mrr": None, "seats": 10}, "domain": None},
                     headers=ws.headers)
    assert r.status_code == 200
    assert r.json()["name"] == "Acme Inc" and r.json()["domain"] is None and r.json()["traits"] == {"tier": "enterprise", "seats": 10}
    assert client.patch(f"{API}/{acc['id']}", json={"name": "Acme Inc"}, headers=ws.headers).status_code == 200  # no-op

    assert client.delete(f"{API}/{acc['id']}", headers=ws.headers).status_code == 204
    assert client.get(f"{API}/{acc['id']}", headers=ws.headers).status_code == 404
    assert client.delete(f"{API}/{acc['id']}", headers=ws.headers).status_code == 404

    evs = events(runtime, ws, "account.")
    assert [e.type for e in evs] == ["account.created", "account.updated", "account.deleted"]
    assert all(e.resource_type == "account" and e.resource_id == acc["id"] for e in evs)
    assert set(evs[1].payload["changedFields"]) == {"name", "domain", "traits"}
    assert evs[2].payload["name"] == "Acme Inc"


@pytest.mark.parametrize("body,field", [
    ({}, "name"),
    ({"name": ""}, "name"),
    ({"name": "n" * 201}, "name"),
    ({"name": "A", "domain": "https://acme.com/path"}, "domain"),
    ({"name": "A", "domain": "not a domain"}, "domain"),
    ({"name": "A", "domain": "acme.com:8080"}, "domain"),
    ({"name": "A", "externalId": ""}, "externalId"),
    ({"name": "A", "traits": "x"}, "traits"),
    ({"name": "A", "traits": {"k" * 101: 1}}, "traits"),
    ({"name": "A", "website": "x"}, "website"),
])
def test_account_validation(client, ws, runtime, body, field):
    r = client.post(API, json=body, headers=ws.headers)
    assert r.status_code == 422 and field in fields(r), r.text
    assert client.get(API, headers=ws.headers).json()["accounts"] == []
    assert events(runtime, ws, "account.") == []


def test_account_patch_validation(client, ws):
    acc = create(client, ws, name="A")
    for body, field in [({"name": None}, "name"), ({"traits": None}, "traits"), ({"domain": "bad domain"}, "domain")]:
        r = client.patch(f"{API}/{acc['id']}", json=body, headers=ws.headers)
        assert r.status_code == 422 and fields(r) == {field}, (body, r.text)
    assert client.get(f"{API}/{acc['id']}", headers=ws.headers).json() == acc


def test_account_external_id_conflict(client, ws):
    a = create(client, ws, name="A", externalId="x")
    r = client.post(API, json={"name": "B", "externalId": "x"}, headers=ws.headers)
    assert r.status_code == 409 and r.json()["code"] == "conflict" and r.json()["existingId"] == a["id"]
    b = create(client, ws, name="B")
    r = client.patch(f"{API}/{b['id']}", json={"externalId": "x"}, headers=ws.headers)
    assert r.status_code == 409 and r.json()["existingId"] == a["id"]


def test_account_upsert(client, ws, runtime):
    url = f"{API}/by-external-id/org_9"
    r = client.put(url, json={"domain": "acme.com"}, headers=ws.headers)
    assert r.status_code == 422 and fields(r) == {"name"}  # name is needed to create
    r = client.put(url, json={"name": "Acme", "domain": "acme.com"}, headers=ws.headers)
    assert r.status_code == 201 and r.json()["externalId"] == "org_9"
    r = client.put(url, json={"traits": {"plan": "pro"}}, headers=ws.headers)
    assert r.status_code == 200 and r.json()["name"] == "Acme" and r.json()["traits"] == {"plan": "pro"}
    r = client.put(url, json={"name": None}, headers=ws.headers)
    assert r.status_code == 422 and fields(r) == {"name"}
    r = client.put(url, json={"externalId": "other", "name": "x"}, headers=ws.headers)
    assert r.status_code == 422 and fields(r) == {"externalId"}
    assert [e.type for e in events(runtime, ws, "account.")] == ["account.created", "account.updated"]


def test_account_list_filters_and_pagination(client, ws):
    made = [create(client, ws, name=f"Company {i}", domain=f"c{i}.example.com", externalId=f"e{i}")["id"] for i in range(5)]

    def ids(**params) -> list[str]:
        r = client.get(API, params=params, headers=ws.headers)
        assert r.status_code == 200, r.text
        return [a["id"] for a in r.json()["accounts"]]

    assert ids() == list(reversed(made))
    assert ids(externalId="e2") == [made[2]]
    assert ids(domain="C3.Example.com") == [made[3]]
    assert ids(q="company 4") == [made[4]]
    page1 = client.get(API, params={"limit": 2}, headers=ws.headers).json()
    assert page1["hasMore"] and len(page1["accounts"]) == 2
    page2 = client.get(API, params={"limit": 2, "cursor": page1["nextCursor"]}, headers=ws.headers).json()
    assert [a["id"] for a in page1["accounts"] + page2["accounts"]] == list(reversed(made))[:4]


def test_customer_account_link(client, ws, make_workspace, runtime):
    acc = create(client, ws, name="Acme")
    other_ws = make_workspace("Other")
    foreign = create(client, other_ws, name="Foreign Co")

    r = client.post("/api/v1/customers", json={"name": "C", "accountId": foreign["id"]}, headers=ws.headers)
    assert r.status_code == 422 and fields(r) == {"accountId"}
    assert "workspace" in r.json()["errors"][0]["message"]
    c = client.post("/api/v1/customers", json={"name": "C", "accountId": acc["id"]}, headers=ws.headers).json()
    assert c["accountId"] == acc["id"] and c["company"] == "Acme"
    r = client.patch(f"/api/v1/customers/{c['id']}", json={"accountId": foreign["id"]}, headers=ws.headers)
    assert r.status_code == 422 and fields(r) == {"accountId"}
    r = client.put("/api/v1/customers/by-external-id/c", json={"accountId": foreign["id"]}, headers=ws.headers)
    assert r.status_code == 422 and fields(r) == {"accountId"}
    assert client.get("/api/v1/customers", params={"accountId": acc["id"]}, headers=ws.headers).json()["customers"][0]["id"] == c["id"]
    # renaming the account shows through customers without their own company
    client.patch(f"{API}/{acc['id']}", json={"name": "Acme Renamed"}, headers=ws.headers)
    assert client.get(f"/api/v1/customers/{c['id']}", headers=ws.headers).json()["company"] == "Acme Renamed"
    # unlink, relink, then delete the account: the customer stays, unlinked
    r = client.patch(f"/api/v1/customers/{c['id']}", json={"accountId": None}, headers=ws.headers)
    assert r.json()["accountId"] is None and r.json()["company"] is None
    client.patch(f"/api/v1/customers/{c['id']}", json={"accountId": acc["id"]}, headers=ws.headers)
    assert client.delete(f"{API}/{acc['id']}", headers=ws.headers).status_code == 204
    got = client.get(f"/api/v1/customers/{c['id']}", headers=ws.headers).json()
    assert got["accountId"] is None and got["company"] is None
    deleted = events(runtime, ws, "account.deleted")
    assert deleted[0].payload["unlinkedCustomerCount"] == 1
    # the foreign account is untouched
    assert client.get(f"{API}/{foreign['id']}", headers=other_ws.headers).json() == foreign
