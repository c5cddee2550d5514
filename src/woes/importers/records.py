"""The normalized records an importer produces: one `Endpoint` per operation (SPEC §7 "Endpoint
evidence") with its parameters, request body, responses, auth and examples, and the narrative `Document`s.
`woes.importers.evidence` stores an endpoint as a row: a record's field order is its stored key order."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class _Described:
    """What a parameter and a field both tell after their name (and a parameter's location)."""

    type: str | None = None
    required: bool = False
    description: str | None = None
    enum: list[Any] | None = None
    default: Any = None
    deprecated: bool = False


# A dataclass takes its bases' fields in reverse MRO order: with the key class last among the bases,
# `name` (and a parameter's `location`) come before the `_Described` fields, the order they are stored in.
@dataclass
class _ParameterKey:
    name: str
    location: str  # path | query | header | cookie | body | field | argument | metadata


@dataclass
class _FieldKey:
    name: str


@dataclass
class Parameter(_Described, _ParameterKey):
    """A parameter of an operation, with where it is sent (`location`)."""


@dataclass
class Field(_Described, _FieldKey):
    """A schema field flattened to a dotted path (`customer.address.city`, `items[].price`)."""


@dataclass
class RequestBody:
    content_types: list[str] = field(default_factory=list)
    required: bool = False
    description: str | None = None
    fields: list[Field] = field(default_factory=list)


@dataclass
class Response:
    code: str  # "200", "4XX", "default" (HTTP) or "reply"/"fault" (RPC/SOAP) or "message" (async)
    description: str | None = None
    content_types: list[str] = field(default_factory=list)
    fields: list[Field] = field(default_factory=list)


@dataclass
class AuthRequirement:
    scheme: str  # the scheme's name in the source ("bearerAuth", "oauth2", "basic")
    type: str  # api_key | bearer | basic | oauth2 | openid_connect | mutual_tls | other
    location: str | None = None  # header | query | cookie (api_key)
    parameter: str | None = None  # header/query name for api keys
    scopes: list[str] = field(default_factory=list)
    flows: list[str] = field(default_factory=list)  # oauth2 flows
    description: str | None = None


@dataclass
class Example:
    title: str
    content: str  # text (JSON, curl, code)
    language: str | None = None


@dataclass
class Endpoint:
    operation_key: str  # "GET /v1/charges", "QUERY repository", "RPC Publisher/Publish", "SOAP Port/Op", "SEND topic"
    method: str | None = None
    path: str | None = None
    operation_id: str | None = None
    summary: str | None = None
    description: str | None = None
    tags: list[str] = field(default_factory=list)
    parameters: list[Parameter] = field(default_factory=list)
    request_body: RequestBody | None = None
    responses: list[Response] = field(default_factory=list)
    auth: list[AuthRequirement] = field(default_factory=list)
    servers: list[str] = field(default_factory=list)
    examples: list[Example] = field(default_factory=list)
    deprecated: bool = False
    source_path: str | None = None  # which file it came from
    extra: dict[str, Any] = field(default_factory=dict)  # format-specific facts worth showing (e.g. streaming)


@dataclass
class Document:
    """Narrative content (Markdown) that is not one operation: guides, pages, type descriptions."""

    title: str
    path: str  # file path or URL
    markdown: str
