"""Retrieval quality and latency on the labelled developer questions.

    python bench/retrieval.py [--questions ../shared/eval/questions.jsonl] [--corpora ../shared/corpora] [--show-misses]

Each answerable question searches only the source made from its `corpus_file` (scanned through the
normal upload path). Prints Hit@1/5/10 and MRR@10 overall and per api, and median/p95 query latency.
A hit is an endpoint result whose operation key is one of the question's expected operations.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from woes.config import Settings
from woes.events.service import SYSTEM
from woes.migrate import upgrade
from woes.runtime import Runtime
from woes.scans.pipeline import run_scan
from woes.search import results_view, search, warm
from woes.sources.service import do_create_source
from woes.workspaces.service import do_create_workspace

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--questions", default=str(ROOT.parent / "shared" / "eval" / "questions.jsonl"))
    ap.add_argument("--corpora", default=str(ROOT.parent / "shared" / "corpora"))
    ap.add_argument("--database-url", default=None)
    ap.add_argument("--show-misses", action="store_true")
    ap.add_argument("--data-dir", default=None, help="keep the scanned sources here and reuse them on the next run")
    args = ap.parse_args()
    questions = [json.loads(line) for line in Path(args.questions).read_text().splitlines() if line.strip()]
    answerable = [q for q in questions if q["answerable"]]
    rt = Runtime.build(Settings(data_dir=args.data_dir or tempfile.mkdtemp(prefix="woes-retrieval-"),
                                database_url=args.database_url, embedded_workers=0, log_level="WARNING"))
    upgrade(rt.db)
    from sqlalchemy import select

    from woes.sources.models import Source
    from woes.workspaces.models import Workspace

    with rt.db.transaction() as s:
        ws = s.scalar(select(Workspace).where(Workspace.name == "retrieval")) or do_create_workspace(s, name="retrieval", actor=SYSTEM)
        sources = {src.name: src.id for src in s.scalars(select(Source).where(Source.workspace_id == ws.id, Source.status == "ready"))}
    t = time.perf_counter()
    for corpus_file in sorted({q["corpus_file"] for q in answerable} - set(sources)):
        path = Path(args.corpora) / corpus_file
        paths = sorted(path.glob("*.md")) if path.is_dir() else [path]
        with rt.db.transaction() as s:
            src, scan = do_create_source(s, ws.id, name=corpus_file, type_="auto", actor=SYSTEM,
                                         files=[(p.name, p.read_bytes()) for p in paths])
        run_scan(rt.db, ws.id, src.id, scan.id)
        sources[corpus_file] = src.id
    print(f"scanned {len(sources)} sources in {time.perf_counter() - t:.0f} s")

    t = time.perf_counter()
    with rt.db.reading() as s:  # build the per-source caches (vectors, endpoint BM25) once, as a server would
        for sid in sources.values():
            warm(s, [s.get(Source, sid)])
            search(s, ws.id, "warm up", [sid], limit=1)
    print(f"warmed per-source caches in {time.perf_counter() - t:.1f} s")
    ranks: list[int | None] = []
    by_api: dict[str, list[int | None]] = defaultdict(list)
    latencies = []
    misses = []
    for q in answerable:
        with rt.db.reading() as s:
            t = time.perf_counter()
            hits, _info = search(s, ws.id, q["question"], [sources[q["corpus_file"]]], limit=10)
            latencies.append((time.perf_counter() - t) * 1000)
            results = results_view(s, hits, q["question"])
        expected = set(q["expected_operations"])
        rank = next((i + 1 for i, r in enumerate(results) if r["kind"] == "endpoint" and r["operationKey"] in expected), None)
        ranks.append(rank)
        by_api[q["api"]].append(rank)
        if rank != 1:
            misses.append((q["id"], q["api"], rank, q["expected_operations"], [r.get("operationKey") for r in results[:3]],
                           q["question"][:110]))

    def summary(rs: list[int | None]) -> str:
        n = len(rs)
        h = lambda k: sum(1 for r in rs if r is not None and r <= k) / n  # noqa: E731
        mrr = sum(1 / r for r in rs if r is not None and r <= 10) / n
        return f"n={n:3d}  Hit@1 {h(1):.2f}  Hit@5 {h(5):.2f}  Hit@10 {h(10):.2f}  MRR@10 {mrr:.2f}"

    print("overall  " + summary(ranks))
    for api in sorted(by_api):
        print(f"  {api:16} {summary(by_api[api])}")
    lat = sorted(latencies)
    print(f"latency  median {statistics.median(lat):.1f} ms, p95 {lat[int(0.95 * (len(lat) - 1))]:.1f} ms "
          f"({'postgresql' if args.database_url else 'sqlite'})")
    if args.show_misses:
        for m in misses:
            print("  miss", m)


if __name__ == "__main__":
    main()
