"""Retrieval mechanisms on a spec written for the purpose: each test is a way plain bag-of-words misses."""

from __future__ import annotations

import uuid

import pytest
import yaml

from woes.events.service import SYSTEM
from woes.scans.pipeline import run_scan
from woes.search import analyse, results_view, search
from woes.search.analysis import focus_sentences, stem_match, verb_objects
from woes.search.names import resource_words
from woes.search.paths import concrete_path_matches
from woes.sources.service import do_create_source


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


def scanned(runtime, ws, name: str, spec: dict) -> uuid.UUID:
    """A source made from `spec` through the upload path, scanned."""
    with runtime.db.transaction() as s:
        src, scan = do_create_source(s, ws.id, name=name, type_="openapi", actor=SYSTEM,
                                     files=[(f"{name}.yaml", yaml.safe_dump(spec).encode())])
    run_scan(runtime.db, ws.id, src.id, scan.id)
    return src.id


@pytest.fixture
def source(runtime, ws):
    return scanned(runtime, ws, "shop", SPEC)


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
    assert concrete_path_matches(template, concrete) is ok


@pytest.mark.parametrize("a, b, ok", [("org", "organization", True), ("review", "reviewer", True), ("cancel", "canceled", True),
                                      ("pet", "pets", True),
                                      ("ab", "abc", False), ("card", "charge", False)])
def test_stem_match(a, b, ok):
    assert stem_match(a, b) is ok


def test_bounded_caches_forget_the_oldest():
    from woes.core.caching import remember

    cache: dict = {}
    for i in range(10):
        remember(cache, i, i * i, limit=4)
    assert list(cache) == [6, 7, 8, 9]
    remember(cache, 7, 0, limit=4)  # rebuilt: becomes the newest
    remember(cache, 10, 100, limit=4)
    assert list(cache) == [8, 9, 7, 10]


def _path_param(name: str) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


TITLES_SPEC = {
    "openapi": "3.0.3", "info": {"title": "Files and payments", "version": "1"},
    "paths": {
        "/2.0/files/content": {"post": _op("UploadFile", "Upload file", body={"attributes": {"type": "string"},
                                                                                "file": {"type": "string"}})},
        "/2.0/files/upload_sessions": {"post": _op("CreateUploadSession", "Create upload session",
                                                   body={"file_name": {"type": "string"}, "folder_id": {"type": "string"}})},
        "/2.0/folders": {"post": _op("CreateFolder", "Create folder", body={"name": {"type": "string"},
                                                                            "parent": {"type": "object", "properties": {"id": {"type": "string"}}}})},
        "/v1/checkout/sessions": {"post": _op("CreateSession", "Create a Checkout Session",
                                              body={"line_items": {"type": "array", "items": {"type": "string"}},
                                                    "success_url": {"type": "string"}})},
        "/v1/checkout/sessions/{session}": {"get": _op("GetSession", "Retrieve a Checkout Session", [_path_param("session")])},
        "/v1/checkout/sessions/{session}/line_items": {"get": _op("GetSessionItems", "Retrieve a Checkout Session's line items",
                                                                  [_path_param("session")])},
        "/v1/customers/{customer}": {"post": _op("UpdateCustomer", "Update a customer", [_path_param("customer")],
                                                 body={"invoice_settings": {"type": "object", "properties": {
                                                     "default_payment_method": {"type": "string"}}}})},
        "/v1/payment_methods/{payment_method}": {"post": _op("UpdatePaymentMethod", "Update a PaymentMethod",
                                                             [_path_param("payment_method")],
                                                             body={"billing_details": {"type": "object"}})},
        "/Accounts/{AccountSid}/Calls.json": {"post": _op("CreateCall", "Create a new outgoing call to phones or SIP endpoints",
                                                          [_path_param("AccountSid")],
                                                          body={"To": {"type": "string"}, "StatusCallback": {"type": "string"},
                                                                "StatusCallbackEvent": {"type": "array", "items": {"type": "string"}}})},
        "/Accounts/{AccountSid}/Calls/{Sid}.json": {"post": _op("UpdateCall", "Modify a call in progress",
                                                                [_path_param("AccountSid"), _path_param("Sid")],
                                                                body={"StatusCallback": {"type": "string"}, "Twiml": {"type": "string"}})},
        "/Accounts/{AccountSid}/Messages.json": {
            "get": _op("ListMessage", "Retrieve a list of messages", [_path_param("AccountSid")] + [
                {"name": n, "in": "query", "schema": {"type": "string"}} for n in ("To", "From", "DateSent")]),
            "post": _op("CreateMessage", "Send a new outgoing message", [_path_param("AccountSid")],
                        body={"To": {"type": "string"}, "From": {"type": "string"}, "Body": {"type": "string"}})},
    },
}


@pytest.fixture
def titled(runtime, ws):
    return scanned(runtime, ws, "titled", TITLES_SPEC)


def test_the_operations_title_in_the_questions_words(runtime, ws, titled):
    # 'Upload file' is at /files/content: its path shares one word with the question, its title two
    ranked = top(runtime, ws, titled, "Which request uploads a new file?")
    assert ranked[0] == "POST /2.0/files/content"


def test_the_asking_sentence_outweighs_the_scene(runtime, ws, titled):
    ranked = top(runtime, ws, titled, "I create a Checkout Session with line_items. After payment I retrieve the session, but "
                                      "`session.display_items` is undefined. How do I get the items that were just bought?")
    assert ranked[0] == "GET /v1/checkout/sessions/{session}/line_items"


def test_sdk_style_parameter_names_match_the_apis_own(runtime, ws, titled):
    ranked = top(runtime, ws, titled, "I place a call with status_callback and status_callback_event=['answered'], "
                                      "but the callback never gets the events.")
    assert ranked[0] == "POST /Accounts/{AccountSid}/Calls.json"


def test_a_parameter_assignment_in_the_question_names_the_parameter(runtime, ws, titled):
    ranked = top(runtime, ws, titled, "How do I go through only some messages, e.g. DateSent>=2024-01-01?")
    assert ranked[0] == "GET /Accounts/{AccountSid}/Messages.json"


def test_a_path_parameter_is_not_an_option_of_the_operation(runtime, ws, titled):
    # `payment_method` is only the path parameter of UpdatePaymentMethod; the option lives on the customer
    question = "How do I update a customer's default PaymentMethod for their invoices?"
    with runtime.db.reading() as s:
        hits, _ = search(s, ws.id, question, [titled], limit=5)
        signals = {r["operationKey"]: r["signals"] for r in results_view(s, hits, question)}
    assert "fieldNamed" not in signals["POST /v1/payment_methods/{payment_method}"]


@pytest.mark.parametrize("question, focus", [
    ("I create a session. It fails. How do I get the items?", "How do I get the items?"),
    ("Is there a call to create a branch?", "Is there a call to create a branch?"),
    ("My webhook never fires\nWhat am I missing?", "What am I missing?"),
    ("I call `stripe.subscriptions.del(id)`. It cancels right away.", "I call `stripe.subscriptions.del(id)`. It cancels right away."),
])
def test_focus_sentences(question, focus):
    assert focus_sentences(question) == focus


EVENTS = ["invoice.paid", "invoice.created", "customer.created"]
OBJECTS_SPEC = {
    "openapi": "3.0.3", "info": {"title": "Tracker", "version": "1"},
    "paths": {
        "/repos/{owner}/{repo}/issues": {
            "get": _op("ListIssues", "List repository issues", [_path_param("owner"), _path_param("repo"),
                                                                 {"name": "sort", "in": "query", "schema": {"type": "string", "enum": ["created", "updated"]}},
                                                                 {"name": "filter", "in": "query", "schema": {"type": "string", "enum": ["assigned", "mentioned"]}}]),
            "post": _op("CreateIssue", "Create an issue", [_path_param("owner"), _path_param("repo")],
                        body={"title": {"type": "string"}, "assignees": {"type": "array", "items": {"type": "string"}},
                              "labels": {"type": "array", "items": {"type": "string"}}})},
        "/repos/{owner}/{repo}/labels": {"post": _op("CreateLabel", "Create a label", [_path_param("owner"), _path_param("repo")],
                                                     body={"name": {"type": "string"}, "color": {"type": "string"}})},
        "/v1/webhook_endpoints": {"post": _op("CreateEndpoint", "Create a webhook endpoint",
                                              body={"url": {"type": "string"},
                                                    "enabled_events": {"type": "array", "items": {"type": "string", "enum": EVENTS}}})},
        "/v1/webhook_endpoints/{webhook_endpoint}": {
            "post": _op("UpdateEndpoint", "Update a webhook endpoint", [_path_param("webhook_endpoint")],
                        body={"enabled_events": {"type": "array", "items": {"type": "string", "enum": EVENTS}}})},
        "/v1/invoices": {"post": _op("CreateInvoice", "Create an invoice", body={"customer": {"type": "string"}})},
    },
}


@pytest.fixture
def tracker(runtime, ws):
    return scanned(runtime, ws, "tracker", OBJECTS_SPEC)


def test_what_the_verb_acts_on_picks_the_resource(runtime, ws, tracker):
    # 'created' / 'assigned' are filter values of the list; 'labelled' names another resource
    ranked = top(runtime, ws, tracker, "Our bot files bug reports. How do I create an issue that is already assigned to "
                                       "someone and labelled 'crash'?")
    assert ranked[0] == "POST /repos/{owner}/{repo}/issues"


def test_an_object_id_means_that_one_object(runtime, ws, tracker):
    question = ("invoice.paid events never reach our endpoint we_1NZDS6zmtogHmHGLVwIiSyC2. "
                "How do I add invoice.paid to it?")
    ranked = top(runtime, ws, tracker, question)
    assert ranked.index("POST /v1/webhook_endpoints/{webhook_endpoint}") < ranked.index("POST /v1/webhook_endpoints")
    a = analyse(question)
    assert a.names_an_item and "endpoint" in a.objects and "invoice" not in a.objects
    assert not any("nzds" in t for t in a.terms)  # an opaque id is not split into words


@pytest.mark.parametrize("text, objects", [
    ("How do I create an issue?", {"issue"}), ("when listing customers", {"customer"}),
    ("How do I capture the PaymentIntent?", {"paymentintent"}), ("add invoice.paid", set()),
    ("a new list of things", set()),
])
def test_verb_objects(text, objects):
    assert verb_objects(text) == objects


@pytest.mark.parametrize("path, words", [
    ("/v1/payment_intents/{intent}/capture", {"capture", "intent", "paymentintent"}),
    ("/v1/subscription_schedules/{schedule}/cancel", {"cancel", "schedule", "subscriptionschedule"}),
    ("/repos/{owner}/{repo}/issues", {"issue"}),
    ("/2010-04-01/Accounts/{AccountSid}/Calls/{Sid}.json", {"call"}),
])
def test_resource_words(path, words):
    assert resource_words(path) == words


def test_what_the_embedding_model_reads_has_no_link_targets():
    from woes.search.chunking import embedding_text

    text = ("Any user can create an issue. If [issues are disabled](https://docs.github.com/articles/disabling-issues/), "
            "the API returns `410 Gone`. See <a href=\"https://x.example/y\">limits</a> or https://docs.example.com/a?b=1 .")
    assert embedding_text(text) == ("Any user can create an issue. If issues are disabled, the API returns `410 Gone`. "
                                    "See limits or .")


LEGACY_SPEC = {
    "openapi": "3.0.3", "info": {"title": "Billing", "version": "1"},
    "paths": {
        "/v1/subscriptions/{id}": {"delete": {**_op("CancelSub", "", [_path_param("id")]),
                                              "description": "Cancels a customer's subscription immediately. Pass prorate to credit unused time."}},
        "/v1/customers/{customer}/subscriptions/{id}": {"delete": {
            **_op("CancelCustomerSub", "", [_path_param("customer"), _path_param("id")]),
            "description": "Cancels a customer's subscription immediately. Pass prorate to credit unused time."}},
    },
}


def test_one_operation_at_two_paths_prefers_the_canonical_one(runtime, ws):
    source_id = scanned(runtime, ws, "legacy", LEGACY_SPEC)
    question = "When I cancel a customer's subscription immediately, how is the customer credited for unused time?"
    with runtime.db.reading() as s:
        hits, _ = search(s, ws.id, question, [source_id], limit=5)
        results = results_view(s, hits, question)
    assert results[0]["operationKey"] == "DELETE /v1/subscriptions/{id}"
    assert results[1]["signals"].get("nestedDuplicate") is True


def test_what_the_embedding_model_reads_is_capped():
    from woes.search.chunking import EMBED_MAX_WORDS, embedding_text

    assert len(embedding_text("word " * 1000).split()) == EMBED_MAX_WORDS
