"""Postman importer: collections v2.0 and v2.1, one `Endpoint` per request item.

Folders are walked recursively (folder names become tags), auth is the request's own or inherited from
the nearest folder or the collection. The operation key is `METHOD /path` built from `url.path` joined
with `/` (`:var` segments kept), like shared/eval/validate_questions.py.

Credentials never reach the records: Authorization (and other credential-looking) header values,
auth attribute values (tokens, passwords, API key values, client secrets) and collection variables other
than URL-valued hosts are not copied. Saved responses become examples (truncated) and response records."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from woes.importers.base import DetectByBestFile, ImportContext, ImportError_, ImportIssue, ImportResult, SourceFile
from woes.importers.records import AuthRequirement, Document, Endpoint, Example, Field, Parameter, RequestBody, Response
from woes.importers.schema_fields import (
    EXAMPLE_MAX_CHARS,
    MAX_FIELDS,
    clean_text,
    dump_example,
    fields_from_value,
    gc_paused,
    is_credential_name,
    load_roots,
    load_structured,
    redact_credentials,
    truncate,
)

MAX_EXAMPLES_PER_REQUEST = 12
REQUEST_FIELD_SHARE = 200

_SCHEMA_V2 = re.compile(r'"schema"\s*:\s*"https?://schema\.(?:getpostman|postman)\.com/json/collection/v2')
_SCHEMA_V1 = re.compile(r'"schema"\s*:\s*"https?://schema\.(?:getpostman|postman)\.com/json/collection/v1')
_PLACEHOLDER = re.compile(r"^<([A-Za-z][A-Za-z0-9_ -]*)>$")
_VARIABLE = re.compile(r"\{\{\s*([^{}]+?)\s*\}\}")
_REQUIRED_PREFIX = re.compile(r"^\s*\(Required\)", re.IGNORECASE)
_CREDENTIAL_VALUE = re.compile(r"(?i)^\s*(bearer|basic|digest|token|apikey|hawk|aws4-hmac-sha256)\s+\S")

_OAUTH_FLOWS = {
    "authorization_code": "authorizationCode",
    "authorization_code_with_pkce": "authorizationCode",
    "client_credentials": "clientCredentials",
    "password_credentials": "password",
    "implicit": "implicit",
}
_AUTH_TYPES = {"bearer": "bearer", "basic": "basic", "apikey": "api_key", "oauth2": "oauth2", "jwt": "bearer"}


def _text(value: Any) -> str | None:
    """A Postman description (string or {content, type}) as sanitized text; blank is None."""
    if isinstance(value, dict):
        value = value.get("content")
    if value is None or isinstance(value, dict | list):
        return None
    text = clean_text(value)
    return text if text and text.strip() else None


def _is_http_url(value: Any) -> bool:
    return isinstance(value, str) and bool(re.match(r"^https?://[^\s/]+", value.strip()))


class PostmanImporter(DetectByBestFile):
    format = "postman"

    # -- detection ---------------------------------------------------------------------------------
    def score(self, f: SourceFile) -> float:
        text = f.text().lstrip("\ufeff")
        if text.lstrip("\ufeff \t\r\n")[:1] != "{":
            return 0.0
        if _SCHEMA_V2.search(text):
            return 0.97
        if '"_postman_id"' in text and '"item"' in text:
            return 0.9
        if _SCHEMA_V1.search(text):
            return 0.6  # recognized, refused at parse with a clear reason
        if f.path.lower().endswith(".postman_collection.json"):
            return 0.8
        if re.search(r'"info"\s*:', text) and re.search(r'"item"\s*:\s*\[', text) and '"request"' in text:
            return 0.5
        return 0.0

    # -- parsing -----------------------------------------------------------------------------------
    def parse(self, files: list[SourceFile], ctx: ImportContext) -> ImportResult:
        with gc_paused():
            return self._parse(files, ctx)

    def _parse(self, files: list[SourceFile], ctx: ImportContext) -> ImportResult:
        result = ImportResult(format=self.format)
        candidates = [f for f in files if self.score(f) >= 0.5] or (files[:1] if len(files) == 1 else [])
        if not candidates:
            raise ImportError_("no Postman collection found (a v2.0/v2.1 collection JSON with `info` and `item`)")
        collections = load_roots(candidates, _load_collection, _collection_problem, result.issues)
        seen_auth: set[tuple[str, str]] = set()
        for f, doc in sorted(collections, key=lambda c: c[0].path):
            _Walker(f, doc, ctx, result, seen_auth).run()
        return result


def _load_collection(f: SourceFile) -> Any:
    doc = load_structured(f.text(), f.path if f.path.lower().endswith((".json", ".yaml", ".yml")) else f.path + ".json")
    if isinstance(doc, dict) and isinstance(doc.get("collection"), dict) and "item" not in doc:
        doc = doc["collection"]  # the Postman API wraps collections this way
    return doc


def _collection_problem(doc: Any) -> str | None:
    if not isinstance(doc, dict):
        return "not a Postman collection (the top level is not an object)"
    info = doc.get("info")
    schema = str(info.get("schema") or "") if isinstance(info, dict) else ""
    if "/collection/v1" in schema or ("requests" in doc and "order" in doc and "item" not in doc):
        return "Postman collection v1 is not supported: export the collection as v2.1"
    if not isinstance(info, dict) or "item" not in doc:
        return "not a Postman collection: `info` and `item` are required"
    if not isinstance(doc["item"], list):
        return "not a Postman collection: `item` is not a list"
    return None


@dataclass(eq=False)
class _Walker:
    f: SourceFile
    doc: dict[str, Any]
    ctx: ImportContext
    result: ImportResult
    seen_auth: set[tuple[str, str]]
    variables: dict[str, str] = field(init=False)
    limit_hit: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        self.variables = _url_variables(self.doc.get("variable"))

    def run(self) -> None:
        info = self.doc["info"]
        name = clean_text(info.get("name")) if info.get("name") is not None else None
        if self.result.title is None and name:
            self.result.title = name
        version = info.get("version")
        if self.result.version is None and version is not None:
            if isinstance(version, dict):  # v2.0 allowed {major, minor, patch}
                version = ".".join(str(version.get(k, 0)) for k in ("major", "minor", "patch"))
            self.result.version = clean_text(version)
        desc = _text(info.get("description"))
        if desc:
            self.result.documents.append(Document(title=f"{name or self.f.path} — overview", path=self.f.path, markdown=desc))
        root_auth = self._auth_source(self.doc.get("auth"), "collection")
        self._walk(self.doc["item"], [], root_auth)

    # auth source: (auth object or None for "no auth", origin label); None when not specified
    def _auth_source(self, auth: Any, origin: str) -> tuple[Any, str] | None:
        if auth is None:
            return None
        if not isinstance(auth, dict):
            return None
        if auth.get("type") in (None, "", "inherit"):
            return None
        req = _auth_requirement(auth)
        if req is not None:
            key = (req.scheme, req.type)
            if key not in self.seen_auth:
                self.seen_auth.add(key)
                self.result.auth_schemes.append(req)
        return auth, origin

    def _walk(self, items: list[Any], folders: list[str], inherited: tuple[Any, str] | None) -> None:
        for idx, it in enumerate(items):
            if self.limit_hit:
                return
            label = "/".join([*folders, f"#{idx + 1}"])
            if not isinstance(it, dict):
                self.result.issues.append(ImportIssue(where=f"item: {label}", reason="item is not an object"))
                continue
            name = clean_text(it.get("name")) if it.get("name") is not None else None
            label = "/".join([*folders, name or f"#{idx + 1}"])
            where = f"item: {label}"
            if "item" in it:
                sub = it.get("item")
                if not isinstance(sub, list):
                    self.result.issues.append(ImportIssue(where=where, reason="folder `item` is not a list"))
                else:
                    folder_auth = self._auth_source(it.get("auth"), f"folder: {label}") or inherited
                    fdesc = _text(it.get("description"))
                    if fdesc:
                        self.result.documents.append(Document(title=label, path=f"{self.f.path}#{label}", markdown=fdesc))
                    self._walk(sub, [*folders, name or f"#{idx + 1}"], folder_auth)
            req = it.get("request")
            if not req:
                if "item" not in it:
                    self.result.issues.append(
                        ImportIssue(where=where, reason="item has neither `request` nor `item`", severity="warning")
                    )
                continue
            if len(self.result.endpoints) >= self.ctx.max_endpoints:
                self.result.issues.append(
                    ImportIssue(
                        where=where,
                        reason=f"endpoint limit reached ({self.ctx.max_endpoints}); the remaining requests were not imported",
                    )
                )
                self.limit_hit = True
                return
            try:
                ep = self._request(it, req, folders, inherited)
            except _BadItem as exc:
                self.result.issues.append(ImportIssue(where=where, reason=str(exc)))
                continue
            except RecursionError:
                self.result.issues.append(ImportIssue(where=where, reason="request nested too deeply"))
                continue
            except Exception as exc:  # one odd request never sinks the whole import
                self.result.issues.append(
                    ImportIssue(where=where, reason=f"could not read the request: {type(exc).__name__}: {exc}")
                )
                continue
            self.result.endpoints.append(ep)

    # -- one request -------------------------------------------------------------------------------
    def _request(self, it: dict[str, Any], req: Any, folders: list[str], inherited: tuple[Any, str] | None) -> Endpoint:
        if isinstance(req, str):
            req = {"url": req, "method": "GET"}
        if not isinstance(req, dict):
            raise _BadItem("`request` is not an object")
        method = req.get("method", "GET")
        if not isinstance(method, str) or not method.strip():
            raise _BadItem("`request.method` is not a string")
        method = clean_text(method.strip().upper()) or "GET"
        url = req.get("url")
        if url is not None and not isinstance(url, str | dict):
            raise _BadItem("`request.url` is neither a string nor an object")
        path, server, url_hash = self._path_and_server(url)
        name = clean_text(it.get("name")) if it.get("name") is not None else None
        ep = Endpoint(
            operation_key=f"{method} {path}",
            method=method,
            path=path,
            operation_id=name,
            summary=name or (clean_text(req.get("name")) if isinstance(req.get("name"), str) else None),
            description=_text(req.get("description")) or _text(it.get("description")),
            tags=list(folders),
            source_path=self.f.path,
        )
        if it.get("id") is not None:
            ep.extra["postman_id"] = clean_text(it.get("id"))
        if url_hash:
            ep.extra["url_hash"] = url_hash
        if server:
            ep.servers = [server]
            if server not in self.result.servers:
                self.result.servers.append(server)

        # parameters: path variables, query, headers
        if isinstance(url, dict):
            declared: set[str] = set()
            for v in url["variable"] if isinstance(url.get("variable"), list) else []:
                if isinstance(v, dict) and (v.get("key") or v.get("id")):
                    key = clean_text(v.get("key") or v.get("id")) or ""
                    declared.add(key)
                    ep.parameters.append(
                        Parameter(
                            name=key,
                            location="path",
                            type=_value_type(v.get("value"), v.get("type")),
                            required=True,
                            description=_text(v.get("description")),
                        )
                    )
            for seg in _path_segments(url):
                if seg.startswith(":") and len(seg) > 1 and seg[1:] not in declared:
                    declared.add(seg[1:])
                    ep.parameters.append(Parameter(name=seg[1:], location="path", required=True))
            for q in url["query"] if isinstance(url.get("query"), list) else []:
                if not isinstance(q, dict) or q.get("key") in (None, ""):
                    continue
                desc = _text(q.get("description"))
                ep.parameters.append(
                    Parameter(
                        name=clean_text(q["key"]) or "",
                        location="query",
                        type=_value_type(q.get("value")),
                        required=bool(desc and _REQUIRED_PREFIX.match(desc)),
                        description=desc,
                    )
                )
        content_type = None
        for h in _headers(req.get("header"), keep_values=True):
            key = h["key"]
            if key.lower() == "content-type" and isinstance(h.get("value"), str):
                content_type = clean_text(h["value"].split(";")[0].strip())
            desc = _text(h.get("description"))
            value = h.get("value")
            default = None
            if (
                isinstance(value, str)
                and value.strip()
                and _safe_header_value(key, value) != "<redacted>"
                and not _PLACEHOLDER.match(value.strip())
            ):
                default = clean_text(value)
            ep.parameters.append(
                Parameter(
                    name=key,
                    location="header",
                    type=_value_type(value),
                    required=bool(desc and _REQUIRED_PREFIX.match(desc)),
                    description=desc,
                    default=default,
                )
            )

        # auth: the request's own, else the nearest folder's, else the collection's
        own = self._auth_source(req.get("auth"), "request")
        source = own or inherited
        if source is not None:
            auth_obj, origin = source
            ar = _auth_requirement(auth_obj)
            if ar is not None:
                ep.auth = [ar]
            ep.extra["auth_from"] = origin

        # body
        examples: list[Example] = []
        responses = it.get("response") if isinstance(it.get("response"), list) else []
        has_success_body = any(
            isinstance(r, dict) and str(r.get("code", "")).startswith("2") and r.get("body") for r in responses
        )
        ep.request_body, body_example, truncated = _body(
            req.get("body"), content_type, REQUEST_FIELD_SHARE if has_success_body else MAX_FIELDS
        )
        request_example = _request_example(method, url, req.get("header"), body_example)
        if request_example:
            examples.append(Example(title="Request", content=request_example, language="http"))

        # saved responses -> examples and response records
        budget = MAX_FIELDS - (len(ep.request_body.fields) if ep.request_body else 0)
        by_code: dict[str, Response] = {}
        for r in responses:
            if not isinstance(r, dict):
                continue
            code = str(r.get("code")) if r.get("code") is not None else "default"
            code = clean_text(code) or "default"
            status = clean_text(r.get("status")) if r.get("status") is not None else None
            rname = clean_text(r.get("name")) if r.get("name") is not None else None
            ctype = None
            for h in _headers(r.get("header"), keep_values=True):
                if h["key"].lower() == "content-type" and isinstance(h.get("value"), str):
                    ctype = clean_text(h["value"].split(";")[0].strip())
            lang = r.get("_postman_previewlanguage") if isinstance(r.get("_postman_previewlanguage"), str) else None
            if ctype is None and lang == "json":
                ctype = "application/json"
            body = r.get("body")
            parsed = None
            if isinstance(body, str) and body.strip()[:1] in ("{", "["):
                try:
                    parsed = json.loads(body)
                except (ValueError, RecursionError):
                    parsed = None
            resp = by_code.get(code)
            if resp is None:
                resp = by_code[code] = Response(code=code, description=rname or status, content_types=[ctype] if ctype else [])
                ep.responses.append(resp)
            elif ctype and ctype not in resp.content_types:
                resp.content_types.append(ctype)
            if code.startswith("2") and parsed is not None and not resp.fields and budget > 0:
                resp.fields, t = fields_from_value(parsed, max_fields=budget)
                budget -= len(resp.fields)
                truncated = truncated or t
            if isinstance(body, str) and body.strip():
                title = " ".join(x for x in (f"Response {code}", status) if x)
                if rname:
                    title += f": {rname}"
                if parsed is not None:
                    content, _l = dump_example(parsed)
                    language = "json"
                else:
                    content = truncate(clean_text(body) or "", EXAMPLE_MAX_CHARS)
                    language = clean_text(lang) if lang else None
                examples.append(Example(title=title[:300], content=content, language=language))
        ep.examples = examples[:MAX_EXAMPLES_PER_REQUEST]
        if len(examples) > MAX_EXAMPLES_PER_REQUEST:
            ep.extra["examples_truncated"] = True
        if truncated:
            ep.extra["fields_truncated"] = True
        return ep

    def _path_and_server(self, url: Any) -> tuple[str, str | None, str | None]:
        """(path as in the operation key, server base URL when known, url hash)."""
        if url is None:
            return "/", None, None
        if isinstance(url, str):
            raw = clean_text(url) or ""
            p = re.sub(r"^[a-z]+://[^/]+", "", raw).split("?")[0]
            p = re.sub(r"^\{\{[^}]+\}\}", "", p)
            return p or "/", self._server_from_raw(raw), None
        segments = _path_segments(url)
        path = "/" + "/".join(segments)
        server = self._server_from_host(url)
        if server is None and isinstance(url.get("raw"), str):
            server = self._server_from_raw(url["raw"])
        url_hash = clean_text(url.get("hash")) if isinstance(url.get("hash"), str) and url.get("hash") else None
        return clean_text(path) or "/", server, url_hash

    def _server_from_host(self, url: dict[str, Any]) -> str | None:
        host = url.get("host")
        if isinstance(host, list):
            parts = [h if isinstance(h, str) else str(h.get("value", "")) if isinstance(h, dict) else "" for h in host]
            host_text = ".".join(p for p in parts if p)
        elif isinstance(host, str):
            host_text = host
        else:
            return None
        if not host_text:
            return None
        m = _VARIABLE.fullmatch(host_text.strip())
        if m:
            value = self.variables.get(m.group(1))
            return _strip_url(value) if value else None
        if "{{" in host_text:
            return None
        protocol = url.get("protocol") if isinstance(url.get("protocol"), str) else "https"
        port = f":{url['port']}" if isinstance(url.get("port"), str | int) and str(url.get("port")) else ""
        candidate = f"{protocol}://{host_text}{port}"
        return _strip_url(candidate) if _is_http_url(candidate) else None

    def _server_from_raw(self, raw: str) -> str | None:
        m = re.match(r"^\{\{\s*([^{}]+?)\s*\}\}", raw)
        if m:
            value = self.variables.get(m.group(1))
            return _strip_url(value) if value else None
        if _is_http_url(raw):
            parts = urlsplit(raw)
            return _strip_url(urlunsplit((parts.scheme, parts.netloc.rsplit("@", 1)[-1], "", "", "")))
        return None


class _BadItem(Exception):
    pass


def _strip_url(value: str) -> str | None:
    """An http(s) base URL without credentials, query or fragment."""
    value = value.strip()
    if not _is_http_url(value):
        return None
    parts = urlsplit(value)
    netloc = parts.netloc.rsplit("@", 1)[-1]  # never keep user:password@
    return clean_text(urlunsplit((parts.scheme, netloc, parts.path, "", "")))


def _url_variables(variables: Any) -> dict[str, str]:
    """Collection variables whose values are http(s) URLs (candidate base URLs). Nothing else is kept:
    other variables may hold API keys."""
    out: dict[str, str] = {}
    if not isinstance(variables, list):
        return out
    for v in variables:
        if not isinstance(v, dict):
            continue
        key = v.get("key") or v.get("id")
        value = v.get("value")
        if isinstance(key, str) and _is_http_url(value) and not is_credential_name(key):
            out[key.strip()] = value.strip()
    return out


def _path_segments(url: dict[str, Any]) -> list[str]:
    path = url.get("path")
    if isinstance(path, str):
        return [clean_text(s) or "" for s in path.lstrip("/").split("/")] if path else []
    if not isinstance(path, list):
        return []
    return [clean_text(x if isinstance(x, str) else (x.get("value", "") if isinstance(x, dict) else str(x))) or "" for x in path]


def _value_type(value: Any, declared: Any = None) -> str | None:
    if isinstance(value, str):
        m = _PLACEHOLDER.match(value.strip())
        if m:
            return m.group(1).strip().lower()
    if isinstance(declared, str) and declared not in ("any", "text", "string", ""):
        return clean_text(declared)
    return None


def _headers(headers: Any, keep_values: bool = False) -> list[dict[str, Any]]:
    """Header entries [{key, value?, description}]; values only with keep_values (callers pass each value
    through `_safe_header_value` before storing anything)."""
    out: list[dict[str, Any]] = []
    if isinstance(headers, str):  # v2.0 allowed "Key: value\nKey2: value2"
        entries = []
        for line in headers.splitlines():
            if ":" in line:
                k, _, v = line.partition(":")
                entries.append({"key": k.strip(), "value": v.strip()})
        headers = entries
    if not isinstance(headers, list):
        return out
    for h in headers:
        if not isinstance(h, dict) or not isinstance(h.get("key"), str) or not h["key"].strip():
            continue
        key = clean_text(h["key"].strip()) or ""
        entry: dict[str, Any] = {"key": key, "description": h.get("description")}
        if keep_values or key.lower() == "content-type":
            entry["value"] = h.get("value")
        out.append(entry)
    return out


def _safe_header_value(key: str, value: Any) -> str:
    if is_credential_name(key) or not isinstance(value, str) or _CREDENTIAL_VALUE.match(value):
        return "<redacted>"
    return clean_text(value) or ""


def _auth_attrs(auth: dict[str, Any], kind: str) -> dict[str, Any]:
    """The non-secret attributes of an auth object (v2.1 list of {key, value} or v2.0 mapping)."""
    allowed = {
        "apikey": ("key", "in"),
        "oauth2": ("grant_type", "scope", "authUrl", "accessTokenUrl", "addTokenTo", "headerPrefix", "client_authentication"),
        "bearer": (),
        "basic": (),
    }.get(kind, ())
    raw = auth.get(kind)
    out: dict[str, Any] = {}
    if isinstance(raw, list):
        for a in raw:
            if isinstance(a, dict) and a.get("key") in allowed:
                out[a["key"]] = a.get("value")
    elif isinstance(raw, dict):
        for k in allowed:
            if k in raw:
                out[k] = raw[k]
    return out


def _public_url(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    if _is_http_url(value):
        parts = urlsplit(value.strip())
        return clean_text(urlunsplit((parts.scheme, parts.netloc.rsplit("@", 1)[-1], parts.path, "", "")))
    return clean_text(value.split("?")[0]) if "{{" in value else None


def _auth_requirement(auth: dict[str, Any]) -> AuthRequirement | None:
    kind = auth.get("type")
    if not isinstance(kind, str) or kind in ("noauth", "", "inherit"):
        return None
    kind = kind.strip()
    attrs = _auth_attrs(auth, kind)
    req = AuthRequirement(scheme=clean_text(kind) or kind, type=_AUTH_TYPES.get(kind, "other"))
    notes: list[str] = []
    if kind == "bearer":
        req.location, req.parameter = "header", "Authorization"
    elif kind == "basic":
        req.location, req.parameter = "header", "Authorization"
    elif kind == "apikey":
        where = attrs.get("in") if attrs.get("in") in ("header", "query") else "header"
        req.location = where
        name = attrs.get("key")
        req.parameter = clean_text(name) if isinstance(name, str) and name.strip() else None
    elif kind == "oauth2":
        grant = attrs.get("grant_type")
        if isinstance(grant, str) and grant:
            req.flows = [_OAUTH_FLOWS.get(grant, clean_text(grant) or grant)]
        scope = attrs.get("scope")
        if isinstance(scope, str) and scope.strip():
            req.scopes = [clean_text(s) or "" for s in re.split(r"[\s,]+", scope.strip()) if s]
        for label, key in (("Authorization URL", "authUrl"), ("Token URL", "accessTokenUrl")):
            url = _public_url(attrs.get(key))
            if url:
                notes.append(f"{label}: {url}")
    else:
        notes.append(f"Postman auth type: {clean_text(kind)}")
    if notes:
        req.description = "\n".join(notes)
    return req


def _placeholder_type(value: Any, declared: Any = None) -> str | None:
    t = _value_type(value)
    if t:
        return t
    if declared == "file":
        return "file"
    return "string"


def _body(body: Any, content_type: str | None, budget: int) -> tuple[RequestBody | None, str | None, bool]:
    """(request body, example body text, truncated)."""
    if not isinstance(body, dict) or body.get("disabled") is True:
        return None, None, False
    mode = body.get("mode")
    rb = RequestBody(content_types=[content_type] if content_type else [])
    example: str | None = None
    truncated = False
    if mode == "raw":
        raw = body.get("raw")
        if not isinstance(raw, str) or not raw.strip():
            return (rb if rb.content_types else None), None, False
        opts = body.get("options") if isinstance(body.get("options"), dict) else {}
        lang = opts.get("raw", {}).get("language") if isinstance(opts.get("raw"), dict) else None
        if not rb.content_types:
            rb.content_types = [
                {
                    "json": "application/json",
                    "xml": "application/xml",
                    "html": "text/html",
                    "javascript": "application/javascript",
                }.get(str(lang), "text/plain")
            ]
        parsed = _parse_json_body(raw)
        if parsed is not None:
            if rb.content_types == ["text/plain"]:
                rb.content_types = ["application/json"]
            rb.fields, truncated = fields_from_value(parsed, max_fields=budget)
            example = json.dumps(redact_credentials(parsed), indent=2, ensure_ascii=False)
        else:
            example = clean_text(raw)
    elif mode in ("urlencoded", "formdata"):
        entries = body.get(mode)
        if not rb.content_types:
            rb.content_types = ["application/x-www-form-urlencoded" if mode == "urlencoded" else "multipart/form-data"]
        pairs: list[str] = []
        for e in entries if isinstance(entries, list) else []:
            if not isinstance(e, dict) or not isinstance(e.get("key"), str) or not e["key"]:
                continue
            if len(rb.fields) >= budget:
                truncated = True
                break
            key = clean_text(e["key"]) or ""
            desc = _text(e.get("description"))
            rb.fields.append(
                Field(
                    name=key,
                    type=_placeholder_type(e.get("value"), e.get("type")),
                    required=bool(desc and _REQUIRED_PREFIX.match(desc)),
                    description=desc,
                )
            )
            if e.get("disabled") is not True:
                if e.get("type") == "file":
                    value = "<file>"
                elif is_credential_name(key) or not isinstance(e.get("value"), str | int | float):
                    value = "<redacted>" if is_credential_name(key) else ""
                else:
                    value = clean_text(e.get("value")) or ""
                pairs.append(f"{key}={value}")
        if pairs:
            example = ("&" if mode == "urlencoded" else "\n").join(pairs)
        if not rb.fields:
            return None, None, False  # an empty form (Stripe's collection has one on every GET)
        rb.required = any(f.required for f in rb.fields)
    elif mode == "file":
        if not rb.content_types:
            rb.content_types = ["application/octet-stream"]
        rb.fields = []
    elif mode == "graphql":
        gql = body.get("graphql") if isinstance(body.get("graphql"), dict) else {}
        rb.content_types = rb.content_types or ["application/json"]
        rb.fields = [Field(name="query", type="string", required=True), Field(name="variables", type="object")]
        if isinstance(gql.get("query"), str):
            example = clean_text(gql["query"])
    else:
        return (rb if rb.content_types else None), None, False
    return rb, (truncate(example) if example else None), truncated


def _parse_json_body(raw: str) -> Any:
    text = raw.strip()
    if text[:1] not in ("{", "["):
        return None
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        pass
    # unquoted {{variables}} make the body invalid JSON; stand them in to read its shape
    try:
        return json.loads(re.sub(r'(?<!")\{\{[^{}]+\}\}(?!")', "null", text))
    except (ValueError, RecursionError):
        return None


def _request_example(method: str, url: Any, headers: Any, body: str | None) -> str | None:
    """An HTTP-style request text (credential values replaced) from the request as saved."""
    if isinstance(url, dict):
        raw = url.get("raw") if isinstance(url.get("raw"), str) else None
        if raw is None:
            host = url.get("host")
            host_text = (
                ".".join(h for h in host if isinstance(h, str))
                if isinstance(host, list)
                else (host if isinstance(host, str) else "")
            )
            raw = host_text + "/" + "/".join(_path_segments(url))
            query = (
                [q for q in url["query"] if isinstance(q, dict) and q.get("key") and q.get("disabled") is not True]
                if isinstance(url.get("query"), list)
                else []
            )
            if query:
                raw += "?" + "&".join(f"{q['key']}={q.get('value') or ''}" for q in query)
    elif isinstance(url, str):
        raw = url
    else:
        raw = ""
    raw = _redact_query(clean_text(raw) or "")
    if not body and "?" not in raw:
        return None  # nothing beyond the operation key itself
    lines = [f"{method} {raw}".rstrip()]
    for h in _headers(headers, keep_values=True):
        lines.append(f"{h['key']}: {_safe_header_value(h['key'], h.get('value'))}")
    text = "\n".join(lines)
    if body:
        text += "\n\n" + body
    return truncate(text)


def _redact_query(raw: str) -> str:
    if "?" not in raw:
        return _strip_userinfo(raw)
    base, _, query = raw.partition("?")
    frag = ""
    if "#" in query:
        query, _, frag = query.partition("#")
    parts = []
    for pair in query.split("&"):
        k, eq, _v = pair.partition("=")
        parts.append(f"{k}=<redacted>" if eq and is_credential_name(k) else pair)
    return _strip_userinfo(base) + "?" + "&".join(parts) + (f"#{frag}" if frag else "")


def _strip_userinfo(raw: str) -> str:
    m = re.match(r"^([a-zA-Z][a-zA-Z0-9+.-]*://)([^/@]+@)(.*)$", raw)
    return m.group(1) + m.group(3) if m else raw
