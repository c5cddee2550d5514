"""Reranking: what the bag of words cannot see, added to the fused scores.

In pipeline order: operations the question names outright become candidates (`add_named_operations`);
literal paths, method + path and operation ids boost their operation (`boost_exact_matches`); the top
endpoint candidates are scored on how much of their name, title and inputs the question mentions, whether
they act on what the question's verbs act on, with the method it asks for, on the collection or on one item
(`score_candidates`); an operation published again at a nested path steps back
(`demote_nested_duplicates`); document chunks count a little less than endpoints (`discount_documents`)."""

from __future__ import annotations

import re
import uuid
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from woes.search.analysis import VERB_METHODS, QueryAnalysis, QueryMatcher, base_verb, stem, stem_match
from woes.search.fusion import RRF_K, Fused, Hit
from woes.search.names import FIELDS, NAMES, TITLES, FieldEntry, flat_name, name_coverage, name_tokens, resource_words
from woes.search.paths import concrete_path_matches, normalised_path, normalised_path_cached
from woes.sources.models import Endpoint, Source

NAME_WEIGHT = 0.012
NAME_RECALL_WEIGHT = 0.004
NAME_CANDIDATE_SCORE = 1.0 / (RRF_K + 30)
DOCUMENT_FACTOR = 0.85
ITEM_WEIGHT = 0.003
ACTION_WEIGHT = 0.002
TITLE_WEIGHT = 0.012
FOCUS_NAME_WEIGHT = 0.006
METHOD_WEIGHT = 0.006
NESTED_DUPLICATE_PENALTY = 0.003
OBJECT_WEIGHT = 0.006
FIELD_NAMED_WEIGHT = 0.01
FIELD_PHRASE_WEIGHT = 0.005
ENUM_WEIGHT = 0.005
SINGLE_WORD_FACTOR = 0.6

_ASSIGNED = re.compile(r"(?<![A-Za-z0-9_.\[\]])([A-Za-z][A-Za-z0-9_]*(?:[.\[][A-Za-z0-9_\]]+)*)(?=[<>]?=[^=\s])")  # From=+1555…, limit=100


def add_named_operations(session: Session, sources: list[Source], said: QueryMatcher, fused: Fused) -> None:
    """Operations the question names outright (every word of the operation's name is in the question) are
    candidates even when long prose buries them in both rankings."""
    for src in sources:
        for e_id in NAMES.named_by(session, src, said.stems):
            hit = fused.setdefault(("endpoint", e_id), Hit(kind="endpoint", id=e_id, source_id=src.id))
            hit.score = max(hit.score, NAME_CANDIDATE_SCORE)
            hit.signals["nameCandidate"] = True


def boost_exact_matches(session: Session, sources: list[Source], a: QueryAnalysis, fused: Fused) -> None:
    """Exact matches the bag of words cannot see: literal paths, method + path, operation ids."""
    wanted_paths = [(m, normalised_path(p)) for m, p in a.paths]
    idents = {i.lower() for i in a.identifiers} | {w for w in a.terms if len(w) > 3}
    if not (wanted_paths or a.identifiers):
        return
    # operation ids are looked up; paths are compared with the templates whose last literal segment
    # the question's path contains
    operations = [(e_id, src.id, method, path, op_id) for src in sources for ident in idents
                  for e_id, method, path, op_id in NAMES.by_operation_id(session, src).get(ident, ())]
    if wanted_paths:
        segments = {x.lower() for _m, raw in a.paths for x in re.split(r"[/.?]", raw) if x} | {""}
        for src in sources:
            by_last = NAMES.by_last_literal(session, src)
            operations += [(e_id, src.id, method, path, op_id) for seg in segments
                           for e_id, method, path, op_id in by_last.get(seg, ())]
        operations = list({row[0]: row for row in operations}.values())
    for e_id, s_id, method, path, op_id in operations:
        boost = 0.0
        if path and wanted_paths:
            np_ = normalised_path_cached(path)
            for (m, wp), (_m, raw) in zip(wanted_paths, a.paths, strict=True):
                if np_ == wp or (len(wp) > 4 and np_.endswith(wp)):
                    boost = max(boost, 0.05 if (m is None or m == method) else 0.02)
                elif len(raw) > 4 and concrete_path_matches(path, raw):
                    # a concrete URL: the template with more literal segments is the better match
                    segs = [x for x in path.split("#", 1)[0].strip("/").split("/") if x]
                    literal = sum(1 for x in segs if "{" not in x and not x.startswith(":")) / max(1, len(segs))
                    boost = max(boost, (0.02 + 0.03 * literal) if (m is None or m == method) else 0.015)
        if op_id and op_id.lower() in idents:
            boost = max(boost, 0.04)
        if boost:
            hit = fused.setdefault(("endpoint", e_id), Hit(kind="endpoint", id=e_id, source_id=s_id))
            hit.score += boost
            hit.signals["exactMatch"] = boost


@dataclass
class _Asked:
    """What the candidate scoring reads of the question, computed once per query."""

    a: QueryAnalysis
    said: QueryMatcher  # the question's words
    query_stems: set[str]
    literals: set[str]  # names written as code (`identifiers`, `in backticks`, assigned=values), flattened
    raw_words: set[str]
    focus_said: QueryMatcher | None  # the asking sentence's words, when not the whole question's
    verb_words: set[str]
    wanted_methods: set[str]


def score_candidates(session: Session, sources: list[Source], a: QueryAnalysis, q: str, said: QueryMatcher,
                     fused: Fused) -> tuple[list[Hit], dict[uuid.UUID, Any]]:
    """How much of each candidate operation's name the question actually mentions (IDF-weighted):
    separates `GET /v1/subscriptions` from `GET /v1/customers/{customer}/subscriptions` when the
    question is about subscriptions, and siblings such as `/pulls/{n}` vs `/pulls/{n}/merge`; then its
    title, its inputs, its resource, method and path shape. The 40 best endpoints and up to 20 more named
    operations are scored; returns them with their (method, path, operation id, description start)."""
    query_stems = {stem(w) for w in a.terms}
    ranked = sorted((h for h in fused.values() if h.kind == "endpoint"), key=lambda h: -h.score)
    candidates = ranked[:40] + [h for h in ranked[40:] if h.signals.get("nameCandidate")][:20]
    by_source = {src.id: src for src in sources}
    rows = {r[0]: r[1:] for r in session.execute(select(Endpoint.id, Endpoint.method, Endpoint.path, Endpoint.operation_id,
                                                        func.substr(Endpoint.description, 1, 240))
                                                 .where(Endpoint.id.in_([h.id for h in candidates])))} if candidates else {}
    literals = {flat_name(t) for t in a.identifiers + re.findall(r"`([^`\s]{2,80})`", q) + _ASSIGNED.findall(q)}
    raw_words = {w.lower() for w in re.findall(r"[A-Za-z][A-Za-z0-9_\-]+", q)} | {i.lower() for i in a.identifiers}
    focus_said = QueryMatcher({stem(w) for w in a.focus_terms}) if a.focus_terms != a.terms else None
    verb_words = {w for w in raw_words if base_verb(w) in VERB_METHODS}
    wanted_methods = a.focus_methods or a.methods
    asked = _Asked(a, said, query_stems, literals, raw_words, focus_said, verb_words, wanted_methods)
    for h in candidates:
        method, path, op_id, _desc = rows.get(h.id, (None, None, None, None))
        src = by_source[h.source_id]
        _score_name(session, src, h, method, path, op_id, asked)
        _score_title(session, src, h, asked)
        _score_fields(session, src, h, method, asked)
        _score_object_and_method(h, method, path, asked)
        _score_path_shape(h, path, asked)
    return candidates, rows


def _score_name(session: Session, src: Source, h: Hit, method: str | None, path: str | None, op_id: str | None,
                asked: _Asked) -> None:
    df, n = NAMES.get(session, src)
    tokens = NAMES.tokens(session, src).get(h.id) or name_tokens(method, path, op_id)
    covered = {t for t in tokens if asked.said(t)}
    cov = name_coverage(tokens, covered, df, n)
    # recall: the question's words that name resources in this source, covered by this operation's name
    wanted = {w for w in asked.query_stems if df.get(w) and df[w] < n * 0.5}
    recall = (len({w for w in wanted if any(stem_match(w, t) for t in tokens)}) / len(wanted)) if wanted else 1.0
    h.score += NAME_WEIGHT * cov + NAME_RECALL_WEIGHT * recall
    h.signals["nameCoverage"] = round(cov, 3)
    h.signals["nameRecall"] = round(recall, 3)
    if asked.focus_said is not None:
        focus_said = asked.focus_said
        fcov = name_coverage(tokens, {t for t in tokens if focus_said(t)}, df, n)
        h.score += FOCUS_NAME_WEIGHT * fcov
        h.signals["focusNameCoverage"] = round(fcov, 3)


def _score_title(session: Session, src: Source, h: Hit, asked: _Asked) -> None:
    titles, title_df, n_titles = TITLES.get(session, src)
    title = titles.get(h.id) or []
    tcov = name_coverage(title, {t for t in title if asked.said(t)}, title_df, n_titles)
    if tcov:
        h.score += TITLE_WEIGHT * tcov
        h.signals["titleCoverage"] = round(tcov, 3)


def _score_fields(session: Session, src: Source, h: Hit, method: str | None, asked: _Asked) -> None:
    fields_by_op, field_df, n_ops = FIELDS.get(session, src)
    # the question's own verbs ("create", "cancel") name an enum value (`created`, `canceled`) only of an
    # operation that does what the verb asks, not of a list filtered by that state
    wanted_methods = asked.wanted_methods
    words_here = asked.raw_words if not wanted_methods or method in wanted_methods else asked.raw_words - asked.verb_words
    boost, info = field_signals(fields_by_op.get(h.id, []), field_df, n_ops, asked.query_stems, asked.literals, words_here,
                                asked.said)
    if boost:
        h.score += boost
        h.signals.update(info)


def _score_object_and_method(h: Hit, method: str | None, path: str | None, asked: _Asked) -> None:
    a = asked.a
    if a.objects and any(stem_match(o, r) and len(r) <= len(o) + 3 for o in a.objects for r in resource_words(path)):
        h.score += OBJECT_WEIGHT
        h.signals["objectNamed"] = True
    if asked.wanted_methods and method in asked.wanted_methods:
        h.score += METHOD_WEIGHT
        h.signals["methodMatch"] = True


def _score_path_shape(h: Hit, path: str | None, asked: _Asked) -> None:
    a = asked.a
    # "create …" and "list …" ask for the collection, not one item: prefer paths that do not end in a
    # path parameter (`POST /calls`, not `POST /calls/{sid}`).
    segments = [x for x in (path or "").split("#", 1)[0].strip("/").split("/") if x]
    last = segments[-1] if segments else ""
    item = last.startswith("{") or last.startswith(":") or re.search(r"\{[^}]+\}\.\w+$", last) is not None
    if a.collection_intent and path and not item:
        h.score += 0.003
        h.signals["collectionPath"] = True
    elif (a.names_an_item or (a.item_intent and not a.collection_intent)) and path and item:
        h.score += ITEM_WEIGHT
        h.signals["itemPath"] = True
    # An action on one item (`POST /payment_intents/{id}/capture`, `/labels/{id}/void`) that the question
    # names: the action word is the most specific part of the operation's name.
    if len(segments) >= 2 and not item and (segments[-2].startswith("{") or segments[-2].startswith(":")):
        action = stem(re.split(r"[._\-]", last)[0].lower())
        if len(action) >= 4 and asked.said(action):
            h.score += ACTION_WEIGHT
            h.signals["actionNamed"] = action
        if len(action) >= 3 and action == last.lower() and any(stem_match(action, v) for v in a.verbs):
            h.score += OBJECT_WEIGHT  # "buy a label" → `POST /shipments/{id}/buy`: the verb is the action
            h.signals["verbIsAction"] = action


def field_signals(fields: list[FieldEntry], df: dict[Any, int], n: int, query_stems: set[str], literals: set[str],
                  raw_words: set[str], asked: Any = None) -> tuple[float, dict[str, Any]]:
    """Boost for an operation whose inputs the question names (literally, by all their words, or by an enum
    value), weighted by how rare each is in the source."""
    asked = asked or QueryMatcher(query_stems)
    def rarity(key: Any) -> float:
        return float(np.log((n + 1) / (df.get(key, 0) + 0.5)) / np.log(n + 2)) if n else 1.0

    named: dict[str, float] = {}
    phrases: dict[str, float] = {}
    enums: dict[str, float] = {}
    for name, leaf, words, enum_values, ident_like in fields:
        if name in literals or (leaf in literals and ident_like):
            named[name] = rarity(name if name in literals else leaf)
        elif len(words) >= 2 and all(asked(w) for w in words):
            phrases[name] = rarity(words) * min(2.0, 1 + 0.5 * (len(words) - 2))
        elif len(words) == 1 and len(next(iter(words))) >= 6 and next(iter(words)) in query_stems:
            phrases[name] = SINGLE_WORD_FACTOR * rarity(words)
        for v in enum_values:
            if v in raw_words or (v.isalpha() and any(v[:k] in raw_words for k in range(max(5, len(v) - 3), len(v)))):
                enums[v] = rarity(("enum", v))
    boost = FIELD_NAMED_WEIGHT * sum(sorted(named.values(), reverse=True)[:2])
    boost += FIELD_PHRASE_WEIGHT * max(phrases.values(), default=0.0)
    boost += ENUM_WEIGHT * sum(sorted(enums.values(), reverse=True)[:2])
    info = {k: v for k, v in (("fieldNamed", sorted(named, key=lambda x: -named[x])[:3]),
                               ("fieldPhrase", sorted(phrases, key=lambda x: -phrases[x])[:3]),
                               ("enumValue", sorted(enums, key=lambda x: -enums[x])[:3])) if v}
    return boost, info


def demote_nested_duplicates(candidates: list[Hit], rows: dict[uuid.UUID, Any]) -> None:
    """One operation published at two paths (`/v1/subscriptions/{id}` and the legacy
    `/v1/customers/{customer}/subscriptions/{id}`, same method and description): the shorter path is the
    canonical one, the nested copy steps back."""
    groups: dict[tuple[str, str], list[tuple[str, Hit]]] = defaultdict(list)
    for h in candidates:
        method, path, _op, desc = rows.get(h.id, (None, None, None, None))
        if method and path and desc and len(desc) >= 40:
            groups[(method, " ".join(desc.split()))].append((normalised_path_cached(path), h))
    for members in groups.values():
        if len(members) < 2:
            continue
        for path, h in members:
            if any(other != path and path.endswith(other.split("/", 2)[-1]) for other, _ in members):
                h.score -= NESTED_DUPLICATE_PENALTY
                h.signals["nestedDuplicate"] = True


def discount_documents(fused: Fused) -> None:
    """Document chunks count a little less than endpoint records (DOCUMENT_FACTOR)."""
    for h in fused.values():
        if h.kind == "chunk":
            h.score *= DOCUMENT_FACTOR
