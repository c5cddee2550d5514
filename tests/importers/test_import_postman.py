"""Postman importer: v2.1 and v2.0 collections, folders, inherited auth (never copying credentials),
bodies, saved responses, malformed items, and the two corpus collections in shared/corpora/postman."""

from __future__ import annotations

import dataclasses
import json

import pytest

from woes.importers.base import Endpoint, ImportContext, ImportError_, ImportResult, SourceFile
from woes.importers.postman import PostmanImporter

IMP = PostmanImporter()
SCHEMA_21 = "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"
SCHEMA_20 = "https://schema.getpostman.com/json/collection/v2.0.0/collection.json"

# Fake credentials, assembled at run time so no literal secret-looking value sits in this file.
TOKEN = "tok-" + "collection-" + "0451"
FOLDER_KEY = "key-" + "folder-" + "7781"
HEADER_TOKEN = "hdr-" + "bearer-" + "1138"
CLIENT_SECRET = "cs-" + "oauth-" + "2187"
PASSWORD = "pw-" + "basic-" + "9000"
VARIABLE_KEY = "var-" + "apikey-" + "3263"
BODY_PASSWORD = "body-" + "pw-" + "5150"
SECRETS = [TOKEN, FOLDER_KEY, HEADER_TOKEN, CLIENT_SECRET, PASSWORD, VARIABLE_KEY, BODY_PASSWORD]


def sf(path: str, obj) -> SourceFile:
    text = obj if isinstance(obj, str) else json.dumps(obj)
    return SourceFile(path=path, data=text.encode("utf-8"))


def parse(*files: SourceFile, ctx: ImportContext | None = None) -> ImportResult:
    return IMP.parse(list(files), ctx or ImportContext())


def endpoint(result: ImportResult, key: str) -> Endpoint:
    found = [e for e in result.endpoints if e.operation_key == key]
    assert found, f"{key} not in {[e.operation_key for e in result.endpoints]}"
    return found[0]


def dump(result: ImportResult) -> str:
    return json.dumps(dataclasses.asdict(result), default=str, ensure_ascii=False)


def collection_21() -> dict:
    big_body = {"data": [{"id": f"obj_{i:04d}", "note": "x" * 40} for i in range(200)], "has_more": True}
    return {
        "info": {
            "_postman_id": "abc",
            "name": "Acme API",
            "schema": SCHEMA_21,
            "description": {"content": "Acme's **public** API.", "type": "text/markdown"},
        },
        "auth": {"type": "bearer", "bearer": [{"key": "token", "value": TOKEN, "type": "string"}]},
        "variable": [
            {"key": "baseUrl", "value": "https://api.acme.test/v1"},
            {"key": "apiKey", "value": VARIABLE_KEY},
            {"key": "docsUrl", "value": "https://docs.acme.test"},
        ],
        "item": [
            {
                "name": "Widgets",
                "description": "Widgets are things.",
                "item": [
                    {
                        "name": "List widgets",
                        "id": "req-1",
                        "request": {
                            "method": "GET",
                            "description": "Lists widgets.\u0000",
                            "header": [
                                {"key": "Authorization", "value": f"Bearer {HEADER_TOKEN}"},
                                {"key": "Accept", "value": "application/json"},
                                {"key": "X-Request-Id", "value": "<string>", "description": "(Required) A request id."},
                            ],
                            "url": {
                                "raw": "{{baseUrl}}/widgets?limit=10&access_token=" + TOKEN,
                                "host": ["{{baseUrl}}"],
                                "path": ["widgets"],
                                "query": [
                                    {"key": "limit", "value": "<integer>", "description": "(Required) Page size."},
                                    {"key": "starting_after", "value": "<string>", "description": "Cursor.", "disabled": True},
                                    {"key": "access_token", "value": TOKEN},
                                ],
                            },
                        },
                        "response": [
                            {
                                "name": "A page",
                                "code": 200,
                                "status": "OK",
                                "header": [{"key": "Content-Type", "value": "application/json; charset=utf-8"}],
                                "body": json.dumps(big_body),
                            },
                            {
                                "name": "Bad",
                                "code": 400,
                                "status": "Bad Request",
                                "_postman_previewlanguage": "text",
                                "body": "nope",
                            },
                        ],
                    },
                    {
                        "name": "Nested",
                        "auth": {
                            "type": "apikey",
                            "apikey": [
                                {"key": "value", "value": FOLDER_KEY},
                                {"key": "key", "value": "X-Acme-Key"},
                                {"key": "in", "value": "header"},
                            ],
                        },
                        "item": [
                            {
                                "name": "Update widget",
                                "request": {
                                    "method": "patch",
                                    "header": [{"key": "Content-Type", "value": "application/json"}],
                                    "url": {
                                        "raw": "{{baseUrl}}/widgets/:widget_id",
                                        "host": ["{{baseUrl}}"],
                                        "path": ["widgets", ":widget_id"],
                                        "variable": [
                                            {"key": "widget_id", "value": "<string>", "description": "(Required) The widget."}
                                        ],
                                    },
                                    "body": {
                                        "mode": "raw",
                                        "raw": json.dumps(
                                            {
                                                "name": "W",
                                                "size": 3,
                                                "tags": ["a"],
                                                "owner": {"email": "a@b.test", "password": BODY_PASSWORD},
                                                "parts": [{"sku": "p1", "qty": 2}],
                                            }
                                        ),
                                        "options": {"raw": {"language": "json"}},
                                    },
                                },
                                "response": [],
                            },
                            {
                                "name": "Public ping",
                                "request": {
                                    "method": "GET",
                                    "auth": {"type": "noauth"},
                                    "url": {"raw": "{{baseUrl}}/ping", "host": ["{{baseUrl}}"], "path": ["ping"]},
                                },
                            },
                        ],
                    },
                ],
            },
            {
                "name": "Auth",
                "item": [
                    {
                        "name": "Get token",
                        "request": {
                            "method": "POST",
                            "auth": {
                                "type": "oauth2",
                                "oauth2": [
                                    {"key": "grant_type", "value": "client_credentials"},
                                    {"key": "clientSecret", "value": CLIENT_SECRET},
                                    {"key": "accessToken", "value": TOKEN},
                                    {"key": "scope", "value": "widgets:read widgets:write"},
                                    {
                                        "key": "accessTokenUrl",
                                        "value": "https://auth.acme.test/token?client_secret=" + CLIENT_SECRET,
                                    },
                                ],
                            },
                            "url": {
                                "raw": "https://auth.acme.test/oauth/token",
                                "protocol": "https",
                                "host": ["auth", "acme", "test"],
                                "path": ["oauth", "token"],
                            },
                            "body": {
                                "mode": "urlencoded",
                                "urlencoded": [
                                    {
                                        "key": "grant_type",
                                        "value": "client_credentials",
                                        "description": "(Required) Always client_credentials.",
                                    },
                                    {"key": "client_secret", "value": CLIENT_SECRET},
                                    {"key": "scope", "value": "<string>", "disabled": True},
                                ],
                            },
                        },
                    },
                    {
                        "name": "Upload logo",
                        "request": {
                            "method": "POST",
                            "url": {"raw": "{{baseUrl}}/logos", "host": ["{{baseUrl}}"], "path": ["logos"]},
                            "body": {
                                "mode": "formdata",
                                "formdata": [
                                    {
                                        "key": "file",
                                        "type": "file",
                                        "src": "/tmp/logo.png",
                                        "description": "(Required) The image.",
                                    },
                                    {"key": "label", "type": "text", "value": "main"},
                                ],
                            },
                        },
                    },
                ],
            },
        ],
    }


@pytest.fixture(scope="module")
def acme() -> ImportResult:
    return parse(sf("acme.postman_collection.json", collection_21()))


def test_endpoints_keys_tags_and_servers(acme):
    r = acme
    assert [e.operation_key for e in r.endpoints] == [
        "GET /widgets",
        "PATCH /widgets/:widget_id",
        "GET /ping",
        "POST /oauth/token",
        "POST /logos",
    ]
    assert r.title == "Acme API"
    assert r.servers == ["https://api.acme.test/v1", "https://auth.acme.test"]
    listing = endpoint(r, "GET /widgets")
    assert listing.tags == ["Widgets"] and listing.summary == "List widgets" and listing.operation_id == "List widgets"
    assert listing.description == "Lists widgets."  # NUL stripped
    assert listing.servers == ["https://api.acme.test/v1"] and listing.extra["postman_id"] == "req-1"
    assert endpoint(r, "PATCH /widgets/:widget_id").tags == ["Widgets", "Nested"]
    assert endpoint(r, "POST /oauth/token").servers == ["https://auth.acme.test"]
    assert [d.title for d in r.documents] == ["Acme API — overview", "Widgets"]


def test_parameters(acme):
    listing = endpoint(acme, "GET /widgets")
    params = {(p.name, p.location): p for p in listing.parameters}
    assert params[("limit", "query")].required and params[("limit", "query")].type == "integer"
    assert not params[("starting_after", "query")].required
    assert params[("Authorization", "header")].default is None  # the header is listed, its value never
    assert params[("Accept", "header")].default == "application/json"
    assert params[("X-Request-Id", "header")].required and params[("X-Request-Id", "header")].type == "string"
    update = endpoint(acme, "PATCH /widgets/:widget_id")
    assert update.method == "PATCH"
    path_params = [p for p in update.parameters if p.location == "path"]
    assert [(p.name, p.required, p.type) for p in path_params] == [("widget_id", True, "string")]


def test_auth_inheritance_and_no_credentials(acme):
    r = acme
    listing = endpoint(r, "GET /widgets")
    assert [(a.scheme, a.type, a.location, a.parameter) for a in listing.auth] == [
        ("bearer", "bearer", "header", "Authorization")
    ]
    assert listing.extra["auth_from"] == "collection"
    update = endpoint(r, "PATCH /widgets/:widget_id")
    assert [(a.type, a.location, a.parameter) for a in update.auth] == [("api_key", "header", "X-Acme-Key")]
    assert update.extra["auth_from"] == "folder: Widgets/Nested"
    assert endpoint(r, "GET /ping").auth == []
    token = endpoint(r, "POST /oauth/token")
    assert [(a.type, a.flows, a.scopes) for a in token.auth] == [
        ("oauth2", ["clientCredentials"], ["widgets:read", "widgets:write"])
    ]
    assert "https://auth.acme.test/token" in token.auth[0].description
    assert {(a.scheme, a.type) for a in r.auth_schemes} == {("bearer", "bearer"), ("apikey", "api_key"), ("oauth2", "oauth2")}
    text = dump(r)
    for secret in SECRETS:
        assert secret not in text, f"credential value {secret} was copied into the records"


def test_bodies(acme):
    update = endpoint(acme, "PATCH /widgets/:widget_id")
    rb = update.request_body
    assert rb.content_types == ["application/json"]
    fields = {f.name: f.type for f in rb.fields}
    assert fields == {
        "name": "string",
        "size": "integer",
        "tags": "array<string>",
        "owner": "object",
        "owner.email": "string",
        "owner.password": "string",
        "parts": "array<object>",
        "parts[].sku": "string",
        "parts[].qty": "integer",
    }
    request_example = update.examples[0]
    assert request_example.title == "Request" and '"password": "<redacted>"' in request_example.content
    token = endpoint(acme, "POST /oauth/token")
    assert token.request_body.content_types == ["application/x-www-form-urlencoded"]
    assert [(f.name, f.required) for f in token.request_body.fields] == [
        ("grant_type", True),
        ("client_secret", False),
        ("scope", False),
    ]
    assert "client_secret=<redacted>" in token.examples[0].content
    upload = endpoint(acme, "POST /logos")
    assert upload.request_body.content_types == ["multipart/form-data"]
    assert [(f.name, f.type, f.required) for f in upload.request_body.fields] == [
        ("file", "file", True),
        ("label", "string", False),
    ]
    assert endpoint(acme, "GET /ping").request_body is None


def test_saved_responses(acme):
    listing = endpoint(acme, "GET /widgets")
    assert [(x.code, x.description, x.content_types) for x in listing.responses] == [
        ("200", "A page", ["application/json"]),
        ("400", "Bad", []),
    ]
    assert [f.name for f in listing.responses[0].fields] == ["data", "data[].id", "data[].note", "has_more"]
    titles = [e.title for e in listing.examples]
    assert titles == ["Request", "Response 200 OK: A page", "Response 400 Bad Request: Bad"]
    assert "access_token=<redacted>" in listing.examples[0].content and "limit=10" in listing.examples[0].content
    big = listing.examples[1]
    assert big.language == "json" and len(big.content) <= 4100 and big.content.endswith("(truncated)")


def test_v20_collection_shapes():
    coll = {
        "info": {"name": "Old", "schema": SCHEMA_20, "version": {"major": 1, "minor": 2, "patch": 0}},
        "auth": {"type": "basic", "basic": {"username": "someone", "password": PASSWORD}},
        "variable": [{"id": "baseUrl", "value": "https://old.acme.test"}],
        "item": [
            {
                "name": "Things",
                "request": {
                    "method": "GET",
                    "url": "{{baseUrl}}/v1/things?limit=10",
                    "header": "Accept: application/json\nAuthorization: Basic " + PASSWORD,
                    "description": "Old-style request.",
                },
            },
            {"name": "Raw string request", "request": "https://old.acme.test/v1/health"},
        ],
    }
    r = parse(sf("old.json", coll))
    assert [e.operation_key for e in r.endpoints] == ["GET /v1/things", "GET /v1/health"]
    assert r.version == "1.2.0" and r.servers == ["https://old.acme.test"]
    things = r.endpoints[0]
    assert [(a.type, a.scheme) for a in things.auth] == [("basic", "basic")]
    assert {p.name: p.default for p in things.parameters} == {"Accept": "application/json", "Authorization": None}
    assert PASSWORD not in dump(r)


def test_malformed_items_are_skipped():
    coll = {
        "info": {"name": "Broken", "schema": SCHEMA_21},
        "item": [
            "not an item",
            {"name": "Bad method", "request": {"method": 42, "url": {"path": ["x"]}}},
            {"name": "Bad url", "request": {"method": "GET", "url": 7}},
            {"name": "Bad folder", "item": {"not": "a list"}},
            {"name": "Empty"},
            {"name": "Good", "request": {"method": "DELETE", "url": {"path": ["things", ":id"]}}},
        ],
    }
    r = parse(sf("broken.json", coll))
    assert [e.operation_key for e in r.endpoints] == ["DELETE /things/:id"]
    assert [p.name for p in r.endpoints[0].parameters] == ["id"]  # `:id` segment without a declared variable
    wheres = {i.where: i for i in r.issues}
    assert set(wheres) == {"item: #1", "item: Bad method", "item: Bad url", "item: Bad folder", "item: Empty"}
    assert wheres["item: Empty"].severity == "warning"


@pytest.mark.parametrize(
    "text,needle",
    [
        ('{"info": {"name": "x", "schema": "' + SCHEMA_21 + '"}, "item": [,]}', "line 1, column"),
        ('{"info": {"name": "x"}, "requests": [], "order": []}', "v1"),
        (
            '{"info": {"name": "x", "schema": "https://schema.getpostman.com/json/collection/v1.0.0/collection.json"}, "item": []}',
            "v1",
        ),
        ('{"info": {"name": "x", "schema": "' + SCHEMA_21 + '"}}', "item"),
        ("[1, 2]", "not a Postman collection"),
    ],
)
def test_invalid_collections_raise(text, needle):
    with pytest.raises(ImportError_) as exc:
        parse(sf("c.json", text))
    assert needle in exc.value.reason


def test_detect():
    assert IMP.detect([sf("acme.json", collection_21())]) >= 0.95
    assert IMP.detect([sf("x.json", {"openapi": "3.0.0", "info": {}, "paths": {}})]) == 0.0
    assert IMP.detect([sf("x.yaml", "openapi: 3.0.0\n")]) == 0.0


def test_max_endpoints():
    coll = {
        "info": {"name": "n", "schema": SCHEMA_21},
        "item": [{"name": f"r{i}", "request": {"method": "GET", "url": {"path": [f"r{i}"]}}} for i in range(8)],
    }
    r = parse(sf("c.json", coll), ctx=ImportContext(max_endpoints=3))
    assert len(r.endpoints) == 3 and any("limit" in i.reason for i in r.issues)


# ---------------------------------------------------------------------------------------------------
# The corpus: shared/corpora/postman

from corpus_helpers import CORPORA, cached_parser, eval_validator  # noqa: E402

POSTMAN_DIR = CORPORA / "postman"
EXPECTED = {"stripe-api-collection.json": (457, 456), "box-platform-api-collection.json": (228, 219)}  # (requests, distinct keys)
needs_corpus = pytest.mark.skipif(
    not POSTMAN_DIR.is_dir(), reason=f"corpus folder {POSTMAN_DIR} is absent (shared/ not checked out beside the repo)"
)


@pytest.fixture(scope="module")
def corpus():
    return cached_parser(POSTMAN_DIR, IMP)


@needs_corpus
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_counts_and_keys(corpus, name):
    data = (POSTMAN_DIR / name).read_bytes()
    assert IMP.detect([SourceFile(path=name, data=data)]) >= 0.95
    r = corpus(name)
    requests, distinct = EXPECTED[name]
    assert len(r.endpoints) == requests
    assert len({e.operation_key for e in r.endpoints}) == distinct
    assert r.issues == []
    for e in r.endpoints:
        assert e.operation_key == f"{e.method} {e.path}"
        assert all(len(x.content) <= 4100 for x in e.examples)
        for p in e.parameters:
            if p.name.lower() == "authorization":
                assert p.default is None
    assert corpus.timings[name][1] < 10
    module = eval_validator()
    if module is not None:
        ops = module.postman_ops(str(POSTMAN_DIR / name))
        mine: dict[str, set] = {}
        for e in r.endpoints:
            mine.setdefault(e.operation_key, set()).add(e.operation_id)
        assert mine == {k: set(v) for k, v in ops.items()}


@needs_corpus
def test_corpus_stripe_spot_checks(corpus):
    r = corpus("stripe-api-collection.json")
    assert r.title == "Stripe API" and "https://api.stripe.com/" in r.servers
    assert [(a.scheme, a.type) for a in r.auth_schemes] == [("bearer", "bearer")]
    create = endpoint(r, "POST /v1/customers")
    assert create.tags == ["Customers"] and create.auth[0].type == "bearer"
    assert create.request_body.content_types == ["application/x-www-form-urlencoded"]
    assert {"email", "description", "address[city]"} <= {f.name for f in create.request_body.fields}
    subs = endpoint(r, "GET /v1/subscriptions")
    assert "status" in {p.name for p in subs.parameters if p.location == "query"}
    assert subs.request_body is None
    update = endpoint(r, "POST /v1/customers/:customer")
    assert [p.name for p in update.parameters if p.location == "path"] == ["customer"]
    assert "<Bearer Token>" not in dump(r)  # the collection's token value is never copied


@needs_corpus
def test_corpus_box_spot_checks(corpus):
    r = corpus("box-platform-api-collection.json")
    assert r.title == "Box Platform API" and "https://api.box.com/2.0" in r.servers
    assert [(a.scheme, a.type) for a in r.auth_schemes] == [("oauth2", "oauth2")]
    sign = endpoint(r, "POST /sign_requests")
    assert sign.tags == ["Box Sign"] and sign.request_body.content_types == ["application/json"]
    assert "signers[].email" in {f.name for f in sign.request_body.fields}
    assert sign.responses[0].code == "201" and "signers" in {f.name for f in sign.responses[0].fields}
    authorize = endpoint(r, "GET /api/oauth2/authorize")
    assert authorize.servers == ["https://account.box.com"]
    assert {p.name for p in authorize.parameters if p.required} >= {"response_type", "client_id"}
    refresh = [e for e in r.endpoints if e.extra.get("url_hash") == "refresh"]
    assert refresh and refresh[0].operation_key == "POST /oauth2/token"
