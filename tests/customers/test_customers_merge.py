"""Merging customer profiles (SPEC §6): identities and traits move, the source becomes a hidden tombstone,
other domains' hooks run in the same transaction, and `customer.merged` is recorded."""

from __future__ import annotations

import uuid

from sqlalchemy import select, update

from woes.core.errors import ProblemError
from woes.customers import service
from woes.customers.models import Customer, CustomerIdentity
from woes.events.models import DomainEvent

API = "/api/v1/customers"


def create(client, ws, **body) -> dict:
    r = client.post(API, json=body, headers=ws.headers)
    assert r.status_code == 201, r.text
    return r.json()


def merge(client, ws, target: dict, source: dict | str):
    sid = source if isinstance(source, str) else source["id"]
    return client.post(f"{API}/{target['id']}/merge", json={"sourceCustomerId": sid}, headers=ws.headers)


def merged_events(runtime, ws) -> list[DomainEvent]:
    with runtime.db.reading() as s:
        return list(s.scalars(select(DomainEvent).where(DomainEvent.workspace_id == ws.id,
                                                        DomainEvent.type == "customer.merged").order_by(DomainEvent.seq)))


def test_merge_moves_identities_and_traits_and_hides_the_source(client, ws, runtime):
    acc = client.post("/api/v1/accounts", json={"name": "Acme"}, headers=ws.headers).json()
    target = create(client, ws, name="Ada", traits={"plan": "pro", "seats": 5}, sensitiveTraits=["ssn"],
                    identities=[{"channel": "live-chat", "value": "visitor-1"}])
    source = create(client, ws, name="A. Lovelace", email="ada@example.com", externalId="crm-1", accountId=acc["id"],
                    traits={"plan": "free", "city": "London", "ssn": "x"}, sensitiveTraits=["dob"],
                    identities=[{"channel": "discord", "value": "111"}, {"channel": "email", "value": "ada@example.com"}])
    r = merge(client, ws, target, source)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["id"] == target["id"]
    assert out["name"] == "Ada"  # the target wins
    assert out["email"] == "ada@example.com" and out["externalId"] == "crm-1" and out["accountId"] == acc["id"]  # gaps filled
    assert out["company"] == "Acme"
    assert out["traits"] == {"plan": "pro", "seats": 5, "city": "London", "ssn": "x"}
    assert out["sensitiveTraits"] == ["ssn", "dob"]
    assert sorted((i["channel"], i["value"]) for i in out["identities"]) == [
        ("discord", "111"), ("email", "ada@example.com"), ("live-chat", "visitor-1")]

    # the source is hidden from lists and id lookups, and answers 404 naming where it went
    listed = client.get(API, headers=ws.headers).json()["customers"]
    assert [c["id"] for c in listed] == [target["id"]]
    r = client.get(f"{API}/{source['id']}", headers=ws.headers)
    assert r.status_code == 404 and r.json()["mergedIntoId"] == target["id"]
    for method, url, body in (("PATCH", f"{API}/{source['id']}", {"name": "x"}), ("DELETE", f"{API}/{source['id']}", None),
                              ("POST", f"{API}/{source['id']}/identities", {"channel": "api", "value": "z"})):
        assert client.request(method, url, json=body, headers=ws.headers).status_code == 404

    # the event
    evs = merged_events(runtime, ws)
    assert len(evs) == 1 and evs[0].resource_id == target["id"]
    data = evs[0].payload
    assert data["sourceCustomerId"] == source["id"] and len(data["movedIdentityIds"]) == 2
    assert {"traits", "email", "externalId", "accountId", "identities"} <= set(data["changedFields"])
    assert data["traits"] == out["traits"]


def test_merge_lookups_by_the_sources_external_id_reach_the_target(client, ws):
    target = create(client, ws, name="T", externalId="t-1")
    source = create(client, ws, name="S", externalId="s-1")
    assert merge(client, ws, target, source).status_code == 200
    assert client.get(f"{API}/by-external-id/s-1", headers=ws.headers).json()["id"] == target["id"]
    assert [c["id"] for c in client.get(API, params={"externalId": "s-1"}, headers=ws.headers).json()["customers"]] == [target["id"]]
    r = client.put(f"{API}/by-external-id/s-1", json={"traits": {"from": "upsert"}}, headers=ws.headers)
    assert r.status_code == 200 and r.json()["id"] == target["id"] and r.json()["externalId"] == "t-1"
    r = client.post(API, json={"externalId": "s-1"}, headers=ws.headers)
    assert r.status_code == 409 and r.json()["existingId"] == target["id"]
    # the target may adopt the external id its tombstone holds
    r = client.patch(f"{API}/{target['id']}", json={"externalId": "s-1"}, headers=ws.headers)
    assert r.status_code == 200 and r.json()["externalId"] == "s-1"


def test_merge_chains_stay_one_hop(client, ws):
    a, b, c = create(client, ws, externalId="a"), create(client, ws, externalId="b"), create(client, ws, externalId="c")
    assert merge(client, ws, b, a).status_code == 200
    assert merge(client, ws, c, b).status_code == 200
    for ext in ("a", "b", "c"):
        assert client.get(f"{API}/by-external-id/{ext}", headers=ws.headers).json()["id"] == c["id"]
    assert client.get(f"{API}/{a['id']}", headers=ws.headers).json()["mergedIntoId"] == c["id"]


def test_merge_target_wins_unless_its_value_is_null(client, ws, runtime):
    target = create(client, ws, traits={"plan": "pro", "tier": "gold"})
    source = create(client, ws, traits={"plan": "free", "tier": "silver", "extra": 1})
    with runtime.db.transaction() as s:  # a null stored by an older writer
        s.execute(update(Customer).where(Customer.id == uuid.UUID(target["id"])).values(traits={"plan": "pro", "tier": None}))
    r = merge(client, ws, target, source)
    assert r.status_code == 200 and r.json()["traits"] == {"plan": "pro", "tier": "silver", "extra": 1}


def test_merge_calls_hooks_in_the_same_transaction(client, ws, runtime):
    target, source = create(client, ws, name="T"), create(client, ws, name="S", identities=[{"channel": "api", "value": "s"}])
    calls = []

    def hook(session, workspace_id, src, tgt):
        # identities have already moved when hooks run, in the same (uncommitted) transaction
        moved = session.scalars(select(CustomerIdentity.customer_id).where(CustomerIdentity.value == "s")).all()
        calls.append((workspace_id, src.id, tgt.id, src.merged_into_id, moved))

    service.CUSTOMER_MERGE_HOOKS.connect(hook)
    try:
        assert merge(client, ws, target, source).status_code == 200
    finally:
        service.CUSTOMER_MERGE_HOOKS.disconnect(hook)
    tid, sid = uuid.UUID(target["id"]), uuid.UUID(source["id"])
    assert calls == [(ws.id, sid, tid, tid, [tid])]


def test_a_failing_hook_rolls_the_whole_merge_back(client, ws, runtime):
    target = create(client, ws, name="T", traits={"a": 1})
    source = create(client, ws, name="S", traits={"b": 2}, identities=[{"channel": "api", "value": "s"}])

    def hook(session, workspace_id, src, tgt):
        raise ProblemError(409, "conflict", "The conversations could not be moved.")

    service.CUSTOMER_MERGE_HOOKS.connect(hook)
    try:
        r = merge(client, ws, target, source)
    finally:
        service.CUSTOMER_MERGE_HOOKS.disconnect(hook)
    assert r.status_code == 409 and r.json()["error"] == "The conversations could not be moved."
    assert client.get(f"{API}/{source['id']}", headers=ws.headers).json() == source
    assert client.get(f"{API}/{target['id']}", headers=ws.headers).json() == target
    assert merged_events(runtime, ws) == []


def test_merge_errors(client, ws, make_workspace, runtime):
    target, source = create(client, ws), create(client, ws)
    r = merge(client, ws, target, target)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "sourceCustomerId"
    r = merge(client, ws, target, str(uuid.uuid4()))
    assert r.status_code == 404 and r.json()["errors"][0]["field"] == "sourceCustomerId"
    r = client.post(f"{API}/{target['id']}/merge", json={}, headers=ws.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "sourceCustomerId"
    r = client.post(f"{API}/{target['id']}/merge", json={"sourceCustomerId": "nope"}, headers=ws.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "sourceCustomerId"
    r = client.post(f"{API}/{uuid.uuid4()}/merge", json={"sourceCustomerId": source["id"]}, headers=ws.headers)
    assert r.status_code == 404

    # a customer of another workspace is invisible
    other = make_workspace("Other")
    foreign = create(client, other, name="Foreign", identities=[{"channel": "api", "value": "f"}])
    r = merge(client, ws, target, foreign)
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    r = client.post(f"{API}/{foreign['id']}/merge", json={"sourceCustomerId": source["id"]}, headers=ws.headers)
    assert r.status_code == 404
    assert client.get(f"{API}/{foreign['id']}", headers=other.headers).json() == foreign

    # already merged: neither side can be used again
    assert merge(client, ws, target, source).status_code == 200
    r = merge(client, ws, target, source)
    assert r.status_code == 404 and r.json()["mergedIntoId"] == target["id"]
    third = create(client, ws)
    r = merge(client, ws, source, third)
    assert r.status_code == 404 and r.json()["mergedIntoId"] == target["id"]
    r = merge(client, ws, third, source)
    assert r.status_code == 404
    assert len(merged_events(runtime, ws)) == 1


def test_merge_refuses_traits_over_the_limit(client, ws):
    target = create(client, ws, traits={"a": "x" * 40_000})
    source = create(client, ws, traits={"b": "y" * 40_000})
    r = merge(client, ws, target, source)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "traits"
    assert client.get(f"{API}/{source['id']}", headers=ws.headers).status_code == 200


def test_deleting_the_target_deletes_its_tombstones(client, ws, runtime):
    target = create(client, ws, externalId="t")
    source = create(client, ws, externalId="s", identities=[{"channel": "api", "value": "s"}])
    assert merge(client, ws, target, source).status_code == 200
    assert client.delete(f"{API}/{target['id']}", headers=ws.headers).status_code == 204
    with runtime.db.reading() as s:
        assert s.scalars(select(Customer).where(Customer.workspace_id == ws.id)).all() == []
        assert s.scalars(select(CustomerIdentity).where(CustomerIdentity.workspace_id == ws.id)).all() == []
    assert client.put(f"{API}/by-external-id/s", json={}, headers=ws.headers).status_code == 201


def test_delete_hooks_run_before_the_row_goes(client, ws):
    c = create(client, ws, name="Bye")
    seen = []

    def hook(session, workspace_id, customer):
        seen.append((workspace_id, customer.id))

    service.CUSTOMER_DELETE_HOOKS.connect(hook)
    try:
        assert client.delete(f"{API}/{c['id']}", headers=ws.headers).status_code == 204
    finally:
        service.CUSTOMER_DELETE_HOOKS.disconnect(hook)
    assert seen == [(ws.id, uuid.UUID(c["id"]))]
