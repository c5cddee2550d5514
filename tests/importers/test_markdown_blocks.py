"""importers.markdown_blocks: headings and fenced code as CommonMark reads them (the one Markdown parser)."""

from __future__ import annotations

from woes.importers.markdown_blocks import structure
from woes.search.chunking import chunk_markdown


def _lines(text: str) -> list[str]:
    return text.split("\n")


def test_headings_outside_code_quotes_and_lists_only():
    text = "# Title\n```\n# not a heading\n```\n> # quoted\n- # in a list\n    # indented code\n## Sub ##\nSetext\n======"
    assert [(h.line, h.level, h.text) for h in structure(_lines(text)).headings] == [(0, 1, "Title"), (7, 2, "Sub")]


def test_a_fence_closes_only_with_its_own_character_and_length():
    text = "~~~~ python\n```\n# still code\n~~~\nstill code\n~~~~\n# Heading"
    parsed = structure(_lines(text))
    (fence,) = parsed.fences.values()
    assert (fence.start, fence.end, fence.info, fence.closed) == (0, 6, "python", True)
    assert list(fence.body) == [1, 2, 3, 4]
    assert [h.text for h in parsed.headings] == ["Heading"]


def test_an_unclosed_fence_runs_to_the_end():
    (fence,) = structure(_lines("text\n```json\n{\"a\": 1}\n# x")).fences.values()
    assert (fence.end, fence.closed, list(fence.body)) == (4, False, [2, 3])


def test_line_numbers_are_the_callers_with_crlf_and_stray_carriage_returns():
    lines = ["# One\r", "a\rb", "## Two"]
    assert [(h.line, h.text) for h in structure(lines).headings] == [(0, "One"), (2, "Two")]


def test_the_chunker_keeps_a_hash_inside_a_tilde_fence_as_code():
    chunks = chunk_markdown("# Guide\n~~~\n```\n# comment in code\n~~~\nAfter the code.", title="Doc")
    assert len(chunks) == 1 and "# comment in code" in chunks[0].text and chunks[0].heading == "Guide"
