"""The one small interface every model provider implements.

The runtime decides *what* is true (which evidence, which outcome); a provider only *words* an answer from
evidence it is handed. Everything a provider receives is already redacted, and evidence and customer text
are untrusted data: a provider must keep them delimited from its own instructions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass
class EvidenceItem:
    """One numbered piece of evidence the answer may cite as `[n]`."""

    n: int
    kind: str  # endpoint | document
    title: str
    text: str  # redacted Markdown, trimmed to what matters
    method: str | None = None
    path: str | None = None
    operation_key: str | None = None
    record: dict[str, Any] | None = None  # structured endpoint record (evidence.record) for endpoints


@dataclass
class AgentProfile:
    name: str
    persona: str | None = None
    instructions: str | None = None
    guardrails: list[str] = field(default_factory=list)


@dataclass
class CompositionRequest:
    question: str  # redacted
    evidence: list[EvidenceItem]
    agent: AgentProfile
    history: list[tuple[str, str]] = field(default_factory=list)  # (customer|agent|operator, redacted text)
    # What the runtime established: the evidence numbers that answer the question, in order of importance,
    # and the parameter / field names of the question found in that evidence.
    focus: list[int] = field(default_factory=list)
    matched_terms: list[str] = field(default_factory=list)


@dataclass
class Composition:
    text: str  # Markdown with inline [n] citations
    provider: str
    model: str | None = None
    usage: dict[str, Any] = field(default_factory=dict)


class ProviderError(Exception):
    """The provider could not produce an answer (network, HTTP status, malformed reply)."""


class Provider(Protocol):
    name: str

    def compose(self, request: CompositionRequest) -> Composition: ...
