"""OpenAPI importer: Swagger 2.0, OpenAPI 3.0 (YAML, cross-file refs), 3.1, recursion, remote refs,
malformed input, security, and every corpus file in shared/corpora/openapi (exact operation counts)."""

from __future__ import annotations

import dataclasses
import json
import socket
import textwrap
import time

import pytest

from woes.importers.base import Endpoint, ImportContext, ImportError_, ImportResult, SourceFile
from woes.importers.openapi import OpenAPIImporter
from woes.importers.schema_fields import gc_paused

IMP = OpenAPIImporter()


def sf(path: str, text: str) -> SourceFile:
    return SourceFile(path=path, data=text.encode("utf-8"))


def parse(*files: SourceFile, ctx: ImportContext | None = None) -> ImportResult:
    return IMP.parse(list(files), ctx or ImportContext())


def endpoint(result: ImportResult, key: str) -> Endpoint:
    found = [e for e in result.endpoints if e.operation_key == key]
    assert found, f"{key} not in {[e.operation_key for e in result.endpoints]}"
    return found[0]


def field_names(fields) -> list[str]:
    return [f.name for f in fields]


def dump(result: ImportResult) -> str:
    return json.dumps(dataclasses.asdict(result), default=str)


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


# ---------------------------------------------------------------------------------------------------
# Swagger 2.0

SWAGGER2 = {
    "swagger": "2.0",
    "info": {"title": "Shop", "version": "2.1"},
    "host": "api.shop.test",
    "basePath": "/v1",
    "schemes": ["https"],
    "consumes": ["application/json"],
    "produces": ["application/json"],
    "securityDefinitions": {
        "key": {"type": "apiKey", "in": "header", "name": "X-Shop-Key"},
        "oauth": {
            "type": "oauth2",
            "flow": "accessCode",
            "authorizationUrl": "https://auth.shop.test/authorize",
            "tokenUrl": "https://auth.shop.test/token",
            "scopes": {"orders:read": "read orders", "orders:write": "write orders"},
        },
    },
    "security": [{"key": []}],
    "parameters": {"Limit": {"name": "limit", "in": "query", "type": "integer", "default": 10, "description": "Page size."}},
    "definitions": {
        "Order": {
            "type": "object",
            "required": ["items"],
            "properties": {
                "id": {"type": "string", "readOnly": True},
                "metadata": {"type": "object", "additionalProperties": {"type": "string"}},
                "items": {"type": "array", "items": {"$ref": "#/definitions/Item"}},
                "status": {"type": "string", "enum": ["open", "paid"], "x-nullable": True},
            },
        },
        "Item": {
            "type": "object",
            "required": ["price"],
            "properties": {"price": {"type": "string"}, "quantity": {"type": "integer", "default": 1}},
        },
    },
    "paths": {
        "/orders": {
            "parameters": [{"$ref": "#/parameters/Limit"}],
            "get": {
                "operationId": "listOrders",
                "summary": "List orders",
                "tags": ["orders"],
                "parameters": [
                    {
                        "name": "status",
                        "in": "query",
                        "type": "array",
                        "items": {"type": "string", "enum": ["open", "paid"]},
                        "collectionFormat": "multi",
                    },
                    {"name": "expand", "in": "query", "type": "array", "items": {"type": "string"}},
                ],
                "responses": {
                    "200": {
                        "description": "OK",
                        "schema": {"type": "array", "items": {"$ref": "#/definitions/Order"}},
                        "examples": {"application/json": [{"id": "ord_1", "items": []}]},
                    }
                },
            },
            "post": {
                "operationId": "createOrder",
                "security": [{"oauth": ["orders:write"]}],
                "parameters": [{"name": "body", "in": "body", "required": True, "schema": {"$ref": "#/definitions/Order"}}],
                "responses": {"201": {"description": "Created", "schema": {"$ref": "#/definitions/Order"}}},
                "x-code-samples": [{"lang": "curl", "source": "curl -X POST https://api.shop.test/v1/orders"}],
            },
        },
        "/orders/{id}/receipt": {
            "post": {
                "operationId": "uploadReceipt",
                "schemes": ["http"],
                "security": [],
                "consumes": ["multipart/form-data"],
                "parameters": [
                    {"name": "id", "in": "path", "required": True, "type": "string"},
                    {"name": "file", "in": "formData", "type": "file", "required": True, "description": "The receipt."},
                    {"name": "note", "in": "formData", "type": "string"},
                ],
                "responses": {"204": {"description": "Stored"}},
            }
        },
    },
}


def test_swagger2_operations_params_bodies_servers_auth():
    r = parse(sf("swagger.json", json.dumps(SWAGGER2)))
    assert [e.operation_key for e in r.endpoints] == ["GET /orders", "POST /orders", "POST /orders/{id}/receipt"]
    assert (r.title, r.version) == ("Shop", "2.1")
    assert r.servers == ["https://api.shop.test/v1"]
    assert {a.scheme: a.type for a in r.auth_schemes} == {"key": "api_key", "oauth": "oauth2"}
    oauth = next(a for a in r.auth_schemes if a.scheme == "oauth")
    assert oauth.flows == ["authorizationCode"] and oauth.scopes == ["orders:read", "orders:write"]

    get = endpoint(r, "GET /orders")
    params = {p.name: p for p in get.parameters}
    assert params["limit"].location == "query" and params["limit"].type == "integer" and params["limit"].default == 10
    assert params["status"].type.startswith("array<string>") and params["status"].enum == ["open", "paid"]
    assert params["expand"].type == "array<string>"
    assert get.auth[0].type == "api_key" and get.auth[0].parameter == "X-Shop-Key" and get.auth[0].location == "header"
    resp = get.responses[0]
    assert resp.code == "200" and resp.content_types == ["application/json"]
    assert "[].items[].price" in field_names(resp.fields)
    assert any(ex.title.startswith("Response 200") and "ord_1" in ex.content for ex in get.examples)

    post = endpoint(r, "POST /orders")
    rb = post.request_body
    assert rb.content_types == ["application/json"] and rb.required
    names = field_names(rb.fields)
    assert "id" not in names  # readOnly is not part of a request
    assert names[:2] == ["metadata", "items"]
    by_name = {f.name: f for f in rb.fields}
    assert by_name["items"].required and by_name["items[].price"].required and not by_name["items[].quantity"].required
    assert by_name["items[].quantity"].default == 1
    assert by_name["metadata"].type == "map<string>"
    assert by_name["status"].type == "string | null" and by_name["status"].enum == ["open", "paid"]
    assert [(a.scheme, a.scopes) for a in post.auth] == [("oauth", ["orders:write"])]
    assert post.examples[-1].language == "curl" and "curl -X POST" in post.examples[-1].content

    upload = endpoint(r, "POST /orders/{id}/receipt")
    assert upload.auth == [] and upload.extra["security"] == []
    assert upload.servers == ["http://api.shop.test/v1"]
    assert upload.request_body.content_types == ["multipart/form-data"]
    assert [(f.name, f.type, f.required) for f in upload.request_body.fields] == [
        ("file", "file", True),
        ("note", "string", False),
    ]
    assert [p.name for p in upload.parameters] == ["id"] and upload.parameters[0].required


# ---------------------------------------------------------------------------------------------------
# OpenAPI 3.0, YAML, several files

MAIN_YAML = textwrap.dedent(
    """\
    openapi: 3.0.3
    info:
      title: Pets
      version: 2023-08-16
      description: The pet API.
    servers:
      - url: https://api.pets.test/v2
    tags:
      - name: pets
        description: Everything about pets.
    security:
      - bearer: []
    components:
      securitySchemes:
        bearer: {type: http, scheme: bearer, bearerFormat: JWT}
        basic: {type: http, scheme: basic}
        key: {type: apiKey, in: query, name: api_key}
        oauth:
          type: oauth2
          flows:
            clientCredentials:
              tokenUrl: https://auth.pets.test/token
              scopes: {pets:read: read, pets:write: write}
        oidc: {type: openIdConnect, openIdConnectUrl: https://auth.pets.test/.well-known/openid-configuration}
      parameters:
        Limit: {name: limit, in: query, schema: {type: integer, default: 20}, description: How many.}
      examples:
        Rex: {summary: A dog, value: {name: Rex, tag: {name: dog}}}
      schemas:
        a/b: {type: string, description: escaped pointer}
    paths:
      /pets:
        servers:
          - url: https://pets-eu.pets.test/v2
        parameters:
          - $ref: '#/components/parameters/Limit'
          - {name: X-Trace, in: header, schema: {type: string}}
        get:
          operationId: listPets
          tags: [pets]
          parameters:
            - {name: limit, in: query, description: Overridden limit., schema: {type: integer, maximum: 50}}
            - {name: mood, in: query, schema: {type: string, enum: [on, off, yes, no]}}
            - {name: odd, in: query, schema: {$ref: '#/components/schemas/a~1b'}}
          responses:
            200:
              description: A page of pets.
              content:
                application/json:
                  schema:
                    type: array
                    items: {$ref: 'schemas/pet.yaml#/Pet'}
                  example: [{id: 1, name: Rex}]
            default:
              description: Error
        post:
          operationId: createPet
          security:
            - oauth: [pets:write]
            - key: []
          servers:
            - url: https://write.pets.test
          requestBody:
            required: true
            content:
              application/json:
                schema: {$ref: './schemas/pet.yaml#/Pet'}
                examples:
                  rex: {$ref: '#/components/examples/Rex'}
          responses:
            '201': {description: Created}
      /pets/{id}:
        get:
          operationId: getPet
          security: []
          parameters:
            - {name: id, in: path, required: true, schema: {type: string}}
          responses:
            '200':
              description: One pet.
              content:
                application/json:
                  schema: {$ref: 'schemas/pet.yaml#/Pet'}
                application/xml:
                  schema: {$ref: 'schemas/pet.yaml#/Pet'}
        delete:
          operationId: deletePet
          security: [{basic: []}, {oidc: []}]
          responses:
            '204': {description: Deleted}
    """
)

PET_YAML = textwrap.dedent(
    """\
    Pet:
      type: object
      required: [name]
      properties:
        id: {type: integer, format: int64, readOnly: true}
        name: {type: string, description: The pet's name.}
        tag: {$ref: '#/Tag'}
        owner: {$ref: 'owner.yaml#/Owner'}
        secret: {$ref: '../../../outside.yaml#/X'}
    Tag:
      type: object
      properties:
        name: {type: string}
    """
)

OWNER_YAML = textwrap.dedent(
    """\
    Owner:
      type: object
      properties:
        email: {type: string, format: email}
    """
)


@pytest.fixture(scope="module")
def pets() -> ImportResult:
    return parse(
        sf("api/openapi.yaml", MAIN_YAML),
        sf("api/schemas/pet.yaml", PET_YAML),
        sf("api/schemas/owner.yaml", OWNER_YAML),
        sf("README.md", "# not a spec"),
    )


def test_v3_yaml_cross_file_refs_and_quirks(pets):
    r = pets
    assert [e.operation_key for e in r.endpoints] == ["GET /pets", "POST /pets", "GET /pets/{id}", "DELETE /pets/{id}"]
    assert r.version == "2023-08-16"  # an unquoted YAML date stays a string
    listing = endpoint(r, "GET /pets")
    assert [x.code for x in listing.responses] == ["200", "default"]  # int key 200 -> "200"
    fields = {f.name: f for f in listing.responses[0].fields}
    assert fields["[].owner.email"].type == "string (email)"  # ref in pet.yaml to owner.yaml, relative to pet.yaml
    assert fields["[].tag.name"].type == "string"  # '#/Tag' resolved inside pet.yaml
    assert fields["[].name"].required and fields["[].name"].description == "The pet's name."
    assert fields["[].id"].type == "integer"
    params = {(p.name, p.location): p for p in listing.parameters}
    assert params[("limit", "query")].description == "Overridden limit."  # operation overrides path level
    assert ("X-Trace", "header") in params
    assert params[("mood", "query")].enum == ["on", "off", "yes", "no"]  # not YAML 1.1 booleans
    assert params[("odd", "query")].type == "string"  # ~1 escape in the pointer
    assert listing.servers == ["https://pets-eu.pets.test/v2"]  # path-level servers
    assert listing.tags == ["pets"]
    assert any('"Rex"' in ex.content and ex.language == "json" for ex in listing.examples)


def test_v3_request_body_examples_servers_and_outside_ref(pets):
    r = pets
    create = endpoint(r, "POST /pets")
    assert create.servers == ["https://write.pets.test"]  # operation-level servers win
    rb = create.request_body
    assert rb.required and rb.content_types == ["application/json"]
    assert field_names(rb.fields)[:2] == ["name", "tag"] and "id" not in field_names(rb.fields)
    secret = next(f for f in rb.fields if f.name == "secret")
    assert secret.type is None  # a ref leaving the source is not followed
    assert any("outside the source" in i.reason and i.severity == "warning" for i in r.issues)
    ex = next(e for e in create.examples if "rex" in e.title)
    assert json.loads(ex.content) == {"name": "Rex", "tag": {"name": "dog"}} and "A dog" in ex.title
    one = endpoint(r, "GET /pets/{id}")
    assert one.responses[0].content_types == ["application/json", "application/xml"]
    assert one.servers == ["https://api.pets.test/v2"]


def test_v3_security_inheritance_and_override(pets):
    r = pets
    inherited = endpoint(r, "GET /pets")
    assert [(a.scheme, a.type, a.location, a.parameter) for a in inherited.auth] == [
        ("bearer", "bearer", "header", "Authorization")
    ]
    assert "JWT" in inherited.auth[0].description
    create = endpoint(r, "POST /pets")
    assert [(a.scheme, a.type, a.scopes) for a in create.auth] == [("oauth", "oauth2", ["pets:write"]), ("key", "api_key", [])]
    assert create.auth[0].flows == ["clientCredentials"] and "https://auth.pets.test/token" in create.auth[0].description
    assert create.auth[1].location == "query" and create.auth[1].parameter == "api_key"
    assert create.extra["security"] == [["oauth"], ["key"]]
    assert endpoint(r, "GET /pets/{id}").auth == []  # explicit `security: []`
    assert endpoint(r, "GET /pets/{id}").extra["security"] == []
    delete = endpoint(r, "DELETE /pets/{id}")
    assert [(a.scheme, a.type) for a in delete.auth] == [("basic", "basic"), ("oidc", "openid_connect")]
    declared = {a.scheme: a for a in r.auth_schemes}
    assert set(declared) == {"bearer", "basic", "key", "oauth", "oidc"}
    assert declared["oauth"].scopes == ["pets:read", "pets:write"]


def test_overview_document(pets):
    doc = pets.documents[0]
    assert "The pet API." in doc.markdown and "Everything about pets." in doc.markdown


# ---------------------------------------------------------------------------------------------------
# OpenAPI 3.1 JSON

SPEC_31 = {
    "openapi": "3.1.0",
    "info": {"title": "Notes", "version": "1"},
    "webhooks": {"noteCreated": {"post": {"responses": {"200": {"description": "ok"}}}}},
    "components": {
        "schemas": {
            "Note": {
                "type": "object",
                "required": ["id"],
                "properties": {
                    "id": {"type": "string"},
                    "title": {"type": ["string", "null"], "description": "May be null."},
                    "kind": {"const": "note"},
                    "tags": {"type": "array", "items": {"type": "string", "enum": ["a", "b"]}},
                    "author": {"$ref": "#/components/schemas/Author", "description": "Who wrote it."},
                    "body": {"description": "Nul\u0000 bytes are dropped.", "type": "string"},
                },
            },
            "Author": {"type": "object", "properties": {"name": {"type": "string"}}},
        }
    },
    "paths": {
        "/notes/{id}": {
            "get": {
                "operationId": "getNote",
                "description": "Returns a note.\u0000",
                "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": ["string", "null"]}}],
                "responses": {
                    "200": {
                        "description": "ok",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Note"}}},
                    }
                },
            }
        }
    },
}


def test_v31_type_lists_const_and_nul_bytes():
    r = parse(sf("openapi.json", json.dumps(SPEC_31)))
    assert [e.operation_key for e in r.endpoints] == ["GET /notes/{id}"]  # webhooks are not paths
    ep = r.endpoints[0]
    assert ep.description == "Returns a note."
    assert ep.parameters[0].type == "string | null"
    fields = {f.name: f for f in ep.responses[0].fields}
    assert fields["title"].type == "string | null"
    assert fields["kind"].enum == ["note"] and fields["kind"].type == "string"
    assert fields["tags"].type == "array<string>" and fields["tags"].enum == ["a", "b"]
    assert fields["author"].description == "Who wrote it." and fields["author.name"].type == "string"
    assert fields["body"].description == "Nul bytes are dropped."
    assert "\\u0000" not in dump(r)


# ---------------------------------------------------------------------------------------------------
# Recursion, depth and size caps


def _spec_with(schemas: dict, root: str) -> str:
    return json.dumps(
        {
            "openapi": "3.0.0",
            "info": {"title": "t", "version": "1"},
            "components": {"schemas": schemas},
            "paths": {
                "/x": {
                    "post": {
                        "requestBody": {"content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{root}"}}}},
                        "responses": {
                            "200": {
                                "description": "ok",
                                "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{root}"}}},
                            }
                        },
                    }
                }
            },
        }
    )


def test_recursive_schemas_terminate():
    schemas = {
        "Node": {
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "children": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}},
                "parent": {"$ref": "#/components/schemas/Node"},
                "peer": {"$ref": "#/components/schemas/Peer"},
                "self_alias": {"$ref": "#/components/schemas/Alias"},
            },
        },
        "Peer": {"type": "object", "properties": {"back": {"$ref": "#/components/schemas/Node"}, "label": {"type": "string"}}},
        "Alias": {"$ref": "#/components/schemas/Alias2"},
        "Alias2": {"$ref": "#/components/schemas/Alias"},
    }
    started = time.process_time()
    r = parse(sf("o.json", _spec_with(schemas, "Node")))
    assert time.process_time() - started < 2
    ep = r.endpoints[0]
    fields = {f.name: f for f in ep.request_body.fields}
    assert "children" in fields and "recursive" in fields["children"].type
    assert "recursive" in fields["parent"].type
    assert "peer.label" in fields and "recursive" in fields["peer.back"].type
    assert "children[].name" not in fields
    assert fields["self_alias"].type is None  # a $ref cycle with no schema at the end
    assert any("cyclic" in i.reason or "chain" in i.reason for i in r.issues)


def test_depth_and_field_caps_keep_top_level_first():
    deep: dict = {"type": "string"}
    for i in range(10):
        deep = {"type": "object", "properties": {f"l{9 - i}": deep}}
    wide = {"type": "object", "properties": {}}
    for i in range(60):
        wide["properties"][f"p{i:02d}"] = {"type": "object", "properties": {f"c{j}": {"type": "string"} for j in range(20)}}
    r = parse(sf("d.json", _spec_with({"Deep": deep}, "Deep")), sf("w.json", _spec_with({"Wide": wide}, "Wide")))
    deep_ep, wide_ep = r.endpoints
    names = field_names(deep_ep.request_body.fields)
    assert names[0] == "l0" and max(n.count(".") for n in names) == 4  # 5 levels
    assert deep_ep.extra["fields_truncated"] is True
    total = len(wide_ep.request_body.fields) + sum(len(x.fields) for x in wide_ep.responses)
    assert total <= 300
    req = field_names(wide_ep.request_body.fields)
    assert all(f"p{i:02d}" in req for i in range(60))  # every top-level field survives the cap
    assert req[:2] == ["p00", "p00.c0"]  # presented parent-then-children
    assert wide_ep.extra["fields_truncated"] is True


def test_yaml_alias_bomb_and_alias_recursion_stay_small():
    lines = ["x:", "  a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, 10):  # a9 stands for 10^10 strings
        lines.append(f"  a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    lines += [
        "openapi: 3.0.0",
        "info: {title: bomb, version: '1'}",
        "paths:",
        "  /x:",
        "    get:",
        "      x-big: *a9",
        "      responses:",
        "        '200':",
        "          description: ok",
        "          content:",
        "            application/json:",
        "              example: *a9",
        "              schema: &s {type: object, properties: {self: *s, name: {type: string}}, allOf: [*s, *s], anyOf: [*s, *s]}",
    ]
    started = time.process_time()
    r = parse(sf("bomb.yaml", "\n".join(lines) + "\n"))
    assert time.process_time() - started < 2
    ep = r.endpoints[0]
    assert len(ep.examples[0].content) <= 4100
    assert [(f.name, f.type) for f in ep.responses[0].fields] == [("self", "object (recursive)"), ("name", "string")]
    assert "x-big" not in ep.extra.get("extensions", {})  # too big to keep


# ---------------------------------------------------------------------------------------------------
# Remote references

REMOTE_SPEC = {
    "openapi": "3.0.0",
    "info": {"title": "r", "version": "1"},
    "paths": {
        "/a": {
            "get": {
                "operationId": "getA",
                "parameters": [{"$ref": "https://schemas.example.test/common.json#/parameters/Page"}],
                "responses": {
                    "200": {
                        "description": "ok",
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "https://schemas.example.test/common.json#/schemas/Thing"},
                                "example": {"items": [{"$ref": "http://127.0.0.1:9/not-a-reference"}]},
                            }
                        },
                    }
                },
            }
        },
        "/b": {
            "get": {
                "responses": {
                    "200": {
                        "description": "ok",
                        "content": {
                            "application/json": {"schema": {"$ref": "https://schemas.example.test/common.json#/schemas/Thing"}}
                        },
                    }
                }
            }
        },
    },
}
COMMON_REMOTE = {
    "parameters": {"Page": {"name": "page", "in": "query", "schema": {"type": "integer"}}},
    "schemas": {"Thing": {"type": "object", "properties": {"id": {"type": "string"}, "part": {"$ref": "parts.json#/Part"}}}},
}
PARTS_REMOTE = {"Part": {"type": "object", "properties": {"size": {"type": "number"}}}}


def test_remote_ref_refused_without_fetch(no_network):
    r = parse(sf("spec.json", json.dumps(REMOTE_SPEC)))
    assert [e.operation_key for e in r.endpoints] == ["GET /a", "GET /b"]  # kept
    remote_issues = [i for i in r.issues if "schemas.example.test" in i.where]
    assert len(remote_issues) == 1 and "refused" in remote_issues[0].reason
    a = endpoint(r, "GET /a")
    assert a.parameters == [] and a.responses[0].fields == []
    assert "127.0.0.1" in a.examples[0].content  # a "$ref" inside an example value is data
    assert not any("127.0.0.1" in i.where or "127.0.0.1" in i.reason for i in r.issues)
    assert no_network == []


def test_remote_ref_resolved_through_fetch(no_network):
    calls: list[str] = []
    docs = {
        "https://schemas.example.test/common.json": json.dumps(COMMON_REMOTE).encode(),
        "https://schemas.example.test/parts.json": json.dumps(PARTS_REMOTE).encode(),
    }

    def fetch(url: str) -> bytes:
        calls.append(url)
        return docs[url]

    r = parse(sf("spec.json", json.dumps(REMOTE_SPEC)), ctx=ImportContext(fetch=fetch))
    a = endpoint(r, "GET /a")
    assert [(p.name, p.type) for p in a.parameters] == [("page", "integer")]
    assert field_names(a.responses[0].fields) == ["id", "part", "part.size"]  # relative ref inside the remote doc
    assert field_names(endpoint(r, "GET /b").responses[0].fields) == ["id", "part", "part.size"]
    assert calls == ["https://schemas.example.test/common.json", "https://schemas.example.test/parts.json"]  # once each
    assert r.issues == []


def test_remote_fetch_failure_is_an_issue():
    def fetch(url: str) -> bytes:
        raise PermissionError("blocked by the outbound policy")

    r = parse(sf("spec.json", json.dumps(REMOTE_SPEC)), ctx=ImportContext(fetch=fetch))
    assert len(r.endpoints) == 2
    assert any("blocked by the outbound policy" in i.reason for i in r.issues)


def test_non_http_refs_refused(no_network):
    spec = json.loads(json.dumps(SPEC_31))
    spec["paths"]["/notes/{id}"]["get"]["responses"]["200"]["content"]["application/json"]["schema"] = {
        "type": "object",
        "properties": {"f": {"$ref": "file:///etc/passwd#/x"}, "g": {"$ref": "/etc/passwd#/x"}},
    }
    r = parse(sf("openapi.json", json.dumps(spec)))
    assert field_names(r.endpoints[0].responses[0].fields) == ["f", "g"]
    assert len([i for i in r.issues if "refused" in i.reason]) == 2


# ---------------------------------------------------------------------------------------------------
# Malformed input


def test_malformed_operations_are_skipped_with_issues():
    spec = {
        "openapi": "3.0.0",
        "info": {"title": "m", "version": "1"},
        "paths": {
            "/ok": {"get": {"responses": {"200": {"description": "ok"}}}},
            "/x": {
                "get": "not an operation",
                "post": {"parameters": [{"$ref": "#/components/parameters/Missing"}], "responses": {}},
                "put": {"parameters": [{"name": "q"}], "responses": {}},
                "patch": {"parameters": [{"name": "q", "in": "body"}], "responses": {}},
                "delete": {"requestBody": {"$ref": "#/components/requestBodies/Nope"}, "responses": {}},
                "summary": "not a method",
            },
            "/y": ["not", "a", "path", "item"],
        },
    }
    r = parse(sf("m.json", json.dumps(spec)))
    assert [e.operation_key for e in r.endpoints] == ["GET /ok"]
    by_where = {i.where: i for i in r.issues}
    assert set(by_where) == {"paths./x.get", "paths./x.post", "paths./x.put", "paths./x.patch", "paths./x.delete", "paths./y"}
    assert "Missing" in by_where["paths./x.post"].reason
    assert "in" in by_where["paths./x.put"].reason
    assert all(i.severity == "error" for i in r.issues)


@pytest.mark.parametrize(
    "path,text,needle",
    [
        ("openapi.yaml", "openapi: 3.0.0\ninfo: {title: x\npaths: {}\n", "line"),
        ("openapi.yaml", "openapi: 3.0.0\npaths:\n  /a:\n    get: [unclosed\n", "line"),
        ("openapi.json", '{"openapi": "3.0.0", "paths": {,}}', "line 1, column 32"),
        ("openapi.yaml", "title: just some yaml\nitems: [1, 2]\n", "openapi"),
        ("openapi.json", '{"openapi": "3.0.0", "info": {}}', "paths"),
        ("openapi.json", '{"swagger": "1.2", "paths": {}}', "version"),
        ("openapi.json", "[1, 2, 3]", "mapping"),
    ],
)
def test_invalid_documents_raise(path, text, needle):
    with pytest.raises(ImportError_) as exc:
        parse(sf(path, text))
    assert needle in exc.value.reason


def test_unsafe_yaml_tags_are_rejected():
    with pytest.raises(ImportError_):
        parse(sf("openapi.yaml", "openapi: 3.0.0\npaths: !!python/object/apply:os.system ['echo hi']\n"))


def test_max_endpoints():
    spec = {
        "openapi": "3.0.0",
        "info": {"title": "t", "version": "1"},
        "paths": {f"/p{i}": {"get": {"responses": {}}} for i in range(10)},
    }
    r = parse(sf("o.json", json.dumps(spec)), ctx=ImportContext(max_endpoints=4))
    assert len(r.endpoints) == 4 and any("limit" in i.reason for i in r.issues)


# ---------------------------------------------------------------------------------------------------
# Box-style path fragments, detection


def test_fragment_paths_are_separate_operations():
    spec = {
        "openapi": "3.0.2",
        "info": {"title": "b", "version": "1"},
        "paths": {
            "/files/{file_id}": {"put": {"operationId": "put_files_id", "responses": {}}},
            "/files/{file_id}#add_shared_link": {"put": {"operationId": "put_files_id#add_shared_link", "responses": {}}},
        },
    }
    r = parse(sf("box.json", json.dumps(spec)))
    ep = endpoint(r, "PUT /files/{file_id}#add_shared_link")
    assert ep.path == "/files/{file_id}#add_shared_link" and ep.method == "PUT"
    assert ep.operation_id == "put_files_id#add_shared_link"
    assert len(r.endpoints) == 2


def test_detect():
    assert IMP.detect([sf("spec.yaml", MAIN_YAML)]) >= 0.95
    assert IMP.detect([sf("swagger.json", json.dumps(SWAGGER2))]) >= 0.95
    assert IMP.detect([sf("any.txt", json.dumps(SPEC_31, indent=2))]) >= 0.8
    assert IMP.detect([sf("README.md", "# Hello\nopenapi is nice")]) == 0.0
    postman = {
        "info": {"name": "c", "schema": "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"},
        "item": [],
    }
    assert IMP.detect([sf("c.json", json.dumps(postman))]) == 0.0
    bom = "\ufeffopenapi: 3.0.0\ninfo: {title: x, version: '1'}\npaths:\n  /a:\n    get: {responses: {}}\n"
    assert IMP.detect([sf("bom.yaml", bom)]) >= 0.95
    assert [e.operation_key for e in parse(sf("bom.yaml", bom)).endpoints] == ["GET /a"]
    asyncapi = "asyncapi: 3.0.0\ninfo: {title: x, version: '1'}\nchannels: {}\n"
    assert IMP.detect([sf("asyncapi.yaml", asyncapi)]) == 0.0


# ---------------------------------------------------------------------------------------------------
# The corpus: shared/corpora/openapi

from corpus_helpers import CORPORA, cached_parser, eval_validator  # noqa: E402

OPENAPI_DIR = CORPORA / "openapi"
EXPECTED_COUNTS = {
    "stripe-spec3.yaml": 468,
    "github-api.github.com.json": 874,
    "twilio_api_v2010.json": 197,
    "twilio_verify_v2.json": 57,
    "twilio_lookups_v2.json": 10,
    "slack_web_openapi_v2.json": 174,
    "box-openapi.json": 296,
    "petstore-expanded-oas3.0.yaml": 4,
    "petstore-swagger2.0.json": 3,
}
needs_corpus = pytest.mark.skipif(
    not OPENAPI_DIR.is_dir(), reason=f"corpus folder {OPENAPI_DIR} is absent (shared/ not checked out beside the repo)"
)


@pytest.fixture(scope="module")
def corpus():
    return cached_parser(OPENAPI_DIR, IMP)


@needs_corpus
@pytest.mark.parametrize("name", sorted(EXPECTED_COUNTS))
def test_corpus_operation_counts(corpus, name):
    data = (OPENAPI_DIR / name).read_bytes()
    assert IMP.detect([SourceFile(path=name, data=data)]) >= 0.95
    r = corpus(name)
    assert len(r.endpoints) == EXPECTED_COUNTS[name]
    assert len({e.operation_key for e in r.endpoints}) == EXPECTED_COUNTS[name]
    assert [i for i in r.issues if i.severity == "error"] == []
    for e in r.endpoints:
        assert e.operation_key == f"{e.method} {e.path}" and e.method.isupper()
        assert all(isinstance(x.code, str) for x in e.responses)
        assert len(e.request_body.fields if e.request_body else []) + sum(len(x.fields) for x in e.responses) <= 300
        assert all(len(x.content) <= 4100 for x in e.examples)
    assert corpus.timings[name][1] < 15  # generous: a few seconds is the target (see the report)


def _load_eval_module():
    module = eval_validator()
    if module is None:
        pytest.skip("shared/eval/validate_questions.py is absent")
    return module


@needs_corpus
@pytest.mark.parametrize("name", sorted(EXPECTED_COUNTS))
def test_corpus_keys_match_the_eval_convention(corpus, name):
    with gc_paused():  # the eval script's plain YAML load of Stripe is ~4x slower with the collector on
        ops = _load_eval_module().openapi_ops(str(OPENAPI_DIR / name))
    mine: dict[str, set] = {}
    for e in corpus(name).endpoints:
        mine.setdefault(e.operation_key, set()).add(e.operation_id)
    assert mine == {k: set(v) for k, v in ops.items()}


@needs_corpus
def test_corpus_stripe_spot_checks(corpus):
    r = corpus("stripe-spec3.yaml")
    assert (r.title, r.version) == ("Stripe API", "2023-08-16")
    subs = endpoint(r, "GET /v1/subscriptions")
    status = next(p for p in subs.parameters if p.name == "status")
    assert status.location == "query" and "all" in status.enum and status.type == "string"
    assert subs.request_body is None  # Stripe's empty form body on GETs is dropped
    assert [(a.scheme, a.type) for a in subs.auth] == [("basicAuth", "basic"), ("bearerAuth", "bearer")]
    assert subs.servers == ["https://api.stripe.com/"]
    create = endpoint(r, "POST /v1/customers")
    assert create.request_body.content_types == ["application/x-www-form-urlencoded"]
    names = field_names(create.request_body.fields)
    assert {"metadata", "email", "address.city"} <= set(names)
    assert create.responses[0].code == "200" and "id" in field_names(create.responses[0].fields)
    sub_create = endpoint(r, "POST /v1/subscriptions")
    assert "items[].price" in field_names(sub_create.request_body.fields)


@needs_corpus
def test_corpus_github_spot_checks(corpus):
    r = corpus("github-api.github.com.json")
    ep = endpoint(r, "GET /repos/{owner}/{repo}/branches/{branch}")
    assert ep.operation_id == "repos/get-branch" and ep.summary == "Get a branch"
    assert [p.name for p in ep.parameters] == ["owner", "repo", "branch"] and all(p.required for p in ep.parameters)
    assert "name" in field_names(ep.responses[0].fields)
    assert ep.extra["docs_url"].startswith("https://docs.github.com/")
    assert sum(1 for e in r.endpoints if e.examples) > 500
    assert sum(1 for e in r.endpoints if e.deprecated) == 46


@needs_corpus
def test_corpus_other_spot_checks(corpus):
    box = corpus("box-openapi.json")
    link = endpoint(box, "PUT /files/{file_id}#add_shared_link")
    assert link.auth[0].type == "oauth2" and "shared_link.access" in field_names(link.request_body.fields)
    slack = corpus("slack_web_openapi_v2.json")
    post = endpoint(slack, "POST /chat.postMessage")
    assert post.servers == ["https://slack.com/api"]
    assert post.auth[0].scheme == "slackAuth" and "chat:write:bot" in post.auth[0].scopes
    assert "channel" in field_names(post.request_body.fields)
    assert any(p.name == "token" and p.location == "header" for p in post.parameters)
    twilio = corpus("twilio_api_v2010.json")
    msg = endpoint(twilio, "POST /2010-04-01/Accounts/{AccountSid}/Messages.json")
    to = next(f for f in msg.request_body.fields if f.name == "To")
    assert to.required and to.type == "string (phone-number)"
    assert msg.auth[0].type == "basic"
    petstore = corpus("petstore-expanded-oas3.0.yaml")
    assert {e.operation_id for e in petstore.endpoints} >= {"find pet by id"}
    swagger = corpus("petstore-swagger2.0.json")
    assert swagger.servers == ["http://petstore.swagger.io/v1"]
