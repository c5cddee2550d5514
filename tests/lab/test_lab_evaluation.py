"""The lab's pure scoring: bank parsing and validation, per-question evaluation, aggregates, comparison."""

from __future__ import annotations

import json

import pytest
from lab_helpers import BANK, SECRET, bank_jsonl

from woes.lab.evaluation import (
    LAB_MASK,
    MAX_QUESTIONS,
    BankError,
    aggregate,
    compare,
    evaluate,
    mask,
    parse_bank,
    parse_jsonl,
)


def _fields(exc: pytest.ExceptionInfo[BankError]) -> list[str]:
    return [e["field"] for e in exc.value.errors]


def test_parse_defaults_and_aliases():
    bank = parse_jsonl(bank_jsonl())
    assert [q["index"] for q in bank] == [0, 1, 2, 3]
    first = bank[0]
    assert first["answerable"] is True and first["mustNotContain"] == [] and first["expectedOperations"] == ["GET /pets"]
    assert bank[1]["containsSecret"] is True and bank[1]["mustNotContain"] == [SECRET]
    assert bank[3]["answerable"] is False and bank[3]["extra"] == {"notes": "not in the spec"}
    # answerable defaults to "has expected operations"; camelCase spellings are accepted; unknown keys kept
    (q,) = parse_bank([{"question": "  Hi?  ", "expectedOperations": [], "mustMention": ["x"], "api": "stripe"}])
    assert q["question"] == "Hi?" and q["answerable"] is False and q["mustMention"] == ["x"] and q["extra"] == {"api": "stripe"}


def test_jsonl_errors_name_the_line():
    text = "\n".join([json.dumps(BANK[0]), "", '{"question": "ok"', json.dumps({"expected_operations": ["GET /x"]}),
                      json.dumps({"question": "x" * 4001}), json.dumps([1, 2]), json.dumps({"question": "q", "answerable": "yes"})])
    with pytest.raises(BankError) as exc:
        parse_jsonl(text)
    assert _fields(exc) == ["questions[3]", "questions[4].question", "questions[5].question", "questions[6]",
                            "questions[7].answerable"]
    assert exc.value.errors[0]["message"].startswith("Line 3 is not valid JSON")
    assert "Line 4" in exc.value.errors[1]["message"] and "required" in exc.value.errors[1]["message"]


def test_list_errors_name_the_index():
    with pytest.raises(BankError) as exc:
        parse_bank([{"question": "fine"}, {"question": ""}, "nope", {"question": "q", "must_mention": "petId"},
                    {"question": "q", "expected_operations": ["GET /a", 3]}, {"question": "q", "id": True},
                    {"question": "q", "must_mention": [], "mustMention": []}])
    assert _fields(exc) == ["questions[1].question", "questions[2]", "questions[3].must_mention",
                            "questions[4].expected_operations[1]", "questions[5].id", "questions[6].must_mention"]


def test_bank_limits_and_duplicates():
    with pytest.raises(BankError) as exc:
        parse_bank([{"question": f"q{i}"} for i in range(MAX_QUESTIONS + 1)])
    assert _fields(exc) == ["questions"] and "2000" in str(exc.value)
    with pytest.raises(BankError) as exc:
        parse_jsonl("\n".join(json.dumps({"question": f"q{i}"}) for i in range(MAX_QUESTIONS + 1)))
    assert _fields(exc) == ["questions"]
    assert len(parse_bank([{"question": f"q{i}"} for i in range(MAX_QUESTIONS)])) == MAX_QUESTIONS
    with pytest.raises(BankError) as exc:
        parse_jsonl("\n\n")
    assert "no questions" in str(exc.value)
    with pytest.raises(BankError) as exc:
        parse_bank([{"id": 7, "question": "a"}, {"id": "7", "question": "b"}])
    assert _fields(exc) == ["questions[1].id"] and "Duplicate" in exc.value.errors[0]["message"]
    with pytest.raises(BankError):
        parse_bank({"question": "not a list"})  # type: ignore[arg-type]


def _run(outcome="answer", text="", keys=(), trace=None):
    return {"outcome": outcome, "text": text, "citations": [{"operationKey": k} for k in keys], "trace": trace or {},
            "latencyMs": 10.0}


def test_evaluate_one_question():
    q = parse_bank([{"question": "How do I refund?", "expected_operations": ["POST /refunds"],
                     "must_mention": ["amount", "Reason"], "must_not_contain": [SECRET]}])[0]
    ev = evaluate(q, _run(text="Use POST /refunds with `amount` and a reason [1].", keys=["post  /refunds", "GET /x"]))
    assert ev["evidenceCorrect"] is True and ev["evidenceAnyCorrect"] is True and ev["firstCitation"] == "POST /refunds"
    assert ev["mustMention"] == {"found": ["amount", "Reason"], "missing": []} and ev["specificity"] == 1.0
    assert ev["redactionHeld"] and ev["handoffCorrect"] and ev["passed"] and ev["failures"] == []

    ev = evaluate(q, _run(text="Use GET /x [1].", keys=["GET /x", "POST /refunds"]))
    assert ev["evidenceCorrect"] is False and ev["evidenceAnyCorrect"] is True
    assert ev["mustMention"]["missing"] == ["amount", "Reason"] and ev["specificity"] == 0.0
    assert ev["failures"] == ["evidence", "mustMention"]

    # a secret anywhere: in the answer, deep in the trace, or in an extra text (event payloads)
    assert not evaluate(q, _run(text=f"key {SECRET}"))["redactionHeld"]
    assert not evaluate(q, _run(trace={"retrieval": {"query": [f"x{SECRET}y"]}}))["redactionHeld"]
    leaked = evaluate(q, _run(keys=["POST /refunds"], text="amount reason"), extra_texts=[json.dumps({"q": SECRET})])
    assert not leaked["redactionHeld"] and leaked["failures"] == ["redaction"]

    refused = evaluate(q, _run(outcome="handoff"))
    assert refused["handoffCorrect"] is False and refused["evidenceCorrect"] is False and "handoff" in refused["failures"]

    unanswerable = parse_bank([{"question": "SSO?", "answerable": False}])[0]
    for outcome, correct in (("handoff", True), ("clarify", True), ("answer", False)):
        ev = evaluate(unanswerable, _run(outcome=outcome, keys=["GET /x"]))
        assert ev["handoffCorrect"] is correct and ev["evidenceCorrect"] is None and ev["specificity"] is None


def _result(qid, passed=True, outcome="answer", answerable=True, hit=True, found=1, missing=0, latency=10.0,
            secrets=False, held=True):
    failures = [] if passed else ["evidence"]
    return {"id": qid, "question": f"question {qid}", "answerable": answerable, "outcome": outcome, "latencyMs": latency,
            "hasSecrets": secrets,
            "evaluation": {"evidenceCorrect": hit if answerable else None, "evidenceAnyCorrect": hit if answerable else None,
                           "mustMention": {"found": ["a"] * found, "missing": ["b"] * missing},
                           "specificity": found / (found + missing) if found + missing else None,
                           "redactionHeld": held, "handoffCorrect": outcome == "answer" if answerable else outcome != "answer",
                           "failures": failures, "passed": passed, "firstCitation": "GET /x"}}


def test_aggregate():
    results = [_result(1, latency=5), _result(2, passed=False, hit=False, missing=1, latency=50),
               _result(3, outcome="handoff", passed=False, hit=False, found=0, missing=2, latency=20, secrets=True),
               _result(4, outcome="handoff", answerable=False, found=0, latency=30)]
    agg = aggregate(results)
    assert agg["hit1"] == round(1 / 3, 4) and agg["hitAny"] == round(1 / 3, 4)
    assert agg["mustMentionCoverage"] == 0.4  # found 1 + 1 + 0 of 1 + 2 + 2 terms (answerable only)
    assert agg["answerableAnswered"] == round(2 / 3, 4) and agg["answerableRefused"] == round(1 / 3, 4)
    assert agg["unanswerableHandedOff"] == 1.0 and agg["redactionHeld"] == 1.0 and agg["secretsLeaked"] == 0
    assert agg["p50LatencyMs"] == 20 and agg["p95LatencyMs"] == 50
    assert agg["counts"] == {"questions": 4, "answerable": 3, "unanswerable": 1, "withExpectedOperations": 3,
                             "withSecrets": 1, "answer": 2, "clarify": 0, "handoff": 2, "error": 0, "passed": 2, "failed": 2}
    leaked = aggregate([_result(1, secrets=True, held=False)])
    assert leaked["secretsLeaked"] == 1 and leaked["redactionHeld"] == 0.0
    empty = aggregate([])
    assert empty["hit1"] is None and empty["p50LatencyMs"] is None and empty["counts"]["questions"] == 0


def test_compare_matches_by_id_then_text():
    before = [_result(1), _result(2, passed=False, hit=False), _result(3), _result("gone")]
    after = [_result(1, passed=False, hit=False, outcome="handoff"), _result(2), _result(3), _result("new")]
    for r in before + after:  # question 3 has no id: matched by its text
        if r["id"] == 3:
            r["id"] = None
    a, b = {"aggregates": aggregate(before), "results": before}, {"aggregates": aggregate(after), "results": after}
    diff = compare(a, b)
    assert diff["summary"] == {"fixed": 1, "regressed": 1, "unchanged": 1, "added": 1, "removed": 1}
    rows = {str(r["id"]): r for r in diff["questions"]}
    assert diff["questions"][0]["status"] == "regressed" and rows["1"]["status"] == "regressed"
    assert rows["1"]["changedChecks"][:2] == ["outcome", "evidenceCorrect"]
    assert rows["1"]["before"]["passed"] and not rows["1"]["after"]["passed"]
    assert rows["2"]["status"] == "fixed" and rows["None"]["status"] == "unchanged"
    assert rows["new"]["status"] == "added" and rows["gone"]["status"] == "removed"
    assert diff["aggregates"]["hit1"] == {"before": 0.75, "after": 0.75, "delta": 0.0}
    assert diff["aggregates"]["answerableAnswered"]["delta"] == -0.25


def test_mask():
    assert mask(f"key {SECRET}!") == "key [REDACTED:stripe_key]!"
    assert mask("password is hunter2-horse", ["hunter2-horse"]) == f"password is {LAB_MASK}"
    assert mask(None) is None
