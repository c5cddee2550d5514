"""The agent lab (SPEC §8 Lab): a question bank run through an agent, scored per question and in aggregate.

A lab run is created `queued` with the parsed bank and a snapshot of the agent's sources ({sourceId:
lastScanId}); the `lab.run` job answers each question with the real runtime in its own small transaction
(the AgentRun it records carries `lab_run_id`), scores it (woes.lab.evaluation), saves results in batches
(a retried job resumes where the last batch ended) and ends `completed` with aggregates, or `failed`.

Secrets: the stored bank shows questions redacted and every `must_not_contain` string masked. A question
that needs its original text (it has secrets, or redaction changed it) keeps that text encrypted at rest
(`sealed`, woes.crypto) until the run ends, when it is dropped. Results are masked the same way.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from typing import Any

from sqlalchemy import Select, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, defer

from woes.agents.models import Agent
from woes.agents.service import get_agent
from woes.core.errors import ProblemError, conflict, validation_error
from woes.core.redaction import redact
from woes.core.scoping import get_in_workspace
from woes.core.views import iso
from woes.crypto import decrypt_json, encrypt_json
from woes.db import Database, utcnow
from woes.events.models import DomainEvent
from woes.events.service import SYSTEM, Actor, record_change
from woes.jobs import enqueue
from woes.lab import evaluation
from woes.lab.evaluation import BankError
from woes.lab.models import LabRun
from woes.sources.models import Source

log = logging.getLogger("woes.lab")

LAB_JOB = "lab.run"
BATCH = 20  # results are saved every BATCH questions (and at the end)
MAX_ERROR = 500
_UNSET: Any = object()


# -- views ---------------------------------------------------------------------------------------------

def lab_run_summary(run: LabRun) -> dict[str, Any]:
    """The run without its per-question results (lists, events)."""
    return {
        "object": "lab_run", "id": str(run.id), "agentId": str(run.agent_id), "name": run.name, "status": run.status,
        "questionCount": run.question_count, "aggregates": dict(run.aggregates or {}) or None,
        "sourceSnapshot": dict(run.source_snapshot or {}), "error": run.error, "startedAt": iso(run.started_at),
        "finishedAt": iso(run.finished_at), "createdAt": iso(run.created_at),
    }


def lab_run_view(run: LabRun) -> dict[str, Any]:
    """The run with its per-question results (outcome, citations, confidence, evaluation) and progress."""
    results = list(run.results or [])
    return {**lab_run_summary(run), "progress": {"done": len(results), "total": run.question_count}, "results": results}


# -- lookups -------------------------------------------------------------------------------------------

def get_lab_run(session: Session, workspace_id: uuid.UUID, lab_run_id: uuid.UUID) -> LabRun:
    return get_in_workspace(session, LabRun, workspace_id, lab_run_id, "Lab run")


def lab_runs_stmt(workspace_id: uuid.UUID, agent_id: uuid.UUID) -> Select[Any]:
    """An agent's lab runs (the heavy bank and results columns are not loaded)."""
    return (select(LabRun).where(LabRun.workspace_id == workspace_id, LabRun.agent_id == agent_id)
            .options(defer(LabRun.questions), defer(LabRun.results)))


def source_snapshot(session: Session, agent: Agent) -> dict[str, str | None]:
    """{sourceId: lastScanId} for the agent's sources in this workspace (None: never scanned or gone)."""
    ids = [uuid.UUID(s) for s in agent.source_ids or []]
    stmt = select(Source.id, Source.last_scan_id).where(Source.workspace_id == agent.workspace_id, Source.id.in_(ids))
    rows = {source_id: scan_id for source_id, scan_id in session.execute(stmt)} if ids else {}
    return {str(i): (str(rows[i]) if rows.get(i) else None) for i in ids}


# -- the bank, stored ----------------------------------------------------------------------------------

def parse_input(questions: list[Any] | None, jsonl: str | None) -> list[dict[str, Any]]:
    """The bank from a request (exactly one of a list of objects or JSON Lines text); 422 naming the field."""
    if (questions is None) == (jsonl is None):
        raise validation_error("questions", "Give exactly one of questions (a list of objects) or jsonl (JSON Lines text).")
    try:
        return evaluation.parse_bank(questions) if questions is not None else evaluation.parse_jsonl(jsonl or "")
    except BankError as exc:
        raise ProblemError(422, "validation_failed", str(exc), errors=exc.errors) from None


def _stored_question(q: dict[str, Any]) -> dict[str, Any]:
    secrets = q["mustNotContain"]
    shown = evaluation.mask(q["question"], secrets)
    mentions = [evaluation.mask(t, secrets) for t in q["mustMention"]]
    qid = evaluation.mask(q["id"], secrets) if isinstance(q["id"], str) else q["id"]
    stored = {"index": q["index"], "id": qid, "question": shown, "answerable": q["answerable"],
              "expectedOperations": [evaluation.mask(k, secrets) for k in q["expectedOperations"]],
              "mustMention": mentions, "hasSecrets": bool(secrets)}
    if secrets or shown != q["question"] or mentions != q["mustMention"]:
        stored["sealed"] = encrypt_json({"question": q["question"], "mustMention": q["mustMention"],
                                         "mustNotContain": secrets}).decode()
    return stored


def _unsealed(stored: dict[str, Any]) -> dict[str, Any]:
    """The question as given (for the runtime and the evaluation)."""
    q = {k: v for k, v in stored.items() if k != "sealed"}
    q["mustNotContain"] = []
    if stored.get("sealed"):
        q.update(decrypt_json(stored["sealed"].encode()))
    return q


# -- state changes -------------------------------------------------------------------------------------

def _event(session: Session, run: LabRun, type_: str, actor: Actor) -> None:
    record_change(session, "lab_run", run, type_, actor, lab_run_summary(run), aggregate_id=run.agent_id)


def do_create_lab_run(session: Session, workspace_id: uuid.UUID, agent_id: uuid.UUID, *, actor: Actor,
                      questions: list[Any] | None = None, jsonl: str | None = None, name: str | None = None) -> LabRun:
    """Validate the bank, store the run `queued` with its source snapshot, and enqueue the `lab.run` job."""
    agent = get_agent(session, workspace_id, agent_id)  # 404 before looking at the body
    bank = parse_input(questions, jsonl)
    run = LabRun(workspace_id=workspace_id, agent_id=agent.id, name=name, status="queued", question_count=len(bank),
                 questions=[_stored_question(q) for q in bank], results=[], aggregates={},
                 source_snapshot=source_snapshot(session, agent), created_at=utcnow())
    session.add(run)
    session.flush()
    _event(session, run, "lab_run.created", actor)
    enqueue(session, LAB_JOB, {"workspaceId": str(workspace_id), "labRunId": str(run.id)}, workspace_id=workspace_id)
    return run


def do_start_lab_run(session: Session, workspace_id: uuid.UUID, lab_run_id: uuid.UUID) -> LabRun | None:
    """queued → running (a retried job finds it running and resumes). None when there is nothing to run."""
    run = session.scalar(select(LabRun).where(LabRun.id == lab_run_id, LabRun.workspace_id == workspace_id)
                         .with_for_update())
    if run is None or run.status in ("completed", "failed"):
        return None
    if run.status == "queued":
        run.status, run.started_at = "running", utcnow()
        _event(session, run, "lab_run.started", SYSTEM)
    return run


def _without_sealed(questions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in q.items() if k != "sealed"} for q in questions or []]


def do_complete_lab_run(session: Session, workspace_id: uuid.UUID, lab_run_id: uuid.UUID,
                        results: list[dict[str, Any]]) -> LabRun | None:
    run = session.scalar(select(LabRun).where(LabRun.id == lab_run_id, LabRun.workspace_id == workspace_id))
    if run is None or run.status in ("completed", "failed"):
        return run
    run.results = list(results)
    run.aggregates = evaluation.aggregate(results)
    run.questions = _without_sealed(run.questions)  # the original texts are not needed any more
    run.status, run.finished_at, run.error = "completed", utcnow(), None
    _event(session, run, "lab_run.completed", SYSTEM)
    return run


def do_fail_lab_run(session: Session, workspace_id: uuid.UUID, lab_run_id: uuid.UUID, error: str) -> LabRun | None:
    run = session.scalar(select(LabRun).where(LabRun.id == lab_run_id, LabRun.workspace_id == workspace_id))
    if run is None or run.status in ("completed", "failed"):
        return run
    run.questions = _without_sealed(run.questions)
    run.status, run.finished_at, run.error = "failed", utcnow(), redact(error)[:MAX_ERROR]
    _event(session, run, "lab_run.failed", SYSTEM)
    return run


# -- running (the job body) ----------------------------------------------------------------------------

def _trim_citation(c: dict[str, Any]) -> dict[str, Any]:
    out = {k: c.get(k) for k in ("n", "sourceId", "endpointId", "documentId", "operationKey", "method", "path", "title")}
    out["snippet"] = (c.get("snippet") or "")[:300]
    return out


def _result(q: dict[str, Any], run: Any, evaluation_: dict[str, Any], error: str | None = None) -> dict[str, Any]:
    secrets = q["mustNotContain"]
    confidence = dict(run.confidence or {}) if run is not None else {}
    result = {
        "index": q["index"], "id": q["id"], "question": evaluation.mask(q["question"], secrets),
        "answerable": q["answerable"], "expectedOperations": q["expectedOperations"], "mustMention": q["mustMention"],
        "hasSecrets": bool(secrets), "agentRunId": str(run.id) if run is not None else None,
        "outcome": run.outcome if run is not None else None, "text": run.text if run is not None else None,
        "citations": [_trim_citation(c) for c in (run.citations or [])] if run is not None else [],
        "confidence": {"score": confidence.get("score"), "label": confidence.get("label")} if run is not None else None,
        "handoff": {"reason": run.handoff_reason} if run is not None and run.outcome == "handoff" else None,
        "latencyMs": run.latency_ms if run is not None else None, "evaluation": evaluation_, "error": error,
    }
    return evaluation.mask_value(result, secrets)


def _answer_one(db: Database, workspace_id: uuid.UUID, lab_run_id: uuid.UUID, q: dict[str, Any], provider: Any,
                pending_save: list[dict[str, Any]] | None) -> dict[str, Any] | None:
    """Answer one question, then record and score it in one short transaction (saving `pending_save` as the
    results so far in the same transaction, when given). None when the lab run is gone."""
    from woes.agents.runtime import RunContext, answer_question, do_record_run

    def lab_agent(s: Any) -> Agent | None:
        row = s.execute(select(LabRun.id, LabRun.agent_id).where(
            LabRun.id == lab_run_id, LabRun.workspace_id == workspace_id)).first()
        return None if row is None else s.scalar(select(Agent).where(Agent.id == row.agent_id, Agent.workspace_id == workspace_id))

    with db.reading() as s:  # decided with no transaction open while a provider composes
        agent = lab_agent(s)
        if agent is None:
            return None
        run = answer_question(s, agent, q["question"], context=RunContext(trigger="lab", lab_run_id=lab_run_id),
                              provider=provider, record=False)
    with db.transaction() as s:
        if lab_agent(s) is None:
            return None  # deleted meanwhile
        do_record_run(s, run)
        payloads = s.scalars(select(DomainEvent.payload).where(
            DomainEvent.workspace_id == workspace_id, DomainEvent.resource_id == str(run.id))).all()
        extra = [run.question or "", *(json.dumps(p, ensure_ascii=False, default=str) for p in payloads)]
        result = _result(q, run, evaluation.evaluate(q, run, extra_texts=extra))
        if pending_save is not None:
            s.execute(update(LabRun).where(LabRun.id == lab_run_id, LabRun.workspace_id == workspace_id)
                      .values(results=[*pending_save, result]))
        return result


def run_lab(db: Database, workspace_id: uuid.UUID, lab_run_id: uuid.UUID, *, provider: Any = _UNSET) -> LabRun | None:
    """Run a lab run to its end state (safe to re-run: it resumes after the saved results). `provider`:
    a woes.agents provider, None for the built-in offline one; default: the deployment's configured one."""
    with db.transaction() as s:
        run = do_start_lab_run(s, workspace_id, lab_run_id)
        if run is None:
            return None
        questions = list(run.questions or [])
        results = list(run.results or [])[: len(questions)]
    if provider is _UNSET:
        from woes.agents.providers import get_provider
        from woes.config import get_settings

        try:
            provider = get_provider(get_settings())
        except ValueError as exc:
            with db.transaction() as s:
                return do_fail_lab_run(s, workspace_id, lab_run_id, f"The model provider is not usable: {exc}")
    t0 = time.perf_counter()
    for stored in questions[len(results):]:
        try:
            q = _unsealed(stored)
        except ValueError as exc:
            with db.transaction() as s:
                return do_fail_lab_run(s, workspace_id, lab_run_id, str(exc))
        save = results if (len(results) + 1) % BATCH == 0 else None
        try:
            result = _answer_one(db, workspace_id, lab_run_id, q, provider, save)
        except SQLAlchemyError:
            raise  # the database is in trouble: let the job retry (and resume)
        except Exception as exc:  # one bad question does not sink the run
            message = evaluation.mask(f"{type(exc).__name__}: {exc}", q["mustNotContain"])[:MAX_ERROR]
            log.warning("lab question failed", extra={"labRunId": str(lab_run_id), "index": q["index"], "error": message})
            result = _result(q, None, evaluation.error_evaluation(q), error=message)
        if result is None:
            return None  # the lab run (or its agent) was deleted meanwhile
        results.append(result)
    with db.transaction() as s:
        done = do_complete_lab_run(s, workspace_id, lab_run_id, results)
    log.info("lab run completed", extra={"labRunId": str(lab_run_id), "questions": len(results),
                                         "tookMs": round((time.perf_counter() - t0) * 1000)})
    return done


# -- comparing -----------------------------------------------------------------------------------------

def compare_lab_runs(session: Session, workspace_id: uuid.UUID, lab_run_id: uuid.UUID,
                     against_id: uuid.UUID | None) -> dict[str, Any]:
    """Run `lab_run_id` (after) compared against run `against_id` (before): aggregate deltas, per-question
    fixed / regressed / unchanged, and which sources were rescanned in between."""
    after = get_lab_run(session, workspace_id, lab_run_id)
    if against_id is None:
        raise validation_error("against", "Give the id of the lab run to compare against.")
    before = get_lab_run(session, workspace_id, against_id)
    for label, run in (("This lab run", after), ("The lab run to compare against", before)):
        if run.status != "completed":
            raise conflict(f"{label} is {run.status}; only completed runs can be compared.", labRunId=str(run.id))
    a_snap, b_snap = dict(before.source_snapshot or {}), dict(after.source_snapshot or {})
    sources = {
        "added": [s for s in b_snap if s not in a_snap],
        "removed": [s for s in a_snap if s not in b_snap],
        "rescanned": [s for s in b_snap if s in a_snap and a_snap[s] != b_snap[s]],
    }
    diff = evaluation.compare({"aggregates": before.aggregates, "results": before.results},
                              {"aggregates": after.aggregates, "results": after.results})
    return {"object": "lab_run_comparison", "labRunId": str(after.id), "againstId": str(before.id),
            "before": lab_run_summary(before), "after": lab_run_summary(after), "sourceChanges": sources, **diff}
