"""The agent on the labelled developer questions, through the real runtime (offline provider).

    python bench/agent_eval.py [--questions ../shared/eval/questions.jsonl] [--corpora ../shared/corpora]
                               [--data-dir DIR] [--pad-endpoints 10000] [--show]

A fresh workspace per corpus file (reused from --data-dir when given), one agent attached to its source.
Prints first-citation Hit@1, must_mention coverage, answerable answered rate, unanswerable
handed-off-or-clarified rate, secrets leaked (answers, traces, logs, provider requests, event/webhook
payloads), citations that do not resolve to stored evidence, and p50/p95 latency. With --pad-endpoints N,
a second phase times the same questions in one workspace whose agent is attached to every corpus source
plus a generated spec, so that the agent searches at least N endpoints.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from woes.agents.models import Agent
from woes.agents.providers.base import Composition, CompositionRequest
from woes.agents.providers.offline import OfflineProvider
from woes.agents.runtime import RunContext, answer_question
from woes.config import Settings
from woes.events.models import DomainEvent
from woes.events.service import SYSTEM
from woes.migrate import upgrade
from woes.runtime import Runtime
from woes.scans.pipeline import run_scan
from woes.search import search, warm
from woes.sources.models import Chunk, Document, Endpoint, Source
from woes.sources.service import do_create_source
from woes.workspaces.models import Workspace
from woes.workspaces.service import do_create_workspace

ROOT = Path(__file__).resolve().parents[1]


class RecordingProvider(OfflineProvider):
    """The offline provider, keeping every request it was given (to check for leaked secrets)."""

    def __init__(self) -> None:
        self.requests: list[str] = []

    def compose(self, request: CompositionRequest) -> Composition:
        self.requests.append(json.dumps([request.question, request.history, [(e.title, e.text) for e in request.evidence]]))
        return super().compose(request)


def _workspace(rt: Runtime, name: str) -> uuid.UUID:
    with rt.db.transaction() as s:
        ws = s.scalar(select(Workspace).where(Workspace.name == name)) or do_create_workspace(s, name=name, actor=SYSTEM)
        return ws.id


def _source(rt: Runtime, ws_id: uuid.UUID, name: str, files: list[tuple[str, bytes]]) -> uuid.UUID:
    with rt.db.transaction() as s:
        existing = s.scalar(select(Source).where(Source.workspace_id == ws_id, Source.name == name, Source.status == "ready"))
        if existing:
            return existing.id
        src, scan = do_create_source(s, ws_id, name=name, type_="auto", actor=SYSTEM, files=files)
    run_scan(rt.db, ws_id, src.id, scan.id)
    return src.id


def _agent(rt: Runtime, ws_id: uuid.UUID, source_ids: list[uuid.UUID]) -> uuid.UUID:
    with rt.db.transaction() as s:
        agent = Agent(workspace_id=ws_id, name=f"eval-{uuid.uuid4().hex[:6]}", source_ids=[str(x) for x in source_ids],
                      mode="auto_reply")
        s.add(agent)
        s.flush()
        return agent.id


def _corpus_files(corpora: Path, corpus_file: str) -> list[tuple[str, bytes]]:
    path = corpora / corpus_file
    paths = sorted(path.glob("*.md")) if path.is_dir() else [path]
    return [(p.name, p.read_bytes()) for p in paths]


def _padding_spec(n: int) -> bytes:
    """A generated OpenAPI document with n operations over made-up resources (distractors)."""
    import random

    rnd = random.Random(7)
    nouns = ("widget gadget ledger parcel voucher beacon sensor tariff cohort bundle quota shard badge ticket report "
             "channel folder cursor device region").split()
    paths: dict[str, Any] = {}
    i = 0
    while i < n:
        a, b = rnd.sample(nouns, 2)
        base = f"/pad/v{i // 400}/g{i // 4}/{a}s/{{{a}_id}}/{b}s"  # unique per group of four operations
        for method, verb in (("get", "List"), ("post", "Create"), ("delete", "Delete"), ("patch", "Update")):
            if i >= n:
                break
            paths.setdefault(base + ("" if method in ("get", "post") else f"/{{{b}_id}}"), {})[method] = {
                "operationId": f"{verb}{a.title()}{b.title()}{i}", "summary": f"{verb} {b}s of a {a}",
                "description": f"{verb}s the {b} records attached to one {a}. Filter with `status` and `limit`.",
                "parameters": [{"name": "status", "in": "query", "schema": {"type": "string", "enum": ["open", "closed"]}},
                               {"name": "limit", "in": "query", "schema": {"type": "integer"}}],
                "responses": {"200": {"description": "OK"}}}
            i += 1
    return json.dumps({"openapi": "3.0.3", "info": {"title": "Padding", "version": "1"}, "paths": paths}).encode()


def _evaluate(rt: Runtime, questions: list[dict[str, Any]], agents: dict[str, tuple[uuid.UUID, uuid.UUID]],
              show: bool, answers: bool = False) -> dict[str, Any]:
    log_buffer = io.StringIO()
    handler = logging.StreamHandler(log_buffer)
    logging.getLogger().addHandler(handler)
    provider = RecordingProvider()
    rows = []
    try:
        for q in questions:
            ws_id, agent_id = agents[q["corpus_file"]]
            with rt.db.transaction() as s:
                agent = s.get(Agent, agent_id)
                t = time.perf_counter()
                run = answer_question(s, agent, q["question"], context=RunContext(trigger="lab"), provider=provider)
                ms = (time.perf_counter() - t) * 1000
                unresolved = 0
                for c in run.citations:
                    model, key = (Endpoint, c["endpointId"]) if c["endpointId"] else (Document, c["documentId"])
                    obj = s.get(model, uuid.UUID(key)) if key else None
                    if obj is None or obj.workspace_id != ws_id:
                        unresolved += 1
                events = s.scalars(select(DomainEvent.payload).where(DomainEvent.resource_id == str(run.id))).all()
                rows.append({"q": q, "outcome": run.outcome, "text": run.text, "citations": run.citations, "ms": ms,
                             "trace": json.dumps(run.trace), "events": json.dumps(events), "unresolved": unresolved,
                             "score": run.confidence["score"], "reason": run.handoff_reason,
                             "signals": run.confidence["signals"]})
    finally:
        logging.getLogger().removeHandler(handler)
    logs = log_buffer.getvalue()
    provider_text = "\n".join(provider.requests)
    answerable = [r for r in rows if r["q"]["answerable"]]
    unanswerable = [r for r in rows if not r["q"]["answerable"]]
    hit1 = [bool(r["citations"]) and r["citations"][0]["operationKey"] in r["q"]["expected_operations"] for r in answerable]
    mentions = [(t.lower() in r["text"].lower()) for r in answerable for t in r["q"]["must_mention"]]
    leaks = 0
    for r in rows:
        for secret in r["q"].get("must_not_contain") or []:
            leaks += sum(secret in blob for blob in (r["text"], r["trace"], r["events"], logs, provider_text))
    lat = sorted(r["ms"] for r in rows)
    out = {
        "firstCitationHit1": sum(hit1) / len(answerable),
        "mustMentionCoverage": sum(mentions) / max(1, len(mentions)), "mustMentioned": sum(mentions),
        "mustMentionTotal": len(mentions), "firstCitationHits": sum(hit1), "answerable": len(answerable),
        "answerableAnswered": sum(r["outcome"] == "answer" for r in answerable) / len(answerable),
        "answerableRefused": sum(r["outcome"] != "answer" for r in answerable) / len(answerable),
        "unanswerableHandedOffOrClarified": sum(r["outcome"] != "answer" for r in unanswerable) / max(1, len(unanswerable)),
        "secretsLeaked": leaks, "unresolvedCitations": sum(r["unresolved"] for r in rows),
        "p50Ms": statistics.median(lat), "p95Ms": lat[int(0.95 * (len(lat) - 1))], "n": len(rows),
    }
    if answers:
        for r in rows:
            print(f"--- #{r['q']['id']} {r['q']['question']}\n{r['text']}\n")
    if show:
        for r, h in zip(answerable, hit1, strict=True):
            missing = [t for t in r["q"]["must_mention"] if t.lower() not in r["text"].lower()]
            if r["outcome"] != "answer" or not h or missing:
                print(f"  #{r['q']['id']:<4} {r['outcome']:8} hit1={h!s:5} score={r['score']:.2f} missing={missing} "
                      f"cited={[c['operationKey'] for c in r['citations'][:2]]} expected={r['q']['expected_operations'][:2]} "
                      f"reason={r['reason']} sig={ {k: r['signals'].get(k) for k in ('nameCoverage', 'retrievalMargin', 'missingConcepts', 'specifics')} }")
        for r in unanswerable:
            print(f"  #{r['q']['id']:<4} unanswerable → {r['outcome']:8} score={r['score']:.2f} reason={r['reason']} "
                  f"sig={ {k: r['signals'].get(k) for k in ('nameCoverage', 'retrievalMargin', 'missingConcepts', 'specifics')} }")
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--questions", default=str(ROOT.parent / "shared" / "eval" / "questions.jsonl"))
    ap.add_argument("--corpora", default=str(ROOT.parent / "shared" / "corpora"))
    ap.add_argument("--data-dir", default=None, help="keep the scanned sources here and reuse them on the next run")
    ap.add_argument("--database-url", default=None)
    ap.add_argument("--pad-endpoints", type=int, default=0)
    ap.add_argument("--show", action="store_true", help="print every miss")
    ap.add_argument("--ids", default="", help="only these question ids (comma-separated), with their answers printed")
    args = ap.parse_args()
    questions = [json.loads(line) for line in Path(args.questions).read_text().splitlines() if line.strip()]
    only = {int(x) for x in args.ids.split(",") if x.strip()}
    if only:
        questions = [q for q in questions if q["id"] in only]
    corpora = Path(args.corpora)
    rt = Runtime.build(Settings(data_dir=args.data_dir or tempfile.mkdtemp(prefix="woes-agent-eval-"),
                                database_url=args.database_url, embedded_workers=0, log_level="WARNING"))
    upgrade(rt.db)
    t = time.perf_counter()
    agents: dict[str, tuple[uuid.UUID, uuid.UUID]] = {}
    for corpus_file in sorted({q["corpus_file"] for q in questions}):
        ws_id = _workspace(rt, f"eval {corpus_file}")
        src = _source(rt, ws_id, corpus_file, _corpus_files(corpora, corpus_file))
        agents[corpus_file] = (ws_id, _agent(rt, ws_id, [src]))
    print(f"{len(agents)} workspaces ready in {time.perf_counter() - t:.0f} s")
    with rt.db.reading() as s:  # warm the per-source caches, as a running server would have them
        for ws_id, agent_id in agents.values():
            ids = [uuid.UUID(x) for x in s.get(Agent, agent_id).source_ids]
            warm(s, [s.get(Source, x) for x in ids])
            search(s, ws_id, "warm up", ids, limit=1)
    res = _evaluate(rt, questions, agents, args.show, answers=bool(only))
    print(f"questions {res['n']}: first-citation Hit@1 {res['firstCitationHit1']:.2f} ({res['firstCitationHits']}/"
          f"{res['answerable']}) · must_mention coverage {res['mustMentionCoverage']:.2f} ({res['mustMentioned']}/"
          f"{res['mustMentionTotal']}) · answerable answered {res['answerableAnswered']:.2f} (refused "
          f"{res['answerableRefused']:.2f}) · unanswerable handed off/clarified {res['unanswerableHandedOffOrClarified']:.2f}")
    print(f"secrets leaked {res['secretsLeaked']} · unresolved citations {res['unresolvedCitations']} · "
          f"latency p50 {res['p50Ms']:.0f} ms, p95 {res['p95Ms']:.0f} ms")
    if args.pad_endpoints:
        ws_id = _workspace(rt, "eval padded")
        src_ids = [_source(rt, ws_id, cf, _corpus_files(corpora, cf)) for cf in sorted(agents)]
        with rt.db.reading() as s:
            have = s.scalar(select(func.count()).select_from(Endpoint).where(Endpoint.workspace_id == ws_id)) or 0
        if have < args.pad_endpoints:
            src_ids.append(_source(rt, ws_id, f"padding-{args.pad_endpoints}", [("pad.json", _padding_spec(args.pad_endpoints - have))]))
        with rt.db.reading() as s:
            total = s.scalar(select(func.count()).select_from(Endpoint).where(Endpoint.workspace_id == ws_id))
            chunks = s.scalar(select(func.count()).select_from(Chunk).where(Chunk.workspace_id == ws_id))
        agent_id = _agent(rt, ws_id, src_ids)
        with rt.db.reading() as s:
            warm(s, [s.get(Source, x) for x in src_ids])
            search(s, ws_id, "warm up", src_ids, limit=1)
        padded = _evaluate(rt, questions, dict.fromkeys(agents, (ws_id, agent_id)), False)
        print(f"one workspace, {total} endpoints / {chunks} chunks behind one agent: latency p50 {padded['p50Ms']:.0f} ms, "
              f"p95 {padded['p95Ms']:.0f} ms · first-citation Hit@1 {padded['firstCitationHit1']:.2f}")


if __name__ == "__main__":
    main()
