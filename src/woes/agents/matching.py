"""Which parts of an endpoint record a question is about: parameters, body and response fields, enum values.

Used twice: by the judge (does the evidence cover the question's specifics?) and by the offline provider
(which parameters to explain). Matching is on names, not on similarity: a field matches when the question
names it (`default_payment_method`, "default payment method", `DateSent`), names one of its enum values, or
shares its distinctive words."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from woes.search import split_identifier, stem


@lru_cache(maxsize=200_000)
def _mstem(word: str) -> str:
    """A little more than retrieval's plural folding: returned/returns/return, created/create/creating."""
    w = stem(word)
    if len(w) > 5 and w.endswith("ing"):
        w = w[:-3]
        if len(w) > 3 and w[-1] == w[-2]:
            w = w[:-1]
    elif len(w) > 4 and w.endswith("ed"):
        w = w[:-2]
        if len(w) > 3 and w[-1] == w[-2]:
            w = w[:-1]
    if len(w) > 4 and w.endswith("e"):
        w = w[:-1]
    return w


_WORDS = re.compile(r"[A-Za-z][A-Za-z0-9]*|\d+")
_GENERIC = {_mstem(w) for w in """id ids object type data value values string number integer boolean array field fields
param params parameter parameters request response body item items result results true false null none new set get
post put patch delete api call endpoint see also can use used using way example one two want need""".split()}


@lru_cache(maxsize=200_000)
def _token_stems(tok: str) -> tuple[str, ...]:
    parts = split_identifier(tok) if re.search(r"[a-z][A-Z]|_", tok) else [tok.lower()]
    return tuple(_mstem(p) for p in parts if p)


def words(text: str) -> list[str]:
    """Lower-case stems of the words of a text, identifiers split (`DateSent` → date, sent)."""
    out: list[str] = []
    for tok in _WORDS.findall(text or ""):
        out += _token_stems(tok)
    return out


@lru_cache(maxsize=20_000)
def word_set(text: str) -> frozenset[str]:
    return frozenset(words(text))




@lru_cache(maxsize=100_000)
def _name_words(name: str) -> tuple[str, ...]:
    return tuple(_mstem(w) for w in split_identifier(re.sub(r"[\[\]]", ".", name)) if w)


def name_words(name: str) -> list[str]:
    return list(_name_words(name))




@dataclass
class FieldMatch:
    kind: str  # parameter | body | response
    name: str
    spec: dict[str, Any]
    score: float
    reasons: list[str] = field(default_factory=list)
    enum_hits: list[str] = field(default_factory=list)


@dataclass
class QuestionTerms:
    text: str
    lower: str
    stems: set[str]
    literals: set[str]  # identifier-like tokens as typed, lower-cased (`balance_transaction`, `Stripe-Account`)
    raw_tokens: set[str]  # every token as typed, lower-cased


LITERAL = re.compile(r"`([^`]{1,80})`|([A-Za-z][A-Za-z0-9]*(?:[_.\-][A-Za-z0-9]+)+|[a-z]+[A-Z][A-Za-z0-9]*|[A-Z][a-z]+[A-Z][A-Za-z0-9]*)")


def question_terms(text: str) -> QuestionTerms:
    lits: set[str] = set()
    for m in LITERAL.finditer(text):
        tok = (m.group(1) or m.group(2) or "").strip()
        if tok:
            lits.add(tok.lower().rstrip(".,:;"))
    return QuestionTerms(text=text, lower=text.lower(), stems=set(words(text)), literals=lits,
                         raw_tokens={t.lower() for t in re.findall(r"[A-Za-z0-9_.>\-]+", text)})


def _iter_fields(rec: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    out = [("parameter", p) for p in rec.get("parameters") or []]
    out += [("body", f) for f in (rec.get("request_body") or {}).get("fields") or []]
    # An event-driven operation's message payload is what is sent or received: it counts like a body.
    out += [("payload", f) for r in rec.get("responses") or [] if r.get("code") == "message" for f in r.get("fields") or []]
    for r in _success(rec)[:1]:
        out += [("response", f) for f in r.get("fields") or []]
    return out


def _success(rec: dict[str, Any]) -> list[dict[str, Any]]:
    """Successful responses: HTTP 2xx, an RPC/SOAP reply, a GraphQL field's data."""
    return [r for r in rec.get("responses") or [] if str(r.get("code", "")).startswith("2") or r.get("code") in ("reply", "data")]


def response_fields(rec: dict[str, Any]) -> list[dict[str, Any]]:
    """Top-level fields of the first successful response (what a good response contains)."""
    ok = _success(rec)
    fields = (ok[0].get("fields") or []) if ok else []
    return [f for f in fields if "." not in f["name"] and "[" not in f["name"]]


def response_children(rec: dict[str, Any], name: str) -> list[str]:
    """The names of the direct sub-fields of a response field (`remaining` of `resources.search`)."""
    ok = _success(rec)
    prefixes = (name + ".", name + "[].")
    out = []
    for f in (ok[0].get("fields") or []) if ok else []:
        for prefix in prefixes:
            rest = f["name"][len(prefix):] if f["name"].startswith(prefix) else ""
            if rest and "." not in rest and "[" not in rest and rest not in out:
                out.append(rest)
    return out


def reads(rec: dict[str, Any]) -> bool:
    """A read operation (GET, a GraphQL query): what it returns is the answer."""
    return rec.get("method") == "GET" or str(rec.get("operation_key") or "").startswith("QUERY ")


def asks_about_response(question: str) -> bool:
    return bool(_ASKS_RESPONSE.search(question))


_ASKS_RESPONSE = re.compile(r"\b(return|returns|returned|response|responds|contain|contains|come back|comes back|get back|"
                            r"look like|fields?|output|payload|result)\b", re.I)


_MONEY = re.compile(r"[$€£¥]\s?\d|\b\d+(?:[.,]\d+)?\s?(?:usd|eur|gbp|cents?|dollars?|euros?|pounds?)\b", re.I)


def _identifier_like(name: str) -> bool:
    return bool(re.search(r"[_.]|[a-z][A-Z]", name))


def match_fields(rec: dict[str, Any], q: QuestionTerms, df: dict[str, int] | None = None, n_docs: int = 0) -> list[FieldMatch]:
    """Fields of the record the question is about, best first. `df`/`n_docs` (document frequency of stems
    across the source's endpoints) make rare words count more than common ones."""
    import math

    def weight(stem: str) -> float:
        if not df or not n_docs:
            return 1.0
        return max(0.15, math.log((n_docs + 1) / (df.get(stem, 0) + 0.5)) / math.log(n_docs + 1))

    prefixes = sorted({x for x in q.stems if len(x) >= 4})
    said_memo: dict[str, bool] = {}

    def said(w: str) -> bool:  # the word, or a shorter form of it (star → stargazer, org → organization)
        hit = said_memo.get(w)
        if hit is None:
            hit = said_memo[w] = w in q.stems or any(len(w) > len(x) and w.startswith(x) for x in prefixes)
        return hit

    def coverage(ws: list[str]) -> float:
        total = sum(weight(w) for w in ws)
        return sum(weight(w) for w in ws if said(w)) / total if total else 0.0

    asks_response = bool(_ASKS_RESPONSE.search(q.text)) or reads(rec)
    money = bool(_MONEY.search(q.text))
    seen: set[tuple[str, str]] = set()
    out: list[FieldMatch] = []
    for kind, spec in _iter_fields(rec):
        name = str(spec.get("name") or "")
        if not name or (kind, name) in seen:
            continue
        seen.add((kind, name))
        leaf = re.split(r"[.\[]", name.replace("[]", ""))[-1] if ("." in name or "[" in name) else name
        m = FieldMatch(kind=kind, name=name, spec=spec, score=0.0)
        leaf_words = [w for w in name_words(leaf) if w not in _GENERIC] or name_words(leaf)
        all_words = [w for w in name_words(name) if w not in _GENERIC] or name_words(name)
        lname, lleaf = name.lower(), leaf.lower()
        named = lname in q.literals or lname in q.raw_tokens or lleaf in q.literals or lleaf in q.raw_tokens
        if named and (_identifier_like(leaf) or lleaf in q.literals):
            m.score += 3.0
            m.reasons.append("named")
        elif named:
            m.score += 0.6 + 0.8 * weight(_mstem(lleaf))
            m.reasons.append("word")
        cov_leaf, cov_all = coverage(leaf_words), coverage(all_words)
        if not named and cov_leaf >= 0.99 and (len(leaf_words) > 1 or _identifier_like(leaf)):
            m.score += 1.2 + 0.6 * cov_all
            m.reasons.append("words")
        elif cov_all > 0:
            m.score += 0.5 * cov_all
        if ("." in name or "[" in name) and not named:
            m.score *= 0.5 + 0.5 * cov_all
        if money and kind != "response" and "amount" in lleaf and "." not in name and "[" not in name:
            m.score += 1.0  # "refund $15 of $40": the amount field
            m.reasons.append("amount")
        for v in spec.get("enum") or []:
            sv = str(v)
            if len(sv) > 1 and (sv.lower() in q.raw_tokens or (len(sv) > 3 and sv.lower() in q.literals)):
                m.enum_hits.append(sv)
        if m.enum_hits:
            m.score += 1.0 + 0.3 * len(m.enum_hits)
            m.reasons.append("enum")
        desc_words = word_set(spec.get("description") or "") - _GENERIC
        overlap = [w for w in desc_words if w in q.stems]
        if overlap:
            m.score += min(0.8, 0.25 * sum(weight(w) for w in overlap))
            m.reasons.append("description")
        if spec.get("required") and kind != "response":
            m.score += 0.25
        if kind == "response" and not asks_response:
            m.score *= 0.3
        if kind == "response" and not {"named", "words", "enum"} & set(m.reasons):
            m.score *= 0.4  # a response field only shares words of its description: rarely what was asked
        if m.score > 0:
            out.append(m)
    out.sort(key=lambda f: -f.score)
    return out


def strong(matches: list[FieldMatch]) -> list[FieldMatch]:
    """Matches the question really points at (named, all its words used, or an enum value named)."""
    return [m for m in matches if (m.kind != "response" or m.score >= 0.9)  # a response field the question is not about
            and ({"named", "words", "enum"} & set(m.reasons) or ("word" in m.reasons and m.score >= 1.2))]
