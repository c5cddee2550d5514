"""A scan: load the source's files → detect/parse with its importer → upsert endpoints and documents by
content hash → rebuild chunks only for what changed (reusing stored embeddings by chunk hash).

Idempotent: unchanged files (same content hash) end the scan at once, re-parsing and re-embedding
nothing; a changed source reports the added/changed/removed endpoints ("coverage changed")."""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import delete, select
from sqlalchemy.exc import OperationalError

from woes.core.redaction import redact, redact_json
from woes.db import Database, utcnow
from woes.events.service import Actor, record_event
from woes.importers import evidence
from woes.importers.base import ImportContext, ImportError_, ImportResult, SourceFile
from woes.importers.schema_fields import gc_paused
from woes.search import chunking
from woes.search import vectors as vector_store
from woes.sources.models import Chunk, Document, Endpoint, Scan, Source
from woes.sources.models import SourceFile as SourceFileRow

log = logging.getLogger("woes.scans")
SCAN_ACTOR = Actor("system", "scanner")
# A scan embeds its chunks on this many threads at once, one per core (see embedder.embed).
EMBED_THREADS = max(1, min(4, os.cpu_count() or 1))


@dataclass
class ChunkPlan:
    owner: tuple[str, str]  # ("endpoint", operation_key) | ("document", path)
    items: list[chunking.ChunkText] = field(default_factory=list)


class ScanFailed(Exception):
    def __init__(self, reason: str, where: str = "") -> None:
        super().__init__(reason)
        self.reason, self.where = reason, where


def files_hash(files: list[SourceFile]) -> str:
    h = hashlib.sha256()
    for f in sorted(files, key=lambda f: f.path):
        h.update(f.path.encode() + b"\0" + hashlib.sha256(f.data).digest())
    return h.hexdigest()


def _chunk_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def parse_files(files: list[SourceFile], declared_type: str, ctx: ImportContext) -> ImportResult:
    from woes.importers.detect import IMPORTERS, detect_format, load_importers

    load_importers()
    fmt = declared_type
    if declared_type == "auto":
        fmt, _confidence = detect_format(files)
    importer = IMPORTERS.get(fmt)
    if importer is None:
        raise ScanFailed(f"No importer for type '{fmt}'.")
    return importer.parse(files, ctx)


def _embed(texts: list[str]) -> tuple[list[bytes], str]:
    from woes.search.embedder import get_embedder

    emb = get_embedder()
    if not texts:
        return [], emb.model_id
    vectors = emb.embed(texts, max_tokens=chunking.EMBED_MAX_TOKENS, threads=EMBED_THREADS)
    return [np.asarray(v, dtype=np.float32).tobytes() for v in vectors], emb.model_id


def _timed_embed(texts: list[str]) -> tuple[list[bytes], str, float]:
    t = time.perf_counter()
    vectors, model_id = _embed(texts)
    return vectors, model_id, time.perf_counter() - t


def _nothing_fetched(url: str | None, skipped: list[dict[str, str]]) -> str:
    """Why a crawl produced no page: the first pages it skipped, with their reasons."""
    shown = "; ".join(f"{sk['where']}: {sk['reason']}" for sk in skipped[:3])
    more = f" (and {len(skipped) - 3} more)" if len(skipped) > 3 else ""
    return f"No page of {url} could be read: {shown}{more}."


def run_scan(db: Database, workspace_id: uuid.UUID, source_id: uuid.UUID, scan_id: uuid.UUID,
             ctx: ImportContext | None = None) -> Scan:
    """Run one scan to its end state (completed | partial | failed). Safe to re-run (a job retry)."""
    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    with db.transaction() as s:
        scan = s.scalar(select(Scan).where(Scan.id == scan_id, Scan.workspace_id == workspace_id))
        source = s.scalar(select(Source).where(Source.id == source_id, Source.workspace_id == workspace_id))
        if scan is None or source is None:
            raise LookupError("scan or source vanished")
        if scan.status in ("completed", "partial", "failed"):
            return scan
        scan.status, scan.started_at = "running", utcnow()
        source.status = "scanning"
        files = [SourceFile(r.path, r.data) for r in s.scalars(select(SourceFileRow).where(SourceFileRow.source_id == source_id))]
        previous_hash = source.content_hash if source.last_scan_id else None
        declared = source.type
        origin, url, options, git_path = source.origin, source.url, dict(source.options or {}), source.git_path
    try:
        t = time.perf_counter()
        skipped: list[dict[str, str]] = []
        if origin == "url":
            files, skipped = fetch_url_files(url, declared, options)
        elif origin == "git":
            files = fetch_git_files(url, git_path)
        timings["fetchMs"] = round((time.perf_counter() - t) * 1000, 1)
        digest = files_hash(files)
        if not files:
            if skipped:
                raise ScanFailed(_nothing_fetched(url, skipped), url or "")
            raise ScanFailed("The source has no files.")
        if previous_hash == digest:
            return _finish_unchanged(db, workspace_id, source_id, scan_id, timings, t0)
        # Parsing and storing a large spec make millions of small objects and free few: the cyclic
        # collector's passes over them would cost ~10% of the scan, so it waits until the scan is written.
        with gc_paused():
            t = time.perf_counter()
            try:
                result = parse_files(files, declared, ctx or _default_context())
            except ImportError_ as exc:
                raise ScanFailed(exc.reason, exc.where) from None
            timings["parseMs"] = round((time.perf_counter() - t) * 1000, 1)
            return _apply(db, workspace_id, source_id, scan_id, result, digest, timings, t0, skipped)
    except ScanFailed as exc:
        return _fail(db, workspace_id, source_id, scan_id, exc.reason, exc.where, timings, t0)
    except OperationalError:
        raise  # the database itself: the job is retried
    except Exception as exc:  # a bug or a crashed dependency (the embedding model): never leave the scan running
        log.exception("scan %s of source %s stopped on an internal error", scan_id, source_id)
        reason = (f"The scan stopped on an internal error ({type(exc).__name__}). The source keeps the evidence "
                  "of its last completed scan; start a new scan to retry.")
        return _fail(db, workspace_id, source_id, scan_id, reason, "scan", timings, t0)


def _default_context() -> ImportContext:
    """Remote references ($ref to another host, WSDL imports) go through the safe-fetch policy."""
    from woes.config import get_settings

    return ImportContext(fetch=get_settings().safe_fetcher().fetch_bytes)


def fetch_git_files(url: str | None, git_path: str | None) -> list[SourceFile]:
    from woes.config import get_settings
    from woes.sources.gitsource import GitSourceError, clone_files

    if not url:
        raise ScanFailed("The source has no repository URL.")
    try:
        return [SourceFile(p, d) for p, d in clone_files(url, get_settings().safe_fetcher(), git_path)]
    except GitSourceError as exc:
        raise ScanFailed(str(exc), url) from None


def fetch_url_files(url: str | None, declared: str, options: dict[str, Any]) -> tuple[list[SourceFile], list[dict[str, str]]]:
    """The files of a URL source (one document, or the pages of a crawl) and the pages skipped, with reasons."""
    from woes.config import get_settings
    from woes.core.safefetch import FetchFailed, FetchRefused

    if not url:
        raise ScanFailed("The source has no URL.")
    fetcher = get_settings().safe_fetcher()
    try:
        if declared == "website":
            from woes.sources.crawl import crawl

            result = crawl(url, fetcher, max_pages=int(options.get("maxPages", 200)), max_depth=int(options.get("maxDepth", 3)),
                           max_bytes=int(options.get("maxBytes", 20_000_000)))
            return ([SourceFile(p.url, p.markdown.encode()) for p in result.pages],
                    [{"where": sk.url, "reason": sk.reason} for sk in result.skipped])
        got = fetcher.get(url)
    except (FetchRefused, FetchFailed) as exc:
        raise ScanFailed(f"Fetching {url} failed: {exc}", url) from None
    if got.status >= 400:
        raise ScanFailed(f"Fetching {url} answered HTTP {got.status}.", url)
    name = url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1] or "index"
    return [SourceFile(name, got.content)], []


def _plan_chunks(rec_by_key: dict[str, dict[str, Any]], docs: dict[str, Any]) -> list[ChunkPlan]:
    plans = [ChunkPlan(("endpoint", k), chunking.endpoint_chunks(r)) for k, r in rec_by_key.items()]
    plans += [ChunkPlan(("document", p), chunking.chunk_markdown(d.markdown, d.title)) for p, d in docs.items()]
    return plans


def _apply(db: Database, workspace_id: uuid.UUID, source_id: uuid.UUID, scan_id: uuid.UUID, result: ImportResult,
           digest: str, timings: dict[str, float], t0: float, skipped: list[dict[str, str]]) -> Scan:
    t = time.perf_counter()
    # Everything stored from the source's content is redacted (endpoint records in evidence.record).
    issues = [{"where": redact(i.where), "reason": redact(i.reason), "severity": i.severity} for i in result.issues]
    issues += [{"where": redact(x["where"]), "reason": redact(x["reason"]), "severity": "skipped"} for x in skipped]
    records: dict[str, dict[str, Any]] = {}  # by record key (unique per source)
    for ep in result.endpoints:
        rec = evidence.record(ep)
        key = rec["operation_key"]
        if key in records:  # the same operation twice (e.g. two Postman requests): keep both, distinguished
            base = f"{key} [{rec.get('operation_id') or 'variant'}]"
            key, n = base, 2
            while key in records:
                key, n = f"{base} ({n})", n + 1
        rec["record_key"] = key[:700]
        records[rec["record_key"]] = rec
    docs = {}
    for d in result.documents:
        if d.path[:2048] not in docs:
            docs[d.path[:2048]] = dataclasses.replace(d, title=redact(d.title), markdown=redact(d.markdown))
    with db.transaction() as s:
        source = s.get(Source, source_id)
        existing = {e.record_key: e for e in s.scalars(select(Endpoint).where(Endpoint.source_id == source_id))}
        existing_docs = {d.path: d for d in s.scalars(select(Document).where(Document.source_id == source_id))}
        first_scan = source.last_scan_id is None
        # What changed, by content hash: only these endpoints and documents get new rows and chunks.
        record_hashes = {key: evidence.content_hash(rec) for key, rec in records.items()}
        touched_keys = [k for k, h in record_hashes.items() if k not in existing or existing[k].content_hash != h]
        doc_hashes = {p: hashlib.sha256((d.title + "\0" + d.markdown).encode()).hexdigest() for p, d in docs.items()}
        touched_paths = [p for p, h in doc_hashes.items() if p not in existing_docs or existing_docs[p].content_hash != h]

        # Chunks are planned before any row is written, so that the embedding model (C++ threads) runs in
        # the background while this thread writes the rows; embeddings are reused by (source, chunk hash).
        t_chunk = time.perf_counter()
        plans = _plan_chunks({k: records[k] for k in touched_keys}, {p: docs[p] for p in touched_paths})
        old_owners = [existing[k].id for k in touched_keys if k in existing] + [existing_docs[p].id for p in touched_paths if p in existing_docs]
        old_chunks = list(s.scalars(select(Chunk).where(Chunk.source_id == source_id)
                                    .where((Chunk.endpoint_id.in_(old_owners)) | (Chunk.document_id.in_(old_owners))))) if old_owners else []
        reusable = {c.content_hash: (c.embedding, c.embedding_model) for c in old_chunks if c.embedding is not None and c.embedding_model}
        planned = [(plan, i, ct, _chunk_hash(ct.text)) for plan in plans for i, ct in enumerate(plan.items)]
        to_embed = [n for n, (_plan, _i, ct, h) in enumerate(planned) if ct.embed and h not in reusable]
        timings["chunkMs"] = round((time.perf_counter() - t_chunk) * 1000, 1)
        with ThreadPoolExecutor(1, thread_name_prefix="scan-embed") as background:
            embedding = background.submit(_timed_embed, [chunking.embedding_text(planned[n][2].text) for n in to_embed])
            added, changed, removed = [], [], []
            touched_endpoints: dict[str, Endpoint] = {}
            now = utcnow()
            for key in touched_keys:
                rec, row = records[key], existing.get(key)
                if row is None:
                    row = Endpoint(workspace_id=workspace_id, source_id=source_id, created_at=now, **rec)
                    s.add(row)
                    added.append(key)
                else:
                    for k, v in rec.items():
                        setattr(row, k, v)
                    changed.append(key)
                row.markdown, row.content_hash, row.updated_at = evidence.markdown(rec), record_hashes[key], now
                touched_endpoints[key] = row
            for key, row in existing.items():
                if key not in records:
                    removed.append(key)
                    s.delete(row)
            touched_docs: dict[str, Document] = {}
            for path in touched_paths:
                d, row = docs[path], existing_docs.get(path)
                if row is None:
                    row = Document(workspace_id=workspace_id, source_id=source_id, path=path, created_at=now, title="", markdown="", content_hash="")
                    s.add(row)
                row.title, row.markdown, row.content_hash, row.updated_at = d.title[:500], d.markdown, doc_hashes[path], now
                touched_docs[path] = row
            for path, row in existing_docs.items():
                if path not in docs:
                    s.delete(row)
            if old_chunks:
                s.execute(delete(Chunk).where(Chunk.id.in_([c.id for c in old_chunks])))
            s.flush()
            new_chunks: list[Chunk] = []
            for plan, i, ct, h in planned:
                kind, ref = plan.owner
                owner_row = touched_endpoints[ref] if kind == "endpoint" else touched_docs[ref]
                chunk = Chunk(
                    workspace_id=workspace_id, source_id=source_id, kind=ct.kind, ordinal=i, heading=(ct.heading or "")[:500] or None,
                    text=ct.text, content_hash=h, created_at=now,
                    endpoint_id=owner_row.id if kind == "endpoint" else None,
                    document_id=owner_row.id if kind == "document" else None)
                if ct.embed and h in reusable:
                    chunk.embedding, chunk.embedding_model = reusable[h]
                new_chunks.append(chunk)
            timings["upsertMs"] = round((time.perf_counter() - t) * 1000, 1)
            t = time.perf_counter()
            vectors, model_id, embed_seconds = embedding.result()
        timings["embedMs"] = round(embed_seconds * 1000, 1)
        timings["embedWaitMs"] = round((time.perf_counter() - t) * 1000, 1)
        for n, v in zip(to_embed, vectors, strict=True):
            new_chunks[n].embedding, new_chunks[n].embedding_model = v, model_id
        s.add_all(new_chunks)
        s.flush()
        vector_store.store(s, [(c.id, c.embedding) for c in new_chunks])

        counts = {
            "endpoints": len(records), "documents": len(docs),
            "chunks": s.query(Chunk).filter(Chunk.source_id == source_id).count(),
            "skipped": sum(1 for i in issues if i["severity"] in ("error", "skipped")),
            "errors": sum(1 for i in issues if i["severity"] == "error"),
            "embedded": len(to_embed), "reusedEmbeddings": sum(1 for _p, _i, ct, _h in planned if ct.embed) - len(to_embed),
        }
        status = "partial" if any(i["severity"] in ("error", "skipped") for i in issues) else "completed"
        coverage = {"added": sorted(added), "changed": sorted(changed), "removed": sorted(removed)}
        timings["totalMs"] = round((time.perf_counter() - t0) * 1000, 1)
        scan = s.get(Scan, scan_id)
        scan.status, scan.finished_at, scan.counts, scan.errors = status, utcnow(), counts, issues[:500]
        scan.timings, scan.coverage = timings, coverage
        source.status = "ready" if status == "completed" else "partial"
        source.detected_type, source.title, source.version = (result.format, redact(result.title or "")[:300] or None,
                                                              redact(result.version or "")[:100] or None)
        source.content_hash, source.last_scan_id, source.updated_at = digest, scan_id, utcnow()
        source.auth_schemes = redact_json([evidence.record_auth(a) for a in result.auth_schemes])
        source.counts = {k: counts[k] for k in ("endpoints", "documents", "chunks")}
        s.flush()
        from woes.sources.service import scan_view, source_view

        record_event(s, workspace_id=workspace_id, type="source.scan_completed", resource_type="source", resource_id=source_id,
                     data={"source": source_view(source), "scan": scan_view(scan)}, actor=SCAN_ACTOR)
        if not first_scan and (added or changed or removed):
            record_event(s, workspace_id=workspace_id, type="source.coverage_changed", resource_type="source",
                         resource_id=source_id, data={"sourceId": str(source_id), "scanId": str(scan_id), **coverage},
                         actor=SCAN_ACTOR)
        return scan


def _finish_unchanged(db: Database, workspace_id: uuid.UUID, source_id: uuid.UUID, scan_id: uuid.UUID,
                      timings: dict[str, float], t0: float) -> Scan:
    with db.transaction() as s:
        source = s.get(Source, source_id)
        scan = s.get(Scan, scan_id)
        previous = s.get(Scan, source.last_scan_id) if source.last_scan_id else None
        timings["totalMs"] = round((time.perf_counter() - t0) * 1000, 1)
        scan.status = previous.status if previous and previous.status in ("completed", "partial") else "completed"
        scan.unchanged, scan.finished_at, scan.timings = True, utcnow(), timings
        scan.counts = {**(previous.counts if previous else {}), "embedded": 0, "reusedEmbeddings": 0}
        scan.errors = list(previous.errors) if previous else []
        scan.coverage = {"added": [], "changed": [], "removed": []}
        source.status = "ready" if scan.status == "completed" else "partial"
        source.last_scan_id, source.updated_at = scan_id, utcnow()
        s.flush()
        from woes.sources.service import scan_view, source_view

        record_event(s, workspace_id=workspace_id, type="source.scan_completed", resource_type="source", resource_id=source_id,
                     data={"source": source_view(source), "scan": scan_view(scan)}, actor=SCAN_ACTOR)
        return scan


def _fail(db: Database, workspace_id: uuid.UUID, source_id: uuid.UUID, scan_id: uuid.UUID, reason: str, where: str,
          timings: dict[str, float], t0: float) -> Scan:
    with db.transaction() as s:
        source = s.get(Source, source_id)
        scan = s.get(Scan, scan_id)
        timings["totalMs"] = round((time.perf_counter() - t0) * 1000, 1)
        scan.status, scan.finished_at, scan.timings = "failed", utcnow(), timings
        scan.errors = [{"where": where, "reason": reason, "severity": "error"}]
        scan.counts = {"endpoints": 0, "documents": 0, "chunks": 0, "skipped": 0, "errors": 1}
        # A failed rescan keeps the evidence (and the status) of the last good scan.
        last_good = s.get(Scan, source.last_scan_id) if source.last_scan_id else None
        source.status = "failed" if last_good is None else ("partial" if last_good.status == "partial" else "ready")
        source.updated_at = utcnow()
        s.flush()
        from woes.sources.service import scan_view, source_view

        record_event(s, workspace_id=workspace_id, type="source.scan_failed", resource_type="source", resource_id=source_id,
                     data={"source": source_view(source), "scan": scan_view(scan)}, actor=SCAN_ACTOR)
        return scan
