"""Tenant isolation of the customers domain (SPEC §1.1), beyond the generic id-route test.

Upserts by external id are the one special case: external ids are namespaced per workspace, so workspace
B's `PUT .../by-external-id/X` legitimately creates B's own record even when A has one with id X (a 404
there would tell B that A uses X). What must hold is that A's record is never read or touched."""

from __future__ import annotations

from typing import Any

from tenancy import FACTORIES
from test_tenant_isolation import PARAM, example_body, id_routes

UPSERTS = {("put", "/api/v1/customers/by-external-id/{external_id}"), ("put", "/api/v1/accounts/by-external-id/{external_id}")}


def _ours(path: str) -> bool:
    return path.startswith(("/api/v1/customers", "/api/v1/accounts"))


def test_customer_id_routes_answer_404_across_workspaces(client, make_workspace):
    a, b = make_workspace("A"), make_workspace("B")
    doc = client.get("/api/v1/openapi.json").json()
    routes = [r for r in id_routes(doc) if _ours(r[0])]
    params = {p for path, _, _ in routes for p in PARAM.findall(path)}
    assert params == {"customer_id", "identity_id", "account_id", "external_id"}
    ids = {p: FACTORIES[p](client, a) for p in params}
    before = client.get(f"/api/v1/customers/{ids['customer_id']}", headers=a.headers).json()

    checked, upserts = [], set()
    for path, method, op in routes:
        if op.get("x-woes-upsert"):
            upserts.add((method, path))
            continue
        url = PARAM.sub(lambda m: ids[m.group(1)], path)
        kwargs: dict[str, Any] = {"headers": b.headers}
        schema = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
        if schema is not None:
            kwargs["json"] = example_body(schema, doc)
        r = client.request(method.upper(), url, **kwargs)
        assert r.status_code == 404 and r.json()["code"] == "not_found", f"{method.upper()} {path}: {r.status_code} {r.text}"
        checked.append((method, path))
    assert upserts == UPSERTS and len(checked) == len(routes) - 2

    assert client.get(f"/api/v1/customers/{ids['customer_id']}", headers=a.headers).json() == before
    assert client.get(f"/api/v1/accounts/{ids['account_id']}", headers=a.headers).status_code == 200
    for kind in ("customers", "accounts"):
        assert client.get(f"/api/v1/{kind}/by-external-id/{ids['external_id']}", headers=a.headers).status_code == 200
    assert client.get("/api/v1/customers", headers=b.headers).json()["customers"] == []
    assert client.get("/api/v1/accounts", headers=b.headers).json()["accounts"] == []


def test_upsert_by_external_id_never_touches_another_workspace(client, make_workspace):
    a, b = make_workspace("A"), make_workspace("B")
    ext = FACTORIES["external_id"](client, a)
    a_customer = client.get(f"/api/v1/customers/by-external-id/{ext}", headers=a.headers).json()
    a_account = client.get(f"/api/v1/accounts/by-external-id/{ext}", headers=a.headers).json()

    r = client.put(f"/api/v1/customers/by-external-id/{ext}", json={"name": "B's own"}, headers=b.headers)
    assert r.status_code == 201 and r.json()["id"] != a_customer["id"] and r.json()["name"] == "B's own"
    r = client.put(f"/api/v1/accounts/by-external-id/{ext}", json={"name": "B's own account"}, headers=b.headers)
    assert r.status_code == 201 and r.json()["id"] != a_account["id"]
    # an upsert from B without a name to create its account fails the same way whether or not A has X
    r = client.put("/api/v1/accounts/by-external-id/never-used", json={}, headers=b.headers)
    assert r.status_code == 422

    assert client.get(f"/api/v1/customers/by-external-id/{ext}", headers=a.headers).json() == a_customer
    assert client.get(f"/api/v1/accounts/by-external-id/{ext}", headers=a.headers).json() == a_account


def test_identities_and_links_are_per_workspace(client, make_workspace):
    a, b = make_workspace("A"), make_workspace("B")
    a_cust = client.post("/api/v1/customers", json={"identities": [{"channel": "email", "value": "same@example.com"}]},
                         headers=a.headers).json()
    # the same address in B is B's own identity: no 409 that would reveal A's customer
    b_cust = client.post("/api/v1/customers", json={"identities": [{"channel": "email", "value": "same@example.com"}]},
                         headers=b.headers)
    assert b_cust.status_code == 201 and "existingCustomerId" not in b_cust.text
    # B can neither merge A's customer nor link A's account
    r = client.post(f"/api/v1/customers/{b_cust.json()['id']}/merge", json={"sourceCustomerId": a_cust["id"]}, headers=b.headers)
    assert r.status_code == 404
    a_acc = client.post("/api/v1/accounts", json={"name": "A Co"}, headers=a.headers).json()
    r = client.patch(f"/api/v1/customers/{b_cust.json()['id']}", json={"accountId": a_acc["id"]}, headers=b.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "accountId"
    assert client.get("/api/v1/customers", params={"accountId": a_acc["id"]}, headers=b.headers).json()["customers"] == []
    assert client.get(f"/api/v1/customers/{a_cust['id']}", headers=a.headers).json() == a_cust
