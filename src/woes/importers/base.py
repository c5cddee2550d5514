"""The one small interface every source format implements.

An importer turns the files of a source into endpoint records (one per operation, SPEC §7 "Endpoint
evidence") and narrative documents, the records of `woes.importers.records`. It never touches the database
or the network: remote references are resolved only through `ImportContext.fetch` (the safe-fetch policy),
and a malformed part is skipped with an `ImportIssue` while the rest is kept (partial results)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from woes.importers.records import AuthRequirement, Document, Endpoint

TYPES_PER_DOCUMENT = 20  # type descriptions per narrative Document (GraphQL, gRPC, WSDL)

_T = TypeVar("_T")


@dataclass(frozen=True)
class SourceFile:
    path: str  # relative path inside the source ("openapi.yaml", "docs/guide.md", "pubsub/v1/pubsub.proto")
    data: bytes

    def text(self) -> str:
        return self.data.decode("utf-8", errors="replace").replace("\x00", "")


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


class DetectByBestFile:
    """An importer as sure of a source as of its most likely file: `detect` is the best `score`."""

    def detect(self, files: list[SourceFile]) -> float:
        return max((self.score(f) for f in files), default=0.0)

    def score(self, f: SourceFile) -> float:
        """Confidence 0..1 that this one file is of the format."""
        raise NotImplementedError


def type_documents(
    types: Sequence[_T], heading: str, name: Callable[[_T], str], markdown: Callable[[_T], list[str]], path: str
) -> list[Document]:
    """The type descriptions in Documents of TYPES_PER_DOCUMENT each, titled `{heading} {first} – {last}`,
    at `{path}-1`, `{path}-2`, …; `markdown` gives one type's lines."""
    docs = []
    for number, start in enumerate(range(0, len(types), TYPES_PER_DOCUMENT), 1):
        batch = types[start : start + TYPES_PER_DOCUMENT]
        title = f"{heading} {name(batch[0])} – {name(batch[-1])}"
        lines = [f"# {title}", ""]
        for t in batch:
            lines += markdown(t)
        docs.append(Document(title=title, path=f"{path}-{number}", markdown="\n".join(lines)))
    return docs
