"""Arbitrary JSON (not a recognised spec) → readable Markdown documents.

For JSON documentation, configuration references and error catalogs. Each file becomes one Document:
* an object: one `##` section per top-level key; strings become paragraphs, numbers/booleans/null
  inline code, objects and arrays fenced ```json blocks (pretty-printed, each capped);
* an array of objects that share a naming key (`code`, `name`, `id`, `key`, `title`, `type`, `error`)
  — an error catalog, say — one section per item, titled by that key; any other array one fenced block.

The whole document is capped at `ImportContext.max_document_bytes`; what is cut is reported as a
warning. Detection is deliberately modest (≤ 0.35) and steps aside for files that look like a spec
(OpenAPI, AsyncAPI, Postman, GraphQL introspection, JSON Schema), so dedicated importers win.
"""

from __future__ import annotations

import json
import posixpath
import re
from typing import Any

from woes.importers.base import DetectByBestFile, ImportContext, ImportError_, ImportIssue, ImportResult, SourceFile
from woes.importers.records import Document

__all__ = ["JsonDocImporter", "json_to_markdown"]

MAX_VALUE_CHARS = 20_000  # one fenced value
MAX_SECTIONS = 2_000
_NAME_KEYS = ("code", "name", "id", "key", "title", "type", "error", "slug")
_TITLE_KEYS = ("title", "name")
_SPEC_MARKERS = re.compile(
    rb'"(?:openapi|swagger|asyncapi)"\s*:\s*"?\d|"__schema"\s*:|"_postman_id"\s*:|schema\.getpostman\.com|"\$schema"\s*:\s*"[^"]*(?:postman|json-schema)',
    re.I,
)


def _fenced(value: Any, limit: int = MAX_VALUE_CHARS) -> tuple[str, bool]:
    text = json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False)
    cut = len(text) > limit
    if cut:
        text = text[:limit].rstrip() + "\n… (truncated)"
    fence = "```"
    while fence in text:
        fence += "`"
    return f"{fence}json\n{text}\n{fence}", cut


def _render_value(value: Any) -> tuple[str, bool]:
    if isinstance(value, str):
        return (value.strip() or '`""`'), False
    if isinstance(value, bool) or value is None:
        return f"`{json.dumps(value)}`", False
    if isinstance(value, int | float):
        return f"`{value}`", False
    return _fenced(value)


def _heading_text(value: Any) -> str:
    text = str(value).replace("\n", " ").strip()
    return text[:200] or "(empty)"


def _item_name_key(items: list[Any]) -> str | None:
    if len(items) < 1 or not all(isinstance(i, dict) for i in items):
        return None
    for key in _NAME_KEYS:
        if all(isinstance(i.get(key), str | int) and str(i.get(key)).strip() for i in items):
            return key
    return None


def json_to_markdown(data: Any, title: str, limit: int = 2_000_000) -> tuple[str, list[str]]:
    """(markdown, notes about what was truncated)."""
    parts: list[str] = [f"# {title}"]
    notes: list[str] = []
    size = len(parts[0])

    def add(block: str) -> bool:
        nonlocal size
        if size + len(block) + 2 > limit:
            notes.append(f"document capped at {limit} bytes; later sections were left out")
            return False
        parts.append(block)
        size += len(block) + 2
        return True

    def section(heading: str, value: Any, path: str) -> bool:
        body, cut = _render_value(value)
        if cut:
            notes.append(f"{path}: value longer than {MAX_VALUE_CHARS} characters; truncated")
        return add(f"## {heading}\n\n{body}")

    if isinstance(data, dict):
        description = data.get("description")
        if isinstance(description, str) and description.strip():
            add(description.strip())
        for n, (key, value) in enumerate(data.items()):
            if n >= MAX_SECTIONS:
                notes.append(f"more than {MAX_SECTIONS} top-level keys; the rest were left out")
                break
            if key == "description" and isinstance(value, str):
                continue
            if not section(_heading_text(key), value, str(key)):
                break
    elif isinstance(data, list):
        name_key = _item_name_key(data)
        if name_key is None:
            body, cut = _fenced(data, max(MAX_VALUE_CHARS, limit - size - 100))
            if cut:
                notes.append("array longer than the document limit; truncated")
            add(body)
        else:
            for n, item in enumerate(data):
                if n >= MAX_SECTIONS:
                    notes.append(f"more than {MAX_SECTIONS} items; the rest were left out")
                    break
                heading = f"{_heading_text(item[name_key])}"
                lines = []
                for k, v in item.items():
                    if k == name_key:
                        continue
                    if isinstance(v, str | int | float | bool) or v is None:
                        rendered = v if isinstance(v, str) else json.dumps(v)
                        lines.append(f"- **{k}**: {rendered}")
                    else:
                        block, cut = _fenced(v)
                        if cut:
                            notes.append(f"[{n}].{k}: value longer than {MAX_VALUE_CHARS} characters; truncated")
                        lines.append(f"- **{k}**:\n\n{block}")
                if not add(f"## {heading}\n\n" + ("\n".join(lines) if lines else "")):
                    break
    else:
        add(_render_value(data)[0])
    return "\n\n".join(parts).strip() + "\n", notes


class JsonDocImporter(DetectByBestFile):
    format = "json"

    def score(self, f: SourceFile) -> float:
        head = f.data[:65536].decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")
        if head[:1] not in ("{", "["):
            return 0.0
        if _SPEC_MARKERS.search(f.data):
            return 0.05
        score = 0.3 if f.path.lower().endswith(".json") else 0.2
        try:
            json.loads(f.data)
            score += 0.05
        except ValueError:
            if len(f.data) <= 65536:
                score = 0.0
        return score

    def parse(self, files: list[SourceFile], ctx: ImportContext) -> ImportResult:
        result = ImportResult(format=self.format)
        for f in sorted(files, key=lambda x: x.path):
            text = f.text().lstrip("\ufeff")
            if not text.strip():
                result.issues.append(ImportIssue(f.path, "empty file; skipped", "warning"))
                continue
            try:
                data = json.loads(text)
            except ValueError as exc:
                result.issues.append(ImportIssue(f.path, f"not valid JSON: {exc}"))
                continue
            title = None
            if isinstance(data, dict):
                info = data.get("info") if isinstance(data.get("info"), dict) else {}
                for key in _TITLE_KEYS:
                    if isinstance(data.get(key), str) and data[key].strip():
                        title = data[key].strip()
                        break
                    if isinstance(info.get(key), str) and info[key].strip():
                        title = info[key].strip()
                        break
            title = title or posixpath.basename(f.path) or f.path
            markdown, notes = json_to_markdown(data, title, ctx.max_document_bytes)
            result.issues.extend(ImportIssue(f.path, note, "warning") for note in notes)
            result.documents.append(Document(title=title, path=f.path, markdown=markdown))
        if not result.documents:
            reasons = "; ".join(f"{i.where}: {i.reason}" for i in result.issues) or "no files"
            raise ImportError_(f"no readable JSON document ({reasons})")
        if len(result.documents) == 1:
            result.title = result.documents[0].title
        return result
