"""The one Markdown block parser (markdown-it-py, CommonMark): where the headings and the fenced code are.

Callers split Markdown by its structure — the Markdown importer into sections, search's chunker into
blocks under their heading path, the crawler for a page title — and all of them need the same two facts,
read the way CommonMark reads them: which lines are ATX headings (`#`…`######`, at the top level, not in a
list, a quote or a code block) and which line ranges are fenced code (a ```` ``` ```` inside a `~~~` fence is
code, and a fence closes only with its own character, at least as long). Setext headings are not sections
here (an underlined line in an API description is more often emphasis than structure).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from markdown_it import MarkdownIt


@dataclass(frozen=True)
class Heading:
    line: int  # 0-based line index
    level: int  # 1-6
    text: str  # the inline text, closing #s removed, stripped


@dataclass(frozen=True)
class Fence:
    start: int  # the opening fence line
    end: int  # the line after the block (after the closing fence, or the end of the text)
    info: str  # the info string ("python", "json title=x", "")
    closed: bool  # False when the text ends inside the block

    @property
    def body(self) -> range:
        """The code lines, between the fences."""
        return range(self.start + 1, self.end - 1 if self.closed else self.end)


@dataclass(frozen=True)
class Structure:
    headings: tuple[Heading, ...]
    fences: dict[int, Fence]  # by opening line

    def heading_at(self) -> dict[int, Heading]:
        return {h.line: h for h in self.headings}


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark")


def structure(lines: list[str]) -> Structure:
    """The top-level ATX headings and the fenced code blocks of the Markdown `lines` (indexes into `lines`;
    a stray carriage return inside a line is read as a space so that line numbers stay the caller's)."""
    tokens = _parser().parse("\n".join(line.replace("\r", " ") for line in lines))
    headings: list[Heading] = []
    fences: dict[int, Fence] = {}
    for i, tok in enumerate(tokens):
        if tok.map is None:
            continue
        if tok.type == "heading_open" and tok.level == 0 and tok.markup.startswith("#"):
            headings.append(Heading(tok.map[0], int(tok.tag[1]), tokens[i + 1].content.strip()))
        elif tok.type == "fence":
            start, end = tok.map
            last = lines[end - 1].strip() if end - 1 > start else ""
            closed = bool(last) and set(last) == {tok.markup[0]} and len(last) >= len(tok.markup)
            fences[start] = Fence(start, end, tok.info.strip(), closed)
    return Structure(tuple(headings), fences)
