"""GraphQL importer: SDL (`.graphql` / `.gql`) and introspection JSON, through graphql-core.

One endpoint per root field (`QUERY f`, `MUTATION f`, `SUBSCRIPTION f`, following the key conventions
of shared/eval). Arguments become parameters; an `input` argument of input-object type is flattened into
the request body (other input-object arguments too, prefixed with the argument name); the return type's
fields (two levels, connections unwrapped to `nodes[]` / `edges[].node`) become the `data` response.

Documents: an overview of the schema, then the object/interface/union types reachable from the root
fields' return types at depth 1 and every enum, batched about 20 types per document (GitHub has 1,600
types: one document per type would drown retrieval in boilerplate). Connection/edge boilerplate and
mutation payloads (already described by their endpoints) are left out.

Partial results: an SDL with a syntax error is split into its top-level definitions and each one is
parsed alone, so a broken definition is skipped with an issue and the rest is kept; type names that are
referenced but never defined become opaque scalars (warning). An introspection JSON with a malformed
type or field drops that type/field (issue) and keeps the rest."""

from __future__ import annotations

import json
import re
from typing import Any

from graphql import (
    DocumentNode,
    GraphQLEnumType,
    GraphQLError,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLSyntaxError,
    GraphQLUnionType,
    ast_from_value,
    build_ast_schema,
    build_client_schema,
    get_named_type,
    is_list_type,
    is_non_null_type,
    parse,
    print_ast,
)
from graphql.language import ast as gast
from graphql.pyutils import Undefined
from graphql.validation.validate import validate_sdl

from .base import DetectByBestFile, ImportContext, ImportError_, ImportIssue, ImportResult, SourceFile, type_documents
from .records import Document, Endpoint, Example, Field, Parameter, RequestBody, Response
from .schema_fields import first_sentence

SDL_EXTENSIONS = (".graphql", ".gql", ".graphqls", ".sdl")
_SDL_HINT = re.compile(r"^\s*(?:extend\s+)?(?:type|interface|input|enum|union|scalar|schema|directive)\b[^\n{]*[{=@]?", re.M)
# a definition that starts a line: `type Foo {`, `enum Bar {`, `union U =`, `scalar DateTime`
_SDL_DEF = re.compile(
    r"^(?:extend\s+)?(?:type|interface|input|enum)\s+[_A-Za-z]\w*[^\n{]*\{|^(?:union\s+\w+\s*=|scalar\s+\w+)", re.M
)
_NOT_SDL_EXTENSIONS = (".md", ".markdown", ".yaml", ".yml", ".json", ".html", ".xml", ".proto", ".wsdl")
_ROOT_HINT = re.compile(r"^\s*(?:extend\s+)?(?:type\s+(?:Query|Mutation|Subscription)\b|schema\s*\{)", re.M)
_DEF_KEYWORDS = {"type", "interface", "input", "enum", "union", "scalar", "schema", "directive", "extend"}
_BUILTIN_SCALARS = {"String", "Int", "Float", "Boolean", "ID"}

MAX_RESPONSE_FIELDS = 400
MAX_REQUEST_FIELDS = 300
MAX_SDL_ISSUES = 50


def _looks_like_sdl(head: str) -> bool:
    """Plain text (no telling extension) that reads as SDL: a root type, or several definitions."""
    if head.lstrip().startswith(("{", "[", "<", "#!", "---")):
        return False
    defs = len(_SDL_DEF.findall(head))
    return (defs >= 1 and _ROOT_HINT.search(head) is not None) or defs >= 3


class GraphQLImporter(DetectByBestFile):
    format = "graphql"

    # ---------------------------------------------------------------- detect
    def score(self, f: SourceFile) -> float:
        name = f.path.lower()
        head = f.data[:8192].decode("utf-8", errors="replace")
        if name.endswith(".json") or head.lstrip().startswith("{"):
            return 0.95 if '"__schema"' in head else 0.0
        if name.endswith(SDL_EXTENSIONS):
            return 0.95 if _SDL_HINT.search(head) else 0.6
        if not name.endswith(_NOT_SDL_EXTENSIONS) and _looks_like_sdl(head):
            return 0.75 if _ROOT_HINT.search(head) else 0.6
        return 0.0

    # ---------------------------------------------------------------- parse
    def parse(self, files: list[SourceFile], ctx: ImportContext) -> ImportResult:
        result = ImportResult(format=self.format)
        schemas: list[tuple[GraphQLSchema, str]] = []
        sdl_files: list[SourceFile] = []
        fatal: list[ImportError_] = []
        for f in files:
            text = f.text()
            name = f.path.lower()
            if name.endswith(".json") or (text.lstrip().startswith("{") and '"__schema"' in text):
                if '"__schema"' not in text:
                    continue
                try:
                    schemas.append((self._from_introspection(f, text, result.issues), f.path))
                except ImportError_ as e:
                    fatal.append(e)
                    result.issues.append(ImportIssue(where=e.where or f.path, reason=e.reason))
            elif name.endswith(SDL_EXTENSIONS) or (not name.endswith(_NOT_SDL_EXTENSIONS) and _looks_like_sdl(text[:8192])):
                sdl_files.append(f)
        if sdl_files:
            try:
                schemas.append((self._from_sdl(sdl_files, result.issues), sdl_files[0].path))
            except ImportError_ as e:
                fatal.append(e)
                result.issues.append(ImportIssue(where=e.where or sdl_files[0].path, reason=e.reason))
        if not schemas:
            if len(fatal) == 1:
                raise fatal[0]
            if fatal:
                raise ImportError_("; ".join(f"{e.where}: {e.reason}" for e in fatal), where=fatal[0].where)
            raise ImportError_("no GraphQL SDL or introspection JSON (`__schema`) found")

        seen: set[str] = set()
        for schema, path in schemas:
            if schema.description and not result.title:
                result.title = first_sentence(schema.description)
            for ep in self._endpoints(schema, path, result.issues):
                if ep.operation_key in seen:
                    result.issues.append(
                        ImportIssue(
                            where=f"{path}:{ep.operation_key}", reason="duplicate root field, first kept", severity="warning"
                        )
                    )
                    continue
                if len(result.endpoints) >= ctx.max_endpoints:
                    result.issues.append(
                        ImportIssue(where=path, reason=f"endpoint limit {ctx.max_endpoints} reached; rest skipped")
                    )
                    break
                seen.add(ep.operation_key)
                result.endpoints.append(ep)
            result.documents.extend(self._documents(schema, path))
        for doc in result.documents:
            if len(doc.markdown.encode()) > ctx.max_document_bytes:
                doc.markdown = doc.markdown.encode()[: ctx.max_document_bytes].decode("utf-8", errors="ignore")
                result.issues.append(
                    ImportIssue(where=doc.path, reason="document truncated to the size limit", severity="warning")
                )
        return result

    # ---------------------------------------------------------------- SDL
    def _from_sdl(self, files: list[SourceFile], issues: list[ImportIssue]) -> GraphQLSchema:
        definitions: list[gast.DefinitionNode] = []
        for f in files:
            text = f.text()
            try:
                definitions.extend(parse(text).definitions)
            except GraphQLSyntaxError as e:
                definitions.extend(self._parse_pieces(f.path, text, e, issues))
            except RecursionError:
                issues.append(ImportIssue(where=f.path, reason="skipped: the SDL is nested too deeply to read"))
        definitions = [d for d in definitions if not isinstance(d, gast.ExecutableDefinitionNode)]
        if not definitions:
            raise ImportError_("no GraphQL type definitions could be read", where=files[0].path)
        definitions.extend(self._stub_undefined(definitions, files[0].path, issues))
        doc = DocumentNode(definitions=tuple(definitions))
        errors = validate_sdl(doc)
        for err in errors[:MAX_SDL_ISSUES]:
            issues.append(
                ImportIssue(where=files[0].path + _loc(err), reason=f"schema problem (kept): {err.message}", severity="warning")
            )
        try:
            return build_ast_schema(doc, assume_valid_sdl=True, assume_valid=True)
        except (TypeError, GraphQLError) as e:
            raise ImportError_(f"GraphQL schema cannot be built: {e}", where=files[0].path) from e

    def _parse_pieces(self, path: str, text: str, first_error: GraphQLSyntaxError, issues: list[ImportIssue]) -> list[Any]:
        """Parse top-level definitions one by one; keep the readable ones."""
        pieces = _split_definitions(text)
        out: list[Any] = []
        for start_line, piece in pieces:
            try:
                out.extend(parse(piece).definitions)
            except RecursionError:
                issues.append(ImportIssue(where=f"{path}:{start_line}", reason="skipped: nested too deeply to read"))
            except GraphQLSyntaxError as e:
                line = start_line + (e.locations[0].line - 1 if e.locations else 0)
                col = e.locations[0].column if e.locations else 0
                name = _definition_name(piece)
                issues.append(
                    ImportIssue(where=f"{path}:{line}:{col}" + (f" ({name})" if name else ""), reason=f"skipped: {e.message}")
                )
        if not out:
            loc = first_error.locations[0] if first_error.locations else None
            where = f"{path}:{loc.line}:{loc.column}" if loc else path
            at = f" at line {loc.line}, column {loc.column}" if loc else ""
            raise ImportError_(f"GraphQL syntax error{at}: {first_error.message}", where=where)
        return out

    @staticmethod
    def _stub_undefined(definitions: list[Any], path: str, issues: list[ImportIssue]) -> list[Any]:
        defined = set(_BUILTIN_SCALARS)
        for d in definitions:
            if isinstance(d, gast.TypeDefinitionNode):
                defined.add(d.name.value)
        referenced: set[str] = set()

        def named(t: Any) -> None:
            while not isinstance(t, gast.NamedTypeNode):
                t = t.type
            referenced.add(t.name.value)

        for d in definitions:
            for fdef in getattr(d, "fields", None) or ():
                named(fdef.type)
                for a in getattr(fdef, "arguments", None) or ():
                    named(a.type)
            for a in getattr(d, "arguments", None) or ():  # directive definitions
                named(a.type)
            for i in getattr(d, "interfaces", None) or ():
                referenced.add(i.name.value)
            for t in getattr(d, "types", None) or ():  # unions
                referenced.add(t.name.value)
            for op in getattr(d, "operation_types", None) or ():
                referenced.add(op.type.name.value)
        stubs = []
        for name in sorted(referenced - defined):
            issues.append(
                ImportIssue(
                    where=f"{path} ({name})",
                    reason=f"type {name} is referenced but not defined; shown by name",
                    severity="warning",
                )
            )
            stubs.append(gast.ScalarTypeDefinitionNode(name=gast.NameNode(value=name), directives=()))
        return stubs

    # ---------------------------------------------------------------- introspection
    def _from_introspection(self, f: SourceFile, text: str, issues: list[ImportIssue]) -> GraphQLSchema:
        try:
            data = json.loads(text)
        except RecursionError as e:
            raise ImportError_("the JSON is nested too deeply to read", where=f.path) from e
        except json.JSONDecodeError as e:
            raise ImportError_(
                f"invalid JSON: {e.msg} at line {e.lineno} column {e.colno}", where=f"{f.path}:{e.lineno}:{e.colno}"
            ) from e
        if isinstance(data, dict) and isinstance(data.get("data"), dict):
            data = data["data"]
        if not isinstance(data, dict) or not isinstance(data.get("__schema"), dict):
            raise ImportError_("introspection JSON has no `__schema` object", where=f.path)
        try:
            return build_client_schema(data, assume_valid=True)
        except Exception:  # noqa: BLE001 - graphql-core raises TypeError/KeyError/... on malformed parts
            pass
        cleaned = _clean_introspection(data["__schema"], f.path, issues)
        try:
            return build_client_schema({"__schema": cleaned}, assume_valid=True)
        except Exception as e:  # noqa: BLE001
            raise ImportError_(f"introspection result cannot be read: {e}", where=f.path) from e

    # ---------------------------------------------------------------- endpoints
    def _endpoints(self, schema: GraphQLSchema, path: str, issues: list[ImportIssue]) -> list[Endpoint]:
        out: list[Endpoint] = []
        for root, kind in (
            (schema.query_type, "QUERY"),
            (schema.mutation_type, "MUTATION"),
            (schema.subscription_type, "SUBSCRIPTION"),
        ):
            if root is None:
                continue
            for fname, fdef in root.fields.items():
                try:
                    out.append(self._endpoint(schema, root, kind, fname, fdef, path))
                except Exception as e:  # noqa: BLE001 - one broken field must not lose the others
                    issues.append(ImportIssue(where=f"{path}:{root.name}.{fname}", reason=f"skipped: {e}"))
        return out

    def _endpoint(
        self, schema: GraphQLSchema, root: GraphQLObjectType, kind: str, fname: str, fdef: GraphQLField, path: str
    ) -> Endpoint:
        params: list[Parameter] = []
        body_fields: list[Field] = []
        body_required = False
        for aname, arg in fdef.args.items():
            named = get_named_type(arg.type)
            params.append(
                Parameter(
                    name=aname,
                    location="argument",
                    type=str(arg.type),
                    required=is_non_null_type(arg.type) and not _has_default(arg),
                    description=arg.description,
                    enum=list(named.values) if isinstance(named, GraphQLEnumType) else None,
                    default=_default(arg),
                    deprecated=getattr(arg, "deprecation_reason", None) is not None,
                )
            )
            if isinstance(named, GraphQLInputObjectType):
                prefix = "" if aname == "input" else aname + ("[]." if is_list_type(_strip_nn(arg.type)) else ".")
                _input_fields(named, prefix, 3, body_fields, set())
                body_required = body_required or is_non_null_type(arg.type)
        request_body = None
        if body_fields:
            more = len(body_fields) - MAX_REQUEST_FIELDS
            input_types = [str(a.type) for a in fdef.args.values() if isinstance(get_named_type(a.type), GraphQLInputObjectType)]
            desc = "GraphQL variables: input object(s) " + ", ".join(f"`{t}`" for t in input_types)
            if more > 0:
                desc += f" ({more} more fields not listed)"
            request_body = RequestBody(
                content_types=["application/json"],
                required=body_required,
                description=desc,
                fields=body_fields[:MAX_REQUEST_FIELDS],
            )
        ret = get_named_type(fdef.type)
        collected: list[tuple[int, Field]] = []
        _output_fields(ret, "", 2, collected, top=True)
        resp_fields = [f for _, f in sorted(collected, key=lambda lf: lf[0])]
        resp_desc = f"`{fname}` returns `{fdef.type}`"
        if ret.description:
            resp_desc += f": {first_sentence(ret.description)}"
        if isinstance(ret, GraphQLUnionType):
            resp_desc += " (union of " + " | ".join(t.name for t in ret.types) + ")"
        if isinstance(ret, GraphQLEnumType):
            resp_desc += " (one of " + ", ".join(ret.values) + ")"
        if len(resp_fields) > MAX_RESPONSE_FIELDS:
            resp_desc += f" ({len(resp_fields) - MAX_RESPONSE_FIELDS} more nested fields not listed)"
            resp_fields = resp_fields[:MAX_RESPONSE_FIELDS]
        description = fdef.description or None
        if fdef.deprecation_reason is not None:
            description = (description + "\n\n" if description else "") + f"**Deprecated:** {fdef.deprecation_reason}"
        extra: dict[str, Any] = {
            "graphql_root": root.name,
            "return_type": str(fdef.type),
            "return_kind": _kind(ret),
        }
        if fdef.deprecation_reason is not None:
            extra["deprecation_reason"] = fdef.deprecation_reason
        if kind == "SUBSCRIPTION":
            extra["streaming"] = True
        return Endpoint(
            operation_key=f"{kind} {fname}",
            method=kind,
            path=fname,
            operation_id=fname,
            summary=first_sentence(fdef.description),
            description=description,
            tags=[root.name],
            parameters=params,
            request_body=request_body,
            responses=[Response(code="data", description=resp_desc, content_types=["application/json"], fields=resp_fields)],
            examples=[Example(title=f"{kind.lower()} {fname}", content=_example(kind, fname, fdef), language="graphql")],
            deprecated=fdef.deprecation_reason is not None,
            source_path=path,
            extra=extra,
        )

    # ---------------------------------------------------------------- documents
    def _documents(self, schema: GraphQLSchema, path: str) -> list[Document]:
        docs: list[Document] = []
        roots = [(schema.query_type, "Query"), (schema.mutation_type, "Mutation"), (schema.subscription_type, "Subscription")]
        lines = ["# GraphQL schema overview", ""]
        if schema.description:
            lines += [schema.description.strip(), ""]
        payloads: set[str] = set()
        depth0: set[str] = set()
        for root, label in roots:
            if root is None:
                continue
            lines += [f"## {label} (`{root.name}`): {len(root.fields)} fields", ""]
            for fname, fdef in root.fields.items():
                s = first_sentence(fdef.description)
                dep = " (deprecated)" if fdef.deprecation_reason is not None else ""
                lines.append(f"- `{fname}`: `{fdef.type}`{dep}" + (f" — {s}" if s else ""))
                named = get_named_type(fdef.type)
                depth0.add(named.name)
                if label == "Mutation":
                    payloads.add(named.name)
            lines.append("")
        docs.append(Document(title="GraphQL schema overview", path=f"{path}#overview", markdown="\n".join(lines)))

        # object/interface/union types reachable at depth <= 1 from the root fields' return types
        reach: set[str] = set(depth0)
        for name in depth0:
            t = schema.type_map.get(name)
            if isinstance(t, GraphQLObjectType | GraphQLInterfaceType):
                for fdef in t.fields.values():
                    reach.add(_unwrap_connection(get_named_type(fdef.type)).name)
            if isinstance(t, GraphQLUnionType):
                reach.update(m.name for m in t.types)
        root_names = {r.name for r, _ in roots if r is not None}
        types = []
        for name in sorted(reach):
            t = schema.type_map.get(name)
            if not isinstance(t, GraphQLObjectType | GraphQLInterfaceType | GraphQLUnionType):
                continue
            if name.startswith("__") or name in root_names or _is_connection(t) or _is_edge(t) or name == "PageInfo":
                continue
            if name in payloads and name.endswith("Payload"):
                continue
            types.append(t)
        enums = [t for n, t in sorted(schema.type_map.items()) if isinstance(t, GraphQLEnumType) and not n.startswith("__")]
        for label, group in (("types", types), ("enums", enums)):
            docs += type_documents(group, f"GraphQL {label}:", lambda t: t.name, _type_markdown, f"{path}#{label}")
        return docs


# -------------------------------------------------------------------- helpers


def _loc(err: GraphQLError) -> str:
    if err.locations:
        return f":{err.locations[0].line}:{err.locations[0].column}"
    return ""


def _strip_nn(t: Any) -> Any:
    return t.of_type if is_non_null_type(t) else t


def _list_suffix(t: Any) -> str:
    return "[]" if is_list_type(_strip_nn(t)) else ""


def _kind(t: Any) -> str:
    return {
        GraphQLObjectType: "object",
        GraphQLInterfaceType: "interface",
        GraphQLUnionType: "union",
        GraphQLEnumType: "enum",
        GraphQLInputObjectType: "input",
    }.get(type(t), "scalar")


def _has_default(arg: Any) -> bool:
    return getattr(arg, "default", None) is not None or getattr(arg, "default_value", Undefined) is not Undefined


def _default(arg: Any) -> Any:
    """The default as a GraphQL literal (`ADMIN`, `10`, `"x"`), or None."""
    try:
        d = getattr(arg, "default", None)
        if d is not None:
            if d.literal is not None:
                return print_ast(d.literal)
            node = ast_from_value(d.value, arg.type)
            return print_ast(node) if node is not None else None
        dv = getattr(arg, "default_value", Undefined)
        if dv is not Undefined:
            node = ast_from_value(dv, arg.type)
            return print_ast(node) if node is not None else None
    except Exception:  # noqa: BLE001 - a default that cannot be printed is not worth losing the field
        return None
    return None


def _is_connection(t: Any) -> bool:
    return isinstance(t, GraphQLObjectType) and t.name.endswith("Connection") and ("edges" in t.fields or "nodes" in t.fields)


def _is_edge(t: Any) -> bool:
    return isinstance(t, GraphQLObjectType) and t.name.endswith("Edge") and "node" in t.fields


def _unwrap_connection(t: Any) -> Any:
    if _is_connection(t):
        if "nodes" in t.fields:
            return get_named_type(t.fields["nodes"].type)
        edge = get_named_type(t.fields["edges"].type)
        if isinstance(edge, GraphQLObjectType) and "node" in edge.fields:
            return get_named_type(edge.fields["node"].type)
    return t


def _field(name: str, f: Any) -> Field:
    named = get_named_type(f.type)
    dep = getattr(f, "deprecation_reason", None)
    desc = f.description
    if dep is not None:
        desc = (desc + " " if desc else "") + f"(Deprecated: {dep})"
    default = _default(f) if hasattr(f, "default_value") else None
    required = is_non_null_type(f.type) and not _has_default(f)
    return Field(
        name=name,
        type=str(f.type),
        required=required,
        description=desc,
        enum=list(named.values) if isinstance(named, GraphQLEnumType) else None,
        default=default,
        deprecated=dep is not None,
    )


def _input_fields(t: GraphQLInputObjectType, prefix: str, levels: int, out: list[Field], seen: set[str]) -> None:
    if t.name in seen:
        return
    seen = seen | {t.name}
    for fname, f in t.fields.items():
        name = prefix + fname + _list_suffix(f.type)
        out.append(_field(name, f))
        named = get_named_type(f.type)
        if levels > 1 and isinstance(named, GraphQLInputObjectType):
            _input_fields(named, name + ".", levels - 1, out, seen)


def _output_fields(t: Any, prefix: str, levels: int, out: list[tuple[int, Field]], top: bool = False, level: int = 1) -> None:
    """Collect (level, field) pairs; callers sort by level so that truncation drops the deepest first."""
    if not isinstance(t, GraphQLObjectType | GraphQLInterfaceType) or levels <= 0:
        return
    if _is_connection(t) and top:
        # unwrap the connection once: its nodes' fields count as the first level
        for fname, f in t.fields.items():
            name = prefix + fname + _list_suffix(f.type)
            out.append((level, _field(name, f)))
            named = get_named_type(f.type)
            if fname == "nodes":
                _output_fields(named, name + ".", levels, out, level=level)
            elif fname == "edges" and _is_edge(named):
                for ename, ef in named.fields.items():
                    out.append((level, _field(f"{name}.{ename}", ef)))
                    if ename == "node" and "nodes" not in t.fields:
                        _output_fields(get_named_type(ef.type), f"{name}.node.", levels, out, level=level)
            elif fname == "pageInfo":
                _output_fields(named, name + ".", 1, out, level=level + 1)
        return
    for fname, f in t.fields.items():
        name = prefix + fname + _list_suffix(f.type)
        out.append((level, _field(name, f)))
        if levels > 1:
            named = get_named_type(f.type)
            if _is_connection(named):
                for cname in ("totalCount", "nodes"):
                    if cname in named.fields:
                        cf = named.fields[cname]
                        out.append((level + 1, _field(f"{name}.{cname}{_list_suffix(cf.type)}", cf)))
            else:
                _output_fields(named, name + ".", levels - 1, out, level=level + 1)


_PREFERRED = ("id", "name", "login", "title", "number", "url", "state", "createdAt")


def _scalar_picks(t: Any, limit: int) -> list[str]:
    if not isinstance(t, GraphQLObjectType | GraphQLInterfaceType):
        return []
    simple = [
        n
        for n, f in t.fields.items()
        if not isinstance(get_named_type(f.type), GraphQLObjectType | GraphQLInterfaceType | GraphQLUnionType)
        and not any(is_non_null_type(a.type) for a in f.args.values())
        and f.deprecation_reason is None
    ]
    picks = [n for n in _PREFERRED if n in simple]
    picks += [n for n in simple if n not in picks]
    return picks[:limit]


def _selection(t: Any, indent: str, depth: int) -> list[str]:
    if isinstance(t, GraphQLUnionType):
        lines = [indent + "__typename"]
        for member in t.types[:2]:
            inner = _scalar_picks(member, 3)
            if inner:
                lines.append(f"{indent}... on {member.name} {{ {' '.join(inner)} }}")
        return lines
    if not isinstance(t, GraphQLObjectType | GraphQLInterfaceType):
        return []
    if _is_connection(t):
        lines = []
        if "totalCount" in t.fields:
            lines.append(indent + "totalCount")
        node = _unwrap_connection(t)
        inner = _selection(node, indent + "  ", 1) or [indent + "  __typename"]
        lines += (
            [indent + ("nodes {" if "nodes" in t.fields else "edges { node {")]
            + inner
            + [indent + ("}" if "nodes" in t.fields else "} }")]
        )
        if "pageInfo" in t.fields:
            lines.append(indent + "pageInfo { hasNextPage endCursor }")
        return lines
    lines = [indent + n for n in _scalar_picks(t, 8)]
    if depth > 1:
        objs = [
            (n, f)
            for n, f in t.fields.items()
            if isinstance(get_named_type(f.type), GraphQLObjectType | GraphQLInterfaceType)
            and not _is_connection(get_named_type(f.type))
            and not any(is_non_null_type(a.type) for a in f.args.values())
            and f.deprecation_reason is None
        ][:2]
        for n, f in objs:
            inner = _scalar_picks(get_named_type(f.type), 3)
            if inner:
                lines.append(f"{indent}{n} {{ {' '.join(inner)} }}")
    return lines or [indent + "__typename"]


def _example(kind: str, fname: str, fdef: GraphQLField) -> str:
    required = [(n, a) for n, a in fdef.args.items() if is_non_null_type(a.type) and not _has_default(a)]
    var_defs = ", ".join(f"${n}: {a.type}" for n, a in required)
    call_args = [f"{n}: ${n}" for n, _ in required]
    if "first" in fdef.args and "first" not in dict(required) and _is_connection(get_named_type(fdef.type)):
        call_args.append("first: 10")
    op_name = fname[:1].upper() + fname[1:]
    head = f"{kind.lower()} {op_name}" + (f"({var_defs})" if var_defs else "")
    call = fname + (f"({', '.join(call_args)})" if call_args else "")
    sel = _selection(get_named_type(fdef.type), "    ", 2)
    if sel:
        return "\n".join([head + " {", f"  {call} {{", *sel, "  }", "}"])
    return "\n".join([head + " {", f"  {call}", "}"])


def _type_markdown(t: Any) -> list[str]:
    lines = [f"## {t.name} ({_kind(t)})", ""]
    if t.description:
        lines += [t.description.strip(), ""]
    if isinstance(t, GraphQLEnumType):
        for vname, v in t.values.items():
            dep = f" **Deprecated:** {v.deprecation_reason}" if v.deprecation_reason is not None else ""
            lines.append(f"- `{vname}`" + (f" — {first_sentence(v.description)}" if v.description else "") + dep)
    elif isinstance(t, GraphQLUnionType):
        lines.append("Possible types: " + ", ".join(f"`{m.name}`" for m in t.types))
    else:
        if t.interfaces:
            lines += ["Implements: " + ", ".join(f"`{i.name}`" for i in t.interfaces), ""]
        for fname, f in t.fields.items():
            args = f"({', '.join(f.args)})" if f.args else ""
            dep = f" **Deprecated:** {f.deprecation_reason}" if f.deprecation_reason is not None else ""
            desc = first_sentence(f.description)
            lines.append(f"- `{fname}{args}: {f.type}`" + (f" — {desc}" if desc else "") + dep)
    lines.append("")
    return lines


def _split_definitions(text: str) -> list[tuple[int, str]]:
    """Split SDL text into top-level definitions (line number, text), tracking strings, comments, braces."""
    pieces: list[tuple[int, str]] = []
    i, n, depth, line = 0, len(text), 0, 1
    start, start_line = 0, 1
    pending_desc: tuple[int, int] | None = None  # (offset, line) of a description at depth 0
    while i < n:
        c = text[i]
        if c == "\n":
            line += 1
            i += 1
        elif c == "#":
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith('"""', i):
            j = text.find('"""', i + 3)
            while j > 0 and text[j - 1] == "\\":
                j = text.find('"""', j + 3)
            end = n if j < 0 else j + 3
            if depth == 0 and pending_desc is None:
                pending_desc = (i, line)
            line += text.count("\n", i, end)
            i = end
        elif c == '"':
            j = i + 1
            while j < n and text[j] not in '"\n':
                j += 2 if text[j] == "\\" else 1
            if depth == 0 and pending_desc is None:
                pending_desc = (i, line)
            i = j + 1
        elif c in "{(":
            depth += 1
            i += 1
        elif c in "})":
            depth = max(0, depth - 1)
            i += 1
        elif c.isalpha() or c == "_":
            j = i
            while j < n and (text[j].isalnum() or text[j] == "_"):
                j += 1
            word = text[i:j]
            if depth == 0 and word in _DEF_KEYWORDS and (i == 0 or text[i - 1] in " \t\n\r,;}"):
                prev_word = text[max(0, i - 8) : i].strip()
                if not prev_word.endswith("extend"):
                    cut, cut_line = pending_desc if pending_desc else (i, line)
                    if text[start:cut].strip():
                        pieces.append((start_line, text[start:cut]))
                    start, start_line = cut, cut_line
            if depth == 0:
                pending_desc = None
            i = j
        else:
            i += 1
    if text[start:].strip():
        pieces.append((start_line, text[start:]))
    return pieces


def _definition_name(piece: str) -> str | None:
    m = re.search(r"\b(?:type|interface|input|enum|union|scalar|directive\s+@?)\s*@?([A-Za-z_]\w*)", piece)
    return m.group(1) if m else None


def _type_ref_ok(ref: Any, depth: int = 0) -> bool:
    if not isinstance(ref, dict) or depth > 10:
        return False
    kind = ref.get("kind")
    if kind in ("LIST", "NON_NULL"):
        return _type_ref_ok(ref.get("ofType"), depth + 1)
    return isinstance(kind, str) and isinstance(ref.get("name"), str)


def _clean_introspection(schema: dict[str, Any], path: str, issues: list[ImportIssue]) -> dict[str, Any]:
    """Drop malformed types/fields/args of an introspection result so the rest can be built."""
    types_in = schema.get("types")
    if not isinstance(types_in, list):
        raise ImportError_("`__schema.types` is missing or not a list", where=path)
    kept: list[dict[str, Any]] = []
    for idx, t in enumerate(types_in):
        if not isinstance(t, dict) or not isinstance(t.get("name"), str) or not isinstance(t.get("kind"), str):
            issues.append(ImportIssue(where=f"{path}:__schema.types[{idx}]", reason="skipped: type without name/kind"))
            continue
        t = dict(t)
        name, kind = t["name"], t["kind"]
        if kind in ("OBJECT", "INTERFACE", "INPUT_OBJECT"):
            key = "inputFields" if kind == "INPUT_OBJECT" else "fields"
            good = []
            for fi, f in enumerate(t.get(key) or []):
                args = f.get("args", []) if isinstance(f, dict) else None
                ok = (
                    isinstance(f, dict)
                    and isinstance(f.get("name"), str)
                    and _type_ref_ok(f.get("type"))
                    and isinstance(args, list)
                    and all(isinstance(a, dict) and isinstance(a.get("name"), str) and _type_ref_ok(a.get("type")) for a in args)
                )
                if ok:
                    good.append(f)
                else:
                    fname = f.get("name") if isinstance(f, dict) else fi
                    issues.append(ImportIssue(where=f"{path}:{name}.{fname}", reason="skipped: malformed field (name/type/args)"))
            t[key] = good
            if kind != "INPUT_OBJECT":
                t["interfaces"] = [i for i in t.get("interfaces") or [] if _type_ref_ok(i)]
        elif kind in ("UNION",):
            t["possibleTypes"] = [p for p in t.get("possibleTypes") or [] if _type_ref_ok(p)]
        elif kind == "ENUM":
            t["enumValues"] = [v for v in t.get("enumValues") or [] if isinstance(v, dict) and isinstance(v.get("name"), str)]
        kept.append(t)
    names = {t["name"] for t in kept}
    referenced: set[str] = set()

    def ref_name(r: Any) -> None:
        while isinstance(r, dict) and r.get("kind") in ("LIST", "NON_NULL"):
            r = r.get("ofType")
        if isinstance(r, dict) and isinstance(r.get("name"), str):
            referenced.add(r["name"])

    for t in kept:
        for f in (t.get("fields") or []) + (t.get("inputFields") or []):
            ref_name(f["type"])
            for a in f.get("args") or []:
                ref_name(a["type"])
        for r in (t.get("interfaces") or []) + (t.get("possibleTypes") or []):
            ref_name(r)
    for key in ("queryType", "mutationType", "subscriptionType"):
        if isinstance(schema.get(key), dict):
            ref_name(schema[key])
    for name in sorted(referenced - names):
        issues.append(
            ImportIssue(
                where=f"{path} ({name})", reason=f"type {name} is referenced but missing; shown by name", severity="warning"
            )
        )
        kept.append({"kind": "SCALAR", "name": name, "description": None})
    out = dict(schema)
    out["types"] = kept
    out["directives"] = [
        d
        for d in schema.get("directives") or []
        if isinstance(d, dict) and isinstance(d.get("name"), str) and isinstance(d.get("args", []), list)
    ]
    return out


IMPORTER = GraphQLImporter()
