"""Scan every corpus file through the same path a user's upload takes; then rescan each unchanged.

    python bench/ingest.py [--corpora ../shared/corpora] [--only stripe,github] [--database-url ...]

Prints per file: status, operations, chunks, embedded chunks, scan seconds (parse / embed split),
process peak RSS; then the unchanged-rescan time as a share of the first scan (goal < 5%), and the
Stripe + GitHub REST total (goal < 30 s including embeddings on this 2-core machine).
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

from woes.config import Settings
from woes.events.service import SYSTEM
from woes.migrate import upgrade
from woes.runtime import Runtime
from woes.scans.pipeline import run_scan
from woes.sources.service import do_create_source, do_start_scan
from woes.workspaces.service import do_create_workspace

ROOT = Path(__file__).resolve().parents[1]


def corpus_sources(corpora: Path) -> list[tuple[str, list[Path]]]:
    out = []
    for f in sorted(corpora.rglob("*")):
        if f.is_file() and f.suffix in (".json", ".yaml", ".yml", ".graphql", ".proto", ".wsdl") and "markdown" not in f.parts:
            out.append((str(f.relative_to(corpora)), [f]))
    md = corpora / "markdown" / "discord"
    if md.is_dir():
        out.append(("markdown/discord", sorted(md.glob("*.md"))))
    return out


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpora", default=str(ROOT.parent / "shared" / "corpora"))
    ap.add_argument("--only", default="", help="comma-separated substrings of file names")
    ap.add_argument("--database-url", default=None)
    args = ap.parse_args()
    corpora = Path(args.corpora)
    if not corpora.is_dir():
        sys.exit(f"no corpora at {corpora}")
    settings = Settings(data_dir=tempfile.mkdtemp(prefix="woes-ingest-"), database_url=args.database_url, embedded_workers=0,
                        log_level="WARNING")
    rt = Runtime.build(settings)
    upgrade(rt.db)
    with rt.db.transaction() as s:
        ws = do_create_workspace(s, name="ingest", actor=SYSTEM)
    only = [x for x in args.only.split(",") if x]
    rows, first_total, rescan_total, big_two = [], 0.0, 0.0, 0.0
    print(f"{'source':48} {'status':9} {'ops':>5} {'chunks':>6} {'embedded':>8} {'scan s':>7} {'parse s':>7} {'embed s':>7} {'rescan s':>8} {'peak RSS MB':>11}")
    for name, paths in corpus_sources(corpora):
        if only and not any(o in name for o in only):
            continue
        files = [(p.name if len(paths) == 1 else p.name, p.read_bytes()) for p in paths]
        with rt.db.transaction() as s:
            src, scan = do_create_source(s, ws.id, name=name, type_="auto", actor=SYSTEM, files=files)
        t = time.perf_counter()
        scan = run_scan(rt.db, ws.id, src.id, scan.id)
        first = time.perf_counter() - t
        with rt.db.transaction() as s:
            again = do_start_scan(s, ws.id, src.id, SYSTEM)
        t = time.perf_counter()
        again = run_scan(rt.db, ws.id, src.id, again.id)
        rescan = time.perf_counter() - t
        assert again.unchanged and again.counts.get("embedded", 0) == 0
        first_total += first
        rescan_total += rescan
        if "stripe-spec3" in name or "api.github.com" in name:
            big_two += first
        c = scan.counts
        print(f"{name:48} {scan.status:9} {c.get('endpoints', 0):5d} {c.get('chunks', 0):6d} {c.get('embedded', 0):8d} {first:7.1f} "
              f"{scan.timings.get('parseMs', 0) / 1000:7.1f} {scan.timings.get('embedMs', 0) / 1000:7.1f} {rescan:8.3f} {rss_mb():11.0f}")
        if scan.errors:
            print(f"    {len(scan.errors)} issue(s), first: {scan.errors[0]}")
        rows.append((name, scan.status))
    print(f"\nall sources: first scans {first_total:.1f} s; unchanged rescans {rescan_total:.2f} s "
          f"({100 * rescan_total / max(first_total, 1e-9):.2f}% of the first scans; goal < 5%)")
    if big_two:
        print(f"Stripe + GitHub REST first scans: {big_two:.1f} s (goal < 30 s)")
    print(f"peak RSS {rss_mb():.0f} MB; database {'postgresql' if args.database_url else 'sqlite'}")


if __name__ == "__main__":
    main()
