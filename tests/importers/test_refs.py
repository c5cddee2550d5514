"""The `$ref` resolver shared by the OpenAPI and AsyncAPI importers (woes.importers.refs): local pointers,
files of the source, remote documents only through the safe fetcher, and the limits, for both importers."""

from __future__ import annotations

import json
import socket

import pytest

from woes.core.safefetch import SafeFetcher
from woes.importers.asyncapi import AsyncAPIImporter
from woes.importers.base import ImportContext, ImportIssue, SourceFile
from woes.importers.openapi import OpenAPIImporter
from woes.importers.refs import (
    MAX_REF_HOPS,
    MAX_REMOTE_DOCUMENT_BYTES,
    MAX_REMOTE_DOCUMENTS,
    RefFailure,
    RefResolver,
    document_key,
)
from woes.importers.schema_fields import RefError


def sf(path: str, text: str) -> SourceFile:
    return SourceFile(path=path, data=text.encode("utf-8"))


def resolver(*files: SourceFile, fetch=None, documents=None) -> tuple[RefResolver, list[ImportIssue]]:
    issues: list[ImportIssue] = []
    return RefResolver(list(files), ImportContext(fetch=fetch), issues, documents=documents), issues


@pytest.fixture
def no_network(monkeypatch):
    """Any outbound connection attempt fails the test."""
    attempts: list[object] = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise AssertionError(f"network access attempted: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    return attempts


def chain(n: int) -> dict:
    """A document whose `#/s/0` starts a chain of n references ending at a string schema."""
    s = {str(i): {"$ref": f"#/s/{i + 1}"} for i in range(n)}
    s[str(n)] = {"type": "string"}
    return {"s": s}


# ---------------------------------------------------------------------------------------------------
# the resolver


def test_local_file_and_yaml_int_key_refs_resolve():
    main = {"components": {"schemas": {"Pet": {"$ref": "schemas/pet.yaml#/Pet"}}}}
    pet = "Pet:\n  type: object\n  properties:\n    owner: {$ref: '../people/owner.yaml#/Owner'}\nresponses:\n  200: {description: ok}\n"
    owner = "Owner: {type: string}\n"
    r, issues = resolver(
        sf("api/schemas/pet.yaml", pet), sf("./api/people/owner.yaml", owner), documents={"api/openapi.json": main}
    )
    node, base, ref_id = r.deref({"$ref": "#/components/schemas/Pet"}, "api/openapi.json")
    assert node["type"] == "object" and base == "api/schemas/pet.yaml" and ref_id == "api/schemas/pet.yaml#/Pet"
    owner_node, owner_base, _ = r.deref(node["properties"]["owner"], base)  # relative to pet.yaml, not the root
    assert owner_node == {"type": "string"} and owner_base == "api/people/owner.yaml"
    assert r.deref({"$ref": "pet.yaml#/responses/200"}, base)[0] == {"description": "ok"}  # `200:` is an int key
    plain = {"type": "integer"}
    assert r.deref(plain, "api/openapi.json") == (plain, "api/openapi.json", None)
    assert issues == []
    assert document_key("./a\\b/../c.yaml") == "a/c.yaml" and document_key("/x.json") == "x.json"


def test_chain_at_the_limit_resolves_and_one_more_hop_fails():
    r, _ = resolver(documents={"d.json": chain(MAX_REF_HOPS)})
    assert r.deref({"$ref": "#/s/1"}, "d.json")[0] == {"type": "string"}  # 32 hops
    r, _ = resolver(documents={"d.json": chain(MAX_REF_HOPS + 1)})
    with pytest.raises(RefFailure) as info:
        r.deref({"$ref": "#/s/0"}, "d.json")
    assert info.value.kind == "too_long" and "too long" in info.value.reason
    assert isinstance(info.value, RefError)  # what the schema flattener catches


def test_cycle_is_detected():
    doc = {"A": {"$ref": "#/B"}, "B": {"$ref": "other.json#/C"}}
    other = json.dumps({"C": {"$ref": "d.json#/A"}})
    r, _ = resolver(sf("other.json", other), documents={"d.json": doc})
    with pytest.raises(RefFailure) as info:
        r.deref({"$ref": "#/A"}, "d.json")
    assert info.value.kind == "cycle" and "circular" in info.value.reason and info.value.ref_id == "d.json#/A"


@pytest.mark.parametrize(
    "ref,kind,needle",
    [
        ("#/components/schemas/Nope", "missing", "'#/components/schemas/Nope' not found in d.json"),
        ("#/list/5", "missing", "not found"),
        ("#/list/-1", "missing", "not found"),  # never from the end of a list
        ("#/text/0", "missing", "not found"),  # never into a string
        ("#Anchor", "not_a_pointer", "anchors are not supported"),
        ("missing.yaml#/X", "document", "not part of this source"),
        ("../outside.yaml#/X", "refused", "outside the source"),
        ("/etc/passwd#/x", "refused", "absolute file paths"),
        ("file:///etc/passwd#/x", "refused", "only http(s)"),
        ("//evil.example/x.json", "refused", "network-path"),
    ],
)
def test_unresolvable_refs_fail_with_a_reason(no_network, ref, kind, needle):
    r, issues = resolver(documents={"d.json": {"components": {"schemas": {}}, "list": [1], "text": "abc"}})
    with pytest.raises(RefFailure) as info:
        r.deref({"$ref": ref}, "d.json")
    assert info.value.kind == kind and needle in info.value.reason and not info.value.remote
    assert issues == []  # local failures are the caller's to report, where it met them
    assert no_network == []


def test_unparsable_file_fails_once_and_is_remembered():
    r, _ = resolver(sf("bad.json", "{not json"), documents={"d.json": {}})
    for _ in range(2):
        with pytest.raises(RefFailure) as info:
            r.deref({"$ref": "bad.json#/X"}, "d.json")
        assert info.value.kind == "document" and info.value.document == "bad.json" and "invalid JSON" in info.value.reason


def test_remote_documents_go_through_the_fetcher_once_each():
    calls: list[str] = []
    docs = {
        "https://x.example/a.json": {"A": {"$ref": "sub/b.json#/B"}},
        "https://x.example/sub/b.json": {"B": {"type": "string"}},
    }

    def fetch(url: str) -> bytes:
        calls.append(url)
        return json.dumps(docs[url]).encode()

    r, issues = resolver(fetch=fetch, documents={"d.json": {}})
    for _ in range(3):
        node, base, ref_id = r.deref({"$ref": "https://x.example/a.json#/A"}, "d.json")
    assert node == {"type": "string"} and base == "https://x.example/sub/b.json" and ref_id == f"{base}#/B"
    assert calls == ["https://x.example/a.json", "https://x.example/sub/b.json"] and issues == []
    assert "https://x.example/sub/b.json" in r.registry  # held by the referencing registry


def test_remote_ref_without_a_fetcher_is_refused_and_reported_once(no_network):
    r, issues = resolver(documents={"d.json": {}})
    for _ in range(3):
        with pytest.raises(RefFailure) as info:
            r.deref({"$ref": "https://x.example/a.json#/A"}, "d.json")
        assert info.value.remote and "refused" in info.value.reason
    assert [(i.where, i.severity) for i in issues] == [("https://x.example/a.json", "warning")]


@pytest.mark.parametrize(
    "url,needle",
    [
        ("http://127.0.0.1:9/schemas.json", "loopback"),
        ("http://169.254.169.254/latest/meta-data", "metadata"),
        ("http://[::ffff:127.0.0.1]/x.json", "IPv4-mapped"),
    ],
)
def test_safe_fetcher_refuses_internal_addresses(no_network, url, needle):
    with SafeFetcher() as fetcher:
        r, issues = resolver(fetch=fetcher.fetch_bytes, documents={"d.json": {}})
        with pytest.raises(RefFailure) as info:
            r.deref({"$ref": f"{url}#/X"}, "d.json")
    assert info.value.remote and needle in info.value.reason and "could not be fetched" in info.value.reason
    assert len(issues) == 1 and issues[0].where == url
    assert no_network == []  # refused before any connection


def test_file_url_never_reaches_the_fetcher(no_network):
    calls: list[str] = []

    def fetch(url: str) -> bytes:
        calls.append(url)
        return b"{}"

    r, _ = resolver(fetch=fetch, documents={"d.json": {}})
    with pytest.raises(RefFailure, match="only http"):
        r.deref({"$ref": "file:///etc/passwd"}, "d.json")
    assert calls == []


def test_remote_document_count_and_size_limits():
    calls: list[str] = []

    def fetch(url: str) -> bytes:
        calls.append(url)
        if "big" in url:
            return b" " * (MAX_REMOTE_DOCUMENT_BYTES + 1)
        return b'{"X": {"type": "string"}}'

    r, issues = resolver(fetch=fetch, documents={"d.json": {}})
    with pytest.raises(RefFailure, match="larger than"):
        r.deref({"$ref": "https://x.example/big.json#/X"}, "d.json")
    for i in range(MAX_REMOTE_DOCUMENTS - 1):
        r.deref({"$ref": f"https://x.example/{i}.json#/X"}, "d.json")
    with pytest.raises(RefFailure, match=f"more than {MAX_REMOTE_DOCUMENTS} remote documents"):
        r.deref({"$ref": "https://x.example/one-too-many.json#/X"}, "d.json")
    assert len(calls) == MAX_REMOTE_DOCUMENTS  # the refused one was never fetched
    assert len(issues) == 2


def test_deref_or_report_returns_none_and_reports():
    r, issues = resolver(documents={"d.json": {"A": {"$ref": "#/A"}}})
    assert r.deref_or_report({"$ref": "#/Nope"}, "d.json", "here") == (None, "d.json", "d.json#/Nope")
    assert r.deref_or_report({"$ref": "#/A"}, "d.json", "there")[0] is None
    r.deref_or_report({"$ref": "gone.json#/X"}, "d.json", "a")
    r.deref_or_report({"$ref": "gone.json#/Y"}, "d.json", "b")  # the document is reported once
    assert [(i.where, i.severity) for i in issues] == [("here", "error"), ("there", "warning"), ("gone.json", "error")]


# ---------------------------------------------------------------------------------------------------
# both importers use it, with the same limits


def asyncapi_doc(payloads: dict[str, dict]) -> str:
    return json.dumps(
        {
            "asyncapi": "2.6.0",
            "info": {"title": "t", "version": "1"},
            "channels": {name: {"subscribe": {"message": {"payload": p}}} for name, p in payloads.items()},
        }
    )


def payload_fields(result, key: str) -> list[str]:
    ep = next(e for e in result.endpoints if e.operation_key == key)
    return [f.name for f in ep.responses[0].fields] if ep.responses else []


def test_asyncapi_refuses_refs_outside_the_source_and_absolute_paths(no_network):
    doc = asyncapi_doc(
        {
            "out": {"$ref": "../../secret.yaml#/X"},
            "abs": {"$ref": "/etc/passwd#/X"},
            "file": {"$ref": "file:///etc/passwd#/X"},
            "ok": {"$ref": "schemas/order.json#/Order"},
        }
    )
    order = json.dumps({"Order": {"type": "object", "properties": {"id": {"type": "string"}}}})
    r = AsyncAPIImporter().parse([sf("specs/a.json", doc), sf("specs/schemas/order.json", order)], ImportContext())
    assert payload_fields(r, "SUBSCRIBE ok") == ["id"]
    reasons = [i.reason for i in r.issues]
    assert any("outside the source" in x for x in reasons)
    assert any("absolute file paths" in x for x in reasons)
    assert any("only http(s)" in x for x in reasons)
    assert len(r.endpoints) == 4 and no_network == []


def test_asyncapi_remote_refs_go_through_the_safe_fetcher(no_network):
    doc = asyncapi_doc({"c": {"$ref": "http://127.0.0.1:8080/order.json#/Order"}})
    with SafeFetcher() as fetcher:
        r = AsyncAPIImporter().parse([sf("a.json", doc)], ImportContext(fetch=fetcher.fetch_bytes))
    assert [e.operation_key for e in r.endpoints] == ["SUBSCRIBE c"]
    assert [(i.where, i.severity) for i in r.issues] == [("http://127.0.0.1:8080/order.json", "warning")]
    assert "loopback" in r.issues[0].reason and no_network == []


def test_asyncapi_and_openapi_share_the_remote_document_limit():
    n = MAX_REMOTE_DOCUMENTS + 3
    calls: list[str] = []

    def fetch(url: str) -> bytes:
        calls.append(url)
        return json.dumps({"X": {"type": "object", "properties": {"v": {"type": "string"}}}}).encode()

    refs = {f"c{i}": {"$ref": f"https://x.example/{i}.json#/X"} for i in range(n)}
    r = AsyncAPIImporter().parse([sf("a.json", asyncapi_doc(refs))], ImportContext(fetch=fetch))
    assert len(calls) == MAX_REMOTE_DOCUMENTS and len(r.endpoints) == n
    assert payload_fields(r, "SUBSCRIBE c0") == ["v"] and payload_fields(r, f"SUBSCRIBE c{n - 1}") == []
    assert sum(f"more than {MAX_REMOTE_DOCUMENTS} remote documents" in i.reason for i in r.issues) == 3

    calls.clear()
    spec = {
        "openapi": "3.0.0",
        "info": {"title": "t", "version": "1"},
        "paths": {
            f"/p{i}": {
                "get": {
                    "responses": {
                        "200": {
                            "description": "ok",
                            "content": {"application/json": {"schema": {"$ref": f"https://x.example/{i}.json#/X"}}},
                        }
                    }
                }
            }
            for i in range(n)
        },
    }
    r = OpenAPIImporter().parse([sf("o.json", json.dumps(spec))], ImportContext(fetch=fetch))
    assert len(calls) == MAX_REMOTE_DOCUMENTS and len(r.endpoints) == n
    assert sum(f"more than {MAX_REMOTE_DOCUMENTS} remote documents" in i.reason for i in r.issues) == 3


def test_asyncapi_enforces_the_chain_limit_and_reports_missing_pointers():
    doc = json.loads(asyncapi_doc({"deep": {"$ref": "#/components/schemas/s0"}, "gone": {"$ref": "#/components/schemas/nope"}}))
    schemas = {f"s{i}": {"$ref": f"#/components/schemas/s{i + 1}"} for i in range(MAX_REF_HOPS + 1)}
    schemas[f"s{MAX_REF_HOPS + 1}"] = {"type": "object", "properties": {"v": {"type": "string"}}}
    doc["components"] = {"schemas": schemas}
    r = AsyncAPIImporter().parse([sf("a.json", json.dumps(doc))], ImportContext())
    assert payload_fields(r, "SUBSCRIBE deep") == [] and payload_fields(r, "SUBSCRIBE gone") == []
    assert any("too long" in i.reason and i.severity == "warning" for i in r.issues)
    assert any("'#/components/schemas/nope' not found" in i.reason and i.severity == "error" for i in r.issues)
