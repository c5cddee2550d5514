"""No invented endpoints, parameters or fields: every claim an answer states must be in the evidence it cites.

Checked per line (a sentence, a bullet, a code block): `METHOD /path` mentions must be an operation in the
evidence; `inline code` names must appear in the cited evidence; `[n]` must be a number that was handed to
the provider. A line that fails is removed and recorded; if the line naming the main operation fails, or
nothing grounded is left, the caller turns the outcome into a handoff."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from woes.agents.providers.base import EvidenceItem

_METHOD_PATH = re.compile(r"\b(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS)\s+(/[^\s`'\")\],;]*)")
_CODE = re.compile(r"`([^`\n]{1,200})`")
_CITE = re.compile(r"\[(\d{1,3})\]")
_FENCE = re.compile(r"```[^\n]*\n(.*?)```", re.S)


def _norm_path(path: str) -> str:
    path = path.split("?", 1)[0].split("#", 1)[0].rstrip("/.").lower()
    return re.sub(r"\{[^}]*\}|:[a-z_]+|<[^>]+>", "{}", path)


@dataclass
class Verification:
    text: str
    removed: list[dict[str, str]] = field(default_factory=list)
    checked: int = 0
    cited: list[int] = field(default_factory=list)
    lead_removed: bool = False

    @property
    def passed(self) -> bool:
        return not self.removed

    def view(self) -> dict[str, object]:
        return {"passed": self.passed, "claimsChecked": self.checked, "removed": self.removed, "cited": self.cited}


def _blocks(text: str) -> list[str]:
    """Lines, with each fenced code block (and the line introducing it) kept as one unit."""
    out: list[str] = []
    pos = 0
    for m in _FENCE.finditer(text):
        before = text[pos:m.start()].split("\n")
        intro = before.pop() if before and before[-1].strip() else None
        if before and not before[-1].strip() and len(before) > 1 and before[-2].strip().endswith(":"):
            intro = before.pop(-2)
        out += before
        out.append(((intro + "\n") if intro else "") + m.group(0))
        pos = m.end()
    out += text[pos:].split("\n")
    return out


def _plausible_code_token(token: str) -> bool:
    """Inline code that names something (not a placeholder, a value or a sentence)."""
    t = token.strip()
    if not t or "…" in t or "$" in t or " " in t.strip() and not _METHOD_PATH.match(t):
        return False
    return bool(re.search(r"[A-Za-z]", t))


def verify(text: str, evidence: list[EvidenceItem], lead: int | None) -> Verification:
    by_n = {e.n: e for e in evidence}
    ops = {(e.method or "").upper() + " " + _norm_path(e.path) for e in evidence if e.method and e.path}
    op_keys = {(e.operation_key or "").lower() for e in evidence}
    texts = {e.n: (e.text + "\n" + (e.title or "") + "\n" + (e.operation_key or "")).lower() for e in evidence}
    result = Verification(text="")
    kept: list[str] = []
    for block in _blocks(text):
        problems: list[str] = []
        cites = [int(c) for c in _CITE.findall(block)]
        bad_cites = [c for c in cites if c not in by_n]
        if bad_cites:
            problems.append(f"cites unknown evidence {bad_cites}")
        scope = [c for c in cites if c in by_n] or list(by_n)
        scope_text = "\n".join(texts[c] for c in scope)
        for m in _METHOD_PATH.finditer(block):
            result.checked += 1
            key = m.group(1).upper() + " " + _norm_path(m.group(2))
            if key not in ops and m.group(0).lower() not in op_keys:
                problems.append(f"names `{m.group(1)} {m.group(2)}`, not in the evidence")
        prose = _FENCE.sub("", block)
        for m in _CODE.finditer(prose):
            token = m.group(1).strip()
            if _METHOD_PATH.match(token) or not _plausible_code_token(token):
                continue
            result.checked += 1
            if token.lower() not in scope_text and token.lower() not in op_keys:
                problems.append(f"names `{token}`, not in the cited evidence")
        if problems:
            result.removed.append({"text": block.strip()[:300], "why": "; ".join(problems)})
            if lead is not None and lead in cites and not kept:
                result.lead_removed = True
            continue
        kept.append(block)
        result.cited += [c for c in cites if c not in result.cited]
    result.text = re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip()
    return result
