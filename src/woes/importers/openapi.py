"""OpenAPI importer: Swagger 2.0, OpenAPI 3.0 and 3.1, JSON or YAML, one `Endpoint` per operation.

`$ref`s are resolved by `woes.importers.refs.RefResolver`: local pointers (`#/components/...`), other
files of the same source (`schemas.yaml#/Pet`, relative paths, never outside the source), and remote
`http(s)://` documents only through `ctx.fetch` (the safe-fetch policy); without it a remote ref is
refused with an `ImportIssue` and the import goes on. References are resolved lazily, only where the
OpenAPI structure allows one (parameters, bodies, responses, schemas, examples): a `"$ref"` key inside an
example value (GitHub's SCIM examples have them) is data, not a reference.

Operations are counted like shared/eval/validate_questions.py: every lower-case HTTP method key of every
path item whose value is a mapping. The operation key is `METHOD /path` with the path key exactly as
written (Box's `#fragments` kept)."""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from typing import Any

from woes.importers.base import DetectByBestFile, ImportContext, ImportError_, ImportIssue, ImportResult, SourceFile
from woes.importers.records import AuthRequirement, Document, Endpoint, Example, Field, Parameter, RequestBody, Response
from woes.importers.refs import RefFailure, RefResolver, document_key
from woes.importers.schema_fields import (
    MAX_FIELDS,
    RefError,
    clean_text,
    describe_type,
    dump_example,
    enum_values,
    flatten_schema,
    gc_paused,
    json_safe,
    load_roots,
    load_structured,
    truncate,
)

HTTP_METHODS = ("get", "post", "put", "patch", "delete", "head", "options", "trace")
MAX_EXAMPLES_PER_OPERATION = 12
MAX_EXTENSION_CHARS = 2000
REQUEST_FIELD_SHARE = 200  # of MAX_FIELDS, when a success response has a schema too

_ROOT_JSON = re.compile(r'(?<!\\)"(openapi|swagger)"\s*:\s*"?(\d)')
_ROOT_YAML = re.compile(r"^(openapi|swagger)\s*:\s*['\"]?(\d)", re.MULTILINE)
_PATHS_JSON = re.compile(r'(?<!\\)"paths"\s*:\s*\{')
_PATHS_YAML = re.compile(r"^paths\s*:", re.MULTILINE)
_CODE_SAMPLE_KEYS = ("x-codeSamples", "x-code-samples", "x-codesamples")


class _SkipOperation(Exception):
    pass


@dataclass
class _Doc:
    """Document-level facts used for every operation of one root document."""

    key: str  # base for refs
    source_path: str
    v2: bool
    raw: dict[str, Any]
    schemes: dict[str, AuthRequirement]
    default_security: Any
    servers: list[str]


class OpenAPIImporter(DetectByBestFile):
    format = "openapi"

    # -- detection ---------------------------------------------------------------------------------
    def score(self, f: SourceFile) -> float:
        low = f.path.lower()
        if not low.endswith((".json", ".yaml", ".yml")) and "." in posixpath.basename(low):
            ext_ok = False
        else:
            ext_ok = True
        text = f.text().lstrip("\ufeff")
        head = text.lstrip("\ufeff \t\r\n")[:1]
        if head in ("{", "["):
            root, paths = _ROOT_JSON.search(text), _PATHS_JSON.search(text)
        else:
            root, paths = _ROOT_YAML.search(text), _PATHS_YAML.search(text)
        if root and root.group(2) in ("2", "3"):
            score = 0.97 if paths else 0.8
            return score if ext_ok else score - 0.1
        name = posixpath.basename(low)
        if ext_ok and ("openapi" in name or "swagger" in name):
            return 0.3
        return 0.0

    # -- parsing -----------------------------------------------------------------------------------
    def parse(self, files: list[SourceFile], ctx: ImportContext) -> ImportResult:
        with gc_paused():  # ~30% faster on multi-MB specs; normalizing creates no reference cycles
            return self._parse(files, ctx)

    def _parse(self, files: list[SourceFile], ctx: ImportContext) -> ImportResult:
        result = ImportResult(format=self.format)
        candidates = [f for f in files if self.score(f) >= 0.5]
        if not candidates:
            structured = [f for f in files if f.path.lower().endswith((".json", ".yaml", ".yml"))]
            candidates = structured or (files[:1] if len(files) == 1 else [])
        if not candidates:
            raise ImportError_("no OpenAPI document found: no JSON or YAML file with a top-level `openapi` or `swagger` key")

        docs: dict[str, Any] = {}  # every document that loads, a root or not: `$ref`s may name it

        def load(f: SourceFile) -> Any:
            key = document_key(f.path)
            docs[key] = load_structured(f.text(), f.path)
            return docs[key]

        roots = load_roots(candidates, load, _root_problem, result.issues)
        resolver = RefResolver(files, ctx, result.issues, documents=docs)
        seen_schemes: set[str] = set()
        for f, doc in sorted(roots, key=lambda r: r[0].path):
            self._parse_root(f, doc, resolver, ctx, result, seen_schemes)
        return result

    def _parse_root(
        self,
        f: SourceFile,
        raw: dict[str, Any],
        resolver: RefResolver,
        ctx: ImportContext,
        result: ImportResult,
        seen_schemes: set[str],
    ) -> None:
        key = document_key(f.path)
        v2 = "swagger" in raw and "openapi" not in raw
        info = raw.get("info") if isinstance(raw.get("info"), dict) else {}
        if result.title is None and info.get("title") is not None:
            result.title = clean_text(info.get("title"))
        if result.version is None and info.get("version") is not None:
            result.version = clean_text(json_safe(info.get("version")))

        resolver.where = "securitySchemes"
        schemes = _security_schemes(raw, key, v2, resolver)
        for name, scheme in schemes.items():
            if name not in seen_schemes:
                seen_schemes.add(name)
                result.auth_schemes.append(scheme)
        servers = _v2_servers(raw, None) if v2 else _v3_servers(raw.get("servers"))
        for s in servers:
            if s not in result.servers:
                result.servers.append(s)
        d = _Doc(
            key=key, source_path=f.path, v2=v2, raw=raw, schemes=schemes, default_security=raw.get("security"), servers=servers
        )

        overview = _overview_markdown(raw, info)
        if overview:
            title = clean_text(info.get("title")) or f.path
            result.documents.append(Document(title=f"{title} — overview", path=f.path, markdown=overview))

        paths = raw.get("paths")
        if not isinstance(paths, dict):
            return
        for path_key, item in paths.items():
            path = clean_text(str(path_key)) or ""
            where_path = f"paths.{path}"
            resolver.where = where_path
            if not isinstance(item, dict):
                result.issues.append(ImportIssue(where=where_path, reason="path item is not a mapping"))
                continue
            if "$ref" in item:
                try:
                    resolved, item_base, _ = resolver.deref(item, key)
                except RefFailure as exc:
                    result.issues.append(ImportIssue(where=where_path, reason=f"path item $ref: {exc.reason}"))
                    continue
                if not isinstance(resolved, dict):
                    result.issues.append(ImportIssue(where=where_path, reason="path item $ref does not point to a mapping"))
                    continue
                item = {**resolved, **{k: v for k, v in item.items() if k != "$ref"}}
            else:
                item_base = key
            for method, op in item.items():
                if not isinstance(method, str) or method not in HTTP_METHODS:
                    continue
                where = f"{where_path}.{method}"
                if len(result.endpoints) >= ctx.max_endpoints:
                    result.issues.append(
                        ImportIssue(
                            where=where,
                            reason=f"endpoint limit reached ({ctx.max_endpoints}); the remaining operations were not imported",
                        )
                    )
                    return
                if not isinstance(op, dict):
                    result.issues.append(ImportIssue(where=where, reason="operation is not a mapping"))
                    continue
                resolver.where = where
                try:
                    ep = self._operation(d, path, method, op, item, item_base, resolver, result.issues)
                except _SkipOperation as exc:
                    result.issues.append(ImportIssue(where=where, reason=str(exc)))
                    continue
                except RecursionError:
                    result.issues.append(ImportIssue(where=where, reason="operation nested too deeply"))
                    continue
                except Exception as exc:  # one odd operation never sinks the whole import
                    result.issues.append(
                        ImportIssue(where=where, reason=f"could not read the operation: {type(exc).__name__}: {exc}")
                    )
                    continue
                result.endpoints.append(ep)

    # -- one operation -----------------------------------------------------------------------------
    def _operation(
        self,
        d: _Doc,
        path: str,
        method: str,
        op: dict[str, Any],
        item: dict[str, Any],
        item_base: str,
        resolver: RefResolver,
        issues: list[ImportIssue],
    ) -> Endpoint:
        base = item_base
        where = resolver.where
        ep = Endpoint(
            operation_key=f"{method.upper()} {path}",
            method=method.upper(),
            path=path,
            operation_id=clean_text(op.get("operationId")) if op.get("operationId") is not None else None,
            summary=_text(op.get("summary")),
            description=_text(op.get("description")),
            tags=[clean_text(t) or "" for t in op.get("tags") or [] if isinstance(t, str | int | float)]
            if isinstance(op.get("tags"), list)
            else [],
            deprecated=op.get("deprecated") is True,
            source_path=d.source_path,
        )

        # parameters: path-level first, operation-level overrides by (name, in)
        merged: dict[tuple[str, str], tuple[dict[str, Any], str]] = {}
        for level in (item.get("parameters"), op.get("parameters")):
            if level is None:
                continue
            if not isinstance(level, list):
                raise _SkipOperation("bad parameters: not a list")
            for i, p in enumerate(level):
                try:
                    pnode, pbase, _ = resolver.deref(p, base)
                except RefFailure as exc:
                    if exc.remote:
                        continue  # reported once per URL; the parameter is left out, the operation kept
                    raise _SkipOperation(f"broken parameter $ref {p.get('$ref')!r}: {exc.reason}") from None
                if not isinstance(pnode, dict):
                    raise _SkipOperation(f"bad parameter #{i + 1}: not a mapping")
                name, loc = pnode.get("name"), pnode.get("in")
                if not isinstance(name, str | int) or not isinstance(loc, str):
                    raise _SkipOperation(f"bad parameter #{i + 1}: missing `name` or `in`")
                allowed = (
                    ("path", "query", "header", "cookie", "body", "formData") if d.v2 else ("path", "query", "header", "cookie")
                )
                if loc not in allowed:
                    raise _SkipOperation(f"bad parameter {name!r}: unknown location `in: {loc}`")
                merged[(str(name), loc)] = (pnode, pbase)

        budget = MAX_FIELDS
        body_params = [(p, b) for (n, loc), (p, b) in merged.items() if loc == "body"]
        form_params = [(p, b) for (n, loc), (p, b) in merged.items() if loc == "formData"]
        responses_raw = op.get("responses")
        success_has_schema = _success_has_schema(responses_raw, d.v2, base, resolver)
        request_budget = REQUEST_FIELD_SHARE if success_has_schema else MAX_FIELDS
        truncated = False

        for (_n, loc), (pnode, pbase) in merged.items():
            if loc in ("body", "formData"):
                continue
            ep.parameters.append(_parameter(pnode, pbase, d.v2, resolver))

        examples: list[Example] = []

        # request body
        if d.v2:
            if body_params or form_params:
                rb, t = _v2_request_body(op, d.raw, body_params, form_params, resolver, request_budget)
                ep.request_body, truncated = rb, truncated or t
                for bp, _bb in body_params:
                    schema = bp.get("schema")
                    if isinstance(schema, dict) and "example" in schema:
                        examples.append(_example("Request example", schema["example"]))
        elif op.get("requestBody") is not None:
            try:
                rb_node, rb_base, _ = resolver.deref(op["requestBody"], base)
            except RefFailure as exc:
                if not exc.remote:
                    raise _SkipOperation(f"broken requestBody $ref: {exc.reason}") from None
                rb_node, rb_base = None, base
            if rb_node is not None:
                if not isinstance(rb_node, dict):
                    raise _SkipOperation("bad requestBody: not a mapping")
                content = rb_node.get("content") if isinstance(rb_node.get("content"), dict) else {}
                fields, t = _content_fields(content, rb_base, resolver, request_budget, "request")
                truncated = truncated or t
                ep.request_body = RequestBody(
                    content_types=[clean_text(str(c)) or "" for c in content],
                    required=rb_node.get("required") is True,
                    description=_text(rb_node.get("description")),
                    fields=fields,
                )
                examples.extend(_media_examples(content, rb_base, resolver, "Request example"))
        if ep.request_body and method in ("get", "head", "delete") and not ep.request_body.fields and not examples:
            # Stripe declares an empty form body on every GET/DELETE: not worth an evidence line
            if not d.v2 and _all_media_empty(op.get("requestBody"), base, resolver):
                ep.request_body = None
        if ep.request_body:
            budget -= len(ep.request_body.fields)
        budget = max(budget, MAX_FIELDS - REQUEST_FIELD_SHARE)

        # responses
        if responses_raw is not None and not isinstance(responses_raw, dict):
            raise _SkipOperation("bad responses: not a mapping")
        produces = (_list_of_str(op.get("produces")) or _list_of_str(d.raw.get("produces"))) if d.v2 else []
        for code_key, r in (responses_raw or {}).items():
            code = clean_text(str(code_key)) or ""
            if code.startswith("x-"):
                continue
            try:
                rnode, rbase, _ = resolver.deref(r, base)
            except RefFailure as exc:
                if exc.remote:
                    ep.responses.append(Response(code=code))
                    continue
                raise _SkipOperation(f"broken response $ref for {code}: {exc.reason}") from None
            if not isinstance(rnode, dict):
                raise _SkipOperation(f"bad response {code}: not a mapping")
            success = code.startswith("2")
            resp = Response(code=code, description=_text(rnode.get("description")))
            if d.v2:
                schema = rnode.get("schema")
                if schema is not None:
                    resp.content_types = list(produces) or ["application/json"]
                    if success and budget > 0:
                        resp.fields, t = flatten_schema(
                            schema, rbase, resolver.schema_deref, max_fields=budget, mode="response", memo=resolver.schema_memo
                        )
                        budget -= len(resp.fields)
                        truncated = truncated or t
                ex = rnode.get("examples")
                if isinstance(ex, dict):
                    for mime, value in list(ex.items())[:4]:
                        examples.append(_example(f"Response {code} example ({mime})", value))
            else:
                content = rnode.get("content") if isinstance(rnode.get("content"), dict) else {}
                resp.content_types = [clean_text(str(c)) or "" for c in content]
                if success and budget > 0:
                    resp.fields, t = _content_fields(content, rbase, resolver, budget, "response")
                    budget -= len(resp.fields)
                    truncated = truncated or t
                examples.extend(_media_examples(content, rbase, resolver, f"Response {code} example"))
            ep.responses.append(resp)

        # auth
        security = op["security"] if "security" in op else d.default_security
        if security is not None:
            ep.auth, alternatives = _auth(security, d.schemes, resolver, where)
            ep.extra["security"] = alternatives

        # servers
        if d.v2:
            ep.servers = _v2_servers(d.raw, op.get("schemes")) if op.get("schemes") else list(d.servers)
        else:
            ep.servers = _v3_servers(op.get("servers")) or _v3_servers(item.get("servers")) or list(d.servers)

        # code samples
        for k in _CODE_SAMPLE_KEYS:
            samples = op.get(k)
            if isinstance(samples, list):
                for s in samples[:MAX_EXAMPLES_PER_OPERATION]:
                    if isinstance(s, dict) and isinstance(s.get("source"), str):
                        lang = clean_text(s.get("lang")) if s.get("lang") is not None else None
                        title = clean_text(s.get("label") or s.get("lang") or "Code sample") or "Code sample"
                        examples.append(Example(title=title, content=truncate(clean_text(s["source"]) or ""), language=lang))
        ep.examples = examples[:MAX_EXAMPLES_PER_OPERATION]
        if len(examples) > MAX_EXAMPLES_PER_OPERATION:
            ep.extra["examples_truncated"] = True

        if truncated:
            ep.extra["fields_truncated"] = True
        ext_docs = op.get("externalDocs")
        if isinstance(ext_docs, dict) and isinstance(ext_docs.get("url"), str):
            ep.extra["docs_url"] = clean_text(ext_docs["url"])
        if isinstance(op.get("callbacks"), dict) and op["callbacks"]:
            ep.extra["callbacks"] = [clean_text(str(k)) for k in op["callbacks"]]
        extensions = _extensions(op)
        if extensions:
            ep.extra["extensions"] = extensions
        if not ep.summary and isinstance(item.get("summary"), str):
            ep.summary = _text(item["summary"])
        if not ep.description and isinstance(item.get("description"), str):
            ep.description = _text(item["description"])
        return ep


# ------------------------------------------------------------------------------------------------------
# helpers


def _root_problem(doc: Any) -> str | None:
    if not isinstance(doc, dict):
        return "not an OpenAPI document (the top level is not a mapping)"
    if "openapi" in doc:
        version = str(doc["openapi"])
        if not version.startswith("3"):
            return f"unsupported OpenAPI version {version!r} (2.0, 3.0 and 3.1 are supported)"
    elif "swagger" in doc:
        version = str(doc["swagger"])
        if not version.startswith("2"):
            return f"unsupported Swagger version {version!r}"
    else:
        return "not an OpenAPI document: no top-level `openapi` or `swagger` key"
    paths = doc.get("paths")
    if paths is None:
        if str(doc.get("openapi", "")).startswith("3.1") and (doc.get("webhooks") or doc.get("components")):
            return None  # 3.1 allows a document of only webhooks/components
        return "not an OpenAPI document: no `paths`"
    if not isinstance(paths, dict):
        return "`paths` is not a mapping"
    return None


def _text(value: Any) -> str | None:
    """Sanitized text; empty or blank text is None."""
    if value is None:
        return None
    if not isinstance(value, str):
        value = str(json_safe(value))
    value = clean_text(value)
    return value if value and value.strip() else None


def _list_of_str(value: Any) -> list[str]:
    if isinstance(value, list):
        return [clean_text(str(v)) or "" for v in value if isinstance(v, str)]
    return []


def _extensions(op: dict[str, Any]) -> dict[str, Any]:
    import json

    out: dict[str, Any] = {}
    for k, v in op.items():
        if isinstance(k, str) and k.startswith("x-") and k not in _CODE_SAMPLE_KEYS:
            safe = json_safe(v)
            try:
                if len(json.dumps(safe, ensure_ascii=False)) <= MAX_EXTENSION_CHARS:
                    out[k] = safe
            except (TypeError, ValueError):
                continue
    return out


def _overview_markdown(raw: dict[str, Any], info: dict[str, Any]) -> str | None:
    parts: list[str] = []
    title = _text(info.get("title"))
    desc = _text(info.get("description"))
    if desc:
        parts.append(f"# {title or 'API'}\n\n{desc.strip()}")
    tag_parts = []
    for t in raw.get("tags") if isinstance(raw.get("tags"), list) else []:
        if (
            isinstance(t, dict)
            and t.get("name") is not None
            and isinstance(t.get("description"), str)
            and t["description"].strip()
        ):
            tag_parts.append(f"## {clean_text(t['name'])}\n\n{clean_text(t['description'].strip())}")
    if tag_parts:
        if not parts:
            parts.append(f"# {title or 'API'}")
        parts.extend(tag_parts)
    ext = raw.get("externalDocs")
    if parts and isinstance(ext, dict) and isinstance(ext.get("url"), str):
        parts.append(f"Documentation: {clean_text(ext['url'])}")
    return "\n\n".join(parts) if parts else None


def _v3_servers(servers: Any) -> list[str]:
    out: list[str] = []
    if isinstance(servers, list):
        for s in servers:
            if isinstance(s, dict) and isinstance(s.get("url"), str):
                url = clean_text(s["url"]) or ""
                if url and url not in out:
                    out.append(url)
    return out


def _v2_servers(raw: dict[str, Any], op_schemes: Any) -> list[str]:
    host = raw.get("host") if isinstance(raw.get("host"), str) else None
    base_path = raw.get("basePath") if isinstance(raw.get("basePath"), str) else ""
    if base_path and not base_path.startswith("/"):
        base_path = "/" + base_path
    schemes = _list_of_str(op_schemes) or _list_of_str(raw.get("schemes")) or ["https"]
    if not host:
        return [clean_text(base_path) or ""] if base_path and base_path != "/" else []
    return [clean_text(f"{s}://{host}{base_path}") or "" for s in schemes]


def _security_schemes(raw: dict[str, Any], base: str, v2: bool, resolver: RefResolver) -> dict[str, AuthRequirement]:
    if v2:
        defs = raw.get("securityDefinitions")
    else:
        comps = raw.get("components") if isinstance(raw.get("components"), dict) else {}
        defs = comps.get("securitySchemes")
    out: dict[str, AuthRequirement] = {}
    if not isinstance(defs, dict):
        return out
    for name, s in defs.items():
        try:
            node, _b, _ = resolver.deref(s, base)
        except RefFailure as exc:
            if not exc.remote:
                resolver.issues.append(ImportIssue(where=f"securitySchemes.{name}", reason=exc.reason, severity="warning"))
            continue
        if not isinstance(node, dict):
            resolver.issues.append(
                ImportIssue(where=f"securitySchemes.{name}", reason="security scheme is not a mapping", severity="warning")
            )
            continue
        out[str(name)] = _scheme(str(name), node, v2)
    return out


_V2_FLOWS = {
    "implicit": "implicit",
    "password": "password",
    "application": "clientCredentials",
    "accessCode": "authorizationCode",
}


def _scheme(name: str, s: dict[str, Any], v2: bool) -> AuthRequirement:
    kind = str(s.get("type") or "")
    desc = _text(s.get("description"))
    notes: list[str] = []
    req = AuthRequirement(scheme=clean_text(name) or name, type="other")
    if kind == "apiKey":
        req.type = "api_key"
        req.location = clean_text(s.get("in")) if isinstance(s.get("in"), str) else None
        req.parameter = clean_text(s.get("name")) if s.get("name") is not None else None
    elif kind == "basic":
        req.type = "basic"
    elif kind == "http":
        scheme = str(s.get("scheme") or "").lower()
        if scheme == "bearer":
            req.type = "bearer"
            req.location, req.parameter = "header", "Authorization"
            if s.get("bearerFormat"):
                notes.append(f"Bearer format: {clean_text(s['bearerFormat'])}")
        elif scheme == "basic":
            req.type = "basic"
            req.location, req.parameter = "header", "Authorization"
        else:
            notes.append(f"HTTP authentication scheme: {clean_text(scheme) or 'unspecified'}")
    elif kind == "oauth2":
        req.type = "oauth2"
        scopes: list[str] = []
        if v2:
            flow = str(s.get("flow") or "")
            if flow:
                req.flows.append(_V2_FLOWS.get(flow, clean_text(flow) or flow))
            if isinstance(s.get("scopes"), dict):
                scopes.extend(str(k) for k in s["scopes"])
            for k in ("authorizationUrl", "tokenUrl"):
                if isinstance(s.get(k), str):
                    notes.append(f"{k}: {clean_text(s[k])}")
        else:
            flows = s.get("flows") if isinstance(s.get("flows"), dict) else {}
            for fname, flow in flows.items():
                req.flows.append(clean_text(str(fname)) or "")
                if isinstance(flow, dict):
                    if isinstance(flow.get("scopes"), dict):
                        scopes.extend(str(k) for k in flow["scopes"] if str(k) not in scopes)
                    for k in ("authorizationUrl", "tokenUrl", "refreshUrl"):
                        if isinstance(flow.get(k), str):
                            notes.append(f"{fname} {k}: {clean_text(flow[k])}")
        req.scopes = [clean_text(x) or "" for x in dict.fromkeys(scopes)]
    elif kind == "openIdConnect":
        req.type = "openid_connect"
        if isinstance(s.get("openIdConnectUrl"), str):
            notes.append(f"OpenID Connect discovery URL: {clean_text(s['openIdConnectUrl'])}")
    elif kind == "mutualTLS":
        req.type = "mutual_tls"
    if notes:
        desc = (desc + "\n\n" if desc else "") + "\n".join(notes)
    req.description = desc
    return req


def _auth(
    security: Any, schemes: dict[str, AuthRequirement], resolver: RefResolver, where: str
) -> tuple[list[AuthRequirement], list[list[str]]]:
    """Flatten security requirements (a list of alternatives) to one AuthRequirement per scheme, with the
    scopes the operation needs; also return the alternatives as lists of scheme names for `extra`."""
    out: dict[str, AuthRequirement] = {}
    alternatives: list[list[str]] = []
    if not isinstance(security, list):
        return [], []
    for alt in security:
        if not isinstance(alt, dict):
            continue
        names: list[str] = []
        for name, scopes in alt.items():
            name = str(name)
            names.append(clean_text(name) or name)
            scope_list = [clean_text(str(x)) or "" for x in scopes] if isinstance(scopes, list) else []
            if name not in out:
                template = schemes.get(name)
                if template is None:
                    resolver.report_once(f"scheme|{name}", where, f"security requirement names an undeclared scheme {name!r}")
                    out[name] = AuthRequirement(scheme=clean_text(name) or name, type="other", scopes=scope_list)
                    continue
                out[name] = AuthRequirement(
                    scheme=template.scheme,
                    type=template.type,
                    location=template.location,
                    parameter=template.parameter,
                    scopes=scope_list,
                    flows=list(template.flows),
                    description=template.description,
                )
            else:
                for sc in scope_list:
                    if sc not in out[name].scopes:
                        out[name].scopes.append(sc)
        alternatives.append(names)
    return list(out.values()), alternatives


def _param_schema(p: dict[str, Any], v2: bool) -> Any:
    if v2:
        return p  # a Swagger 2.0 non-body parameter carries type/items/enum/default itself
    if p.get("schema") is not None:
        return p["schema"]
    content = p.get("content")
    if isinstance(content, dict):
        for media in content.values():
            if isinstance(media, dict) and media.get("schema") is not None:
                return media["schema"]
    return None


def _schema_enum(schema: Any, base: str, resolver: RefResolver) -> tuple[list[Any] | None, Any, bool]:
    """(enum, default, deprecated) of a parameter schema, looking into array items and anyOf/oneOf."""
    try:
        node, nbase, _ = resolver.schema_deref(schema, base)
    except RefError:
        return None, None, False
    if not isinstance(node, dict):
        return None, None, False
    enum = node.get("enum")
    if enum is None and "const" in node:
        enum = [node["const"]]
    if enum is None and node.get("items") is not None:
        try:
            inode, _b, _ = resolver.schema_deref(node["items"], nbase)
            if isinstance(inode, dict):
                enum = inode.get("enum")
        except RefError:
            pass
    if enum is None:
        for key in ("anyOf", "oneOf"):
            variants = node.get(key)
            if isinstance(variants, list) and variants:
                collected: list[Any] = []
                ok = True
                for v in variants[:16]:
                    try:
                        vnode, _vb, _ = resolver.schema_deref(v, nbase)
                    except RefError:
                        ok = False
                        break
                    if not isinstance(vnode, dict) or not isinstance(vnode.get("enum"), list):
                        ok = False
                        break
                    collected.extend(x for x in vnode["enum"] if x not in collected)
                if ok and collected:
                    enum = collected
    return enum_values(enum), json_safe(node.get("default")) if "default" in node else None, node.get("deprecated") is True


def _parameter(p: dict[str, Any], base: str, v2: bool, resolver: RefResolver) -> Parameter:
    schema = _param_schema(p, v2)
    ptype = describe_type(schema, base, resolver.schema_deref, memo=resolver.schema_memo) if schema is not None else None
    if v2 and p.get("type") == "array" and isinstance(p.get("collectionFormat"), str) and p["collectionFormat"] != "csv":
        ptype = f"{ptype} ({p['collectionFormat']})" if ptype else None
    enum, default, schema_deprecated = _schema_enum(schema, base, resolver) if schema is not None else (None, None, False)
    desc = p.get("description")
    if desc is None and isinstance(schema, dict) and not v2:
        try:
            snode, _sb, _ = resolver.schema_deref(schema, base)
            if isinstance(snode, dict):
                desc = snode.get("description")
        except RefError:
            pass
    loc = str(p.get("in"))
    return Parameter(
        name=clean_text(str(p.get("name"))) or "",
        location=loc,
        type=ptype,
        required=True if loc == "path" else p.get("required") is True,
        description=_text(desc) if isinstance(desc, str) else None,
        enum=enum,
        default=default,
        deprecated=p.get("deprecated") is True or schema_deprecated,
    )


_MEDIA_PREFERENCE = ("json", "x-www-form-urlencoded", "form-data")


def _ordered_media(content: dict[str, Any]) -> list[tuple[str, Any]]:
    items = [(str(k), v) for k, v in content.items()]

    def rank(kv: tuple[str, Any]) -> int:
        for i, marker in enumerate(_MEDIA_PREFERENCE):
            if marker in kv[0].lower():
                return i
        return len(_MEDIA_PREFERENCE)

    return sorted(items, key=rank)


def _content_fields(
    content: dict[str, Any], base: str, resolver: RefResolver, budget: int, mode: str
) -> tuple[list[Field], bool]:
    for _mime, media in _ordered_media(content):
        if isinstance(media, dict) and media.get("schema") is not None:
            fields, truncated = flatten_schema(
                media["schema"], base, resolver.schema_deref, max_fields=budget, mode=mode, memo=resolver.schema_memo
            )
            if fields:
                return fields, truncated
    return [], False


def _all_media_empty(request_body: Any, base: str, resolver: RefResolver) -> bool:
    try:
        node, nbase, _ = resolver.deref(request_body, base)
    except RefError:
        return False
    content = node.get("content") if isinstance(node, dict) else None
    if not isinstance(content, dict):
        return True
    for media in content.values():
        if not isinstance(media, dict):
            continue
        if media.get("example") is not None or media.get("examples"):
            return False
        try:
            schema, _b, _ = resolver.deref(media.get("schema"), nbase)
        except RefError:
            return False
        if schema is None:
            continue
        if not isinstance(schema, dict):
            return False
        if schema.get("properties") or schema.get("items") is not None or isinstance(schema.get("additionalProperties"), dict):
            return False
        if any(schema.get(k) for k in ("allOf", "anyOf", "oneOf")):
            return False
        if schema.get("type") not in (None, "object"):
            return False
    return True


def _success_has_schema(responses: Any, v2: bool, base: str, resolver: RefResolver) -> bool:
    if not isinstance(responses, dict):
        return False
    for code, r in responses.items():
        if not str(code).startswith("2"):
            continue
        try:
            node, _b, _ = resolver.deref(r, base)
        except RefError:
            continue
        if not isinstance(node, dict):
            continue
        if v2 and node.get("schema") is not None:
            return True
        content = node.get("content")
        if isinstance(content, dict) and any(isinstance(m, dict) and m.get("schema") is not None for m in content.values()):
            return True
    return False


def _example(title: str, value: Any) -> Example:
    text, lang = dump_example(value)
    return Example(title=clean_text(title) or title, content=text, language=lang)


def _media_examples(content: dict[str, Any], base: str, resolver: RefResolver, title: str) -> list[Example]:
    out: list[Example] = []
    for mime, media in content.items():
        if not isinstance(media, dict):
            continue
        if "example" in media:
            out.append(_example(f"{title} ({mime})", media["example"]))
        examples = media.get("examples")
        if isinstance(examples, dict):
            for name, ex in list(examples.items())[:6]:
                try:
                    node, _b, _ = resolver.deref(ex, base)
                except RefFailure as exc:
                    if not exc.remote:
                        resolver.report_once(
                            f"example|{base}|{ex.get('$ref') if isinstance(ex, dict) else ''}",
                            resolver.where,
                            f"unresolvable example $ref: {exc.reason}",
                        )
                    continue
                if isinstance(node, dict) and "value" in node:
                    label = f"{title}: {name}" + (
                        f" — {clean_text(node['summary'])}" if isinstance(node.get("summary"), str) else ""
                    )
                    out.append(_example(f"{label} ({mime})", node["value"]))
                elif isinstance(node, dict) and isinstance(node.get("externalValue"), str):
                    out.append(
                        Example(
                            title=f"{title}: {name} ({mime})", content=f"External example: {clean_text(node['externalValue'])}"
                        )
                    )
        if not out and isinstance(media.get("schema"), dict):
            try:
                snode, _b, _ = resolver.deref(media["schema"], base)
            except RefError:
                snode = None
            if isinstance(snode, dict) and "example" in snode:
                out.append(_example(f"{title} ({mime})", snode["example"]))
    return out


def _v2_request_body(
    op: dict[str, Any],
    raw: dict[str, Any],
    body_params: list[tuple[dict[str, Any], str]],
    form_params: list[tuple[dict[str, Any], str]],
    resolver: RefResolver,
    budget: int,
) -> tuple[RequestBody, bool]:
    consumes = _list_of_str(op.get("consumes")) or _list_of_str(raw.get("consumes"))
    rb = RequestBody()
    truncated = False
    if body_params:
        p, b = body_params[0]
        rb.content_types = consumes or ["application/json"]
        rb.required = p.get("required") is True
        rb.description = _text(p.get("description"))
        if p.get("schema") is not None:
            rb.fields, truncated = flatten_schema(
                p["schema"], b, resolver.schema_deref, max_fields=budget, mode="request", memo=resolver.schema_memo
            )
        return rb, truncated
    has_file = any(p.get("type") == "file" for p, _b in form_params)
    rb.content_types = consumes or (["multipart/form-data"] if has_file else ["application/x-www-form-urlencoded"])
    for p, b in form_params:
        if len(rb.fields) >= budget:
            truncated = True
            break
        enum, default, deprecated = _schema_enum(p, b, resolver)
        rb.fields.append(
            Field(
                name=clean_text(str(p.get("name"))) or "",
                type=describe_type(p, b, resolver.schema_deref, memo=resolver.schema_memo),
                required=p.get("required") is True,
                description=_text(p.get("description")) if isinstance(p.get("description"), str) else None,
                enum=enum,
                default=default,
                deprecated=deprecated or p.get("deprecated") is True,
            )
        )
    rb.required = any(f.required for f in rb.fields)
    return rb, truncated
