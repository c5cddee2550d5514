"""Names unique regardless of case are unique the same way on SQLite and PostgreSQL, for every resource
that has such names, on create and on rename, and a clash is a 409, never a 500."""

from __future__ import annotations

import pytest

from woes.core.text import fold_name

# route, the name field, extra fields a create needs
UNIQUE_NAMES = [
    ("/api/v1/teams", "name", {}),
    ("/api/v1/agents", "name", {}),
    ("/api/v1/tags", "name", {}),
    ("/api/v1/priorities", "label", {}),
    ("/api/v1/statuses", "label", {"lifecycle": "open"}),
]


def test_fold_name_folds_unicode_case():
    assert fold_name("Équipe") == fold_name("ÉQUIPE") == fold_name("équipe")
    assert fold_name("Straße") == fold_name("STRASSE")
    assert fold_name("ﬁle") == fold_name("FILE")  # full case folding
    assert fold_name("Équipe") != fold_name("Equipe")


@pytest.mark.parametrize(("route", "field", "extra"), UNIQUE_NAMES, ids=[r[0].rsplit("/", 1)[1] for r in UNIQUE_NAMES])
def test_names_unique_regardless_of_case(client, ws, route, field, extra):
    first = client.post(route, json={field: "Équipe", **extra}, headers=ws.headers)
    assert first.status_code == 201, first.text
    for clash in ("Équipe", "équipe", "ÉQUIPE"):
        r = client.post(route, json={field: clash, **extra}, headers=ws.headers)
        assert r.status_code == 409 and r.json()["code"] == "conflict", (clash, r.status_code, r.text)
    other = client.post(route, json={field: "Støtte", **extra}, headers=ws.headers)
    assert other.status_code == 201, other.text
    r = client.patch(f"{route}/{other.json()['id']}", json={field: "éQUIPE"}, headers=ws.headers)
    assert r.status_code == 409 and r.json()["code"] == "conflict", r.text
    r = client.patch(f"{route}/{other.json()['id']}", json={field: "STØTTE"}, headers=ws.headers)  # its own name
    assert r.status_code == 200 and r.json()[field] == "STØTTE", r.text


def test_case_insensitive_filters_fold_every_letter(client, ws):
    """lower() in SQL folds non-ASCII letters on SQLite as on PostgreSQL (customer search, tag filter)."""
    r = client.post("/api/v1/customers", json={"name": "Ärger Öztürk", "email": "a@example.com"}, headers=ws.headers)
    assert r.status_code == 201
    found = client.get("/api/v1/customers", params={"q": "ärger"}, headers=ws.headers).json()["customers"]
    assert [c["name"] for c in found] == ["Ärger Öztürk"]
    conv = client.post("/api/v1/conversations", json={"subject": "s", "customer": {"id": "c1"}, "tags": ["Ärger"]},
                       headers=ws.headers).json()
    listed = client.get("/api/v1/conversations", params={"tag": "ÄRGER"}, headers=ws.headers).json()["conversations"]
    assert [c["id"] for c in listed] == [conv["id"]]
