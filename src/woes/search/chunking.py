"""Chunks for retrieval: heading-aware Markdown sections (code blocks kept whole where possible) and
several self-contained views of each endpoint, so long operations stay findable past what the embedding
model reads of a chunk (EMBED_MAX_TOKENS)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from woes.importers.html import strip_tags
from woes.importers.markdown_blocks import structure

TARGET_WORDS = 160  # ~210 WordPiece tokens: inside MiniLM's 256-token window
HARD_MAX_WORDS = 400  # a single code block longer than this is split


@dataclass
class ChunkText:
    heading: str | None
    text: str
    kind: str = "section"
    embed: bool = True  # parameter listings are found lexically (names, enums); they get no vector


EMBED_MAX_WORDS = 100  # ~130 WordPiece tokens: the title, the description's start and the first parameter names
# The model reads at most this many tokens of a chunk: all-MiniLM-L6-v2 was fine-tuned on 128-token
# inputs, and a scan's embedding time grows with the tokens (the lexical index still has the whole text).
EMBED_MAX_TOKENS = 128
_MD_LINK = re.compile(r"!?\[([^\]]*)\]\((?:[^()\s]|\([^()\s]*\))+\)")
_BARE_URL = re.compile(r"<?https?://[^\s<>)\]]+>?")


def embedding_text(text: str) -> str:
    """What the embedding model reads of a chunk: link targets, bare URLs and HTML tags cost window tokens
    (a GitHub description spends half of MiniLM's 256 on documentation links) and carry no meaning."""
    text = strip_tags(text, replacement=" ")
    text = _MD_LINK.sub(lambda m: m.group(1), text)
    text = _BARE_URL.sub("", text)
    text = re.sub(r"[ \t]+", " ", text).strip()
    if EMBED_MAX_WORDS and len(words := text.split(" ")) > EMBED_MAX_WORDS:
        text = " ".join(words[:EMBED_MAX_WORDS])
    return text


def _blocks(markdown: str) -> list[tuple[str, str | None, int]]:
    """Split into blocks (paragraph, list, table, fenced code) tagged with the heading path above them."""
    blocks: list[tuple[str, str | None, int]] = []
    path: list[str] = []
    buf: list[str] = []
    lines = markdown.splitlines()
    parsed = structure(lines)
    headings = parsed.heading_at()

    def flush() -> None:
        if buf and "".join(buf).strip():
            blocks.append(("\n".join(buf).strip("\n"), " > ".join(path) or None, len(path)))
        buf.clear()

    i = 0
    while i < len(lines):
        if i in parsed.fences:  # a fenced block is one block, whatever it holds
            flush()
            buf.extend(lines[i:parsed.fences[i].end])
            flush()
            i = parsed.fences[i].end
            continue
        if i in headings:
            flush()
            path[:] = path[: headings[i].level - 1] + [headings[i].text]
        elif not lines[i].strip():
            flush()
        else:
            buf.append(lines[i])
        i += 1
    flush()
    return blocks


def _words(text: str) -> int:
    return len(text.split())


def _split_long(text: str) -> list[str]:
    lines, out, cur = text.splitlines(), [], []
    for line in lines:
        cur.append(line)
        if _words("\n".join(cur)) >= HARD_MAX_WORDS:
            out.append("\n".join(cur))
            cur = []
    if cur:
        out.append("\n".join(cur))
    return out


def chunk_markdown(markdown: str, title: str | None = None) -> list[ChunkText]:
    chunks: list[ChunkText] = []
    cur: list[str] = []
    cur_heading: str | None = None

    def emit() -> None:
        if cur:
            head = cur_heading or title
            prefix = f"{title} — {cur_heading}" if title and cur_heading and not cur_heading.startswith(title) else head
            chunks.append(ChunkText(head, ((prefix + "\n\n") if prefix else "") + "\n\n".join(cur)))
        cur.clear()

    for text, heading, _level in _blocks(markdown):
        pieces = _split_long(text) if _words(text) > HARD_MAX_WORDS else [text]
        for piece in pieces:
            if heading != cur_heading or (cur and _words("\n".join(cur)) + _words(piece) > TARGET_WORDS):
                emit()
                cur_heading = heading
            cur.append(piece)
    emit()
    return chunks


def _param_line(p: dict[str, Any]) -> str:
    s = f"{p['name']} ({p.get('location', '')}{', ' + p['type'] if p.get('type') else ''}{', required' if p.get('required') else ''})"
    if p.get("description"):
        s += ": " + " ".join(p["description"].split())[:300]
    if p.get("enum"):
        s += " One of: " + ", ".join(map(str, p["enum"][:30]))
    return s


EMBED_DETAIL_CHUNKS = False


def endpoint_chunks(rec: dict[str, Any]) -> list[ChunkText]:
    """An overview chunk, then chunks of parameters/fields/responses, each prefixed with the operation."""
    key = rec["operation_key"]
    head = key + (f" — {rec['summary']}" if rec.get("summary") else "")
    desc = " ".join((rec.get("description") or "").split())
    names = [p["name"] for p in rec.get("parameters") or []]
    body = rec.get("request_body") or {}
    names += [f["name"] for f in body.get("fields") or []][:40]
    overview = head + ("\n" + " ".join(desc.split()[:110]) if desc else "")
    if rec.get("operation_id"):
        overview += f"\nOperation id: {rec['operation_id']}"
    if names:
        overview += "\nParameters: " + ", ".join(names[:40])
    out = [ChunkText(head, overview, "endpoint")]
    lines = [_param_line(p) for p in rec.get("parameters") or []]
    lines += [_param_line({**f, "location": "body"}) for f in body.get("fields") or []]
    ok = next((r for r in rec.get("responses") or [] if str(r.get("code", "")).startswith("2")), None)
    if ok and ok.get("fields"):
        lines.append("Response fields: " + ", ".join(f["name"] for f in ok["fields"][:60]))
    if len(desc.split()) > 110:
        rest = desc.split()[110:]
        for i in range(0, len(rest), TARGET_WORDS):
            # the rest of a long description: lexical only past the first continuation
            out.append(ChunkText(head, head + "\n" + " ".join(rest[i: i + TARGET_WORDS]), "endpoint",
                                 embed=EMBED_DETAIL_CHUNKS and i == 0))
    # Vectors for the overview, the first description continuation and the first parameter listing
    # only: the rest stays findable through the lexical indexes, which hold every name and enum value.
    groups: list[list[str]] = [[]]
    for line in lines:
        if groups[-1] and _words("\n".join(groups[-1])) + _words(line) > TARGET_WORDS:
            groups.append([])
        groups[-1].append(line)
    for i, group in enumerate(g for g in groups if g):
        out.append(ChunkText(head, head + "\n" + "\n".join(group), "endpoint", embed=EMBED_DETAIL_CHUNKS and i == 0))
    return out
