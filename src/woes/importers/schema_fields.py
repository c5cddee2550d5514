"""Helpers shared by the spec importers: text sanitizing, JSON-safe values, example serialization,
credential-looking names, JSON/YAML loading, and the JSON-Schema flattener (schema -> dotted `Field` list).

The flattener never resolves a `$ref` itself: it is handed a `deref(node, base)` callable (the importer's
own resolver, which enforces the remote-fetch policy). It walks breadth first so that, when the field
budget or the depth cap is hit, the fields nearest the top are the ones kept, then presents them in
document order (a parent followed by its children)."""

from __future__ import annotations

import contextlib
import datetime as _dt
import gc
import json
import re
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

from woes.importers.base import ImportError_, ImportIssue, SourceFile
from woes.importers.records import Field

MAX_DEPTH = 5  # dotted levels: a.b.c.d.e
MAX_FIELDS = 300  # per operation
EXAMPLE_MAX_CHARS = 4000

_BAD_CHARS = re.compile("[\x00\ud800-\udfff]")

# Names whose values must never be copied into the records (auth credentials and the like).
_CREDENTIAL_NAME = re.compile(
    r"(?i)(^authorization$|^proxy-authorization$|^cookie$|^set-cookie$|secret|passw|pwd|token|api[-_]?key|apikey|"
    r"access[-_]?key|private[-_]?key|signature|credential|session|^auth$|^x-auth|-auth-|_auth_)"
)


def clean_text(value: Any) -> str | None:
    """A string with NUL bytes and lone surrogates removed (None stays None; other scalars are str()-ed)."""
    if value is None:
        return None
    if not isinstance(value, str):
        if isinstance(value, dict | list):
            value = json.dumps(json_safe(value), ensure_ascii=False)
        else:
            value = str(value)
    if _BAD_CHARS.search(value):
        value = _BAD_CHARS.sub("", value)
    return value


def first_sentence(text: str | None) -> str | None:
    """The summary of a description: the first sentence of its first paragraph, at most 300 characters
    (None for an empty text)."""
    if not text:
        return None
    first = text.strip().split("\n\n", 1)[0].replace("\n", " ").strip()
    m = re.match(r"(.+?[.!?])(\s|$)", first)
    return (m.group(1) if m else first)[:300] or None


def is_credential_name(name: str | None) -> bool:
    return bool(name) and bool(_CREDENTIAL_NAME.search(str(name)))


JSON_SAFE_MAX_NODES = 20_000


def json_safe(value: Any, _depth: int = 0, _budget: list[int] | None = None) -> Any:
    """A copy of a parsed YAML/JSON value that json.dumps accepts (dates -> ISO strings, int keys -> str),
    with strings sanitized. Cut at 40 levels and 20,000 nodes: YAML aliases can make a small file stand for
    an exponentially large (or cyclic) value."""
    if _budget is None:
        _budget = [JSON_SAFE_MAX_NODES]
    _budget[0] -= 1
    if _depth > 40 or _budget[0] < 0:
        return "…"
    if isinstance(value, str):
        return clean_text(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            if _budget[0] <= 0:
                out["…"] = "…"
                break
            out[clean_text(str(k)) or ""] = json_safe(v, _depth + 1, _budget)
        return out
    if isinstance(value, list | tuple):
        items: list[Any] = []
        for v in value:
            if _budget[0] <= 0:
                items.append("…")
                break
            items.append(json_safe(v, _depth + 1, _budget))
        return items
    if isinstance(value, _dt.date | _dt.datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return clean_text(value.decode("utf-8", errors="replace"))
    return clean_text(str(value))


def truncate(text: str, limit: int = EXAMPLE_MAX_CHARS) -> str:
    if len(text) <= limit:
        return text
    return text[:limit].rstrip() + "\n… (truncated)"


def dump_example(value: Any, limit: int = EXAMPLE_MAX_CHARS) -> tuple[str, str | None]:
    """(text, language) for an example value: strings as they are, everything else as indented JSON."""
    if isinstance(value, str):
        text = clean_text(value) or ""
        stripped = text.lstrip()
        lang = "json" if stripped[:1] in ("{", "[") else None
        return truncate(text, limit), lang
    try:
        text = json.dumps(json_safe(value), indent=2, ensure_ascii=False)
    except (TypeError, ValueError, RecursionError):
        text = clean_text(repr(value)) or ""
    return truncate(text, limit), "json"


def redact_credentials(value: Any, _depth: int = 0) -> Any:
    """A copy of a JSON value where the values of credential-looking keys are replaced by a marker."""
    if _depth > 40:
        return "…"
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if is_credential_name(str(k)) and isinstance(v, str | int | float) and not isinstance(v, bool):
                out[k] = "<redacted>"
            else:
                out[k] = redact_credentials(v, _depth + 1)
        return out
    if isinstance(value, list):
        return [redact_credentials(v, _depth + 1) for v in value]
    return value


# --------------------------------------------------------------------------------------------------
# JSON Schema flattening

Deref = Callable[[Any, str], "tuple[Any, str, str | None]"]
"""deref(node, base) -> (resolved node, base document of the resolved node, canonical ref id or None).
Raises RefError when the reference cannot be resolved (the resolver records the issue itself)."""


class RefError(Exception):
    pass


_TRIVIAL_FORMATS = {"int32", "int64", "float", "double", ""}


def _ref_name(ref_id: str | None) -> str | None:
    if not ref_id or "#" not in ref_id:
        return None
    frag = ref_id.rsplit("#", 1)[1]
    name = frag.rsplit("/", 1)[-1].replace("~1", "/").replace("~0", "~")
    return name or None


def _safe_deref(deref: Deref, node: Any, base: str) -> tuple[Any, str, str | None]:
    if not isinstance(node, dict) or "$ref" not in node:
        return node, base, None
    try:
        return deref(node, base)
    except RefError:
        return None, base, None


class SchemaMemo:
    """Per-import caches for the flattener (schema objects are keyed by identity and pinned here, so the
    keys stay valid while the memo lives). Share one across the operations of one import."""

    def __init__(self) -> None:
        self.types: dict[tuple[int, str], tuple[Any, str | None]] = {}
        self.views: dict[tuple[int, str], tuple[Any, _View]] = {}
        self.flat: dict[tuple[Any, ...], tuple[Any, list[Field], bool]] = {}


def enum_values(values: Any) -> list[Any] | None:
    if not isinstance(values, list) or not values:
        return None
    return [json_safe(v) for v in values[:200]]


def describe_type(schema: Any, base: str, deref: Deref, _depth: int = 0, memo: SchemaMemo | None = None) -> str | None:
    """A short type text: `string`, `integer (unix-time)`, `array<string>`, `object (customer)`,
    `map<string>`, `string | object (customer)`, `string | null`."""
    if memo is not None:
        key = (id(schema), base)
        hit = memo.types.get(key)
        if hit is not None:
            return hit[1]
        text = _describe_type(schema, base, deref, _depth, memo)
        memo.types[key] = (schema, text)
        return text
    return _describe_type(schema, base, deref, _depth, None)


def _describe_type(schema: Any, base: str, deref: Deref, _depth: int, memo: SchemaMemo | None) -> str | None:
    node, base, rid = _safe_deref(deref, schema, base)
    if not isinstance(node, dict) or _depth > 4:
        return None
    name = _ref_name(rid) or (clean_text(node.get("title")) if isinstance(node.get("title"), str) else None)
    raw_type = node.get("type")
    types = (
        [t for t in raw_type if isinstance(t, str)]
        if isinstance(raw_type, list)
        else ([raw_type] if isinstance(raw_type, str) else [])
    )
    nullable = bool(node.get("nullable") or node.get("x-nullable")) or "null" in types
    types = [t for t in types if t != "null"]
    parts: list[str] = []
    if not types:
        for key in ("oneOf", "anyOf"):
            variants = node.get(key)
            if isinstance(variants, list) and variants:
                for v in variants[:8]:
                    vnode, _vb, _ = _safe_deref(deref, v, base)
                    if isinstance(vnode, dict) and (vnode.get("type") == "null" or vnode.get("enum") == [None]):
                        nullable = True
                        continue
                    d = describe_type(v, base, deref, _depth + 1, memo)
                    if d:
                        for piece in d.split(" | "):
                            if piece == "null":
                                nullable = True
                            elif piece not in parts:
                                parts.append(piece)
                break
        if not parts and isinstance(node.get("allOf"), list):
            member_types = []
            for m in node["allOf"][:8]:
                d = describe_type(m, base, deref, _depth + 1, memo)
                if d:
                    member_types.append(d)
            if any(t.startswith("object") for t in member_types) or len(member_types) > 1:
                parts.append(f"object ({name})" if name else "object")
            elif member_types:
                parts.append(member_types[0])
        if not parts:
            if "properties" in node or isinstance(node.get("additionalProperties"), dict):
                types = ["object"]
            elif "items" in node:
                types = ["array"]
            elif "const" in node:
                types = [_json_type(node["const"])]
            elif isinstance(node.get("enum"), list) and node["enum"]:
                types = [_json_type(node["enum"][0])]
    for t in types:
        if t == "array":
            items = node.get("items")
            inner = describe_type(items, base, deref, _depth + 1, memo) if items is not None else None
            parts.append(f"array<{inner or 'any'}>")
        elif t == "object":
            add = node.get("additionalProperties")
            if not node.get("properties") and isinstance(add, dict) and not node.get("allOf"):
                inner = describe_type(add, base, deref, _depth + 1, memo) if add else None
                parts.append(f"map<{inner or 'any'}>")
            else:
                parts.append(f"object ({name})" if name else "object")
        else:
            fmt = node.get("format")
            if isinstance(fmt, str) and fmt not in _TRIVIAL_FORMATS:
                parts.append(f"{t} ({fmt})")
            else:
                parts.append(t)
    if not parts:
        if raw_type == "null" or raw_type == ["null"]:
            return "null"
        return "any | null" if nullable else None
    text = " | ".join(dict.fromkeys(parts))
    if nullable and not text.endswith("| null"):
        text += " | null"
    return text


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    if value is None:
        return "null"
    return "string"


class _View:
    """The merged shape of one schema: its properties (through allOf/anyOf/oneOf), required names,
    array items, and the identities (ref ids) used for recursion detection."""

    __slots__ = ("props", "required", "items", "identity")

    def __init__(self) -> None:
        self.props: dict[str, tuple[Any, str]] = {}
        self.required: set[str] = set()
        self.items: tuple[Any, str] | None = None
        self.identity: set[str] = set()


def _view(schema: Any, base: str, deref: Deref) -> _View:
    view = _View()
    seen: set[str] = set()
    seen_nodes: set[int] = set()

    def collect(s: Any, b: str, required_ok: bool, depth: int, top: bool) -> None:
        if depth > 12:
            return
        node, nb, rid = _safe_deref(deref, s, b)
        if not isinstance(node, dict) or id(node) in seen_nodes:
            return  # each schema object once: YAML aliases can make allOf/anyOf lists self-referential
        seen_nodes.add(id(node))
        if rid:
            if rid in seen:
                return
            seen.add(rid)
        if top:
            # a ref names the schema; an inline node is itself (the same object again = YAML alias recursion)
            view.identity.add(rid or f"@{id(node)}")
        props = node.get("properties")
        if isinstance(props, dict):
            for k, v in props.items():
                key = str(k)
                if key not in view.props:
                    view.props[key] = (v, nb)
        req = node.get("required")
        if required_ok and isinstance(req, list):
            view.required.update(str(r) for r in req)
        if view.items is None and node.get("items") is not None and not isinstance(node.get("items"), bool):
            items = node["items"]
            if isinstance(items, list):  # draft-4 tuple form
                items = items[0] if items else None
            if items is not None:
                view.items = (items, nb)
        all_of = node.get("allOf")
        if isinstance(all_of, list):
            for m in all_of[:16]:
                collect(m, nb, required_ok, depth + 1, False)
        for key in ("anyOf", "oneOf"):
            variants = node.get(key)
            if isinstance(variants, list):
                for m in variants[:16]:
                    collect(m, nb, False, depth + 1, top)

    collect(schema, base, True, 0, True)
    return view


def flatten_schema(
    schema: Any,
    base: str,
    deref: Deref,
    *,
    max_depth: int = MAX_DEPTH,
    max_fields: int = MAX_FIELDS,
    mode: str | None = None,
    memo: SchemaMemo | None = None,
) -> tuple[list[Field], bool]:
    """Flatten a schema to dotted fields (`metadata`, `items[].price`, `[].id` for a top-level array).

    mode "request" drops readOnly properties, "response" drops writeOnly ones. Returns (fields, truncated)."""
    if max_fields <= 0:
        return [], schema is not None
    if memo is None:
        memo = SchemaMemo()
    root, root_base, _ = _safe_deref(deref, schema, base)
    flat_key = (id(root), root_base, max_depth, max_fields, mode)
    hit = memo.flat.get(flat_key) if root is not None else None
    if hit is not None:
        return [_copy_field(f) for f in hit[1]], hit[2]
    fields, truncated = _flatten(schema, base, deref, max_depth, max_fields, mode, memo)
    if root is not None:
        memo.flat[flat_key] = (root, fields, truncated)
        return [_copy_field(f) for f in fields], truncated
    return fields, truncated


def _copy_field(f: Field) -> Field:
    return Field(
        name=f.name,
        type=f.type,
        required=f.required,
        description=f.description,
        enum=list(f.enum) if f.enum is not None else None,
        default=f.default,
        deprecated=f.deprecated,
    )


def _flatten(
    schema: Any, base: str, deref: Deref, max_depth: int, max_fields: int, mode: str | None, memo: SchemaMemo
) -> tuple[list[Field], bool]:
    out: list[tuple[tuple[int, ...], Field]] = []
    truncated = False
    views = memo.views

    def view_of(s: Any, b: str) -> _View:
        k = (id(s), b)
        hit = views.get(k)
        if hit is None:
            hit = views[k] = (s, _view(s, b, deref))
        return hit[1]

    # queue entries: (schema, base, path so far, depth, ancestors, sort key)
    queue: deque[tuple[Any, str, str, int, frozenset[str], tuple[int, ...]]] = deque()
    queue.append((schema, base, "", 0, frozenset(), ()))
    while queue:
        s, b, path, depth, ancestors, key = queue.popleft()
        view = view_of(s, b)
        ancestors = ancestors | view.identity
        prefix = path + "." if path else ""
        if not view.props and view.items is not None:
            # an array: flatten its items under `path[]`
            item_view = view_of(view.items[0], view.items[1])
            if item_view.identity & ancestors:
                continue
            view = item_view
            ancestors = ancestors | item_view.identity
            prefix = path + "[]."
        for idx, (name, (sub, sb)) in enumerate(view.props.items()):
            if len(out) >= max_fields:
                truncated = True
                queue.clear()
                break
            node, nb, _rid = _safe_deref(deref, sub, sb)
            if not isinstance(node, dict):
                node = {}
            if mode == "request" and node.get("readOnly") is True:
                continue
            if mode == "response" and node.get("writeOnly") is True:
                continue
            full = f"{prefix}{name}"
            desc = (
                sub.get("description")
                if isinstance(sub, dict) and isinstance(sub.get("description"), str)
                else node.get("description")
            )
            if isinstance(desc, str) and not desc.strip():
                desc = None
            enum = node.get("enum")
            if enum is None and isinstance(node.get("items"), dict):
                inode, _ib, _ = _safe_deref(deref, node["items"], nb)
                if isinstance(inode, dict):
                    enum = inode.get("enum")
            if enum is None and "const" in node:
                enum = [node["const"]]
            ftype = describe_type(sub, sb, deref, memo=memo)
            child_key = key + (idx,)
            child_view = view_of(sub, sb)
            target = child_view
            if not child_view.props and child_view.items is not None:
                target = view_of(child_view.items[0], child_view.items[1])
            expandable = False
            if target.props:
                if (target.identity | child_view.identity) & ancestors:
                    ftype = (ftype or "object") + " (recursive)"
                elif depth + 1 < max_depth:
                    expandable = True
                else:
                    truncated = True
            out.append(
                (
                    child_key,
                    Field(
                        name=clean_text(full) or full,
                        type=ftype,
                        required=name in view.required,
                        description=clean_text(desc) if isinstance(desc, str) else None,
                        enum=enum_values(enum),
                        default=json_safe(node.get("default")) if "default" in node else None,
                        deprecated=bool(node.get("deprecated")),
                    ),
                )
            )
            if expandable:
                queue.append((sub, sb, full, depth + 1, ancestors, child_key))
    out.sort(key=lambda kv: kv[0])
    return [f for _k, f in out], truncated


# --------------------------------------------------------------------------------------------------
# Fields inferred from an example JSON value (Postman raw bodies, saved responses)


def fields_from_value(value: Any, *, max_depth: int = MAX_DEPTH, max_fields: int = MAX_FIELDS) -> tuple[list[Field], bool]:
    """Dotted fields with types inferred from a JSON example value (no required flags, no values kept)."""
    out: list[tuple[tuple[int, ...], Field]] = []
    truncated = False
    queue: deque[tuple[Any, str, int, tuple[int, ...]]] = deque([(value, "", 0, ())])
    while queue:
        v, path, depth, key = queue.popleft()
        prefix = path + "." if path else ""
        if isinstance(v, list):
            first = next((x for x in v if isinstance(x, dict)), None)
            if first is None:
                continue
            v = first
            prefix = path + "[]."
        if not isinstance(v, dict):
            continue
        for idx, (name, sub) in enumerate(v.items()):
            if len(out) >= max_fields:
                truncated = True
                queue.clear()
                break
            full = f"{prefix}{name}"
            out.append((key + (idx,), Field(name=clean_text(full) or full, type=_value_type(sub))))
            has_children = (isinstance(sub, dict) and bool(sub)) or (
                isinstance(sub, list) and any(isinstance(x, dict) for x in sub)
            )
            if has_children:
                if depth + 1 < max_depth:
                    queue.append((sub, full, depth + 1, key + (idx,)))
                else:
                    truncated = True
    out.sort(key=lambda kv: kv[0])
    return [f for _k, f in out], truncated


def _value_type(value: Any) -> str:
    if isinstance(value, list):
        inner = {_value_type(x) for x in value[:20]}
        return f"array<{inner.pop()}>" if len(inner) == 1 else "array"
    return _json_type(value)


# --------------------------------------------------------------------------------------------------
# Loading JSON / YAML safely and quickly


def _make_yaml_loader() -> Any:
    """A safe YAML loader (the C one when libyaml is there) with YAML-1.2-like scalars: only true/false are
    booleans (`on`, `yes`, `no` stay strings: enum values), no timestamps (`2023-08-16` stays a string),
    no octal/sexagesimal ints."""
    import yaml

    base = getattr(yaml, "CSafeLoader", None) or yaml.SafeLoader

    class SpecLoader(base):  # type: ignore[misc, valid-type]
        pass

    drop = {"tag:yaml.org,2002:bool", "tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"}
    SpecLoader.yaml_implicit_resolvers = {
        k: [(tag, rx) for tag, rx in v if tag not in drop] for k, v in base.yaml_implicit_resolvers.items()
    }
    SpecLoader.add_implicit_resolver(
        "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
    )
    SpecLoader.add_implicit_resolver("tag:yaml.org,2002:int", re.compile(r"^[-+]?(?:0|[1-9][0-9]*)$"), list("-+0123456789"))
    SpecLoader.add_implicit_resolver(
        "tag:yaml.org,2002:float",
        re.compile(
            r"^(?:[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?|[-+]?[0-9]+[eE][-+]?[0-9]+|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
        ),
        list("-+0123456789."),
    )
    return SpecLoader


_YAML_LOADER: Any = None


class LoadError(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def looks_like_json(text: str, path: str = "") -> bool:
    low = path.lower()
    if low.endswith((".yaml", ".yml")):
        return False
    if low.endswith(".json"):
        return True
    return text.lstrip("\ufeff \t\r\n")[:1] in ("{", "[")


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector (nesting-safe). Parsing and normalizing a multi-MB spec
    allocates millions of small acyclic objects; the collector's passes over them cost more than the work."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def load_structured(text: str, path: str = "") -> Any:
    """Parse JSON or YAML text (JSON first when it looks like JSON). Raises LoadError with a clear reason
    (line/column when the parser gives one). The garbage collector is paused while parsing: a 4 MB spec
    allocates millions of small objects and the collector's passes would make it ~4x slower."""
    global _YAML_LOADER
    json_error = None
    text = text.lstrip("\ufeff")
    with gc_paused():
        if looks_like_json(text, path):
            try:
                return json.loads(text)
            except json.JSONDecodeError as exc:
                json_error = f"invalid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
            except RecursionError:
                raise LoadError("invalid JSON: nested too deeply") from None
            if path.lower().endswith(".json"):
                raise LoadError(json_error)
        import yaml

        if _YAML_LOADER is None:
            _YAML_LOADER = _make_yaml_loader()
        try:
            loader = _YAML_LOADER(text)
            try:
                return loader.get_single_data()
            finally:
                loader.dispose()
        except yaml.MarkedYAMLError as exc:
            if json_error:
                raise LoadError(json_error) from None
            mark = exc.problem_mark or exc.context_mark
            where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
            what = " ".join(x for x in (exc.context, exc.problem) if x) or "syntax error"
            raise LoadError(f"invalid YAML: {what}{where}") from None
        except yaml.YAMLError as exc:
            raise LoadError(json_error or f"invalid YAML: {exc}") from None
        except RecursionError:
            raise LoadError("invalid YAML: nested too deeply") from None


def load_roots(
    files: list[SourceFile],
    load: Callable[[SourceFile], Any],
    problem: Callable[[Any], str | None],
    issues: list[ImportIssue],
) -> list[tuple[SourceFile, Any]]:
    """The (file, document) pairs of the files (at least one) that `load` reads (else LoadError) and in
    whose document `problem` finds nothing wrong (None). When no file is left, the first failure is raised;
    else each failure is a warning in `issues` (when there were several files)."""
    roots: list[tuple[SourceFile, Any]] = []
    errors: list[ImportError_] = []
    for f in files:
        try:
            doc = load(f)
        except LoadError as exc:
            errors.append(ImportError_(f"{f.path}: {exc.reason}", where=f.path))
            continue
        reason = problem(doc)
        if reason:
            errors.append(ImportError_(f"{f.path}: {reason}", where=f.path))
            continue
        roots.append((f, doc))
    if not roots:
        raise errors[0]
    if len(files) > 1:
        issues.extend(ImportIssue(where=e.where, reason=e.reason, severity="warning") for e in errors)
    return roots
