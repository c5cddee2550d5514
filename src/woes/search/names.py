"""What names an operation, per source and cached per scan, for the reranking stage: the words of its path
and operation id (`NAMES`, with their document frequency), its title (`TITLES`) and its inputs (`FIELDS`:
parameters and request-body fields, with their enum values); and the resource it acts on
(`resource_words`)."""

from __future__ import annotations

import bisect
import functools
import re
import uuid
from collections import defaultdict
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from woes.core.caching import remember
from woes.search.analysis import STOP_WORDS, WORD_PATTERN, split_identifier, stem, stem_match
from woes.search.paths import last_literal
from woes.sources.models import Endpoint, Source

_VERSIONISH = re.compile(r"^(v\d+(\.\d+)*|\d{4}-\d{2}-\d{2}|json|xml|api)$")


def name_tokens(method: str | None, path: str | None, operation_id: str | None) -> list[str]:
    """The words that name an operation: static path segments and operation-id words, stemmed."""
    words: list[str] = []
    for seg in re.split(r"[/#]", (path or "").split("?", 1)[0]):
        if not seg or seg.startswith("{") or seg.startswith(":"):
            continue
        for part in re.split(r"[_\-.]+", seg):
            words += split_identifier(part) if part else []
    if not words and operation_id:
        words = split_identifier(operation_id)
    return [stem(w) for w in words if w and not _VERSIONISH.match(w)]


class _NameIndex:
    """Document frequency of name tokens among a source's endpoints (a token every path shares names nothing)."""

    def __init__(self) -> None:
        self._data: dict[uuid.UUID, tuple[uuid.UUID | None, dict[str, int], int, list[tuple[Any, ...]]]] = {}
        self._tokens: dict[uuid.UUID, dict[uuid.UUID, list[str]]] = {}
        self._inverted: dict[uuid.UUID, tuple[list[str], dict[str, list[uuid.UUID]]]] = {}
        self._by_op_id: dict[uuid.UUID, tuple[uuid.UUID | None, dict[str, list[tuple[Any, ...]]]]] = {}
        self._by_last: dict[uuid.UUID, tuple[uuid.UUID | None, dict[str, list[tuple[Any, ...]]]]] = {}

    def _load(self, session: Session, source: Source) -> tuple[uuid.UUID | None, dict[str, int], int, list[tuple[Any, ...]]]:
        cached = self._data.get(source.id)
        if cached is not None and cached[0] == source.last_scan_id:
            return cached
        df: dict[str, int] = defaultdict(int)
        rows = [tuple(r) for r in session.execute(select(Endpoint.id, Endpoint.method, Endpoint.path, Endpoint.operation_id)
                                                  .where(Endpoint.source_id == source.id))]
        remember(self._tokens, source.id, {r[0]: name_tokens(r[1], r[2], r[3]) for r in rows})
        inverted: dict[str, list[uuid.UUID]] = defaultdict(list)
        for e_id, toks in self._tokens[source.id].items():
            for t in set(toks):
                inverted[t].append(e_id)
        remember(self._inverted, source.id, (sorted(inverted), dict(inverted)))
        for e_id, *_rest in rows:
            for t in set(self._tokens[source.id][e_id]):
                df[t] += 1
        return remember(self._data, source.id, (source.last_scan_id, dict(df), len(rows), rows))

    def get(self, session: Session, source: Source) -> tuple[dict[str, int], int]:
        cached = self._load(session, source)
        return cached[1], cached[2]

    def tokens(self, session: Session, source: Source) -> dict[uuid.UUID, list[str]]:
        """Name tokens of every operation of the source, cached per scan."""
        self._load(session, source)
        return self._tokens[source.id]

    def named_by(self, session: Session, source: Source, stems: set[str]) -> list[uuid.UUID]:
        """Operations every name token of which the question uses (up to endings / abbreviations)."""
        self._load(session, source)
        vocab, inverted = self._inverted[source.id]
        said: set[str] = set()
        for w in stems:
            if len(w) < 3:
                continue
            i = bisect.bisect_left(vocab, w)
            while i < len(vocab) and vocab[i].startswith(w):  # the question's word starts the token
                if stem_match(vocab[i], w):
                    said.add(vocab[i])
                i += 1
            for k in range(3, len(w)):  # the token is a shorter form of the question's word
                if w[:k] in inverted and stem_match(w[:k], w):
                    said.add(w[:k])
        hits: dict[uuid.UUID, int] = defaultdict(int)
        for t in said:
            for e_id in inverted[t]:
                hits[e_id] += 1
        tokens = self._tokens[source.id]
        return [e_id for e_id, c in hits.items() if c == len(set(tokens[e_id]))]

    def by_operation_id(self, session: Session, source: Source) -> dict[str, list[tuple[Any, ...]]]:
        """Operations by lower-cased operation id, cached per scan."""
        cached = self._by_op_id.get(source.id)
        if cached is None or cached[0] != source.last_scan_id:
            index: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
            for row in self.operations(session, source):
                if row[3]:
                    index[str(row[3]).lower()].append(row)
            cached = remember(self._by_op_id, source.id, (source.last_scan_id, dict(index)))
        return cached[1]

    def operations(self, session: Session, source: Source) -> list[tuple[Any, ...]]:
        """(endpoint id, method, path, operation id) of every operation of the source, cached per scan."""
        return self._load(session, source)[3]

    def by_last_literal(self, session: Session, source: Source) -> dict[str, list[tuple[Any, ...]]]:
        """Operations by the last literal segment of their path (`/Accounts/{Sid}/Calls/{CallSid}.json` →
        `calls`; '' when none), cached per scan: a path in a question is compared only with templates whose
        last literal segment it contains."""
        cached = self._by_last.get(source.id)
        if cached is None or cached[0] != source.last_scan_id:
            index: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
            for row in self.operations(session, source):
                index[last_literal(row[2])].append(row)
            cached = remember(self._by_last, source.id, (source.last_scan_id, dict(index)))
        return cached[1]


NAMES = _NameIndex()


def name_coverage(tokens: list[str], query_stems: set[str], df: dict[str, int], n: int) -> float:
    """Share (IDF-weighted) of an operation's name that the question mentions, in [0, 1]."""
    if not tokens:
        return 0.0
    weights = {t: np.log((n + 1) / (df.get(t, 0) + 0.5)) for t in set(tokens)}
    total = sum(max(w, 0.0) for w in weights.values())
    if total <= 0:
        return 0.0
    return sum(max(w, 0.0) for t, w in weights.items() if t in query_stems) / total


@functools.lru_cache(maxsize=100_000)
def resource_words(path: str | None) -> frozenset[str]:
    """The words of the resource an operation acts on: the last literal segment, or for an action on an item
    (`/payment_intents/{intent}/capture`) the collection before the item; its head noun and the whole name
    (`intent`, `paymentintent`)."""
    segs = [x for x in (path or "").split("#", 1)[0].split("?", 1)[0].strip("/").split("/") if x]
    static = [i for i, x in enumerate(segs) if "{" not in x and not x.startswith(":")]
    picks = static[-1:]
    last = re.sub(r"\.(json|xml)$", "", segs[-1]) if segs else ""
    if len(static) >= 2 and static[-1] == len(segs) - 1 and static[-1] - 1 not in static and not last.endswith("s"):
        picks.append(static[-2])  # an action (singular: capture, merge, detach), not a sub-collection
    out: set[str] = set()
    for i in picks:
        seg = re.sub(r"\.(json|xml)$", "", segs[i])
        parts = [p for p in split_identifier(seg) if p]
        if parts:  # the head noun and the whole name: `subscription_schedules` is a schedule, not a subscription
            out |= {stem(parts[-1]), stem("".join(parts))}
    return frozenset(out)


_FIELD_GENERIC = {"id", "ids", "object", "type", "data", "value", "string", "number", "integer", "boolean", "array",
                  "field", "param", "parameter", "request", "response", "body", "item", "result", "true", "false",
                  "null", "new", "set", "get", "post", "put", "patch", "delete", "api", "the", "a", "an", "of", "to",
                  "at", "by", "for", "in", "on", "is"}
_ENUM_NOISE = {"get", "post", "put", "patch", "delete", "head", "true", "false", "none", "null", "json", "xml", "auto",
               "default", "enabled", "disabled", "other", "unknown", "all"}


FieldEntry = tuple[str, str, frozenset[str], frozenset[str], bool]


def flat_name(name: str) -> str:
    """An identifier without case or separators: `status_callback_event`, `StatusCallbackEvent` and
    `status-callback-event` are one name (SDKs rename parameters to their language's convention)."""
    return name.lower().replace("_", "").replace("-", "")


class _FieldIndex:
    """Per source: each operation's input names (parameters and request-body fields, nested ones dotted) as
    word sets, plus their enum values, and how many operations share each, cached per scan. Lets a question
    that names a parameter ("cancel at the end of the period", `transfer_data.destination`, "canceled") find
    the operation that has it, even when the operation itself is named differently; a name every operation
    shares (`payment_method`) counts for little."""

    def __init__(self) -> None:
        self._data: dict[uuid.UUID, tuple[uuid.UUID | None, dict[uuid.UUID, list[FieldEntry]], dict[Any, int], int]] = {}

    def get(self, session: Session, source: Source) -> tuple[dict[uuid.UUID, list[FieldEntry]], dict[Any, int], int]:
        cached = self._data.get(source.id)
        if cached is not None and cached[0] == source.last_scan_id:
            return cached[1], cached[2], cached[3]
        out: dict[uuid.UUID, list[FieldEntry]] = {}
        df: dict[Any, int] = defaultdict(int)
        for e_id, params, body in session.execute(select(Endpoint.id, Endpoint.parameters, Endpoint.request_body)
                                                  .where(Endpoint.source_id == source.id)):
            fields = []
            keys: set[Any] = set()
            for f in list(params or []) + list((body or {}).get("fields") or []):
                name = str(f.get("name") or "")
                if not name or f.get("location") == "path":  # a path parameter names the resource, not an option
                    continue
                leaf = re.split(r"[.\[\]]+", name.strip("[]"))[-1] if ("." in name or "[" in name) else name
                words = frozenset(stem(w) for w in split_identifier(re.sub(r"[\[\]]", ".", name)) if w) - _FIELD_GENERIC
                enums = frozenset(str(v).lower() for v in (f.get("enum") or [])[:60]
                                  if len(str(v)) > 3 and str(v).lower() not in _ENUM_NOISE)
                ident_like = "_" in leaf or "-" in leaf or any(c.isupper() for c in leaf) or len(leaf) > 6
                fields.append((flat_name(name), flat_name(leaf), words, enums, ident_like))
                keys |= {flat_name(name), flat_name(leaf), words} | {("enum", v) for v in enums}
            out[e_id] = fields
            for k in keys:
                df[k] += 1
        remember(self._data, source.id, (source.last_scan_id, out, dict(df), len(out)))
        return out, dict(df), len(out)


FIELDS = _FieldIndex()


_TITLE_STOP = STOP_WORDS | {"api", "endpoint", "operation", "request", "new", "one", "all", "given", "specified", "via"}


def title_tokens(summary: str | None) -> list[str]:
    """Content words of an operation's title ('Create an issue' → create, issue), stemmed."""
    return [stem(w) for w in dict.fromkeys(w.lower() for w in WORD_PATTERN.findall(summary or "")[:12])
            if w not in _TITLE_STOP and len(w) > 1 and not w.isdigit()]


class _TitleIndex:
    """Per source: each operation's title words and how many titles share each word, cached per scan. The
    title is how the API itself names an operation ('Upload file', 'Create a customer'), often in the very
    words a developer uses."""

    def __init__(self) -> None:
        self._data: dict[uuid.UUID, tuple[uuid.UUID | None, dict[uuid.UUID, list[str]], dict[str, int], int]] = {}

    def get(self, session: Session, source: Source) -> tuple[dict[uuid.UUID, list[str]], dict[str, int], int]:
        cached = self._data.get(source.id)
        if cached is None or cached[0] != source.last_scan_id:
            titles = {e_id: title_tokens(summary) for e_id, summary in session.execute(
                select(Endpoint.id, Endpoint.summary).where(Endpoint.source_id == source.id))}
            df: dict[str, int] = defaultdict(int)
            for toks in titles.values():
                for t in toks:
                    df[t] += 1
            cached = remember(self._data, source.id, (source.last_scan_id, titles, dict(df), len(titles)))
        return cached[1], cached[2], cached[3]


TITLES = _TitleIndex()
