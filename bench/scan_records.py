"""Scan every corpus file through the upload path and write what was stored, to compare two versions.

    python bench/scan_records.py --out records.json [--corpora ../shared/corpora] [--database-url ...]
    python bench/scan_records.py --compare before.json after.json

The first form scans each corpus file (as bench/ingest.py does) and writes, per source, its detected
type, title, version, auth schemes and counts, every endpoint record (every stored column but ids and
times), every document and every chunk (kind, ordinal, heading, text, hash, the record it belongs to).
Embeddings are left out (their bytes depend on the float runtime), their presence is kept. The second
form prints, per source, whether the two files agree and the first difference if not; it exits 1 on
any difference. Used to show that a refactor leaves the scan output unchanged.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy import select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

ENDPOINT_COLUMNS = ("record_key", "operation_key", "method", "path", "operation_id", "summary", "description", "tags",
                    "parameters", "request_body", "responses", "auth", "servers", "examples", "extra", "deprecated",
                    "markdown", "content_hash")


def snapshot(corpora: Path, database_url: str | None) -> dict[str, Any]:
    from ingest import corpus_sources

    from woes.config import Settings
    from woes.events.service import SYSTEM
    from woes.migrate import upgrade
    from woes.runtime import Runtime
    from woes.scans.pipeline import run_scan
    from woes.sources.models import Chunk, Document, Endpoint, Source
    from woes.sources.service import do_create_source
    from woes.workspaces.service import do_create_workspace

    settings = Settings(data_dir=tempfile.mkdtemp(prefix="woes-records-"), database_url=database_url, embedded_workers=0,
                        log_level="WARNING")
    rt = Runtime.build(settings)
    upgrade(rt.db)
    with rt.db.transaction() as s:
        ws = do_create_workspace(s, name="records", actor=SYSTEM)
    out: dict[str, Any] = {}
    for name, paths in corpus_sources(corpora):
        files = [(p.name, p.read_bytes()) for p in paths]
        with rt.db.transaction() as s:
            src, scan = do_create_source(s, ws.id, name=name, type_="auto", actor=SYSTEM, files=files)
        scan = run_scan(rt.db, ws.id, src.id, scan.id)
        with rt.db.session() as s:
            source = s.get(Source, src.id)
            endpoints = s.scalars(select(Endpoint).where(Endpoint.source_id == src.id).order_by(Endpoint.record_key)).all()
            documents = s.scalars(select(Document).where(Document.source_id == src.id).order_by(Document.path)).all()
            chunks = s.scalars(select(Chunk).where(Chunk.source_id == src.id)).all()
            keys = {e.id: e.record_key for e in endpoints}
            paths_ = {d.id: d.path for d in documents}
            out[name] = {
                "status": scan.status,
                "source": {"detectedType": source.detected_type, "title": source.title, "version": source.version,
                           "authSchemes": source.auth_schemes, "counts": {k: v for k, v in source.counts.items()}},
                "scanErrors": scan.errors,
                "endpoints": [{c: getattr(e, c) for c in ENDPOINT_COLUMNS} for e in endpoints],
                "documents": [{"title": d.title, "path": d.path, "markdown": d.markdown, "contentHash": d.content_hash}
                              for d in documents],
                "chunks": sorted(({"kind": c.kind, "ordinal": c.ordinal, "heading": c.heading, "text": c.text,
                                   "contentHash": c.content_hash, "embedded": c.embedding is not None,
                                   "endpoint": keys.get(c.endpoint_id), "document": paths_.get(c.document_id)}
                                  for c in chunks),
                                 key=lambda c: (c["endpoint"] or "", c["document"] or "", c["kind"], c["ordinal"], c["contentHash"])),
            }
        digest = hashlib.sha256(json.dumps(out[name], sort_keys=True, default=str).encode()).hexdigest()[:16]
        print(f"{name:48} {scan.status:9} endpoints {len(out[name]['endpoints']):5d} chunks {len(out[name]['chunks']):6d} {digest}")
    return out


def first_difference(a: Any, b: Any, where: str = "") -> str | None:
    if type(a) is not type(b):
        return f"{where}: {type(a).__name__} vs {type(b).__name__}"
    if isinstance(a, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                return f"{where}.{k}: only in {'after' if k not in a else 'before'}"
            d = first_difference(a[k], b[k], f"{where}.{k}")
            if d:
                return d
        return None
    if isinstance(a, list):
        for i, (x, y) in enumerate(zip(a, b, strict=False)):
            d = first_difference(x, y, f"{where}[{i}]")
            if d:
                return d
        return None if len(a) == len(b) else f"{where}: {len(a)} items vs {len(b)}"
    return None if a == b else f"{where}: {str(a)[:300]!r} vs {str(b)[:300]!r}"


def compare(before: Path, after: Path) -> int:
    a, b = json.loads(before.read_text()), json.loads(after.read_text())
    bad = 0
    for name in sorted(set(a) | set(b)):
        d = first_difference(a.get(name), b.get(name), name)
        print(f"{name:48} {'same' if d is None else 'DIFFERENT: ' + d}")
        bad += d is not None
    print(f"\n{len(set(a) | set(b)) - bad} of {len(set(a) | set(b))} sources store the same records")
    return 1 if bad else 0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpora", default=str(ROOT.parent / "shared" / "corpora"))
    ap.add_argument("--database-url", default=None)
    ap.add_argument("--out")
    ap.add_argument("--compare", nargs=2, metavar=("BEFORE", "AFTER"))
    args = ap.parse_args()
    if args.compare:
        sys.exit(compare(Path(args.compare[0]), Path(args.compare[1])))
    if not args.out:
        ap.error("--out or --compare is required")
    data = snapshot(Path(args.corpora), args.database_url)
    Path(args.out).write_text(json.dumps(data, sort_keys=True, default=str, indent=1))


if __name__ == "__main__":
    main()
