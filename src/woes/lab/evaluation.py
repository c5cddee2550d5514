"""The agent lab's scoring, as pure functions (no database, no I/O): parse a question bank, evaluate one
agent run against its question, aggregate a run, compare two runs.

Question bank (JSON Lines, one object a line, or the same objects as a list):

    {"id": 7, "question": "...", "expected_operations": ["GET /pets/{petId}"], "must_mention": ["petId"],
     "answerable": true, "must_not_contain": ["sk_live_..."]}

`question` is required (1-4000 characters); `expected_operations`, `must_mention` and `must_not_contain`
are lists of strings (default empty; the camelCase spellings are accepted too); `answerable` defaults to
"has expected operations"; `id` (string or integer) is optional and must be unique; other keys are kept
(under `extra`) and ignored. A bank holds 1 to 2000 questions.

Errors name the question as `questions[N].<field>`: N is the 0-based position in a list, and the 1-based
line number for JSON Lines text.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from woes.core.redaction import redact

MAX_QUESTIONS = 2000
MAX_QUESTION_CHARS = 4000
MAX_ITEMS = 100  # per list field
MAX_ITEM_CHARS = 1000
MAX_ERRORS = 20
LAB_MASK = "[REDACTED:lab]"

# bank key → (normalized key, aliases)
_LISTS = {
    "expected_operations": ("expectedOperations",),
    "must_mention": ("mustMention",),
    "must_not_contain": ("mustNotContain",),
}
_BOOLS = {"answerable": (), "contains_secret": ("containsSecret",)}
_KNOWN = {"id", "question", *_LISTS, *(a for al in _LISTS.values() for a in al), *_BOOLS,
          *(a for al in _BOOLS.values() for a in al)}
_OUT = {"expected_operations": "expectedOperations", "must_mention": "mustMention", "must_not_contain": "mustNotContain",
        "contains_secret": "containsSecret"}


class BankError(ValueError):
    """An invalid question bank; `errors` are [{field, message}], at most MAX_ERRORS of them."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        self.errors = errors
        first = errors[0]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        super().__init__(f"{first['field']}: {first['message']}{more}")


# -- parsing -------------------------------------------------------------------------------------------

def _str_list(value: Any, field: str, errors: list[dict[str, str]]) -> list[str]:
    if not isinstance(value, list):
        errors.append({"field": field, "message": "Must be a list of strings."})
        return []
    if len(value) > MAX_ITEMS:
        errors.append({"field": field, "message": f"At most {MAX_ITEMS} entries."})
        return []
    out: list[str] = []
    for i, item in enumerate(value):
        if not isinstance(item, str) or not item.strip():
            errors.append({"field": f"{field}[{i}]", "message": "Must be a non-empty string."})
        elif len(item) > MAX_ITEM_CHARS or "\x00" in item:
            errors.append({"field": f"{field}[{i}]", "message": f"At most {MAX_ITEM_CHARS} characters, no NUL."})
        else:
            out.append(item.strip())
    return out


def parse_question(obj: Any, where: str) -> dict[str, Any]:
    """One bank entry, normalized (camelCase keys). Raises BankError naming `where` (e.g. `questions[3]`)."""
    errors: list[dict[str, str]] = []
    if not isinstance(obj, dict):
        raise BankError([{"field": where, "message": "Each question must be a JSON object."}])
    text = obj.get("question")
    if text is None:
        errors.append({"field": f"{where}.question", "message": "This field is required."})
    elif not isinstance(text, str):
        errors.append({"field": f"{where}.question", "message": "Must be a string."})
    elif not text.strip() or len(text.strip()) > MAX_QUESTION_CHARS:
        errors.append({"field": f"{where}.question", "message": f"Must be 1-{MAX_QUESTION_CHARS} characters."})
    elif "\x00" in text:
        errors.append({"field": f"{where}.question", "message": "Text must not contain NUL (\\u0000) characters."})
    qid = obj.get("id")
    if qid is not None and (isinstance(qid, bool) or not isinstance(qid, (str, int)) or (isinstance(qid, str) and
                                                                                       not 0 < len(qid) <= 200)):
        errors.append({"field": f"{where}.id", "message": "Must be a string (1-200 characters) or an integer."})
    out: dict[str, Any] = {"id": qid, "question": text.strip() if isinstance(text, str) else ""}
    for key, aliases in _LISTS.items():
        given = [k for k in (key, *aliases) if k in obj]
        if len(given) > 1:
            errors.append({"field": f"{where}.{key}", "message": f"Give {key} or {aliases[0]}, not both."})
        out[_OUT[key]] = _str_list(obj[given[0]], f"{where}.{given[0]}", errors) if given else []
    for key, aliases in _BOOLS.items():
        given = [k for k in (key, *aliases) if k in obj]
        value = obj[given[0]] if given else None
        if value is not None and not isinstance(value, bool):
            errors.append({"field": f"{where}.{given[0]}", "message": "Must be true or false."})
            value = None
        out[_OUT.get(key, key)] = value
    if errors:
        raise BankError(errors[:MAX_ERRORS])
    if out["answerable"] is None:
        out["answerable"] = bool(out["expectedOperations"])
    out["containsSecret"] = bool(out["containsSecret"]) or bool(out["mustNotContain"])
    out["extra"] = {k: v for k, v in obj.items() if k not in _KNOWN}
    return out


def _finish(parsed: list[tuple[str, dict[str, Any]]], errors: list[dict[str, str]]) -> list[dict[str, Any]]:
    seen: dict[str, str] = {}
    for where, q in parsed:
        if q["id"] is None:
            continue
        key = str(q["id"])
        if key in seen:
            errors.append({"field": f"{where}.id", "message": f"Duplicate id (also {seen[key]})."})
        seen.setdefault(key, where)
    if not errors and not parsed:
        errors.append({"field": "questions", "message": "The bank has no questions."})
    if len(parsed) > MAX_QUESTIONS:
        errors.insert(0, {"field": "questions", "message": f"At most {MAX_QUESTIONS} questions ({len(parsed)} given)."})
    if errors:
        raise BankError(errors[:MAX_ERRORS])
    return [dict(q, index=i) for i, (_where, q) in enumerate(parsed)]


def parse_bank(items: Sequence[Any], field: str = "questions") -> list[dict[str, Any]]:
    """A list of question objects (e.g. a JSON request body) → normalized questions, or BankError."""
    if not isinstance(items, list):
        raise BankError([{"field": field, "message": "Must be a list of question objects."}])
    if len(items) > MAX_QUESTIONS:
        raise BankError([{"field": field, "message": f"At most {MAX_QUESTIONS} questions ({len(items)} given)."}])
    parsed, errors = [], []
    for i, obj in enumerate(items):
        try:
            parsed.append((f"{field}[{i}]", parse_question(obj, f"{field}[{i}]")))
        except BankError as exc:
            errors.extend(exc.errors)
        if len(errors) >= MAX_ERRORS:
            break
    return _finish(parsed, errors)


def parse_jsonl(text: str, field: str = "questions") -> list[dict[str, Any]]:
    """JSON Lines text → normalized questions, or BankError. Blank lines are skipped (but counted)."""
    parsed, errors = [], []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{field}[{number}]"
        if len(parsed) + 1 > MAX_QUESTIONS:
            raise BankError([{"field": field, "message": f"At most {MAX_QUESTIONS} questions (line {number} is one more)."}])
        try:
            obj = json.loads(line)
        except (json.JSONDecodeError, RecursionError) as exc:
            errors.append({"field": where, "message": f"Line {number} is not valid JSON: {getattr(exc, 'msg', exc)}."})
        else:
            try:
                parsed.append((where, parse_question(obj, where)))
            except BankError as exc:
                errors.extend({"field": e["field"], "message": f"Line {number}: {e['message']}"} for e in exc.errors)
        if len(errors) >= MAX_ERRORS:
            break
    return _finish(parsed, errors)


# -- masking -------------------------------------------------------------------------------------------

def mask(text: str | None, secrets: Iterable[str] = ()) -> str | None:
    """`text` redacted (known secret formats) and with every given secret string replaced."""
    if text is None:
        return None
    out = redact(text)
    for s in sorted(set(secrets), key=len, reverse=True):
        if s:
            out = out.replace(s, LAB_MASK)
    return out


def mask_value(value: Any, secrets: Iterable[str] = ()) -> Any:
    """`mask` applied to every string (keys included) of a JSON-like value."""
    secrets = list(secrets)
    if isinstance(value, str):
        return mask(value, secrets)
    if isinstance(value, Mapping):
        return {mask_value(k, secrets) if isinstance(k, str) else k: mask_value(v, secrets) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [mask_value(v, secrets) for v in value]
    return value


# -- one question --------------------------------------------------------------------------------------

def _op(key: Any) -> str:
    """`get  /pets/{id}` → `GET /pets/{id}` (method upper-cased, whitespace collapsed)."""
    parts = str(key or "").split()
    return " ".join([parts[0].upper(), *parts[1:]]) if parts else ""


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for k, v in value.items():
            yield str(k)
            yield from _strings(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _strings(v)


def _get(run: Any, name: str, default: Any = None) -> Any:
    return run.get(name, default) if isinstance(run, Mapping) else getattr(run, name, default)


def evaluate(question: Mapping[str, Any], run: Any, *, extra_texts: Iterable[str] = ()) -> dict[str, Any]:
    """Score one agent run (an AgentRun or a mapping with outcome, text, citations, trace) on its question.

    evidenceCorrect: the first citation's operation is an expected one (answerable questions with expected
    operations; else None); evidenceAnyCorrect: any citation is; mustMention: which terms the answer text
    contains (case-insensitive); specificity: the share found (None without terms); redactionHeld: no
    `mustNotContain` string in the answer, the trace or any of `extra_texts` (e.g. event payloads);
    handoffCorrect: an answerable question was answered, an unanswerable one handed off or clarified.
    `failures` lists the checks that failed; `passed` is true when there are none.
    """
    outcome = _get(run, "outcome")
    text = _get(run, "text") or ""
    citations = list(_get(run, "citations") or [])
    expected = {_op(k) for k in question.get("expectedOperations") or []}
    answerable = bool(question.get("answerable"))
    cited = [_op(c.get("operationKey")) for c in citations if c.get("operationKey")]
    if answerable and expected:
        first = _op(citations[0].get("operationKey")) if citations else ""
        evidence_correct: bool | None = first in expected
        evidence_any: bool | None = any(k in expected for k in cited)
    else:
        evidence_correct = evidence_any = None
    terms = list(question.get("mustMention") or [])
    lowered = text.lower()
    found = [t for t in terms if t.lower() in lowered]
    missing = [t for t in terms if t.lower() not in lowered]
    secrets = [s for s in question.get("mustNotContain") or [] if s]
    held = True
    if secrets:
        trace = _get(run, "trace") or {}
        blobs = [text, json.dumps(trace, ensure_ascii=False, default=str), *_strings(trace), *extra_texts]
        held = not any(s in blob for s in secrets for blob in blobs)
    handoff_correct = outcome == "answer" if answerable else outcome in ("handoff", "clarify")
    failures = []
    if outcome not in ("answer", "clarify", "handoff"):
        failures.append("error")
    if evidence_correct is False:
        failures.append("evidence")
    if missing:
        failures.append("mustMention")
    if not handoff_correct:
        failures.append("handoff")
    if not held:
        failures.append("redaction")
    return {
        "evidenceCorrect": evidence_correct,
        "evidenceAnyCorrect": evidence_any,
        "firstCitation": cited[0] if cited else None,
        "mustMention": {"found": found, "missing": missing},
        "specificity": round(len(found) / len(terms), 4) if terms else None,
        "redactionHeld": held,
        "handoffCorrect": handoff_correct,
        "failures": failures,
        "passed": not failures,
    }


def error_evaluation(question: Mapping[str, Any]) -> dict[str, Any]:
    """The evaluation of a question whose run could not be made (the runtime raised)."""
    return evaluate(question, {"outcome": None, "text": "", "citations": [], "trace": {}})


# -- a whole run ---------------------------------------------------------------------------------------

def _rate(values: list[bool]) -> float | None:
    return round(sum(values) / len(values), 4) if values else None


def _percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[max(0, math.ceil(p * len(ordered)) - 1)], 2)


METRICS = ("hit1", "hitAny", "mustMentionCoverage", "specificity", "answerableAnswered", "answerableRefused",
           "unanswerableHandedOff", "handoffCorrect", "redactionHeld", "secretsLeaked", "passRate",
           "p50LatencyMs", "p95LatencyMs")


def aggregate(results: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Run-level scores from per-question results ({answerable, outcome, latencyMs, evaluation, ...}).

    Rates are 0-1 (None when nothing to measure): hit1 / hitAny over answerable questions with expected
    operations; mustMentionCoverage = terms found / terms over answerable questions; specificity = mean
    per-question share; answerableAnswered / answerableRefused over answerable questions;
    unanswerableHandedOff (handoff or clarify) over unanswerable ones; redactionHeld over questions with
    secrets, secretsLeaked = how many of them leaked.
    """
    answerable = [r for r in results if r.get("answerable")]
    unanswerable = [r for r in results if not r.get("answerable")]
    ev: Callable[[Mapping[str, Any]], dict[str, Any]] = lambda r: r.get("evaluation") or {}  # noqa: E731
    with_expected = [r for r in answerable if ev(r).get("evidenceCorrect") is not None]
    found = sum(len(ev(r).get("mustMention", {}).get("found", [])) for r in answerable)
    total = found + sum(len(ev(r).get("mustMention", {}).get("missing", [])) for r in answerable)
    specificity = [ev(r)["specificity"] for r in results if ev(r).get("specificity") is not None]
    secret_rows = [r for r in results if r.get("hasSecrets")]
    latencies = [float(r["latencyMs"]) for r in results if r.get("latencyMs") is not None]
    outcomes = [r.get("outcome") for r in results]
    passed = sum(bool(ev(r).get("passed")) for r in results)
    return {
        "hit1": _rate([bool(ev(r)["evidenceCorrect"]) for r in with_expected]),
        "hitAny": _rate([bool(ev(r).get("evidenceAnyCorrect")) for r in with_expected]),
        "mustMentionCoverage": round(found / total, 4) if total else None,
        "specificity": round(sum(specificity) / len(specificity), 4) if specificity else None,
        "answerableAnswered": _rate([r.get("outcome") == "answer" for r in answerable]),
        "answerableRefused": _rate([r.get("outcome") in ("handoff", "clarify") for r in answerable]),
        "unanswerableHandedOff": _rate([r.get("outcome") in ("handoff", "clarify") for r in unanswerable]),
        "handoffCorrect": _rate([bool(ev(r).get("handoffCorrect")) for r in results]),
        "redactionHeld": _rate([bool(ev(r).get("redactionHeld", True)) for r in secret_rows]),
        "secretsLeaked": sum(not ev(r).get("redactionHeld", True) for r in results),
        "passRate": _rate([bool(ev(r).get("passed")) for r in results]),
        "p50LatencyMs": _percentile(latencies, 0.5),
        "p95LatencyMs": _percentile(latencies, 0.95),
        "counts": {
            "questions": len(results), "answerable": len(answerable), "unanswerable": len(unanswerable),
            "withExpectedOperations": len(with_expected), "withSecrets": len(secret_rows),
            "answer": outcomes.count("answer"), "clarify": outcomes.count("clarify"),
            "handoff": outcomes.count("handoff"), "error": sum(o not in ("answer", "clarify", "handoff") for o in outcomes),
            "passed": passed, "failed": len(results) - passed,
        },
    }


# -- two runs ------------------------------------------------------------------------------------------

def _match_key(r: Mapping[str, Any]) -> str:
    if r.get("id") is not None:
        return f"id:{r['id']}"
    return "q:" + " ".join(str(r.get("question") or "").lower().split())


def _side(r: Mapping[str, Any]) -> dict[str, Any]:
    e = r.get("evaluation") or {}
    return {"outcome": r.get("outcome"), "passed": bool(e.get("passed")), "failures": list(e.get("failures") or []),
            "firstCitation": e.get("firstCitation"), "evidenceCorrect": e.get("evidenceCorrect"),
            "specificity": e.get("specificity")}


_CHECKS = ("evidenceCorrect", "evidenceAnyCorrect", "specificity", "redactionHeld", "handoffCorrect")


def compare(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    """What changed from run `before` to run `after` (each {aggregates, results}).

    `aggregates`: {metric: {before, after, delta}}; `questions`: one row per question, matched by id (or
    else by question text), with status fixed (failed → passed), regressed (passed → failed), unchanged,
    added or removed, both sides' outcome / first citation / failures, and which checks changed.
    """
    a_agg, b_agg = before.get("aggregates") or {}, after.get("aggregates") or {}
    deltas = {}
    for m in METRICS:
        x, y = a_agg.get(m), b_agg.get(m)
        deltas[m] = {"before": x, "after": y,
                     "delta": round(y - x, 4) if isinstance(x, (int, float)) and isinstance(y, (int, float)) else None}
    old = {_match_key(r): r for r in before.get("results") or []}
    rows, summary = [], {"fixed": 0, "regressed": 0, "unchanged": 0, "added": 0, "removed": 0}
    seen = set()
    for r in after.get("results") or []:
        key = _match_key(r)
        seen.add(key)
        prev = old.get(key)
        row: dict[str, Any] = {"id": r.get("id"), "question": r.get("question"), "index": r.get("index")}
        if prev is None:
            status = "added"
            row.update(before=None, after=_side(r), changedChecks=[])
        else:
            p_side, n_side = _side(prev), _side(r)
            status = ("unchanged" if p_side["passed"] == n_side["passed"] else "fixed" if n_side["passed"] else "regressed")
            pe, ne = prev.get("evaluation") or {}, r.get("evaluation") or {}
            changed = [c for c in _CHECKS if pe.get(c) != ne.get(c)]
            if p_side["outcome"] != n_side["outcome"]:
                changed.insert(0, "outcome")
            row.update(before=p_side, after=n_side, changedChecks=changed)
        row["status"] = status
        summary[status] += 1
        rows.append(row)
    for key, r in old.items():
        if key not in seen:
            summary["removed"] += 1
            rows.append({"id": r.get("id"), "question": r.get("question"), "index": r.get("index"), "status": "removed",
                         "before": _side(r), "after": None, "changedChecks": []})
    order = {"regressed": 0, "fixed": 1, "added": 2, "removed": 3, "unchanged": 4}
    rows.sort(key=lambda row: order[row["status"]])
    return {"aggregates": deltas, "summary": summary, "questions": rows}
