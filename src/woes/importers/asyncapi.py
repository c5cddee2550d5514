"""AsyncAPI importer: 1.x (`topics`), 2.x (`channels` with publish/subscribe) and 3.x (`operations`).

Operation keys follow shared/eval (`asyncapi_ops`): 3.x `SEND|RECEIVE <channel address>` (the channel key
when the address is missing or null), 2.x `PUBLISH|SUBSCRIBE <channel>`, 1.x `PUBLISH|SUBSCRIBE <topic>`.

Every message an operation carries becomes a `Response(code="message")` (and `code="reply"` for a 3.x
reply) with its payload flattened to dotted fields; message headers and channel parameters become
parameters. `$ref`s are resolved by `woes.importers.refs.RefResolver` (the OpenAPI importer's resolver,
with the same limits): local pointers and relative files of the same source, never outside it; a remote
URL only through `ctx.fetch` (otherwise an ImportIssue, never a network call). An unresolvable reference
is reported and the part it names left out. Protocol bindings, the direction and `x-*` facts go to
`Endpoint.extra`."""

from __future__ import annotations

import json
import posixpath
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import yaml

from .base import DetectByBestFile, ImportContext, ImportError_, ImportIssue, ImportResult, SourceFile
from .records import AuthRequirement, Document, Endpoint, Example, Field, Parameter, Response
from .refs import RefResolver, document_key
from .schema_fields import LoadError, first_sentence

_HEAD = re.compile(r"""^\s*["']?asyncapi["']?\s*:\s*["']?(\d+(?:\.\d+)*)""", re.M)
_HEAD_JSON = re.compile(r""""asyncapi"\s*:\s*"(\d+(?:\.\d+)*)""")
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

MAX_FIELDS_PER_MESSAGE = 500
MAX_DEPTH = 6
MAX_EXAMPLES = 3
JSONABLE_BUDGET = 20_000  # nodes copied into one extra/example value
WALK_BUDGET = 50_000  # schema nodes visited while flattening one message

_DIRECTION = {
    "SEND": "The application sends these messages on this channel; clients receive them.",
    "RECEIVE": "The application receives these messages on this channel; clients send them.",
    "PUBLISH": "Clients publish these messages to this channel (the application receives them).",
    "SUBSCRIBE": "Clients subscribe to this channel to receive these messages (the application sends them).",
}


def _jsonable(x: Any, depth: int = 0, budget: list[int] | None = None) -> Any:
    """YAML can yield dates and odd keys; extra/examples must be plain JSON. The node budget keeps a
    YAML alias bomb (shared references, exponential when walked) from hanging the import."""
    budget = budget if budget is not None else [JSONABLE_BUDGET]
    budget[0] -= 1
    if depth > 40 or budget[0] < 0:
        return None
    if isinstance(x, dict):
        return {str(k): _jsonable(v, depth + 1, budget) for k, v in x.items() if budget[0] >= 0}
    if isinstance(x, list | tuple):
        return [_jsonable(v, depth + 1, budget) for v in x if budget[0] >= 0]
    if isinstance(x, datetime | date):
        return x.isoformat()
    if x is None or isinstance(x, str | int | float | bool):
        return x
    return str(x)


def _text(x: Any) -> str | None:
    return x.strip() if isinstance(x, str) and x.strip() else None


def _load(text: str, path: str) -> Any:
    """JSON or YAML; a parse error raises ImportError_ with the position."""
    stripped = text.lstrip()
    if path.lower().endswith(".json") or stripped.startswith("{"):
        try:
            return json.loads(text)
        except RecursionError as e:
            raise ImportError_("the document is nested too deeply to read", where=path) from e
        except json.JSONDecodeError as e:
            if path.lower().endswith(".json"):
                raise ImportError_(
                    f"invalid JSON: {e.msg} at line {e.lineno} column {e.colno}", where=f"{path}:{e.lineno}:{e.colno}"
                ) from e
    try:
        return yaml.load(text, Loader=_LOADER)  # noqa: S506 - a safe loader
    except RecursionError as e:
        raise ImportError_("the document is nested too deeply to read", where=path) from e
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else path
        at = f" at line {mark.line + 1} column {mark.column + 1}" if mark else ""
        problem = getattr(e, "problem", None) or str(e)
        raise ImportError_(f"invalid YAML{at}: {problem}", where=where) from e


def _load_referenced(text: str, path: str) -> Any:
    """`_load` for the documents a `$ref` names (the resolver's loader): a parse error is a LoadError."""
    try:
        return _load(text, path)
    except ImportError_ as e:
        raise LoadError(e.reason) from None


def _ref_name(rid: str | None) -> str | None:
    if not rid:
        return None
    return rid.rsplit("/", 1)[-1] or None


class AsyncAPIImporter(DetectByBestFile):
    format = "asyncapi"

    def score(self, f: SourceFile) -> float:
        head = f.data[:4096].decode("utf-8", errors="replace")
        if _HEAD.search(head) or _HEAD_JSON.search(head):
            return 0.95
        if f.path.lower().endswith((".json", ".yaml", ".yml")) and '"asyncapi"' in f.data[:65536].decode("utf-8", "replace"):
            return 0.8
        return 0.0

    def parse(self, files: list[SourceFile], ctx: ImportContext) -> ImportResult:
        result = ImportResult(format=self.format)
        mains: list[tuple[str, dict[str, Any]]] = []
        errors: list[ImportError_] = []
        for f in files:
            text = f.text()
            if not (_HEAD.search(text[:65536]) or _HEAD_JSON.search(text[:65536])):
                continue
            key = posixpath.normpath(f.path)
            try:
                doc = _load(text, f.path)
            except ImportError_ as e:
                errors.append(e)
                continue
            if not isinstance(doc, dict) or "asyncapi" not in doc:
                errors.append(ImportError_("the document has no top-level `asyncapi` key", where=f.path))
                continue
            mains.append((key, doc))
        if not mains:
            if errors:
                raise errors[0]
            raise ImportError_("no AsyncAPI document found (a file with a top-level `asyncapi:` key)")
        for e in errors:
            result.issues.append(ImportIssue(where=e.where, reason=e.reason))
        documents = {document_key(path): doc for path, doc in mains}
        refs = RefResolver(files, ctx, result.issues, documents=documents, load=_load_referenced)
        seen: set[str] = set()
        for key, doc in mains:
            _DocParser(key, doc, refs, ctx, result, seen).run()
        return result


@dataclass
class _Operation:
    """An operation as read from the document (any version), before `_DocParser._build` makes its Endpoint."""

    key: str  # the operation key: "SEND <address>", "PUBLISH <channel>"
    method: str
    path: str
    op: dict[str, Any]
    op_id: str | None
    channel: dict[str, Any]  # the channel (1.x: the topic) it is on
    cbase: str  # where the channel's own references resolve from
    messages: list[tuple[str | None, Any, str]]  # (name, message, base)
    reply_messages: list[tuple[str | None, Any, str]]
    servers: list[str]
    auth: list[AuthRequirement]
    protocols: list[str]
    extra: dict[str, Any]
    where: str


class _DocParser:
    def __init__(
        self, path: str, doc: dict[str, Any], refs: RefResolver, ctx: ImportContext, result: ImportResult, seen: set[str]
    ) -> None:
        self.path = path  # as shown (issues, source_path)
        self.base = document_key(path)  # as references are resolved against
        self.doc = doc
        self.refs = refs
        self.ctx = ctx
        self.result = result
        self.seen = seen
        self.version = str(doc.get("asyncapi") or "")
        self.major = self.version.split(".", 1)[0]
        self.default_ct = doc.get("defaultContentType") if isinstance(doc.get("defaultContentType"), str) else None
        self.servers: dict[str, dict[str, Any]] = {}  # name -> {url, protocol, auth, description, bindings}
        self.schemes: dict[str, AuthRequirement] = {}
        self.top_security: list[AuthRequirement] = []

    # ------------------------------------------------------------------ helpers
    def issue(self, where: str, reason: str, severity: str = "error") -> None:
        self.result.issues.append(ImportIssue(where=f"{self.path}:{where}", reason=reason, severity=severity))

    def res(self, node: Any, base: str | None = None, where: str = "") -> tuple[Any, str, str | None]:
        return self.refs.deref_or_report(node, base or self.base, where)

    def dict_at(self, *keys: str) -> dict[str, Any]:
        cur: Any = self.doc
        for k in keys:
            cur = cur.get(k) if isinstance(cur, dict) else None
        return cur if isinstance(cur, dict) else {}

    # ------------------------------------------------------------------ run
    def run(self) -> None:
        info = self.dict_at("info")
        if not self.result.title and _text(info.get("title")):
            self.result.title = info["title"].strip()
        if not self.result.version and info.get("version") is not None:
            self.result.version = str(info["version"])
        self._security_schemes()
        self._servers()
        if self.major == "3":
            self._v3()
        elif self.major in ("2", "1"):
            self._publish_subscribe(v1=self.major == "1")
        else:
            self.issue("asyncapi", f"unsupported AsyncAPI version {self.version!r}; read as 2.x")
            self._publish_subscribe(v1=False)
        self.result.documents.append(self._overview())

    # ------------------------------------------------------------------ auth & servers
    def _security_schemes(self) -> None:
        for name, raw in self.dict_at("components", "securitySchemes").items():
            scheme, _, _ = self.res(raw, where=f"components.securitySchemes.{name}")
            if isinstance(scheme, dict):
                req = _auth(str(name), scheme)
                self.schemes[str(name)] = req
                self.result.auth_schemes.append(req)
        self.top_security = self._requirements(self.doc.get("security"), "security")

    def _requirements(self, sec: Any, where: str) -> list[AuthRequirement]:
        """1.x/2.x: [{name: [scopes]}]; 3.x: [SecurityScheme | $ref]."""
        out: list[AuthRequirement] = []
        if not isinstance(sec, list):
            return out
        for i, item in enumerate(sec):
            if not isinstance(item, dict):
                continue
            if "$ref" in item or "type" in item:
                scheme, _, rid = self.res(item, where=f"{where}[{i}]")
                if not isinstance(scheme, dict):
                    continue
                name = _ref_name(rid) or str(scheme.get("type"))
                req = _auth(name, scheme)
                if isinstance(scheme.get("scopes"), list):
                    req.scopes = [str(s) for s in scheme["scopes"]]
                out.append(req)
                if name not in self.schemes:
                    self.schemes[name] = req
                    self.result.auth_schemes.append(req)
            else:
                for name, scopes in item.items():
                    base = self.schemes.get(str(name))
                    req = AuthRequirement(scheme=str(name), type=base.type if base else "other")
                    if base:
                        req.location, req.parameter, req.flows, req.description = (
                            base.location,
                            base.parameter,
                            list(base.flows),
                            base.description,
                        )
                    req.scopes = [str(s) for s in scopes] if isinstance(scopes, list) else []
                    out.append(req)
        return out

    def _servers(self) -> None:
        raw = self.doc.get("servers")
        items: list[tuple[str, Any]] = []
        if isinstance(raw, dict):
            items = [(str(k), v) for k, v in raw.items()]
        elif isinstance(raw, list):  # 1.x
            items = [(str(i), v) for i, v in enumerate(raw)]
        for name, node in items:
            srv, _, _ = self.res(node, where=f"servers.{name}")
            if not isinstance(srv, dict):
                continue
            protocol = srv.get("protocol") or srv.get("scheme")
            if self.major == "3":
                host = str(srv.get("host") or "")
                url = f"{protocol}://{host}" if protocol and host else host
                url += str(srv.get("pathname") or "")
            else:
                url = str(srv.get("url") or "")
                if url and "://" not in url and protocol:
                    url = f"{protocol}://{url}"
            if not url:
                continue
            entry = {
                "url": url,
                "protocol": protocol,
                "protocolVersion": srv.get("protocolVersion"),
                "description": _text(srv.get("description")),
                "auth": self._requirements(srv.get("security"), f"servers.{name}.security"),
                "bindings": _jsonable(srv.get("bindings")) if isinstance(srv.get("bindings"), dict) else None,
            }
            self.servers[name] = entry
            if url not in self.result.servers:
                self.result.servers.append(url)

    def _server_facts(self, names: list[str] | None) -> tuple[list[str], list[AuthRequirement], list[str]]:
        chosen = [self.servers[n] for n in names if n in self.servers] if names else list(self.servers.values())
        urls = [s["url"] for s in chosen]
        auth: list[AuthRequirement] = []
        seen: set[tuple[str, tuple[str, ...]]] = set()
        for s in chosen:
            for a in s["auth"]:
                k = (a.scheme, tuple(a.scopes))
                if k not in seen:
                    seen.add(k)
                    auth.append(a)
        protocols = sorted({str(s["protocol"]) for s in chosen if s.get("protocol")})
        return urls, auth or list(self.top_security), protocols

    # ------------------------------------------------------------------ 3.x
    def _v3(self) -> None:
        channels = self.dict_at("channels")
        ops = self.dict_at("operations")
        if not ops and channels:
            self.issue("operations", "AsyncAPI 3 document has channels but no operations", "warning")
        for oid, raw in ops.items():
            where = f"operations.{oid}"
            op, obase, _ = self.res(raw, where=where)
            if not isinstance(op, dict):
                self.issue(where, "skipped: operation is not an object (or its $ref cannot be resolved)")
                continue
            op = self._apply_traits(op, obase, where)
            action = op.get("action")
            if action not in ("send", "receive"):
                self.issue(where, f"skipped: `action` must be send or receive, got {action!r}")
                continue
            chan_ref = op.get("channel")
            if not isinstance(chan_ref, dict):
                self.issue(where, "skipped: operation has no `channel`")
                continue
            channel, cbase, crid = self.res(chan_ref, obase, where + ".channel")
            if not isinstance(channel, dict):
                self.issue(where, "skipped: the operation's channel cannot be resolved")
                continue
            chan_key = _ref_name(crid) or str(oid)
            address = channel.get("address") if isinstance(channel.get("address"), str) else None
            name = address if address else chan_key
            msgs: list[tuple[str | None, Any, str]] = []
            if isinstance(op.get("messages"), list):
                for i, m in enumerate(op["messages"]):
                    msgs.append(self._msg(m, obase, f"{where}.messages[{i}]"))
            else:
                for mname, m in (channel.get("messages") or {}).items() if isinstance(channel.get("messages"), dict) else []:
                    msgs.append(self._msg(m, cbase, f"channels.{chan_key}.messages.{mname}", default_name=str(mname)))
            responses = [r for r in msgs if r[1] is not None]
            reply_msgs: list[tuple[str | None, Any, str]] = []
            reply_addr = None
            reply, rbase, _ = (
                self.res(op.get("reply"), obase, where + ".reply") if op.get("reply") is not None else (None, obase, None)
            )
            if isinstance(reply, dict):
                rchan, rcbase, _ = (
                    self.res(reply.get("channel"), rbase, where + ".reply.channel")
                    if reply.get("channel")
                    else (None, rbase, None)
                )
                raddr, _, _ = self.res(reply.get("address"), rbase) if reply.get("address") else (None, rbase, None)
                if isinstance(raddr, dict):
                    reply_addr = raddr.get("location")
                if isinstance(rchan, dict) and isinstance(rchan.get("address"), str):
                    reply_addr = reply_addr or rchan["address"]
                rlist = reply.get("messages")
                if isinstance(rlist, list):
                    reply_msgs = [self._msg(m, rbase, f"{where}.reply.messages[{i}]") for i, m in enumerate(rlist)]
                elif isinstance(rchan, dict) and isinstance(rchan.get("messages"), dict):
                    reply_msgs = [
                        self._msg(m, rcbase, f"{where}.reply.messages.{k}", str(k)) for k, m in rchan["messages"].items()
                    ]
            server_names = None
            if isinstance(channel.get("servers"), list):
                server_names = [
                    _ref_name(s.get("$ref")) for s in channel["servers"] if isinstance(s, dict) and isinstance(s.get("$ref"), str)
                ]
            urls, auth, protocols = self._server_facts([n for n in server_names or [] if n] or None)
            op_auth = self._requirements(op.get("security"), where + ".security")
            extra: dict[str, Any] = {
                "asyncapi_version": self.version,
                "action": action,
                "channel": chan_key,
                "address": address,
                "direction": _DIRECTION[action.upper()],
            }
            if reply_addr or reply_msgs:
                extra["reply"] = {"address": reply_addr, "messages": [n for n, _, _ in reply_msgs if n]}
            self._add(
                _Operation(  # fmt: skip
                    key=f"{action.upper()} {name}", method=action.upper(), path=name, op=op, op_id=str(oid),
                    channel=channel, cbase=cbase, messages=responses,
                    reply_messages=[r for r in reply_msgs if r[1] is not None], servers=urls, auth=op_auth or auth,
                    protocols=protocols, extra=extra, where=where,
                )
            )

    # ------------------------------------------------------------------ 2.x and 1.x
    def _publish_subscribe(self, v1: bool) -> None:
        """The publish and subscribe operations of the 2.x channels (1.x: topics). In 1.x the operation *is*
        the message (or {oneOf: [messages]}), with no traits, servers or security of its own."""
        section, kind = ("topics", "topic") if v1 else ("channels", "channel")
        base_topic = self.doc.get("baseTopic") if v1 and isinstance(self.doc.get("baseTopic"), str) else None
        for name, raw in self.dict_at(section).items():
            where = f"{section}.{name}"
            item, cbase, _ = self.res(raw, where=where)
            if not isinstance(item, dict):
                self.issue(where, f"skipped: {kind} is not an object")
                continue
            for act in ("publish", "subscribe"):
                if act not in item:
                    continue
                op_where = f"{where}.{act}"
                op, obase, _ = self.res(item[act], cbase, op_where)
                if not isinstance(op, dict):
                    self.issue(op_where, "skipped: operation is not an object")
                    continue
                extra: dict[str, Any] = {
                    "asyncapi_version": self.version,
                    "action": act,
                    kind: str(name),
                    "direction": _DIRECTION[act.upper()],
                }
                if v1:
                    msgs = self._op_messages(op, obase, op_where, default_name=str(name))
                    urls, auth, protocols = self._server_facts(None)
                    op_id: str | None = str(name)
                    if base_topic:
                        extra["baseTopic"] = base_topic
                else:
                    op = self._apply_traits(op, obase, op_where)
                    msgs = self._op_messages(op.get("message"), obase, f"{op_where}.message")
                    server_names = [str(s) for s in item["servers"]] if isinstance(item.get("servers"), list) else None
                    urls, auth, protocols = self._server_facts(server_names)
                    auth = self._requirements(op.get("security"), f"{op_where}.security") or auth
                    op_id = op.get("operationId") if isinstance(op.get("operationId"), str) else None
                self._add(
                    _Operation(
                        key=f"{act.upper()} {name}",
                        method=act.upper(),
                        path=str(name),
                        op=op,
                        op_id=op_id,
                        channel=item,
                        cbase=cbase,
                        messages=msgs,
                        reply_messages=[],
                        servers=urls,
                        auth=auth,
                        protocols=protocols,
                        extra=extra,
                        where=op_where,
                    )
                )

    # ------------------------------------------------------------------ messages
    def _apply_traits(self, obj: dict[str, Any], base: str, where: str) -> dict[str, Any]:
        traits = obj.get("traits")
        if not isinstance(traits, list):
            return obj
        merged = dict(obj)
        for i, t in enumerate(traits):
            trait, _, _ = self.res(t, base, f"{where}.traits[{i}]")
            if not isinstance(trait, dict):
                continue
            for k, v in trait.items():
                if k not in merged:
                    merged[k] = v
                elif isinstance(merged[k], dict) and isinstance(v, dict):
                    merged[k] = {**v, **merged[k]}
        return merged

    def _op_messages(
        self, node: Any, base: str, where: str, default_name: str | None = None
    ) -> list[tuple[str | None, Any, str]]:
        msg, mbase, _ = self.res(node, base, where)
        if not isinstance(msg, dict):
            if node is not None:
                self.issue(where, "message cannot be resolved", "warning")
            return []
        if isinstance(msg.get("oneOf"), list) and "payload" not in msg:
            out = [self._msg(m, mbase, f"{where}.oneOf[{i}]") for i, m in enumerate(msg["oneOf"])]
            return [m for m in out if m[1] is not None]
        one = self._msg(node, base, where, default_name)
        return [one] if one[1] is not None else []

    def _msg(self, node: Any, base: str, where: str, default_name: str | None = None) -> tuple[str | None, Any, str]:
        msg, mbase, rid = self.res(node, base, where)
        if not isinstance(msg, dict):
            self.issue(where, "message skipped: it cannot be resolved", "warning")
            return None, None, base
        msg = self._apply_traits(msg, mbase, where)
        name = msg.get("name") if isinstance(msg.get("name"), str) else (_ref_name(rid) or default_name)
        return name, msg, mbase

    def _message_response(
        self, code: str, name: str | None, msg: dict[str, Any], base: str, where: str
    ) -> tuple[Response, list[Parameter], list[Example], dict[str, Any]]:
        title = _text(msg.get("title"))
        summary = _text(msg.get("summary"))
        desc_parts = [f"Message `{name}`" + (f" ({title})" if title else "") if name else (title or "Message")]
        if summary:
            desc_parts.append(summary)
        if _text(msg.get("description")):
            desc_parts.append(msg["description"].strip())
        ct = msg.get("contentType") if isinstance(msg.get("contentType"), str) else self.default_ct
        fields: list[Field] = []
        payload = msg.get("payload")
        ptype = None
        if payload is not None:
            schema, sbase = payload, base
            if isinstance(schema, dict) and "schemaFormat" in schema and "schema" in schema:  # 3.x multi-format schema
                fmt = str(schema.get("schemaFormat"))
                if "json" in fmt or "asyncapi" in fmt or "yaml" in fmt:
                    schema = schema["schema"]
                else:
                    desc_parts.append(f"Payload schema format: {fmt} (fields not extracted).")
                    schema = None
            elif isinstance(msg.get("schemaFormat"), str) and not re.search(r"json|asyncapi|yaml", msg["schemaFormat"]):
                desc_parts.append(f"Payload schema format: {msg['schemaFormat']} (fields not extracted).")
                schema = None
            if schema is not None:
                flat = _Flattener(self.refs, where + ".payload")
                resolved, rb, rid = self.refs.deref_or_report(schema, sbase, where + ".payload")
                if isinstance(resolved, dict):
                    ptype = _ref_name(rid) or _type_str(resolved, None)
                flat.walk(schema, sbase, "", set(), 0)
                fields = flat.out
                if flat.truncated:
                    desc_parts.append(f"({flat.truncated} more payload fields not listed)")
        if ptype:
            desc_parts.append(f"Payload: `{ptype}`.")
        params: list[Parameter] = []
        if msg.get("headers") is not None:
            hflat = _Flattener(self.refs, where + ".headers")
            hflat.walk(msg["headers"], base, "", set(), 0)
            for f in hflat.out:
                params.append(
                    Parameter(
                        name=f.name,
                        location="header",
                        type=f.type,
                        required=f.required,
                        description=f.description,
                        enum=f.enum,
                        default=f.default,
                        deprecated=f.deprecated,
                    )
                )
        examples: list[Example] = []
        ex_list = msg.get("examples") if isinstance(msg.get("examples"), list) else ([msg["example"]] if "example" in msg else [])
        for i, ex in enumerate(ex_list[:MAX_EXAMPLES]):
            if isinstance(ex, dict) and ("payload" in ex or "headers" in ex):
                body = {k: ex[k] for k in ("headers", "payload") if k in ex}
                title = _text(ex.get("name")) or _text(ex.get("summary")) or f"{name or 'message'} example {i + 1}"
            else:
                body, title = ex, f"{name or 'message'} example {i + 1}"
            examples.append(
                Example(title=title, content=json.dumps(_jsonable(body), indent=2, ensure_ascii=False), language="json")
            )
        if not examples and isinstance(payload, dict):
            pres, _, _ = self.refs.deref_or_report(payload, base)
            if isinstance(pres, dict):
                for key in ("examples", "x-examples", "example"):
                    val = pres.get(key)
                    if val is None:
                        continue
                    vals = val if isinstance(val, list) and key != "example" else [val]
                    for v in vals[:1]:
                        examples.append(
                            Example(
                                title=f"{name or 'message'} payload example",
                                content=json.dumps(_jsonable(v), indent=2, ensure_ascii=False),
                                language="json",
                            )
                        )
                    break
        facts: dict[str, Any] = {}
        if isinstance(msg.get("bindings"), dict):
            facts["bindings"] = _jsonable(msg["bindings"])
        if msg.get("correlationId") is not None:
            cid, _, _ = self.refs.deref_or_report(msg["correlationId"], base)
            if isinstance(cid, dict):
                facts["correlationId"] = _jsonable(cid.get("location"))
        if isinstance(msg.get("messageId"), str):
            facts["messageId"] = msg["messageId"]
        resp = Response(code=code, description=" ".join(desc_parts), content_types=[ct] if ct else [], fields=fields)
        return resp, params, examples, facts

    # ------------------------------------------------------------------ endpoint
    def _add(self, o: _Operation) -> None:
        key, where = o.key, o.where
        if key in self.seen:
            self.issue(where, f"duplicate operation {key}; first kept", "warning")
            return
        if len(self.result.endpoints) >= self.ctx.max_endpoints:
            if not any(i.reason.startswith("endpoint limit") for i in self.result.issues):
                self.issue(where, f"endpoint limit {self.ctx.max_endpoints} reached; rest skipped")
            return
        try:
            ep = self._build(o)
        except Exception as e:  # noqa: BLE001 - a malformed operation is skipped, the rest kept
            self.issue(where, f"skipped: {type(e).__name__}: {e}")
            return
        self.seen.add(key)
        self.result.endpoints.append(ep)

    def _build(self, o: _Operation) -> Endpoint:
        op, channel, extra = o.op, o.channel, o.extra
        params: list[Parameter] = []
        cparams = channel.get("parameters")
        pitems: list[tuple[str, Any]] = []
        if isinstance(cparams, dict):
            pitems = [(str(k), v) for k, v in cparams.items()]
        elif isinstance(cparams, list):  # 1.x
            pitems = [(str(p.get("name")), p) for p in cparams if isinstance(p, dict)]
        for pname, raw in pitems:
            p, pbase, _ = self.refs.deref_or_report(raw, o.cbase, f"{o.where}.parameters.{pname}")
            if not isinstance(p, dict):
                p = {}
            schema, _, _ = self.refs.deref_or_report(p.get("schema"), pbase) if p.get("schema") is not None else ({}, pbase, None)
            schema = schema if isinstance(schema, dict) else {}
            enum = (
                p.get("enum")
                if isinstance(p.get("enum"), list)
                else schema.get("enum")
                if isinstance(schema.get("enum"), list)
                else None
            )
            default = p.get("default", schema.get("default"))
            desc = _text(p.get("description")) or _text(schema.get("description"))
            if isinstance(p.get("location"), str):
                desc = (desc + " " if desc else "") + f"(from {p['location']})"
            params.append(
                Parameter(
                    name=pname,
                    location="path",
                    type=_type_str(schema, None) if schema else "string",
                    required=True,
                    description=desc,
                    enum=_jsonable(enum),
                    default=_jsonable(default),
                )
            )
        responses: list[Response] = []
        examples: list[Example] = []
        msg_names: list[str] = []
        msg_facts: dict[str, Any] = {}
        header_names: set[str] = set()
        summaries: list[str] = []
        for code, group in (("message", o.messages), ("reply", o.reply_messages)):
            for name, msg, mbase in group:
                resp, hparams, exs, facts = self._message_response(code, name, msg, mbase, o.where)
                responses.append(resp)
                if name:
                    msg_names.append(name)
                    if facts:
                        msg_facts[name] = facts
                for hp in hparams:
                    if hp.name not in header_names:
                        header_names.add(hp.name)
                        params.append(hp)
                examples.extend(exs[: max(0, MAX_EXAMPLES - len(examples))])
                if _text(msg.get("summary")):
                    summaries.append(msg["summary"].strip())
        summary = _text(op.get("summary")) or _text(op.get("title")) or (summaries[0] if len(summaries) == 1 else None)
        desc_parts = []
        if _text(op.get("description")):
            desc_parts.append(op["description"].strip())
        elif _text(op.get("summary")) and summary != op.get("summary"):
            desc_parts.append(op["summary"].strip())
        if _text(channel.get("description")):
            desc_parts.append(channel["description"].strip())
        desc_parts.append(extra["direction"])
        ext = op.get("externalDocs")
        if isinstance(ext, dict) and isinstance(ext.get("url"), str):
            desc_parts.append(
                f"Documentation: {ext['url']}" + (f" ({ext['description']})" if _text(ext.get("description")) else "")
            )
            extra["externalDocs"] = ext["url"]
        tags = []
        for t in op.get("tags") or []:
            tname = t.get("name") if isinstance(t, dict) else t
            if isinstance(tname, str):
                tags.append(tname)
        bindings = {}
        for label, src in (("operation", op.get("bindings")), ("channel", channel.get("bindings"))):
            b, _, _ = self.refs.deref_or_report(src, o.cbase) if isinstance(src, dict) else (None, o.cbase, None)
            if isinstance(b, dict):
                bindings[label] = _jsonable(b)
        if bindings:
            extra["bindings"] = bindings
        if msg_facts:
            extra["messages"] = msg_facts
        if msg_names:
            extra["message_names"] = msg_names
        if o.protocols:
            extra["protocols"] = o.protocols
        for k, v in op.items():
            if isinstance(k, str) and k.startswith("x-"):
                extra[k] = _jsonable(v)
        return Endpoint(
            operation_key=o.key,
            method=o.method,
            path=o.path,
            operation_id=o.op_id,
            summary=first_sentence(summary) if summary else None,
            description="\n\n".join(desc_parts) or None,
            tags=tags,
            parameters=params,
            request_body=None,
            responses=responses,
            auth=o.auth,
            servers=o.servers,
            examples=examples,
            deprecated=bool(op.get("deprecated")),
            source_path=self.path,
            extra=extra,
        )

    # ------------------------------------------------------------------ overview document
    def _overview(self) -> Document:
        info = self.dict_at("info")
        title = _text(info.get("title")) or posixpath.basename(self.path)
        lines = [
            f"# {title}",
            "",
            f"AsyncAPI {self.version}" + (f", version {info.get('version')}" if info.get("version") is not None else ""),
            "",
        ]
        if _text(info.get("description")):
            lines += [info["description"].strip(), ""]
        if self.servers:
            lines += ["## Servers", ""]
            for name, s in self.servers.items():
                line = f"- `{name}`: {s['url']}" + (
                    f" ({s['protocol']}" + (f" {s['protocolVersion']}" if s.get("protocolVersion") else "") + ")"
                    if s.get("protocol")
                    else ""
                )
                if s.get("description"):
                    line += f" — {s['description']}"
                if s["auth"]:
                    line += " — security: " + ", ".join(a.scheme for a in s["auth"])
                lines.append(line)
            lines.append("")
        if self.schemes:
            lines += ["## Security schemes", ""]
            for name, a in self.schemes.items():
                bits = [a.type]
                if a.location:
                    bits.append(f"in {a.location}")
                if a.parameter:
                    bits.append(f"name `{a.parameter}`")
                if a.flows:
                    bits.append("flows " + ", ".join(a.flows))
                if a.scopes:
                    bits.append("scopes " + ", ".join(a.scopes))
                lines.append(f"- `{name}`: " + "; ".join(bits) + (f" — {a.description}" if a.description else ""))
            lines.append("")
        mine = [e for e in self.result.endpoints if e.source_path == self.path]
        if mine:
            lines += ["## Operations", ""]
            for e in mine:
                lines.append(f"- `{e.operation_key}`" + (f" — {e.summary}" if e.summary else ""))
            lines.append("")
        tags = self.doc.get("tags")
        if isinstance(tags, list) and tags:
            lines += ["## Tags", ""]
            for t in tags:
                if isinstance(t, dict) and isinstance(t.get("name"), str):
                    lines.append(f"- `{t['name']}`" + (f": {t['description']}" if _text(t.get("description")) else ""))
            lines.append("")
        ext = self.doc.get("externalDocs")
        if isinstance(ext, dict) and isinstance(ext.get("url"), str):
            lines += [f"Documentation: {ext['url']}", ""]
        md = "\n".join(lines)
        if len(md.encode()) > self.ctx.max_document_bytes:
            md = md.encode()[: self.ctx.max_document_bytes].decode("utf-8", errors="ignore")
        return Document(title=f"{title} (AsyncAPI overview)", path=f"{self.path}#overview", markdown=md)


def _auth(name: str, s: dict[str, Any]) -> AuthRequirement:
    t = str(s.get("type") or "")
    desc = _text(s.get("description"))
    if t in ("httpApiKey", "apiKey"):
        # AsyncAPI `apiKey` is sent as the user or password of the connection (not an HTTP header)
        loc = s.get("in")
        return AuthRequirement(
            scheme=name,
            type="api_key",
            location=loc if loc in ("header", "query", "cookie") else None,
            parameter=s.get("name") if isinstance(s.get("name"), str) else None,
            description=desc or (f"API key sent as the connection's {loc}" if loc in ("user", "password") else None),
        )
    if t == "http":
        sch = str(s.get("scheme") or "").lower()
        typ = "bearer" if sch == "bearer" else "basic" if sch == "basic" else "other"
        return AuthRequirement(scheme=name, type=typ, location="header", parameter="Authorization", description=desc)
    if t == "userPassword":
        return AuthRequirement(scheme=name, type="basic", description=desc or "user name and password")
    if t == "oauth2":
        flows = s.get("flows") if isinstance(s.get("flows"), dict) else {}
        scopes: list[str] = []
        for f in flows.values():
            if isinstance(f, dict):
                for key in ("availableScopes", "scopes"):
                    if isinstance(f.get(key), dict):
                        scopes += [str(k) for k in f[key] if str(k) not in scopes]
        return AuthRequirement(scheme=name, type="oauth2", flows=[str(k) for k in flows], scopes=scopes, description=desc)
    if t == "openIdConnect":
        url = s.get("openIdConnectUrl")
        return AuthRequirement(
            scheme=name, type="openid_connect", description=desc or (f"OpenID Connect: {url}" if url else None)
        )
    if t == "X509":
        return AuthRequirement(scheme=name, type="mutual_tls", description=desc or "X.509 client certificate")
    return AuthRequirement(scheme=name, type="other", description=desc or (f"{t} authentication" if t else None))


def _type_str(s: dict[str, Any], ref_name: str | None) -> str:
    t = s.get("type")
    if isinstance(t, list):
        t = " | ".join(str(x) for x in t)
    if t is None:
        if "properties" in s or "additionalProperties" in s:
            t = "object"
        elif "items" in s:
            t = "array"
        elif any(k in s for k in ("oneOf", "anyOf")):
            t = "oneOf" if "oneOf" in s else "anyOf"
        elif "allOf" in s:
            t = "object"
        elif "const" in s:
            t = "const"
    out = str(t) if t else "any"
    if isinstance(s.get("format"), str):
        out += f" ({s['format']})"
    if out == "object" and isinstance(s.get("additionalProperties"), dict) and "properties" not in s:
        inner = s["additionalProperties"]
        out = f"map<string, {_type_str(inner, None) if '$ref' not in inner else _ref_name(inner['$ref'])}>"
    if out.startswith("array") and isinstance(s.get("items"), dict):
        items = s["items"]
        inner = _ref_name(items["$ref"]) if isinstance(items.get("$ref"), str) else _type_str(items, None)
        out = f"array<{inner}>"
    if ref_name and out in ("object", "any"):
        out = f"object ({ref_name})"
    return out


class _Flattener:
    def __init__(self, refs: RefResolver, where: str) -> None:
        self.refs = refs
        self.where = where
        self.out: list[Field] = []
        self.truncated = 0
        self.budget = WALK_BUDGET

    def emit(self, f: Field) -> None:
        if len(self.out) >= MAX_FIELDS_PER_MESSAGE:
            self.truncated += 1
        else:
            self.out.append(f)

    def _collect(
        self, schema: Any, base: str, stack: set[str], depth: int
    ) -> tuple[dict[str, tuple[Any, str]], set[str], list[str]]:
        """Properties (name -> (schema, base)), required names and variant notes, through allOf/oneOf/anyOf."""
        self.budget -= 1
        s, base, rid = self.refs.deref_or_report(schema, base, self.where)
        props: dict[str, tuple[Any, str]] = {}
        required: set[str] = set()
        notes: list[str] = []
        if not isinstance(s, dict) or (rid and rid in stack) or depth > 8 or self.budget < 0:
            return props, required, notes
        stack = stack | ({rid} if rid else set())
        for sub in s.get("allOf") or []:
            p, r, n = self._collect(sub, base, stack, depth + 1)
            props.update(p)
            required |= r
            notes += n
        for comb in ("oneOf", "anyOf"):
            variants = s.get(comb)
            if isinstance(variants, list):
                names = []
                for sub in variants:
                    p, _, _ = self._collect(sub, base, stack, depth + 1)
                    for k, v in p.items():
                        props.setdefault(k, v)
                    sr, _, srid = self.refs.deref_or_report(sub, base)
                    names.append(
                        _ref_name(srid)
                        or (sr.get("title") if isinstance(sr, dict) and isinstance(sr.get("title"), str) else "variant")
                    )
                notes.append(f"{comb}: " + ", ".join(names))
        if isinstance(s.get("properties"), dict):
            for k, v in s["properties"].items():
                props[str(k)] = (v, base)
        if isinstance(s.get("required"), list):
            required |= {str(x) for x in s["required"]}
        return props, required, notes

    def walk(self, schema: Any, base: str, prefix: str, stack: set[str], depth: int) -> None:
        self.budget -= 1
        s, sbase, rid = self.refs.deref_or_report(schema, base, self.where)
        if not isinstance(s, dict) or depth > MAX_DEPTH or (rid and rid in stack) or self.budget < 0:
            return
        stack = stack | ({rid} if rid else set())
        if (s.get("type") == "array" or "items" in s) and "properties" not in s and isinstance(s.get("items"), dict | list):
            items = s["items"] if isinstance(s["items"], dict) else (s["items"][0] if s["items"] else {})
            self.walk(items, sbase, prefix + "[].", stack, depth + 1)
            return
        props, required, _notes = self._collect(s, sbase, set(), 0)
        for name, (sub, pbase) in props.items():
            r, rbase, prid = self.refs.deref_or_report(sub, pbase, self.where)
            if not isinstance(r, dict):
                self.emit(Field(name=prefix + name, type=_ref_name(prid) or "any", required=name in required))
                continue
            is_array = r.get("type") == "array" or ("items" in r and "properties" not in r)
            fname = prefix + name + ("[]" if is_array else "")
            desc = _text(r.get("description")) or _text(r.get("title"))
            _p, _r, notes = self._collect(r, rbase, set(), 0) if any(k in r for k in ("oneOf", "anyOf")) else ({}, set(), [])
            if notes:
                desc = (desc + " " if desc else "") + "(" + "; ".join(notes) + ")"
            enum = r.get("enum") if isinstance(r.get("enum"), list) else ([r["const"]] if "const" in r else None)
            self.emit(
                Field(
                    name=fname,
                    type=_type_str(r, _ref_name(prid)),
                    required=name in required,
                    description=desc,
                    enum=_jsonable(enum),
                    default=_jsonable(r.get("default")),
                    deprecated=bool(r.get("deprecated")),
                )
            )
            if (prid and prid in stack) or len(self.out) >= MAX_FIELDS_PER_MESSAGE:
                continue  # a cycle, or the cap is reached: siblings are still counted, children not walked
            child_stack = stack | ({prid} if prid else set())
            if is_array:
                items = r.get("items")
                if isinstance(items, list):
                    items = items[0] if items else None
                if items is not None:
                    self.walk(items, rbase, fname + ".", child_stack, depth + 1)
            elif r.get("type") in ("object", None) or any(k in r for k in ("properties", "allOf", "oneOf", "anyOf")):
                self.walk(r, rbase, fname + ".", child_stack, depth + 1)


IMPORTER = AsyncAPIImporter()
