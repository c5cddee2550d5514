"""The agent runtime: one customer question in, exactly one outcome out (SPEC §8).

redact → retrieve from the agent's sources (plus the previous customer turn for short follow-ups) →
judge sufficiency and confidence → answer (provider words it from numbered evidence) | clarify | handoff →
verify every named endpoint / parameter against the cited evidence → record the run, its trace and its
event in the caller's transaction."""

from __future__ import annotations

import logging
import re
import time
import uuid
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from woes.agents.judging import EvidenceText, Judgement, judge, normalize
from woes.agents.matching import question_terms
from woes.agents.models import Agent, AgentRun
from woes.agents.providers.base import AgentProfile, CompositionRequest, EvidenceItem, Provider, ProviderError
from woes.agents.providers.offline import OfflineProvider
from woes.agents.verification import verify
from woes.core.caching import remember
from woes.core.redaction import redact
from woes.core.scoping import get_in_workspace
from woes.events.service import Actor, record_event
from woes.importers.evidence import search_text
from woes.search import ENDPOINT_BM25, analyse, results_view, search
from woes.sources.models import Chunk, Endpoint, Source

log = logging.getLogger("woes.agents")

EVIDENCE_LIMIT = 8
OFFLINE = OfflineProvider()
_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")


@dataclass
class RunContext:
    trigger: str = "direct"  # direct | conversation | lab
    conversation_id: uuid.UUID | None = None
    message_id: uuid.UUID | None = None
    lab_run_id: uuid.UUID | None = None
    history: list[tuple[str, str]] = field(default_factory=list)  # (customer|agent|operator, text), oldest first


def _endpoint_record(e: Endpoint) -> dict[str, Any]:
    return {"operation_key": e.operation_key, "method": e.method, "path": e.path, "operation_id": e.operation_id,
            "summary": e.summary, "description": e.description, "tags": e.tags, "parameters": e.parameters,
            "request_body": e.request_body, "responses": e.responses, "auth": e.auth, "servers": e.servers,
            "examples": e.examples, "deprecated": e.deprecated}


def _defaults_text(rec: dict[str, Any]) -> str:
    fields = list(rec.get("parameters") or []) + list((rec.get("request_body") or {}).get("fields") or [])
    return " ".join(str(f.get("default")) for f in fields if f.get("default") not in (None, ""))


@dataclass
class _Evidence:
    item: EvidenceItem
    judged: EvidenceText
    source_id: uuid.UUID
    endpoint_id: uuid.UUID | None
    document_id: uuid.UUID | None
    snippet: str


def _load_evidence(session: Session, hits: list[Any], views: list[dict[str, Any]]) -> list[_Evidence]:
    ep_ids = [uuid.UUID(v["id"]) for v in views if v["kind"] == "endpoint"]
    eps = {e.id: e for e in session.scalars(select(Endpoint).where(Endpoint.id.in_(ep_ids)))} if ep_ids else {}
    chunk_ids = [uuid.UUID(v["id"]) for v in views if v["kind"] == "chunk"]
    chunks = {c.id: c for c in session.scalars(select(Chunk).where(Chunk.id.in_(chunk_ids)))} if chunk_ids else {}
    hit_by_id = {str(h.id): h for h in hits}
    out: list[_Evidence] = []
    for v in views:
        n = len(out) + 1
        hit = hit_by_id.get(v["id"])
        score, signals = (hit.score, hit.signals) if hit else (v["score"], v["signals"])
        if v["kind"] == "endpoint":
            e = eps.get(uuid.UUID(v["id"]))
            if e is None:
                continue
            rec = _endpoint_record(e)
            text = e.markdown
            full = (text + "\n" + search_text(rec) + "\n" + _defaults_text(rec)).lower()
            item = EvidenceItem(n=n, kind="endpoint", title=e.summary or e.operation_key, text=text, method=e.method,
                                path=e.path, operation_key=e.operation_key, record=rec)
            out.append(_Evidence(item, EvidenceText(n, "endpoint", full, rec, score, signals), e.source_id, e.id,
                                 None, v["snippet"]))
        else:
            c = chunks.get(uuid.UUID(v["id"]))
            if c is None:
                continue
            text = c.text
            item = EvidenceItem(n=n, kind="document", title=v.get("title") or "Documentation", text=text)
            out.append(_Evidence(item, EvidenceText(n, "document", text.lower(), None, score, signals), c.source_id, None,
                                 c.document_id, v["snippet"]))
    return out


class _SourceNames:
    """Every name a source knows (parameters, fields, enum values, operation ids, auth headers), normalized,
    cached per scan: tells an API name in a question from a variable of the customer's own code."""

    def __init__(self) -> None:
        self._data: dict[tuple[uuid.UUID, uuid.UUID | None], set[str]] = {}
        self._unions: dict[tuple[Any, ...], frozenset[str]] = {}

    def get(self, session: Session, sources: list[Source]) -> set[str] | frozenset[str]:
        keys = tuple(sorted((src.id, src.last_scan_id) for src in sources))
        for src in sources:
            key = (src.id, src.last_scan_id)
            if key not in self._data:
                remember(self._data, key, self._build(session, src.id))
        if len(keys) == 1:
            return self._data[keys[0]]
        if keys not in self._unions:
            if len(self._unions) > 64:
                self._unions.clear()
            self._unions[keys] = frozenset().union(*(self._data[k] for k in keys))
        return self._unions[keys]

    @staticmethod
    def _build(session: Session, source_id: uuid.UUID) -> set[str]:
        names: set[str] = set()

        def add(name: Any) -> None:
            if name is None:
                return
            text = str(name)
            names.add(normalize(text))
            leaf = re.split(r"[.\[\]]+", text.strip("[]"))[-1] if ("." in text or "[" in text) else None
            if leaf:
                names.add(normalize(leaf))

        rows = session.execute(select(Endpoint.operation_id, Endpoint.parameters, Endpoint.request_body, Endpoint.responses,
                                      Endpoint.auth).where(Endpoint.source_id == source_id))
        for op_id, params, body, responses, auth in rows:
            add(op_id)
            fields = list(params or []) + list((body or {}).get("fields") or [])
            for r in responses or []:
                fields += r.get("fields") or []
            for f in fields:
                add(f.get("name"))
                for v in (f.get("enum") or [])[:50]:
                    if isinstance(v, str) and len(v) > 2:
                        add(v)
            for a in auth or []:
                add(a.get("parameter"))
        names.discard("")
        return names


SOURCE_NAMES = _SourceNames()


def _redacted_item(item: EvidenceItem) -> EvidenceItem:
    """What leaves the judge for a provider: redacted, and trimmed to a size a prompt can hold."""
    text = item.text if len(item.text) <= 12000 else item.text[:12000] + "\n…"
    return replace(item, text=redact(text), title=redact(item.title))


def _retrieval_query(question: str, history: list[tuple[str, str]]) -> str:
    """A short follow-up ("and for refunds?") is searched together with the previous customer turn."""
    if len(analyse(question).terms) >= 5:
        return question
    previous = next((text for role, text in reversed(history) if role == "customer" and text.strip() != question.strip()), None)
    return f"{previous}\n{question}" if previous else question


def _norm(path: str | None) -> str:
    return re.sub(r"\{[^}]*\}|:[a-z_]+", "{}", (path or "").split("#", 1)[0].rstrip("/").lower())


def _clarification(question: str, evidence: list[_Evidence], j: Judgement) -> str | None:
    """One focused question when the two best operations are the same resource with different methods, the
    question does not say which action it wants, and neither clearly wins."""
    eps = [e for e in evidence if e.item.kind == "endpoint"][:2]
    if len(eps) < 2 or j.signals.get("retrievalMargin", 1.0) > 0.03 or analyse(question).methods:
        return None
    a, b = eps
    if _norm(a.item.path) != _norm(b.item.path) or a.item.method == b.item.method:
        return None
    if j.signals.get("fieldMatches"):
        return None

    def describe(e: _Evidence) -> str:
        summary = ((e.item.record or {}).get("summary") or e.item.title).rstrip(".")
        return f"{summary[:1].lower()}{summary[1:]} (`{e.item.method} {e.item.path}`) [{e.item.n}]"

    return f"Do you want to {describe(a)}, or {describe(b)}?"


def _citations(evidence: list[_Evidence], numbers: list[int]) -> list[dict[str, Any]]:
    by_n = {e.item.n: e for e in evidence}
    out = []
    for n in numbers:
        e = by_n.get(n)
        if e is None:
            continue
        out.append({"n": n, "sourceId": str(e.source_id), "endpointId": str(e.endpoint_id) if e.endpoint_id else None,
                    "documentId": str(e.document_id) if e.document_id else None, "operationKey": e.item.operation_key,
                    "method": e.item.method, "path": e.item.path, "title": e.item.title, "snippet": e.snippet})
    return out


def _renumber(text: str, order: list[int]) -> tuple[str, list[int]]:
    """Citations numbered 1, 2, 3 in order of first use."""
    mapping = {old: i + 1 for i, old in enumerate(order)}
    return re.sub(r"\[(\d{1,3})\]", lambda m: f"[{mapping.get(int(m.group(1)), m.group(1))}]", text), order


def _handoff_text(reason: str) -> str:
    return ("I don't want to guess on this one, so I'm passing it to a teammate who will follow up here. "
            f"({reason})")


def answer_question(session: Session, agent: Agent, question: str, *, context: RunContext | None = None,
                    provider: Provider | None = None, record: bool = True) -> AgentRun:
    """Decide one outcome for `question`, and record it in the caller's transaction unless `record` is False
    (then `do_record_run` stores it later: a slow provider never holds a write transaction)."""
    ctx = context or RunContext()
    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    q = redact(question)
    history = [(role, redact(text)) for role, text in ctx.history[-6:]]
    source_ids = [uuid.UUID(s) for s in agent.source_ids]
    query = _retrieval_query(q, history)
    hits, info = search(session, agent.workspace_id, query, source_ids, limit=EVIDENCE_LIMIT) if source_ids else ([], {})
    views = results_view(session, hits, query)
    evidence = _load_evidence(session, hits, views)
    timings["retrievalMs"] = round((time.perf_counter() - t0) * 1000, 2)
    sources = list(session.scalars(select(Source).where(Source.id.in_(source_ids)))) if source_ids else []
    df, n_docs = ENDPOINT_BM25.document_frequency(session, sources) if sources else ({}, 0)
    t1 = time.perf_counter()
    names = SOURCE_NAMES.get(session, sources) if sources else set()
    j = judge(q, question_terms(q), [e.judged for e in evidence], threshold=agent.confidence_threshold, df=df, n_docs=n_docs,
              source_names=names)
    timings["judgeMs"] = round((time.perf_counter() - t1) * 1000, 2)
    outcome, reason, text, cited = j.outcome, j.reason, "", []
    provider_info: dict[str, Any] = {"name": "offline"}
    verification: dict[str, Any] | None = None
    items = [e.item for e in evidence]
    if outcome == "answer":
        clarify = _clarification(q, evidence, j)
        if clarify:
            outcome, text = "clarify", clarify
            cited = [int(n) for n in re.findall(r"\[(\d+)\]", clarify)]
    if outcome == "answer":
        t2 = time.perf_counter()
        items = [_redacted_item(i) for i in items]
        request = CompositionRequest(question=q, evidence=items, history=history, focus=j.focus, matched_terms=j.matched_terms,
                                     agent=AgentProfile(name=agent.name, persona=redact(agent.persona or "") or None,
                                                        instructions=redact(agent.instructions or "") or None,
                                                        guardrails=[redact(g) for g in agent.guardrails]))
        composition = None
        if provider is not None:
            try:
                composition = provider.compose(request)
                provider_info = {"name": composition.provider, "model": composition.model, "usage": composition.usage}
            except ProviderError as exc:
                provider_info = {"name": getattr(provider, "name", "remote"), "error": redact(str(exc))[:300],
                                 "fallback": "offline"}
        if composition is None:
            composition = OFFLINE.compose(request)
        timings["composeMs"] = round((time.perf_counter() - t2) * 1000, 2)
        checkable = [replace(e.item, text=e.judged.text_lower) for e in evidence]
        v = verify(redact(composition.text), checkable, lead=j.focus[0] if j.focus else None)
        verification = v.view()
        if v.lead_removed or not v.text or not v.cited:
            outcome = "handoff"
            reason = "The drafted answer named things the evidence does not contain; a person should answer."
        else:
            text, cited = v.text, v.cited
    if outcome == "handoff":
        text = _handoff_text(reason or "Not enough evidence.")
        cited = []
    order = list(dict.fromkeys(cited))
    text, _ = _renumber(text, order)
    citations = _citations(evidence, order)
    for i, c in enumerate(citations):
        c["n"] = i + 1
    score = round(j.score, 3)
    label = j.label if outcome != "handoff" else ("low" if j.score < agent.confidence_threshold else j.label)
    latency = round((time.perf_counter() - t0) * 1000, 2)
    trace = {
        "question": q, "retrievalQuery": query if query != q else None,
        "retrieval": {"tookMs": info.get("tookMs"), "analysis": info.get("analysis"),
                      "results": [{"n": e.item.n, "kind": e.item.kind, "operationKey": e.item.operation_key,
                                   "title": e.item.title, "score": round(e.judged.score, 6), "signals": e.judged.signals}
                                  for e in evidence]},
        "decision": {"outcome": outcome, "reason": reason, "focus": j.focus, "judgedOutcome": j.outcome},
        "confidence": {"score": score, "label": label, "signals": j.signals},
        "verification": verification, "provider": provider_info, "timings": {**timings, "totalMs": latency},
        "systemPrompt": _system_prompt(agent),
    }
    run = AgentRun(workspace_id=agent.workspace_id, agent_id=agent.id, conversation_id=ctx.conversation_id,
                   message_id=ctx.message_id, lab_run_id=ctx.lab_run_id, trigger=ctx.trigger, question=q, outcome=outcome,
                   text=redact(text), citations=citations, confidence={"score": score, "label": label, "signals": j.signals},
                   handoff_reason=reason if outcome == "handoff" else None, provider=str(provider_info.get("name"))[:32],
                   trace=trace, latency_ms=latency)
    if record:
        do_record_run(session, run)
    return run


def do_record_run(session: Session, run: AgentRun) -> AgentRun:
    """Store a decided run with its outcome events (one short write: decide with `record=False` on a read
    session first, so that no write transaction is open while a provider composes). 404 when the agent was
    deleted in between."""
    get_in_workspace(session, Agent, run.workspace_id, run.agent_id, "Agent")
    session.add(run)
    session.flush()
    _record_outcome_events(session, run)
    return run


def _system_prompt(agent: Agent) -> str:
    parts = [f"You are {agent.name}, answering developers only from the numbered evidence."]
    if agent.persona:
        parts.append("Persona: " + redact(agent.persona))
    if agent.instructions:
        parts.append("Instructions: " + redact(agent.instructions))
    if agent.guardrails:
        parts.append("Guardrails: " + "; ".join(redact(g) for g in agent.guardrails))
    return "\n".join(parts)


def _record_outcome_events(session: Session, run: AgentRun) -> None:
    actor = Actor("agent", str(run.agent_id))
    data = {"runId": str(run.id), "agentId": str(run.agent_id), "conversationId": str(run.conversation_id) if run.conversation_id else None,
            "outcome": run.outcome, "confidence": {"score": run.confidence["score"], "label": run.confidence["label"]},
            "trigger": run.trigger}
    aggregate = run.conversation_id or run.id
    event_type = {"answer": "agent.answer_created", "clarify": "agent.clarification_requested",
                  "handoff": "agent.handoff_requested"}[run.outcome]
    extra = {"handoff": {"reason": run.handoff_reason}} if run.outcome == "handoff" else {"citations": len(run.citations)}
    record_event(session, workspace_id=run.workspace_id, type=event_type, resource_type="agent_run", resource_id=run.id,
                 data={**data, **extra}, actor=actor, aggregate_id=aggregate)
    if run.confidence["label"] == "low":
        record_event(session, workspace_id=run.workspace_id, type="agent.low_confidence", resource_type="agent_run",
                     resource_id=run.id, data=data, actor=actor, aggregate_id=aggregate)
