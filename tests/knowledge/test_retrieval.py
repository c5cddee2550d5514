"""Retrieval mechanisms on a spec written for the purpose: each test is a way plain bag-of-words misses."""

from __future__ import annotations

import uuid

import pytest
import yaml

from woes.events.service import SYSTEM
from woes.knowledge.retrieval import _concrete_path_matches, _stem_match, results_view, search
from woes.knowledge.scanning import run_scan
from woes.knowledge.service import do_create_source


def _op(op_id: str, summary: str, params=(), body=None) -> dict:
    op = {"operationId": op_id, "summary": summary, "responses": {"200": {"description": "OK"}},
          "parameters": [dict(p) for p in params]}
    if body:
        op["requestBody"] = {"content": {"application/x-www-form-urlencoded": {"schema": {"type": "object", "properties": body}}}}
    return op


SPEC = {
    "openapi": "3.0.3", "info": {"title": "Shop", "version": "1"},
    "paths": {
        "/v1/subscriptions": {"post": _op("CreateSub", "Create a subscription", body={"customer": {"type": "string"}})},
        "/v1/subscriptions/{id}": {
            "post": _op("UpdateSub", "Update a subscription", [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
                        body={"cancel_at_period_end": {"type": "boolean", "description": "Stop the subscription when the period ends."},
                              "proration_behavior": {"type": "string", "enum": ["create_prorations", "none"]}}),
            "delete": _op("CancelSub", "Cancel a subscription immediately",
                          [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}]),
        },
        "/v1/messages/{sid}": {
            "post": _op("UpdateMessage", "Update a message", [{"name": "sid", "in": "path", "required": True, "schema": {"type": "string"}}],
                        body={"Status": {"type": "string", "enum": ["canceled"], "description": "Set to cancel a scheduled message."}}),
            "delete": _op("DeleteMessage", "Delete a message record", [{"name": "sid", "in": "path", "required": True, "schema": {"type": "string"}}]),
        },
        "/orgs/{org}/repos": {"get": _op("ListOrgRepos", "List organization repositories",
                                         [{"name": "org", "in": "path", "required": True, "schema": {"type": "string"}}])},
        "/user/repos": {"get": _op("ListMyRepos", "List repositories for the authenticated user")},
        "/repos/{owner}/{repo}/branches/{branch}/protection": {
            "get": _op("GetProtection", "Get branch protection", [{"name": n, "in": "path", "required": True, "schema": {"type": "string"}}
                                                                  for n in ("owner", "repo", "branch")])},
        "/repos/{owner}/{repo}/branches/{branch}": {
            "get": _op("GetBranch", "Get a branch", [{"name": n, "in": "path", "required": True, "schema": {"type": "string"}}
                                                     for n in ("owner", "repo", "branch")])},
    },
}


@pytest.fixture
def source(runtime, ws):
    with runtime.db.transaction() as s:
        src, scan = do_create_source(s, ws.id, name="shop", type_="openapi", actor=SYSTEM,
                                     files=[("shop.yaml", yaml.safe_dump(SPEC).encode())])
    run_scan(runtime.db, ws.id, src.id, scan.id)
    return src.id


def top(runtime, ws, source_id: uuid.UUID, question: str) -> list[str]:
    with runtime.db.reading() as s:
        hits, _ = search(s, ws.id, question, [source_id], limit=5)
        return [r["operationKey"] for r in results_view(s, hits, question) if r["kind"] == "endpoint"]


def test_a_parameter_named_in_prose_finds_the_operation_that_has_it(runtime, ws, source):
    ranked = top(runtime, ws, source, "Subscriptions end right away. How do I cancel at the end of the period instead?")
    assert ranked[0] == "POST /v1/subscriptions/{id}"


def test_an_enum_value_points_to_the_operation_that_accepts_it(runtime, ws, source):
    ranked = top(runtime, ws, source, "How do I cancel a message I scheduled?")
    assert ranked[0] == "POST /v1/messages/{sid}"


def test_abbreviated_path_words_match_full_words(runtime, ws, source):
    ranked = top(runtime, ws, source, "How do I list every repository of our organization?")
    assert ranked[0] == "GET /orgs/{org}/repos"


def test_a_concrete_url_matches_its_path_template(runtime, ws, source):
    ranked = top(runtime, ws, source, "We run `curl https://api.example.com/repos/acme/widgets/branches/main/protection`. "
                                      "What does it return?")
    assert ranked[0] == "GET /repos/{owner}/{repo}/branches/{branch}/protection"


@pytest.mark.parametrize("template, concrete, ok", [
    ("/repos/{owner}/{repo}/branches/{branch}", "/repos/acme/w/branches/main", True),
    ("/repos/{owner}/{repo}/branches/{branch}", "/repos/acme/w/branches", False),
    ("/2010-04-01/Accounts/{AccountSid}/Messages.json", "/2010-04-01/Accounts//Messages.json", True),
    ("/2010-04-01/Accounts/{Sid}.json", "/2010-04-01/Accounts//Messages.json", False),
    ("/Accounts/{AccountSid}/Calls/{Sid}.json", "/2010-04-01/Accounts/AC1/Calls/CA9.json", True),
    ("/v1/customers/:customer", "/v1/customers/cus_123", True),
])
def test_concrete_path_matching(template, concrete, ok):
    assert _concrete_path_matches(template, concrete) is ok


@pytest.mark.parametrize("a, b, ok", [("org", "organization", True), ("review", "reviewer", True), ("cancel", "canceled", True),
                                      ("pet", "pets", True),
                                      ("ab", "abc", False), ("card", "charge", False)])
def test_stem_match(a, b, ok):
    assert _stem_match(a, b) is ok


def test_bounded_caches_forget_the_oldest():
    from woes.core.caching import remember

    cache: dict = {}
    for i in range(10):
        remember(cache, i, i * i, limit=4)
    assert list(cache) == [6, 7, 8, 9]
    remember(cache, 7, 0, limit=4)  # rebuilt: becomes the newest
    remember(cache, 10, 100, limit=4)
    assert list(cache) == [8, 9, 7, 10]
