"""Endpoint records ↔ stored rows, the generated endpoint Markdown (the evidence the agent cites), and
the search text of an endpoint (every name a developer might type: parameters, fields, enum values)."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
from typing import Any

from woes.core.redaction import redact
from woes.importers.records import Endpoint as ParsedEndpoint

MAX_DESC = 4000
MAX_FIELDS_MD = 120


_DATACLASS_FIELDS: dict[type, tuple[str, ...] | None] = {}


@functools.lru_cache(maxsize=1 << 16)
def _redacted(text: str) -> str:
    """A text of a record as stored: redacted, without NUL characters. Cached: a large spec repeats the
    same descriptions and names across its records (Stripe: 370k strings, 26k distinct)."""
    return redact(text.replace("\x00", "") if "\x00" in text else text)


def _field_names(cls: type) -> tuple[str, ...] | None:
    """The field names of a dataclass type (None for any other type), looked up once per type."""
    try:
        return _DATACLASS_FIELDS[cls]
    except KeyError:
        names = tuple(f.name for f in dataclasses.fields(cls)) if dataclasses.is_dataclass(cls) else None
        _DATACLASS_FIELDS[cls] = names
        return names


def _plain(obj: Any) -> Any:
    """The JSON-like copy of parsed data nested inside a record: dataclasses become dicts of all their
    fields, tuples become lists, strings are redacted and lose NUL characters, dict keys become strings. One
    pass with no deep copies (a large spec's records hold over a million values)."""
    if obj is None or isinstance(obj, (bool, int, float)):
        return obj
    if isinstance(obj, str):
        return _redacted(obj)
    if isinstance(obj, (list, tuple)):
        return [_plain(x) for x in obj]
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    names = _field_names(type(obj))
    if names is not None:
        return {n: _plain(getattr(obj, n)) for n in names}
    return obj


def _clean(obj: Any) -> Any:
    """A parsed record part in stored form: a dataclass's empty fields (None, [], {}) are left out and its
    own keys become camelCase; what is nested below it is made plain (`_plain`)."""
    names = _field_names(type(obj))
    if names is not None:
        out = {}
        for n in names:
            v = _plain(getattr(obj, n))
            if v is not None and v != [] and v != {}:
                out[_camel(n)] = v
        return out
    if isinstance(obj, (list, tuple)):
        return [_clean(x) for x in obj]
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    return _plain(obj)


def record(ep: ParsedEndpoint) -> dict[str, Any]:
    """The stored, JSON-ready form of a parsed endpoint (camelCase inside nested records). Every text in it
    is redacted (`_plain`, `_text`): a key pasted into a spec's example or description is not stored,
    indexed, shown or cited."""
    return {
        "operation_key": ep.operation_key[:600],
        "method": ep.method,
        "path": (ep.path or "")[:600] or None,
        "operation_id": (ep.operation_id or "")[:300] or None,
        "summary": _text(ep.summary),
        "description": _text(ep.description),
        "tags": [_redacted(t)[:100] for t in ep.tags][:20],
        "parameters": [_clean(p) for p in ep.parameters],
        "request_body": _clean(ep.request_body) if ep.request_body else None,
        "responses": [_clean(r) for r in ep.responses],
        "auth": [_clean(a) for a in ep.auth],
        "servers": [_redacted(u) for u in ep.servers[:10]],
        "examples": [_clean(e) for e in ep.examples][:10],
        "extra": _clean(ep.extra),
        "deprecated": bool(ep.deprecated),
    }


def record_auth(a: Any) -> dict[str, Any]:
    return {_camel(k): v for k, v in dataclasses.asdict(a).items() if v not in (None, [], {})}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


def _text(value: str | None) -> str | None:
    return _redacted(value) if value else None


def content_hash(rec: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(rec, sort_keys=True, default=str).encode()).hexdigest()


def _cell(value: Any, limit: int = 300) -> str:
    text = " ".join(str(value).split()) if value not in (None, "") else ""
    text = text.replace("|", "\\|")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _enum(values: list[Any] | None, limit: int = 25) -> str:
    if not values:
        return ""
    shown = ", ".join(f"`{v}`" for v in values[:limit])
    return shown + (f" (+{len(values) - limit} more)" if len(values) > limit else "")


def _fields_table(fields: list[dict[str, Any]]) -> list[str]:
    lines = ["| field | type | required | description |", "|---|---|---|---|"]
    for f in fields[:MAX_FIELDS_MD]:
        desc = _cell(f.get("description"))
        if f.get("enum"):
            desc = (desc + " One of: " + _enum(f["enum"])).strip()
        if f.get("deprecated"):
            desc = "**Deprecated.** " + desc
        lines.append(f"| `{f['name']}` | {_cell(f.get('type'))} | {'yes' if f.get('required') else 'no'} | {desc} |")
    if len(fields) > MAX_FIELDS_MD:
        lines.append(f"| … | | | {len(fields) - MAX_FIELDS_MD} more fields |")
    return lines


def markdown(rec: dict[str, Any]) -> str:
    """The endpoint evidence as Markdown: what it does, how to call it, what it takes and returns."""
    key = rec["operation_key"]
    title = f"## {key}" + (f" — {_cell(rec['summary'], 200)}" if rec.get("summary") else "")
    out = [title, ""]
    if rec.get("deprecated"):
        out += ["> **Deprecated.**", ""]
    meta = []
    if rec.get("operation_id"):
        meta.append(f"Operation id: `{rec['operation_id']}`")
    if rec.get("tags"):
        meta.append("Group: " + ", ".join(rec["tags"]))
    if meta:
        out += [" · ".join(meta), ""]
    desc = rec.get("description") or ""
    if desc:
        out += [desc if len(desc) <= MAX_DESC else desc[:MAX_DESC] + "…", ""]
    if rec.get("auth"):
        parts = []
        for a in rec["auth"]:
            s = f"{a.get('type')} (`{a.get('scheme')}`)"
            if a.get("parameter"):
                s += f" in {a.get('location')} `{a['parameter']}`"
            if a.get("scopes"):
                s += " scopes: " + ", ".join(f"`{x}`" for x in a["scopes"][:10])
            parts.append(s)
        out += ["**Auth:** " + "; ".join(parts), ""]
    else:
        out += ["**Auth:** none declared", ""]
    if rec.get("servers"):
        out += ["**Servers:** " + ", ".join(f"`{s}`" for s in rec["servers"][:3]), ""]
    params = rec.get("parameters") or []
    if params:
        out += ["### Parameters", "", "| name | in | type | required | description |", "|---|---|---|---|---|"]
        for p in params[:MAX_FIELDS_MD]:
            desc = _cell(p.get("description"))
            if p.get("enum"):
                desc = (desc + " One of: " + _enum(p["enum"])).strip()
            if p.get("default") not in (None, ""):
                desc = (desc + f" Default: `{p['default']}`.").strip()
            out.append(
                f"| `{p['name']}` | {p.get('location', '')} | {_cell(p.get('type'))} | "
                f"{'yes' if p.get('required') else 'no'} | {desc} |"
            )
        out.append("")
    body = rec.get("request_body")
    if body:
        ctypes = ", ".join(f"`{c}`" for c in body.get("contentTypes", [])[:5])
        out += ["### Request body" + (f" ({ctypes})" if ctypes else ""), ""]
        if body.get("description"):
            out += [_cell(body["description"], 1000), ""]
        if body.get("fields"):
            out += _fields_table(body["fields"]) + [""]
    responses = rec.get("responses") or []
    if responses:
        out += ["### Responses", ""]
        for r in responses[:12]:
            out.append(f"- `{r.get('code')}` {_cell(r.get('description'), 300)}")
        out.append("")
        ok = next((r for r in responses if str(r.get("code", "")).startswith("2") and r.get("fields")), None)
        if ok:
            out += [f"Fields of the `{ok['code']}` response:", ""] + _fields_table(ok["fields"][:60]) + [""]
    example = example_request(rec)
    if example:
        out += ["### Example request", "", "```" + example[0], example[1], "```", ""]
    for ex in (rec.get("examples") or [])[:2]:
        content = ex.get("content", "")
        if content:
            out += [f"Example: {ex.get('title', '')}", "", "```" + (ex.get("language") or ""), content[:2000], "```", ""]
    return "\n".join(out).strip() + "\n"


def example_request(rec: dict[str, Any]) -> tuple[str, str] | None:
    """A minimal example call built from the record (curl for HTTP operations)."""
    method, path = rec.get("method"), rec.get("path")
    if not method or not path or method not in ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"):
        return None
    base = (rec.get("servers") or ["https://api.example.com"])[0].rstrip("/")
    url = base + path.split("#", 1)[0]
    query = [p for p in rec.get("parameters") or [] if p.get("location") == "query" and p.get("required")]
    if query:
        url += "?" + "&".join(f"{p['name']}=…" for p in query[:5])
    lines = [f"curl -X {method} '{url}'"]
    for a in rec.get("auth") or []:
        if a.get("type") == "bearer" or a.get("type") == "oauth2":
            lines.append("  -H 'Authorization: Bearer $TOKEN'")
            break
        if a.get("type") == "basic":
            lines.append('  -u "$USER:$PASSWORD"')
            break
        if a.get("type") == "api_key" and a.get("location") == "header" and a.get("parameter"):
            lines.append(f"  -H '{a['parameter']}: $API_KEY'")
            break
    body = rec.get("request_body") or {}
    required = [f for f in body.get("fields") or [] if f.get("required") and "." not in f["name"] and "[" not in f["name"]]
    if required:
        ctype = (body.get("contentTypes") or ["application/json"])[0]
        if "form" in ctype:
            lines += [f"  -d '{f['name']}=…'" for f in required[:8]]
        else:
            lines.append("  -H 'Content-Type: application/json' -d '" + json.dumps({f["name"]: "…" for f in required[:8]}) + "'")
    return "bash", " \\\n".join(lines)


def search_text(rec: dict[str, Any]) -> str:
    """Everything findable about an endpoint, for the lexical index."""
    parts = [
        rec["operation_key"],
        rec.get("operation_id") or "",
        rec.get("summary") or "",
        " ".join(rec.get("tags") or []),
        rec.get("description") or "",
    ]
    for p in rec.get("parameters") or []:
        parts += [p["name"], p.get("description") or "", " ".join(map(str, p.get("enum") or []))]
    body = rec.get("request_body") or {}
    for f in body.get("fields") or []:
        parts += [f["name"], f.get("description") or "", " ".join(map(str, f.get("enum") or []))]
    for r in rec.get("responses") or []:
        parts.append(r.get("description") or "")
        for f in r.get("fields") or []:
            parts.append(f["name"])
    return "\n".join(x for x in parts if x)
