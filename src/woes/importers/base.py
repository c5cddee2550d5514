"""The one small interface every source format implements, and the normalized records they produce.

An importer turns the files of a source into endpoint records (one per operation, SPEC §7 "Endpoint
evidence") and narrative documents. It never touches the database or the network: remote references
are resolved only through `ImportContext.fetch` (the safe-fetch policy), and a malformed part is skipped
with an `ImportIssue` while the rest is kept (partial results)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class SourceFile:
    path: str  # relative path inside the source ("openapi.yaml", "docs/guide.md", "pubsub/v1/pubsub.proto")
    data: bytes

    def text(self) -> str:
        return self.data.decode("utf-8", errors="replace").replace("\x00", "")


@dataclass
class Parameter:
    name: str
    location: str  # path | query | header | cookie | body | field | argument | metadata
    type: str | None = None
    required: bool = False
    description: str | None = None
    enum: list[Any] | None = None
    default: Any = None
    deprecated: bool = False


@dataclass
class Field:
    """A schema field flattened to a dotted path (`customer.address.city`, `items[].price`)."""

    name: str
    type: str | None = None
    required: bool = False
    description: str | None = None
    enum: list[Any] | None = None
    default: Any = None
    deprecated: bool = False


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


@dataclass
class ImportIssue:
    where: str  # "paths./v1/charges.post", "docs/guide.md", "https://x/y"
    reason: str
    severity: str = "error"  # error (skipped) | warning (kept)


@dataclass
class ImportResult:
    format: str  # openapi | graphql | asyncapi | postman | grpc | wsdl | markdown | json | website
    title: str | None = None
    version: str | None = None
    endpoints: list[Endpoint] = field(default_factory=list)
    documents: list[Document] = field(default_factory=list)
    auth_schemes: list[AuthRequirement] = field(default_factory=list)  # declared at source level
    servers: list[str] = field(default_factory=list)
    issues: list[ImportIssue] = field(default_factory=list)


class ImportError_(Exception):
    """The source as a whole cannot be read as this format (nothing was kept)."""

    def __init__(self, reason: str, where: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.where = where


# A fetcher resolves a remote URL under the safe-fetch policy, or raises (refused / failed).
Fetcher = Callable[[str], bytes]


@dataclass
class ImportContext:
    fetch: Fetcher | None = None  # None: remote references are refused with an ImportIssue
    max_endpoints: int = 20000
    max_document_bytes: int = 2_000_000


class Importer(Protocol):
    format: str

    def detect(self, files: list[SourceFile]) -> float:
        """Confidence 0..1 that these files are this format (cheap: look at names and the first bytes)."""

    def parse(self, files: list[SourceFile], ctx: ImportContext) -> ImportResult:
        """Normalize the files; raise ImportError_ only when nothing at all can be read."""
