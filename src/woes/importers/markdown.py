"""Markdown docs: one Document per file, plus endpoint records from endpoint headings.

Endpoint headings (the key conventions of shared/eval/README.md):
* Discord style `## Get Channel % GET /channels/{channel.id#DOCS_RESOURCES_CHANNEL/channel-object}`
  → operation key `GET /channels/{channel.id}` (the `#DOCS_...` anchors inside braces removed), summary and
  operation id = the heading name;
* plain `## GET /v1/things`, `### Create a thing (`POST /v1/things`)`, `## List things — GET /v1/things`.

An endpoint's section runs to the next heading of the same or a higher level. Its description is that
section's (cleaned) Markdown. Parameter tables (first column Field/Name/Param, with Type/Description
columns) under sub-headings such as "JSON Params", "JSON/Form Params", "Query String Params", "Headers"
become parameters: a `?` suffix on the field name means optional, a `?` prefix on the type means
nullable (type `T | null`), a Required/Default column is honoured when present. Body parameters are also
listed as `request_body.fields`. "Response Body/Structure" tables become response fields, fenced code
blocks become examples, path parameters come from `{...}`. Two headings with the same operation key
(Discord's "Create DM" / "Create Group DM") are merged into one endpoint that keeps both descriptions.

Discord's doc-site markup is cleaned everywhere: `> info` / `> warn` callout markers are dropped (the
callout stays a plain blockquote) and `[text](#DOCS_X/y)` links become plain text.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field

from woes.importers.base import ImportContext, ImportError_, ImportIssue, ImportResult, SourceFile
from woes.importers.html import strip_tags
from woes.importers.markdown_blocks import structure
from woes.importers.records import Document, Endpoint, Example, Field, Parameter, RequestBody, Response

__all__ = ["MarkdownImporter", "clean_markdown", "markdown_title", "split_table_row"]

MARKDOWN_EXTENSIONS = (".md", ".markdown", ".mdx", ".mdown", ".mkd", ".mkdn")
TEXT_EXTENSIONS = (".txt", ".text", ".rst")
METHODS = "GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS|TRACE"

_DISCORD_ENDPOINT = re.compile(rf"^(?P<name>.+?)\s+%\s+(?P<method>{METHODS})\s+(?P<path>\S+)")
_PLAIN_ENDPOINT = re.compile(
    rf"^(?:(?P<name>.*?[^\s\-–—:|(])\s*(?:[-–—:|]\s*|\(\s*))?`?(?P<method>{METHODS})\s+(?P<path>/[^\s`)]*)`?\)?\s*$"
)
_DOCS_LINK = re.compile(r"\[((?:[^\[\]]|\[[^\]]*\])*)\]\(#DOCS_[^)\s]*\)")
_BRACE_ANCHOR = re.compile(r"#DOCS_[^}\s]*\}")  # "{channel.id#DOCS_RESOURCES_CHANNEL/channel-object}" → "{channel.id}"
_CALLOUT = re.compile(r"^(\s*>\s*)(info|warn|warning|danger|preview|note|tip|caution|important|success)\s*$", re.I)
_DELIMITER_ROW = re.compile(r"^\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$")
_FRONT_MATTER = re.compile(r"\A(?:\ufeff)?---[ \t]*\r?\n(.*?)\r?\n(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.S)
_PATH_PARAM = re.compile(r"\{([^{}]+)\}")
_ALL_OPTIONAL = re.compile(
    r"\ball (?:json |body |query |form )?(?:param(?:eter)?s|fields)(?: (?:to|for|of) this (?:endpoint|route))?"
    r"(?: except (?:for )?`?(?P<keep>[\w.\[\]]+)`?)? are optional",
    re.I,
)
_DEPRECATED = re.compile(r"\bthis (?:endpoint|route|operation) (?:is|has been) deprecated\b", re.I)

_NAME_COLUMNS = {"field", "name", "param", "parameter", "parameters", "key", "property", "argument", "attribute", "header"}
_TRUE = {"true", "yes", "y", "required", "✓", "✔", "x", "always"}
_NO_DEFAULT = {"", "-", "—", "n/a", "none", "absent"}


# ------------------------------------------------------------------------------------ text helpers


def _front_matter(text: str) -> tuple[dict[str, str], str]:
    m = _FRONT_MATTER.match(text)
    if not m:
        return {}, text
    meta: dict[str, str] = {}
    for line in m.group(1).splitlines():
        k, sep, v = line.partition(":")
        if sep and k.strip() and not k.startswith((" ", "\t")):
            meta[k.strip().lower()] = v.strip().strip("'\"")
    return meta, text[m.end() :]


def _clean_inline(text: str) -> str:
    text = _DOCS_LINK.sub(r"\1", text)
    return _BRACE_ANCHOR.sub("}", text)


def clean_markdown(text: str) -> str:
    """Drop front matter and Discord's doc-site markup (callout markers, #DOCS_ links and anchors)."""
    _, text = _front_matter(text.replace("\r\n", "\n").replace("\r", "\n"))
    out: list[str] = []
    lines = text.split("\n")
    fences = structure(lines).fences
    i = 0
    while i < len(lines):
        if i in fences:  # code is kept as written
            out.extend(lines[i : fences[i].end])
            i = fences[i].end
            continue
        cm = _CALLOUT.match(lines[i])
        if not (cm and i + 1 < len(lines) and lines[i + 1].lstrip().startswith(">")):  # "> warn" marker line goes
            out.append(_clean_inline(lines[i]))
        i += 1
    return "\n".join(out).strip() + "\n"


def markdown_title(text: str) -> str | None:
    """The first level-1 ATX heading outside code fences (or None)."""
    for _, level, title in _headings(text.split("\n")):
        if level == 1 and title:
            return _clean_inline(title)
    return None


def _headings(lines: list[str]) -> list[tuple[int, int, str]]:
    """(line index, level, text) of every top-level ATX heading outside fenced code."""
    return [(h.line, h.level, h.text) for h in structure(lines).headings]


def split_table_row(line: str) -> list[str]:
    """Cells of a pipe-table row; `\\|` and pipes inside `code` do not split."""
    s = line.strip()
    if s.startswith("|"):
        s = s[1:]
    if s.endswith("|") and not s.endswith("\\|"):
        s = s[:-1]
    cells: list[str] = []
    cur: list[str] = []
    in_code = False
    i = 0
    while i < len(s):
        ch = s[i]
        if ch == "\\" and i + 1 < len(s) and s[i + 1] == "|":
            cur.append("|")
            i += 2
            continue
        if ch == "`":
            in_code = not in_code
        if ch == "|" and not in_code:
            cells.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
        i += 1
    cells.append("".join(cur).strip())
    return cells


def _plain(text: str) -> str:
    """Cell text without Markdown link/code/emphasis markup."""
    text = _clean_inline(text)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = text.replace("`", "")
    text = strip_tags(text, replacement=" ", elements=("br",))
    return re.sub(r"\s+", " ", text).strip()


# --------------------------------------------------------------------------------------- sections


@dataclass
class _Table:
    heading: str | None  # nearest sub-heading above it inside the section
    header: list[str]
    rows: list[list[str]]


@dataclass
class _Section:
    name: str
    method: str
    path: str  # as written (anchors kept)
    key_path: str
    level: int
    body: list[str]  # lines after the heading up to the next heading of the same or a higher level
    line: int
    tables: list[_Table] = field(default_factory=list)
    code_blocks: list[tuple[str | None, str, str]] = field(default_factory=list)  # (heading, language, code)


def _endpoint_heading(text: str) -> tuple[str, str, str] | None:
    m = _DISCORD_ENDPOINT.match(text)
    if m:
        return m.group("name").strip(), m.group("method"), m.group("path")
    m = _PLAIN_ENDPOINT.match(text)
    if m:
        name = (m.group("name") or "").strip().strip("`").strip()
        return name, m.group("method"), m.group("path")
    return None


def _key_path(path: str) -> str:
    return re.sub(r"#DOCS_[^}]*\}", "}", path)  # exactly the eval's rule


def _scan_section(sec: _Section) -> None:
    sub: str | None = None
    lines = sec.body
    parsed = structure(lines)
    headings = parsed.heading_at()
    i = 0
    while i < len(lines):
        line = lines[i]
        if i in parsed.fences:
            fence = parsed.fences[i]
            if fence.closed:  # an unclosed block at the end of a section is not an example
                sec.code_blocks.append((sub, fence.info.split(" ")[0].lower(), "\n".join(lines[j] for j in fence.body)))
            i = fence.end
            continue
        if i in headings:
            sub = _plain(headings[i].text)
            i += 1
            continue
        if "|" in line and i + 1 < len(lines) and _DELIMITER_ROW.match(lines[i + 1]) and "-" in lines[i + 1]:
            header = [_plain(c).lower().strip("* ") for c in split_table_row(line)]
            rows: list[list[str]] = []
            i += 2
            while i < len(lines) and "|" in lines[i] and lines[i].strip():
                rows.append(split_table_row(lines[i]))
                i += 1
            sec.tables.append(_Table(sub, header, rows))
            continue
        i += 1


def _table_role(table: _Table, method: str) -> tuple[str, list[str]] | None:
    """('query'|'body'|'header'|'path'|'response', content types) for a parameter-like table, else None."""
    if not table.header or table.header[0] not in _NAME_COLUMNS:
        return None
    if not ({"type", "description"} & set(table.header[1:])):
        return None
    heading = (table.heading or "").lower()
    if "response" in heading:
        return "response", []
    if re.search(r"\b(object|structure)\b", heading):
        return None  # a nested type's fields: left in the description
    if "query" in heading:
        return "query", []
    if "header" in heading:
        return "header", []
    if re.search(r"\b(path|url|route) param", heading):
        return "path", []
    types: list[str] = []
    if "json" in heading:
        types.append("application/json")
    if "form" in heading:
        types.append("multipart/form-data")
    if types or re.search(r"\b(body|request)\b", heading):
        return "body", types or ["application/json"]
    if "param" in heading or not heading:
        if method in ("GET", "DELETE", "HEAD", "OPTIONS"):
            return "query", []
        return "body", ["application/json"]
    return None


def _rows_to_params(table: _Table, location: str, all_optional: bool, keep_required: str | None = None) -> list[Parameter]:
    cols = table.header
    idx = {name: cols.index(name) for name in reversed(cols)}  # first occurrence wins
    out: list[Parameter] = []
    for row in table.rows:
        if not row or not row[0].strip():
            continue
        cell = dict(zip(cols, row, strict=False))
        raw_name = _plain(row[0])
        name = re.sub(r"[\\*]", "", raw_name).strip()
        optional = name.endswith("?")
        name = name.rstrip("?").strip()
        if not name or name.startswith("-"):
            continue
        ptype = _plain(cell.get("type", "")) if "type" in idx else ""
        nullable = ptype.startswith("?")
        ptype = ptype.lstrip("?").strip()
        if nullable and ptype:
            ptype += " | null"
        description = _plain(cell.get("description", "")) or None
        extras = [
            f"{col.capitalize()}: {_plain(row[i])}"
            for col, i in idx.items()
            if col not in ("type", "description", "required", "default") and i > 0 and i < len(row) and _plain(row[i])
        ]
        if extras:
            description = "; ".join(([description] if description else []) + extras)
        if "required" in idx and idx["required"] < len(row):
            required = _plain(row[idx["required"]]).lower().strip("*` ") in _TRUE
        else:
            required = not optional and (not all_optional or name == keep_required)
        default = None
        if "default" in idx and idx["default"] < len(row):
            value = _plain(row[idx["default"]])
            default = None if value.lower() in _NO_DEFAULT else value
        out.append(Parameter(name=name, location=location, type=ptype or None, required=required,
                             description=description, default=default))  # fmt: skip
    return out


def _build_endpoint(sec: _Section, file: SourceFile, tag: str | None) -> Endpoint:
    description = clean_markdown("\n".join(sec.body)).strip() or None
    section_text = "\n".join(sec.body)
    optional_note = _ALL_OPTIONAL.search(section_text)
    all_optional = optional_note is not None
    keep_required = optional_note.group("keep") if optional_note else None
    params: list[Parameter] = []
    names: set[tuple[str, str]] = set()
    for m in _PATH_PARAM.finditer(sec.key_path):
        pname = m.group(1)
        if ("path", pname) not in names:
            names.add(("path", pname))
            params.append(Parameter(name=pname, location="path", required=True))
    body_fields: list[Field] = []
    body_types: list[str] = []
    responses: list[Response] = []
    for table in sec.tables:
        role = _table_role(table, sec.method)
        if role is None:
            continue
        location, ctypes = role
        rows = _rows_to_params(table, "body" if location == "response" else location, all_optional, keep_required)
        if location == "response":
            fields = [Field(name=p.name, type=p.type, required=p.required, description=p.description) for p in rows]
            if responses:
                responses[0].fields.extend(fields)
            else:
                responses.append(
                    Response(code="200", description=table.heading, content_types=["application/json"], fields=fields)
                )
            continue
        for ct in ctypes:
            if ct not in body_types:
                body_types.append(ct)
        for p in rows:
            if (location, p.name) in names:
                continue
            names.add((location, p.name))
            params.append(p)
            if location == "body":
                body_fields.append(Field(name=p.name, type=p.type, required=p.required, description=p.description,
                                         default=p.default))  # fmt: skip
    examples = [
        Example(title=heading or "Example", content=code, language=lang or None)
        for heading, lang, code in sec.code_blocks
        if code.strip()
    ][:12]
    request_body = RequestBody(content_types=body_types, fields=body_fields) if body_fields else None
    opening = [ln for ln in (description or "").split("\n") if ln.strip()][:3]
    deprecated = (
        "deprecated" in sec.name.lower()
        or bool(_DEPRECATED.search(section_text))
        or any(re.match(r"^(?:>\s*)?(?:\*\*)?deprecated\b", ln.strip(), re.I) for ln in opening)
    )
    key = f"{sec.method} {sec.key_path}"
    return Endpoint(
        operation_key=key,
        method=sec.method,
        path=sec.key_path,
        operation_id=sec.name or None,
        summary=sec.name or key,
        description=description,
        tags=[tag] if tag else [],
        parameters=params,
        request_body=request_body,
        responses=responses,
        examples=examples,
        deprecated=deprecated,
        source_path=file.path,
        extra={"heading": f"{'#' * sec.level} {_clean_inline(sec.name)} % {key}" if sec.name else key, "line": sec.line + 1},
    )


def _merge(into: Endpoint, other: Endpoint) -> None:
    """Two headings, one operation key (Discord's Create DM / Create Group DM): keep both."""
    alt = list(into.extra.get("alternate_names", []))
    name = other.operation_id or other.summary or other.operation_key
    alt.append(name)
    into.extra["alternate_names"] = alt
    first = into.operation_id or into.summary
    if other.description:
        intro = into.description or ""
        if not alt[:-1]:
            intro = f"**{first}**\n\n{intro}".strip()
        into.description = f"{intro}\n\n**{name}** (same route)\n\n{other.description}".strip()
    present = {(p.location, p.name) for p in into.parameters}
    theirs = {(p.location, p.name) for p in other.parameters}
    for p in into.parameters:
        if p.location != "path" and (p.location, p.name) not in theirs and p.required:
            p.required = False
            p.description = f"{p.description or ''} (required for {first})".strip()
    for p in other.parameters:
        if (p.location, p.name) in present:
            continue
        if p.location != "path":
            p.description = f"{p.description or ''} (used by {name}{'; required there' if p.required else ''})".strip()
            p.required = False
        into.parameters.append(p)
    if other.request_body:
        if into.request_body is None:
            into.request_body = RequestBody(content_types=list(other.request_body.content_types))
        known = {f.name for f in into.request_body.fields}
        for f in other.request_body.fields:
            if f.name not in known:
                into.request_body.fields.append(Field(name=f.name, type=f.type, required=False, description=f.description))
        for f in into.request_body.fields:
            if f.name not in {g.name for g in other.request_body.fields}:
                f.required = False
    into.examples.extend(other.examples)
    into.responses.extend(r for r in other.responses if r.code not in {x.code for x in into.responses})
    into.deprecated = into.deprecated and other.deprecated


# --------------------------------------------------------------------------------------- importer


def _is_textual(data: bytes) -> bool:
    head = data[:4096]
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start >= len(head) - 4  # a multi-byte character cut at the sample's end
    return True


def _filename_title(path: str) -> str:
    base = posixpath.basename(path.rstrip("/")) or path
    stem = base.rsplit(".", 1)[0] if "." in base else base
    return stem or base


class MarkdownImporter:
    format = "markdown"

    def detect(self, files: list[SourceFile]) -> float:
        if not files:
            return 0.0
        best = 0.0
        md_files = 0
        for f in files:
            low = f.path.lower()
            head = f.data[:65536].decode("utf-8", errors="replace")
            stripped = head.lstrip("\ufeff \t\r\n")
            if stripped[:1] in ("{", "[", "<"):
                continue
            headings = bool(re.search(r"^ {0,3}#{1,6} \S", head, re.M))
            endpoint = bool(re.search(rf"^#{{1,6}} .+? % (?:{METHODS}) \S", head, re.M))
            if low.endswith(MARKDOWN_EXTENSIONS):
                md_files += 1
                score = 0.7 + (0.1 if headings else 0.0) + (0.1 if endpoint else 0.0)
            elif low.endswith(TEXT_EXTENSIONS):
                score = 0.35 if headings else 0.2
            elif "." not in posixpath.basename(low) and headings:
                score = 0.4
            else:
                score = 0.0
            best = max(best, score)
        if md_files and md_files < len(files) / 2:
            best -= 0.1  # a few READMEs next to a spec: let the spec's importer win
        return round(max(0.0, min(best, 0.95)), 2)

    def parse(self, files: list[SourceFile], ctx: ImportContext) -> ImportResult:
        result = ImportResult(format=self.format)
        by_key: dict[str, Endpoint] = {}
        readable = 0
        for f in sorted(files, key=lambda x: x.path):
            low = f.path.lower()
            if not _is_textual(f.data):
                result.issues.append(ImportIssue(f.path, "not a text file; skipped", "warning"))
                continue
            if not (low.endswith(MARKDOWN_EXTENSIONS + TEXT_EXTENSIONS) or "." not in posixpath.basename(low)):
                if len(files) > 1:
                    result.issues.append(ImportIssue(f.path, "not a Markdown file; skipped", "warning"))
                    continue
            readable += 1
            self._parse_file(f, ctx, result, by_key)
        if not readable:
            raise ImportError_("no Markdown files found (expected .md, .markdown, .mdx or .txt files)")
        if result.documents and result.title is None and len(result.documents) == 1:
            result.title = result.documents[0].title
        return result

    def _parse_file(self, f: SourceFile, ctx: ImportContext, result: ImportResult, by_key: dict[str, Endpoint]) -> None:
        raw = f.text().replace("\r\n", "\n").replace("\r", "\n")
        meta, body = _front_matter(raw)
        lines = body.split("\n")
        heads = _headings(lines)
        title = next((_clean_inline(t) for _, lvl, t in heads if lvl == 1 and t), None)
        title = title or meta.get("title") or meta.get("sidebar_label") or _filename_title(f.path)

        markdown = clean_markdown(body)
        limit = ctx.max_document_bytes
        if len(markdown.encode("utf-8")) > limit:
            markdown = markdown.encode("utf-8")[:limit].decode("utf-8", errors="ignore").rstrip() + "\n\n… (truncated)\n"
            result.issues.append(ImportIssue(f.path, f"document larger than {limit} bytes; truncated", "warning"))
        if markdown.strip():
            result.documents.append(Document(title=title, path=f.path, markdown=markdown))

        for n, (line_no, level, text) in enumerate(heads):
            parsed = _endpoint_heading(text)
            if parsed is None:
                continue
            name, method, path = parsed
            end = len(lines)
            for later_line, later_level, _ in heads[n + 1 :]:
                if later_level <= level:
                    end = later_line
                    break
            sec = _Section(name=_clean_inline(name), method=method, path=path, key_path=_key_path(path), level=level,
                           body=lines[line_no + 1 : end], line=line_no)  # fmt: skip
            _scan_section(sec)
            try:
                endpoint = _build_endpoint(sec, f, title)
            except Exception as exc:  # noqa: BLE001 - one odd section must not lose the file
                result.issues.append(ImportIssue(f"{f.path}:{line_no + 1}", f"endpoint section could not be read: {exc}"))
                continue
            if endpoint.operation_key in by_key:
                _merge(by_key[endpoint.operation_key], endpoint)
                continue
            if len(by_key) >= ctx.max_endpoints:
                result.issues.append(
                    ImportIssue(f"{f.path}:{line_no + 1}", f"more than {ctx.max_endpoints} endpoints; the rest were skipped")
                )
                break
            by_key[endpoint.operation_key] = endpoint
            result.endpoints.append(endpoint)
