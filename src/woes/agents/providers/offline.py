"""The built-in provider: writes the answer from the evidence itself, with no network and no model.

For an operation it says which endpoint to call (method and path), what it does, the parameters and fields
that matter for this question (type, where they go, required or not, allowed values, what they mean), the
response fields asked about, how to authenticate, and an example request; for a narrative document, the
passages that match. Every sentence carries the number of the evidence it comes from."""

from __future__ import annotations

import re
from typing import Any

from woes.agents.matching import (
    FieldMatch,
    asks_about_response,
    match_fields,
    name_words,
    question_terms,
    reads,
    response_children,
    response_fields,
    words,
)
from woes.agents.providers.base import Composition, CompositionRequest, EvidenceItem
from woes.importers.evidence import example_request
from woes.importers.html import HTML_ELEMENTS, strip_tags

# Real HTML tags only: `<your secret key>` in a description is a placeholder, not markup.
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z`(\[])")
MAX_FIELDS = 8


def _plain(text: str | None) -> str:
    text = strip_tags(text or "", elements=HTML_ELEMENTS)
    text = re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", text)  # Markdown links → their text
    return " ".join(text.split())


def _sentences(text: str | None) -> list[str]:
    return [s.strip() for s in _SENTENCE.split(_plain(text)) if s.strip()]


def _best_sentences(text: str | None, stems: set[str], limit: int, *, first: bool = True, cap: int = 320) -> list[str]:
    sents = _sentences(text)
    if not sents:
        return []
    chosen = [0] if first else []
    scored = sorted(range(len(sents)), key=lambda i: -len(set(words(sents[i])) & stems))
    for i in scored:
        if len(chosen) >= limit:
            break
        if i not in chosen and set(words(sents[i])) & stems:
            chosen.append(i)
    return [s if len(s) <= cap else s[: cap - 1] + "…" for s in (sents[i] for i in sorted(chosen))]


def _enum_text(spec: dict[str, Any], hits: list[str], limit: int = 12) -> str:
    values = [str(v) for v in spec.get("enum") or []]
    if not values:
        return ""
    shown = hits + [v for v in values if v not in hits]
    more = len(shown) - limit
    return " Allowed values: " + ", ".join(f"`{v}`" for v in shown[:limit]) + (f" and {more} more" if more > 0 else "") + "."


def _field_line(m: FieldMatch, n: int, stems: set[str]) -> str:
    spec = m.spec
    where = {"parameter": spec.get("location") or "parameter", "body": "request body", "response": "response",
             "payload": "message payload"}[m.kind]
    bits = [b for b in (spec.get("type"), where, "required" if spec.get("required") else ("optional" if m.kind != "response" else None)) if b]
    line = f"- `{m.name}` ({', '.join(bits)})"
    desc = " ".join(_best_sentences(spec.get("description"), stems, 2, cap=260))
    if desc:
        line += f": {desc}"
    line += _enum_text(spec, m.enum_hits)
    if spec.get("default") not in (None, ""):
        line += f" Default: `{spec['default']}`."
    if spec.get("deprecated"):
        line += " **Deprecated.**"
    return line + f" [{n}]"


def _auth_text(rec: dict[str, Any]) -> str | None:
    parts = []
    for a in rec.get("auth") or []:
        kind = a.get("type")
        if kind == "api_key" and a.get("parameter"):
            parts.append(f"an API key in the `{a['parameter']}` {a.get('location') or 'header'}")
        elif kind == "bearer":
            parts.append("a bearer token (`Authorization: Bearer …`)")
        elif kind == "basic":
            parts.append("HTTP basic auth")
        elif kind == "oauth2":
            scopes = a.get("scopes") or []
            parts.append("OAuth 2.0" + (" with scope " + ", ".join(f"`{s}`" for s in scopes[:4]) if scopes else ""))
        elif kind:
            parts.append(str(kind).replace("_", " "))
    if not parts:
        return None
    seen: list[str] = []
    for p in parts:
        if p not in seen:
            seen.append(p)
    return "Authenticate with " + " or ".join(seen[:3]) + "."


def _example(rec: dict[str, Any], fields: list[FieldMatch]) -> tuple[str, str] | None:
    base = example_request(rec)
    if base is None:
        return None
    lang, text = base
    extra_query = [f for f in fields if f.kind == "parameter" and f.spec.get("location") == "query"
                   and not f.spec.get("required")][:3]
    extra_body = [f for f in fields if f.kind == "body" and not f.spec.get("required") and "[" not in f.name][:3]
    if extra_query:
        sep = "&" if "?" in text.split("\n", 1)[0] else "?"
        first, *rest = text.split("\n")
        q = "&".join(f"{f.name}={(f.enum_hits or ['…'])[0]}" for f in extra_query)
        first = first[:-1] + sep + q + "'" if first.endswith("'") else first
        text = "\n".join([first, *rest])
    if extra_body:
        ctype = ((rec.get("request_body") or {}).get("contentTypes") or ["application/json"])[0]
        if "json" in ctype and "-d '{" not in text:
            import json

            text += " \\\n  -H 'Content-Type: application/json' -d '" + json.dumps(
                {f.name: (f.enum_hits or ["…"])[0] for f in extra_body}) + "'"
        elif "json" not in ctype:
            text += "".join(f" \\\n  -d '{f.name}={(f.enum_hits or ['…'])[0]}'" for f in extra_body)
    return lang, text


def _type_and_children(type_: str | None, children: list[str]) -> str:
    """` (object; fields `limit`, `remaining`)`: an object's type with the names of its direct sub-fields."""
    kids = f"fields {', '.join(f'`{c}`' for c in children[:8])}" + (", …" if len(children) > 8 else "") if children else ""
    inside = "; ".join(x for x in (type_, kids) if x)
    return f" ({inside})" if inside else ""


def _top_level(name: str) -> bool:
    return "." not in name and "[" not in name


def _inputs(rec: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    out = [("parameter", p) for p in rec.get("parameters") or []]
    out += [("body", f) for f in (rec.get("request_body") or {}).get("fields") or [] if _top_level(f["name"])]
    return out + [("payload", f) for r in rec.get("responses") or [] if r.get("code") == "message"
                  for f in r.get("fields") or [] if _top_level(f["name"])]


_ID_SUFFIX = {"id", "ids", "sid", "uuid"}


def _referenced_inputs(rec: dict[str, Any], chosen: list[FieldMatch], limit: int = 2) -> list[FieldMatch]:
    """Inputs that a chosen input's description names in words: "For Messaging Services only" points to
    `MessagingServiceSid`. Only names of two or more words (an id suffix aside) count, as a phrase."""
    texts = [words(m.spec.get("description") or "") for m in chosen if m.kind != "response"]
    shown = {m.name for m in chosen}
    out: list[FieldMatch] = []
    for kind, spec in _inputs(rec):
        if spec["name"] in shown or kind == "payload":
            continue
        phrase = name_words(spec["name"])
        if phrase and phrase[-1] in _ID_SUFFIX:
            phrase = phrase[:-1]
        if len(phrase) < 2:
            continue
        n = len(phrase)
        if any(seq[i:i + n] == phrase for seq in texts for i in range(len(seq) - n + 1)):
            out.append(_unmatched(kind, spec))
            if len(out) >= limit:
                break
    return out


def _unmatched(kind: str, spec: dict[str, Any]) -> FieldMatch:
    return FieldMatch(kind=kind, name=spec["name"], spec=spec, score=0.0)


def endpoint_answer(item: EvidenceItem, question: str, *, lead: bool, preferred: list[str] | None = None) -> list[str]:
    rec = item.record or {}
    n = item.n
    q = question_terms(question)
    stems = q.stems
    title = f"`{item.method} {item.path}`" if item.method and item.path else f"`{item.operation_key or item.title}`"
    summary = _plain(rec.get("summary"))
    out = []
    if lead:
        out.append(f"Use {title}" + (f" ({summary})" if summary else "") + f" [{n}].")
    else:
        out.append(f"Also relevant: {title}" + (f" ({summary})" if summary else "") + f" [{n}].")
    if rec.get("deprecated"):
        out.append(f"Note: this operation is marked deprecated [{n}].")
    desc = _best_sentences(rec.get("description"), stems, 3 if lead else 1)
    if desc and (not summary or _plain(" ".join(desc)).lower() != summary.lower()):
        out.append(" ".join(desc) + f" [{n}]")
    matches = match_fields(rec, q)
    first = [m for m in matches if m.name in (preferred or [])]
    chosen = (first + [m for m in matches if m.score >= 0.9 and m not in first])[:MAX_FIELDS if lead else 3]
    if lead:
        inputs = [m for m in matches if m.kind != "response" and _top_level(m.name)]
        all_inputs = _inputs(rec)
        if len(all_inputs) <= MAX_FIELDS:  # a small operation: every input is worth listing
            chosen += [m for m in inputs if m not in chosen]
            chosen += [_unmatched(kind, f) for kind, f in all_inputs if f["name"] not in {m.name for m in chosen}]
        else:
            chosen += [m for m in inputs if m.spec.get("required") and m not in chosen][:3]
            if len(chosen) < 4:  # little named outright: the inputs the question's words come closest to
                chosen += [m for m in inputs if m.score >= 0.5 and m not in chosen][: 4 - len(chosen)]
            if len(chosen) < 3:  # nothing named in particular: the first inputs the operation documents
                chosen += [_unmatched(kind, f) for kind, f in all_inputs
                           if kind != "parameter" or f.get("location") != "header"][: 5 - len(chosen)]
    else:  # a second operation: what it cannot be called without
        shown = {m.name for m in chosen}
        chosen += [_unmatched(kind, f) for kind, f in _inputs(rec)
                   if f.get("required") and f["name"] not in shown and f.get("location") != "header"][:4]
    if lead:
        chosen += _referenced_inputs(rec, chosen)
    # one line per name; a request-side field wins over a response field of the same name
    by_name: dict[str, FieldMatch] = {}
    for m in sorted(chosen, key=lambda m: m.kind == "response"):
        by_name.setdefault(m.name, m)
    chosen = [m for m in chosen if by_name.get(m.name) is m]
    if chosen:
        out.append("")
        out.append("Parameters and fields that matter here:" if lead else "Relevant fields:")
        out += [_field_line(m, n, stems) for m in chosen]
    if lead and (asks_about_response(question) or reads(rec)):
        shown = {m.name for m in chosen}
        # nested response fields the question's words point at (`resources.search` for "search requests")
        nested = [m for m in matches if m.kind == "response" and not _top_level(m.name) and m.name not in shown
                  and {"word", "words", "named"} & set(m.reasons) and m.score >= 0.5][:3]
        if nested:
            out += ["", "In the response: " + "; ".join(
                f"`{m.name}`" + _type_and_children(m.spec.get("type"), response_children(rec, m.name))
                + (f": {d}" if (d := " ".join(_best_sentences(m.spec.get("description"), stems, 1, cap=160))) else "")
                for m in nested) + f" [{n}]"]
            shown |= {m.name for m in nested}
        fields = [f for f in response_fields(rec) if f["name"] not in shown][:10]
        if fields:
            out += ["", "A successful response contains: " + ", ".join(
                f"`{f['name']}`" + (f" ({f['type']})" if f.get("type") else "") for f in fields) + f" [{n}]"]
    if lead:
        auth = _auth_text(rec)
        if auth:
            out += ["", auth + f" [{n}]"]
        servers = rec.get("servers") or []
        if servers and not re.match(r"^(SEND|RECEIVE|SUBSCRIBE|PUBLISH|RPC|SOAP|QUERY|MUTATION|SUBSCRIPTION)\b", item.operation_key or ""):
            out.append(f"Base URL: `{servers[0]}` [{n}]")
        example = _example(rec, chosen)
        if example:
            out += ["", f"Example request [{n}]:", f"```{example[0]}", example[1], "```"]
    return out


def _body_text(text: str, title: str | None) -> str:
    """A chunk without its heading lines (titles and breadcrumbs are not sentences)."""
    keep = []
    for line in text.splitlines():
        bare = line.strip().lstrip("#").strip()
        if not bare or line.lstrip().startswith("#") or (title and bare == title.strip()) or (
                len(bare) < 120 and not re.search(r"[.!?:]$", bare) and (" > " in bare or " — " in bare)):
            continue
        keep.append(line)
    return "\n".join(keep)


def document_answer(item: EvidenceItem, question: str, *, lead: bool) -> list[str]:
    stems = question_terms(question).stems
    body = _body_text(item.text, item.title)
    sents = _best_sentences(body, stems, 4 if lead else 2, first=False, cap=400) or _sentences(body)[:2]
    intro = f"From “{item.title}”" if item.title else "From the documentation"
    return [f"{intro} [{item.n}]: " + " ".join(sents) + f" [{item.n}]"]


class OfflineProvider:
    """Composes grounded answers from the evidence records; deterministic, no network."""

    name = "offline"

    def compose(self, request: CompositionRequest) -> Composition:
        by_n = {e.n: e for e in request.evidence}
        order = [n for n in request.focus if n in by_n] or [e.n for e in request.evidence[:1]]
        lines: list[str] = []
        for i, n in enumerate(order):
            item = by_n[n]
            if i:
                lines.append("")
            if item.kind == "endpoint":
                lines += endpoint_answer(item, request.question, lead=i == 0, preferred=request.matched_terms if i == 0 else None)
            else:
                lines += document_answer(item, request.question, lead=i == 0)
        return Composition(text="\n".join(lines).strip(), provider=self.name, model=None)
