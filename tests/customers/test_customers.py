"""Customers over the API (SPEC §6): shape, validation, traits, external ids, upsert, identities, lists,
scopes and the events written with each change. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import uuid

import pytest
from conftest import make_key
from sqlalchemy import select

from woes.customers.models import Account, Customer
from woes.customers.service import agent_visible_customer
from woes.events.models import DomainEvent

API = "/api/v1/customers"


def events(runtime, ws, type_: str | None = None) -> list[DomainEvent]:
    with runtime.db.reading() as s:
        stmt = select(DomainEvent).where(DomainEvent.workspace_id == ws.id).order_by(DomainEvent.seq)
        if type_:
            stmt = stmt.where(DomainEvent.type == type_)
        return list(s.scalars(stmt))


def create(client, ws, **body) -> dict:
    r = client.post(API, json=body, headers=ws.headers)
    assert r.status_code == 201, r.text
    return r.json()


def fields(r) -> set[str]:
    return {e["field"] for e in r.json().get("errors", [])}


# --- create / get / shape -------------------------------------------------------------------------------

def test_create_and_get_customer(client, ws, runtime):
    acc = client.post("/api/v1/accounts", json={"name": "Acme Corp"}, headers=ws.headers).json()
    body = {
        "externalId": "user-42", "name": "  Ada Lovelace ", "email": "Ada.Lovelace@Example.COM",
        "accountId": acc["id"], "traits": {"plan": "pro", "seats": 3, "nested": {"a": [1, 2]}, "gone": None},
        "sensitiveTraits": ["ssn", "ssn"],
        "identities": [{"channel": "email", "value": "ADA@example.com", "verified": True},
                       {"channel": "discord", "value": "123456789012345678"}],
    }
    r = client.post(API, json=body, headers=ws.headers)
    assert r.status_code == 201, r.text
    c = r.json()
    assert c["object"] == "customer" and uuid.UUID(c["id"])
    assert c["externalId"] == "user-42" and c["name"] == "Ada Lovelace"
    assert c["email"] == "ada.lovelace@example.com"
    assert c["company"] == "Acme Corp" and c["accountId"] == acc["id"]  # company defaults to the account's name
    assert c["traits"] == {"plan": "pro", "seats": 3, "nested": {"a": [1, 2]}}  # null = absent
    assert c["sensitiveTraits"] == ["ssn"]
    assert [(i["channel"], i["value"], i["verified"]) for i in c["identities"]] == [
        ("email", "ada@example.com", True), ("discord", "123456789012345678", False)]
    assert all(uuid.UUID(i["id"]) and i["createdAt"].endswith("Z") for i in c["identities"])
    assert c["createdAt"].endswith("Z") and c["updatedAt"].endswith("Z")

    got = client.get(f"{API}/{c['id']}", headers=ws.headers)
    assert got.status_code == 200 and got.json() == c
    assert client.get(f"{API}/by-external-id/user-42", headers=ws.headers).json() == c

    evs = events(runtime, ws, "customer.created")
    assert len(evs) == 1 and evs[0].resource_type == "customer" and evs[0].resource_id == c["id"]
    assert evs[0].payload["email"] == "ada.lovelace@example.com" and len(evs[0].payload["identities"]) == 2


def test_explicit_company_wins_over_account_name(client, ws):
    acc = client.post("/api/v1/accounts", json={"name": "Acme Corp"}, headers=ws.headers).json()
    c = create(client, ws, company="Acme EMEA", accountId=acc["id"])
    assert c["company"] == "Acme EMEA"
    r = client.patch(f"{API}/{c['id']}", json={"company": None}, headers=ws.headers)
    assert r.json()["company"] == "Acme Corp"


def test_create_empty_customer(client, ws):
    c = create(client, ws)
    assert c["name"] is None and c["email"] is None and c["externalId"] is None and c["company"] is None
    assert c["traits"] == {} and c["sensitiveTraits"] == [] and c["identities"] == []


def test_unknown_or_malformed_id_is_404_or_422(client, ws):
    r = client.get(f"{API}/{uuid.uuid4()}", headers=ws.headers)
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    r = client.get(f"{API}/not-a-uuid", headers=ws.headers)
    assert r.status_code == 422 and fields(r) == {"customer_id"}
    r = client.get(f"{API}/by-external-id/nobody", headers=ws.headers)
    assert r.status_code == 404


# --- validation ---------------------------------------------------------------------------------------

BIG = {f"k{i}": "x" * 1000 for i in range(70)}
DEEP: list = [1]
for _ in range(40):
    DEEP = [DEEP]

BAD_BODIES = [
    ({"email": "not-an-email"}, "email"),
    ({"email": "a@b"}, "email"),
    ({"name": ""}, "name"),
    ({"name": "x" * 201}, "name"),
    ({"name": "bad\u0000name"}, "name"),
    ({"company": "c" * 201}, "company"),
    ({"externalId": ""}, "externalId"),
    ({"externalId": "e" * 256}, "externalId"),
    ({"externalId": "tab\tinside"}, "externalId"),
    ({"accountId": "nope"}, "accountId"),
    ({"accountId": str(uuid.uuid4())}, "accountId"),
    ({"traits": ["not", "an", "object"]}, "traits"),
    ({"traits": {"k" * 101: 1}}, "traits"),
    ({"traits": {"": 1}}, "traits"),
    ({"traits": BIG}, "traits"),
    ({"traits": {"a": "nul\u0000"}}, "traits"),
    ({"traits": {"deep": DEEP}}, "traits"),
    ({"sensitiveTraits": "ssn"}, "sensitiveTraits"),
    ({"sensitiveTraits": [""]}, "sensitiveTraits[0]"),
    ({"sensitiveTraits": ["s" * 101]}, "sensitiveTraits[0]"),
    ({"identities": [{"channel": "fax", "value": "1"}]}, "identities[0].channel"),
    ({"identities": [{"channel": "email", "value": "nope"}]}, "identities[0].value"),
    ({"identities": [{"channel": "api", "value": ""}]}, "identities[0].value"),
    ({"identities": [{"channel": "api"}]}, "identities[0].value"),
    ({"nmae": "typo"}, "nmae"),
]


@pytest.mark.parametrize("body,field", BAD_BODIES, ids=[f for _, f in BAD_BODIES])
def test_create_validation_errors_name_the_field(client, ws, runtime, body, field):
    r = client.post(API, json=body, headers=ws.headers)
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "validation_failed" and field in fields(r), r.json()
    assert client.get(API, headers=ws.headers).json()["customers"] == []
    assert events(runtime, ws, "customer.created") == []


def test_non_finite_number_in_traits_is_422(client, ws):
    r = client.post(API, content=b'{"traits": {"score": NaN}}', headers={**ws.headers, "Content-Type": "application/json"})
    assert r.status_code in (400, 422) and r.json()["errors"][0]["field"] in ("traits", "body")


def test_invalid_json_is_400(client, ws):
    r = client.post(API, content=b"{nope", headers={**ws.headers, "Content-Type": "application/json"})
    assert r.status_code == 400 and fields(r) == {"body"}


def test_patch_validation_and_nothing_half_written(client, ws, runtime):
    c = create(client, ws, name="Ann", traits={"a": 1})
    for body, field in [({"email": "bad"}, "email"), ({"traits": None}, "traits"), ({"sensitiveTraits": None}, "sensitiveTraits"),
                        ({"name": "Renamed", "accountId": str(uuid.uuid4())}, "accountId"),
                        ({"name": "Renamed", "traits": {"b": "y" * (65 * 1024)}}, "traits"),
                        ({"id": str(uuid.uuid4())}, "id"), ({"identities": []}, "identities")]:
        r = client.patch(f"{API}/{c['id']}", json=body, headers=ws.headers)
        assert r.status_code == 422 and field in fields(r), (body, r.text)
    assert client.get(f"{API}/{c['id']}", headers=ws.headers).json() == c
    assert events(runtime, ws, "customer.updated") == []


def test_traits_limit_applies_to_the_merged_result(client, ws):
    c = create(client, ws, traits={"a": "x" * 40_000})
    r = client.patch(f"{API}/{c['id']}", json={"traits": {"b": "y" * 30_000}}, headers=ws.headers)
    assert r.status_code == 422 and fields(r) == {"traits"} and "64 KB" in r.json()["error"]
    r = client.patch(f"{API}/{c['id']}", json={"traits": {"a": None, "b": "y" * 30_000}}, headers=ws.headers)
    assert r.status_code == 200 and set(r.json()["traits"]) == {"b"}


def test_filters_reject_control_characters(client, ws):
    for param, field in (("q", "q"), ("email", "email"), ("externalId", "externalId")):
        r = client.get(API, params={param: "a\u0000b"}, headers=ws.headers)
        assert r.status_code == 422 and fields(r) == {field}, r.text
    r = client.get(API, params={"accountId": "x"}, headers=ws.headers)
    assert r.status_code == 422 and fields(r) == {"accountId"}


def test_create_with_idempotency_key_replays(client, ws, runtime):
    headers = {**ws.headers, "Idempotency-Key": "create-ada-1"}
    first = client.post(API, json={"name": "Ada"}, headers=headers)
    again = client.post(API, json={"name": "Ada"}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers.get("idempotent-replayed") == "true"
    assert len(client.get(API, headers=ws.headers).json()["customers"]) == 1
    assert len(events(runtime, ws, "customer.created")) == 1


# --- external ids and upsert --------------------------------------------------------------------------

def test_external_id_is_unique_per_workspace(client, ws, make_workspace, runtime):
    first = create(client, ws, externalId="dup")
    r = client.post(API, json={"externalId": "dup", "name": "Other"}, headers=ws.headers)
    assert r.status_code == 409 and r.json()["code"] == "conflict" and r.json()["existingId"] == first["id"]
    other = create(client, ws, name="Other")
    r = client.patch(f"{API}/{other['id']}", json={"externalId": "dup"}, headers=ws.headers)
    assert r.status_code == 409 and r.json()["existingId"] == first["id"]
    assert len(events(runtime, ws, "customer.created")) == 2
    # another workspace has its own namespace
    ws2 = make_workspace("Other")
    assert client.post(API, json={"externalId": "dup"}, headers=ws2.headers).status_code == 201


def test_patch_external_id_set_change_and_clear(client, ws):
    c = create(client, ws)
    assert client.patch(f"{API}/{c['id']}", json={"externalId": "e1"}, headers=ws.headers).json()["externalId"] == "e1"
    assert client.get(f"{API}/by-external-id/e1", headers=ws.headers).json()["id"] == c["id"]
    assert client.patch(f"{API}/{c['id']}", json={"externalId": None}, headers=ws.headers).json()["externalId"] is None
    assert client.get(f"{API}/by-external-id/e1", headers=ws.headers).status_code == 404


def test_upsert_creates_then_updates(client, ws, runtime):
    url = f"{API}/by-external-id/crm-7"
    r = client.put(url, json={"name": "Grace", "traits": {"plan": "free", "seats": 1}}, headers=ws.headers)
    assert r.status_code == 201, r.text
    c = r.json()
    assert c["externalId"] == "crm-7" and c["name"] == "Grace"
    r = client.put(url, json={"email": "grace@example.com", "traits": {"plan": "pro", "seats": None}}, headers=ws.headers)
    assert r.status_code == 200 and r.json()["id"] == c["id"]
    assert r.json()["name"] == "Grace" and r.json()["email"] == "grace@example.com"  # fields not given are kept
    assert r.json()["traits"] == {"plan": "pro"}
    # the same request again changes nothing and records nothing
    r = client.put(url, json={"email": "grace@example.com", "traits": {"plan": "pro", "seats": None}}, headers=ws.headers)
    assert r.status_code == 200
    assert [e.type for e in events(runtime, ws) if e.type.startswith("customer.")] == ["customer.created", "customer.updated"]
    updated = events(runtime, ws, "customer.updated")[0].payload
    assert set(updated["changedFields"]) == {"email", "traits"}
    assert len(client.get(API, headers=ws.headers).json()["customers"]) == 1


def test_upsert_validation(client, ws):
    r = client.put(f"{API}/by-external-id/x1", json={"externalId": "other"}, headers=ws.headers)
    assert r.status_code == 422 and fields(r) == {"externalId"}
    r = client.put(f"{API}/by-external-id/" + "e" * 256, json={}, headers=ws.headers)
    assert r.status_code == 422 and fields(r) == {"externalId"}
    r = client.put(f"{API}/by-external-id/%20padded", json={}, headers=ws.headers)
    assert r.status_code == 422 and fields(r) == {"externalId"}
    r = client.put(f"{API}/by-external-id/x1", json={"email": "nope"}, headers=ws.headers)
    assert r.status_code == 422 and fields(r) == {"email"}
    r = client.put(f"{API}/by-external-id/x1", json={"traits": None}, headers=ws.headers)
    assert r.status_code == 201  # creating: null traits are just no traits
    r = client.put(f"{API}/by-external-id/x1", json={"traits": None}, headers=ws.headers)
    assert r.status_code == 422 and fields(r) == {"traits"}


def test_upsert_external_id_with_slashes_and_unicode(client, ws):
    r = client.put(f"{API}/by-external-id/org/7/user%2F9", json={"name": "Slash"}, headers=ws.headers)
    assert r.status_code == 201 and r.json()["externalId"] == "org/7/user/9"
    r = client.put(f"{API}/by-external-id/ünï", json={"name": "Uni"}, headers=ws.headers)
    assert r.status_code == 201 and r.json()["externalId"] == "ünï"
    assert client.get(f"{API}/by-external-id/org/7/user/9", headers=ws.headers).json()["name"] == "Slash"
    assert client.get(API, params={"externalId": "ünï"}, headers=ws.headers).json()["customers"][0]["name"] == "Uni"


def test_upsert_links_identities_and_refuses_foreign_ones(client, ws, runtime):
    other = create(client, ws, identities=[{"channel": "api", "value": "taken"}])
    url = f"{API}/by-external-id/u1"
    r = client.put(url, json={"identities": [{"channel": "live-chat", "value": "visitor-1"}]}, headers=ws.headers)
    assert r.status_code == 201 and len(r.json()["identities"]) == 1
    r = client.put(url, json={"identities": [{"channel": "live-chat", "value": "visitor-1"}, {"channel": "api", "value": "u1"}]},
                   headers=ws.headers)
    assert r.status_code == 200 and len(r.json()["identities"]) == 2
    assert [e.payload["identity"]["value"] for e in events(runtime, ws, "customer.identity_linked")] == ["u1"]
    r = client.put(url, json={"name": "Changed", "identities": [{"channel": "api", "value": "taken"}]}, headers=ws.headers)
    assert r.status_code == 409 and r.json()["existingCustomerId"] == other["id"]
    assert client.get(f"{API}/by-external-id/u1", headers=ws.headers).json()["name"] is None  # rolled back
    assert len(events(runtime, ws, "customer.updated")) == 1  # and so was its event


def test_concurrent_upserts_create_one_customer(client, ws):
    results: list[int] = []

    def put(i: int) -> None:
        r = client.put(f"{API}/by-external-id/race", json={"traits": {f"t{i}": i}}, headers=ws.headers)
        results.append(r.status_code)

    threads = [threading.Thread(target=put, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [200] * 7 + [201], results
    listed = client.get(API, headers=ws.headers).json()["customers"]
    assert len(listed) == 1 and listed[0]["traits"] == {f"t{i}": i for i in range(8)}


# --- PATCH and traits ---------------------------------------------------------------------------------

def test_patch_merges_traits_and_null_deletes(client, ws, runtime):
    c = create(client, ws, name="Ann", email="ann@example.com", traits={"plan": "pro", "seats": 3, "meta": {"x": 1}})
    r = client.patch(f"{API}/{c['id']}", json={"traits": {"seats": None, "meta": {"y": 2}, "new": True}}, headers=ws.headers)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["traits"] == {"plan": "pro", "meta": {"y": 2}, "new": True}  # shallow merge, null deletes
    assert out["name"] == "Ann" and out["email"] == "ann@example.com"
    assert out["updatedAt"] > c["updatedAt"]
    r = client.patch(f"{API}/{c['id']}", json={"name": None, "email": "ANN2@example.com", "sensitiveTraits": ["plan"]},
                     headers=ws.headers)
    assert r.json()["name"] is None and r.json()["email"] == "ann2@example.com" and r.json()["sensitiveTraits"] == ["plan"]
    upd = events(runtime, ws, "customer.updated")
    assert [e.payload["changedFields"] for e in upd] == [["traits"], ["name", "email", "sensitiveTraits"]]
    # a PATCH that changes nothing records nothing
    assert client.patch(f"{API}/{c['id']}", json={"traits": {"gone": None}, "name": None}, headers=ws.headers).status_code == 200
    assert len(events(runtime, ws, "customer.updated")) == 2


def test_patch_unknown_customer_is_404(client, ws):
    r = client.patch(f"{API}/{uuid.uuid4()}", json={"name": "x"}, headers=ws.headers)
    assert r.status_code == 404 and r.json()["code"] == "not_found"


# --- delete -------------------------------------------------------------------------------------------

def test_delete_customer(client, ws, runtime):
    c = create(client, ws, name="Bye", identities=[{"channel": "email", "value": "bye@example.com"}])
    assert client.delete(f"{API}/{c['id']}", headers=ws.headers).status_code == 204
    assert client.get(f"{API}/{c['id']}", headers=ws.headers).status_code == 404
    assert client.delete(f"{API}/{c['id']}", headers=ws.headers).status_code == 404
    evs = events(runtime, ws, "customer.deleted")
    assert len(evs) == 1 and evs[0].resource_id == c["id"] and evs[0].payload["name"] == "Bye"
    # its identities went with it: the address can be linked to someone else now
    d = create(client, ws, identities=[{"channel": "email", "value": "bye@example.com"}])
    assert d["identities"][0]["value"] == "bye@example.com"


# --- identities ---------------------------------------------------------------------------------------

def test_link_identity_conflict_and_unlink(client, ws, runtime):
    ann, bob = create(client, ws, name="Ann"), create(client, ws, name="Bob")
    url = f"{API}/{ann['id']}/identities"
    r = client.post(url, json={"channel": "discord", "value": "555"}, headers=ws.headers)
    assert r.status_code == 201, r.text
    ident = r.json()
    assert ident["object"] == "customer_identity" and ident["customerId"] == ann["id"]
    assert (ident["channel"], ident["value"], ident["verified"]) == ("discord", "555", False)
    linked = events(runtime, ws, "customer.identity_linked")
    assert len(linked) == 1 and linked[0].resource_id == ann["id"] and linked[0].payload["identity"]["id"] == ident["id"]

    # linking it again is a no-op (200), and can only upgrade it to verified
    r = client.post(url, json={"channel": "discord", "value": "555"}, headers=ws.headers)
    assert r.status_code == 200 and r.json()["id"] == ident["id"]
    r = client.post(url, json={"channel": "discord", "value": "555", "verified": True}, headers=ws.headers)
    assert r.status_code == 200 and r.json()["verified"] is True
    assert len(events(runtime, ws, "customer.identity_linked")) == 1

    # another customer cannot take it
    r = client.post(f"{API}/{bob['id']}/identities", json={"channel": "discord", "value": "555"}, headers=ws.headers)
    assert r.status_code == 409 and r.json()["code"] == "conflict" and r.json()["existingCustomerId"] == ann["id"]
    # same value on another channel is a different identity
    r = client.post(f"{API}/{bob['id']}/identities", json={"channel": "api", "value": "555"}, headers=ws.headers)
    assert r.status_code == 201

    got = client.get(f"{API}/{ann['id']}", headers=ws.headers).json()
    assert [i["id"] for i in got["identities"]] == [ident["id"]]

    # unlinking through the wrong customer is a 404; through the owner it works
    assert client.delete(f"{API}/{bob['id']}/identities/{ident['id']}", headers=ws.headers).status_code == 404
    assert client.delete(f"{API}/{ann['id']}/identities/{ident['id']}", headers=ws.headers).status_code == 204
    assert client.delete(f"{API}/{ann['id']}/identities/{ident['id']}", headers=ws.headers).status_code == 404
    assert client.get(f"{API}/{ann['id']}", headers=ws.headers).json()["identities"] == []
    r = client.post(f"{API}/{bob['id']}/identities", json={"channel": "discord", "value": "555"}, headers=ws.headers)
    assert r.status_code == 201


def test_email_identity_is_normalized_and_conflicts_case_insensitively(client, ws):
    ann, bob = create(client, ws), create(client, ws)
    r = client.post(f"{API}/{ann['id']}/identities", json={"channel": "email", "value": "Ann@Example.com"}, headers=ws.headers)
    assert r.status_code == 201 and r.json()["value"] == "ann@example.com"
    r = client.post(f"{API}/{bob['id']}/identities", json={"channel": "email", "value": "ANN@example.COM"}, headers=ws.headers)
    assert r.status_code == 409 and r.json()["existingCustomerId"] == ann["id"]


@pytest.mark.parametrize("body,field", [
    ({"channel": "sms", "value": "1"}, "channel"),
    ({"value": "1"}, "channel"),
    ({"channel": "email", "value": "not an email"}, "value"),
    ({"channel": "api", "value": "   "}, "value"),
    ({"channel": "api", "value": "v" * 321}, "value"),
    ({"channel": "api", "value": "nul\u0000"}, "value"),
    ({"channel": "api", "value": "1", "verified": "maybe"}, "verified"),
])
def test_identity_validation(client, ws, body, field):
    c = create(client, ws)
    r = client.post(f"{API}/{c['id']}/identities", json=body, headers=ws.headers)
    assert r.status_code == 422 and fields(r) == {field}, r.text
    assert client.get(f"{API}/{c['id']}", headers=ws.headers).json()["identities"] == []


def test_concurrent_identity_links_give_one_owner(client, ws):
    customers = [create(client, ws) for _ in range(4)]
    codes: list[int] = []

    def link(cid: str) -> None:
        r = client.post(f"{API}/{cid}/identities", json={"channel": "live-chat", "value": "v-1"}, headers=ws.headers)
        codes.append(r.status_code)

    threads = [threading.Thread(target=link, args=(c["id"],)) for c in customers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(codes) == [201, 409, 409, 409], codes


# --- lists --------------------------------------------------------------------------------------------

def test_list_filters(client, ws):
    acc = client.post("/api/v1/accounts", json={"name": "Acme"}, headers=ws.headers).json()
    ada = create(client, ws, name="Ada Lovelace", email="ada@example.com", accountId=acc["id"], externalId="e-ada")
    bob = create(client, ws, name="Bob 100% Real", email="bob@other.org")
    eve = create(client, ws, name=None, email="EVE@example.com")

    def ids(**params) -> list[str]:
        r = client.get(API, params=params, headers=ws.headers)
        assert r.status_code == 200, r.text
        return [c["id"] for c in r.json()["customers"]]

    assert ids() == [eve["id"], bob["id"], ada["id"]]  # newest first
    assert ids(email="ADA@example.com") == [ada["id"]]
    assert ids(externalId="e-ada") == [ada["id"]]
    assert ids(externalId="E-ADA") == []
    assert ids(accountId=acc["id"]) == [ada["id"]]
    assert ids(accountId=str(uuid.uuid4())) == []
    assert ids(q="LOVE") == [ada["id"]]
    assert ids(q="example.com") == [eve["id"], ada["id"]]
    assert ids(q="100%") == [bob["id"]]  # LIKE wildcards are literal
    assert ids(q="%") == [bob["id"]]
    assert ids(q="_") == []
    assert ids(q="example", accountId=acc["id"]) == [ada["id"]]


def test_list_pagination(client, ws):
    made = [create(client, ws, name=f"c{i}")["id"] for i in range(7)]
    seen, cursor = [], None
    for _ in range(10):
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = client.get(API, params=params, headers=ws.headers).json()
        assert page["object"] == "list" and len(page["customers"]) <= 3
        seen += [c["id"] for c in page["customers"]]
        cursor = page["nextCursor"]
        if not page["hasMore"]:
            assert cursor is None
            break
    assert seen == list(reversed(made))
    r = client.get(API, params={"limit": 101}, headers=ws.headers)
    assert r.status_code == 422 and fields(r) == {"limit"}
    r = client.get(API, params={"cursor": "garbage!!"}, headers=ws.headers)
    assert r.status_code == 400 and fields(r) == {"cursor"}


# --- scopes -------------------------------------------------------------------------------------------

def test_scopes(client, ws):
    c = create(client, ws, name="Scoped")
    reader = {"Authorization": f"Bearer {make_key(client, ws, ['customers:read'])['secret']}"}
    writer = {"Authorization": f"Bearer {make_key(client, ws, ['customers:write'])['secret']}"}
    outsider = {"Authorization": f"Bearer {make_key(client, ws, ['conversations:write'])['secret']}"}

    reads = [("GET", API, None), ("GET", f"{API}/{c['id']}", None), ("GET", f"{API}/by-external-id/x", None),
             ("GET", "/api/v1/accounts", None)]
    writes = [("POST", API, {"name": "n"}), ("PATCH", f"{API}/{c['id']}", {"name": "n"}),
              ("DELETE", f"{API}/{c['id']}", None), ("PUT", f"{API}/by-external-id/x", {}),
              ("POST", f"{API}/{c['id']}/merge", {"sourceCustomerId": str(uuid.uuid4())}),
              ("POST", f"{API}/{c['id']}/identities", {"channel": "api", "value": "v"}),
              ("DELETE", f"{API}/{c['id']}/identities/{uuid.uuid4()}", None),
              ("POST", "/api/v1/accounts", {"name": "A"}), ("PUT", "/api/v1/accounts/by-external-id/x", {"name": "A"})]
    for method, url, _ in reads:
        assert client.request(method, url, headers=reader).status_code in (200, 404)
        r = client.request(method, url, headers=outsider)
        assert r.status_code == 403 and r.json()["code"] == "permission_denied"
        assert r.json()["requiredScope"] == "customers:read" and "customers:read" in r.json()["error"]
    for method, url, body in writes:
        r = client.request(method, url, json=body, headers=reader)
        assert r.status_code == 403 and r.json()["requiredScope"] == "customers:write", (method, url)
    assert client.get(f"{API}/{c['id']}", headers=ws.headers).json()["name"] == "Scoped"  # nothing changed
    # write implies read
    assert client.get(f"{API}/{c['id']}", headers=writer).status_code == 200
    assert client.patch(f"{API}/{c['id']}", json={"name": "W"}, headers=writer).status_code == 200


def test_every_customer_route_declares_its_scope():
    from fastapi.routing import APIRoute

    from woes.app import route_scope
    from woes.customers.routes import router

    routes = [r for r in router.routes if isinstance(r, APIRoute)]
    assert len(routes) == 17
    for route in routes:
        expected = "customers:read" if route.methods == {"GET"} else "customers:write"
        assert route_scope(route) == expected, route.path


# --- what the agent may see ---------------------------------------------------------------------------

def test_agent_visible_customer_hides_sensitive_traits(client, ws, runtime):
    acc = client.post("/api/v1/accounts", json={"name": "Acme"}, headers=ws.headers).json()
    c = create(client, ws, name="Ada", email="ada@example.com", accountId=acc["id"],
               traits={"plan": "pro", "SSN": "123-45-6789", "notes": "key sk_live_abcdefghijklmnopqrstuvwx", "apiToken": "t0k3n"},
               sensitiveTraits=["ssn"], identities=[{"channel": "api", "value": "u-1"}])
    with runtime.db.reading() as s:
        customer = s.get(Customer, uuid.UUID(c["id"]))
        view = agent_visible_customer(customer)
        account = s.get(Account, uuid.UUID(acc["id"]))
        assert agent_visible_customer(customer, account) == view
    assert set(view) == {"name", "company", "traits"}
    assert view["name"] == "Ada" and view["company"] == "Acme"
    assert "SSN" not in view["traits"] and view["traits"]["plan"] == "pro"
    assert "sk_live_" not in str(view) and "t0k3n" not in str(view)  # secrets are redacted before any model sees them
    assert "ada@example.com" not in str(view) and "u-1" not in str(view)
