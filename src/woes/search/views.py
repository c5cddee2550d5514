"""Search hits as the API and the agents show them: endpoint or chunk, title, path, a snippet around the
question's words, score and signals."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, load_only

from woes.core.redaction import redact
from woes.search.analysis import analyse
from woes.search.fusion import Hit
from woes.sources.models import Chunk, Endpoint


def _snippet(text_: str, terms: list[str], width: int = 240) -> str:
    flat = " ".join(text_.split())
    low = flat.lower()
    pos = min((low.find(t) for t in terms if low.find(t) >= 0), default=0)
    start = max(0, pos - 60)
    out = flat[start:start + width]
    return ("…" if start else "") + out + ("…" if start + width < len(flat) else "")


def results_view(session: Session, hits: list[Hit], q: str) -> list[dict[str, Any]]:
    from woes.sources.models import Document

    terms = analyse(redact(q)).terms
    ep_ids = [h.id for h in hits if h.kind == "endpoint"]
    eps = {e.id: e for e in session.scalars(select(Endpoint).options(load_only(
        Endpoint.id, Endpoint.source_id, Endpoint.operation_key, Endpoint.method, Endpoint.path, Endpoint.summary,
        Endpoint.description)).where(Endpoint.id.in_(ep_ids)))} if ep_ids else {}
    chunk_ids = [h.chunk_id for h in hits if h.chunk_id]
    chunks = {c.id: c for c in session.scalars(select(Chunk).where(Chunk.id.in_(chunk_ids)))} if chunk_ids else {}
    doc_ids = [c.document_id for c in chunks.values() if c.document_id]
    docs = {d.id: d for d in session.scalars(select(Document).where(Document.id.in_(doc_ids)))} if doc_ids else {}
    out = []
    for h in hits:
        chunk = chunks.get(h.chunk_id) if h.chunk_id else None
        if h.kind == "endpoint":
            e = eps.get(h.id)
            if e is None:
                continue
            out.append({"kind": "endpoint", "id": str(e.id), "sourceId": str(e.source_id), "operationKey": e.operation_key,
                        "method": e.method, "path": e.path, "title": e.summary or e.operation_key,
                        "snippet": _snippet(chunk.text if chunk else (e.description or e.summary or ""), terms),
                        "score": round(h.score, 6), "signals": h.signals})
        elif chunk is not None:
            d = docs.get(chunk.document_id) if chunk.document_id else None
            out.append({"kind": "chunk", "id": str(chunk.id), "sourceId": str(chunk.source_id), "operationKey": None,
                        "method": None, "path": d.path if d else None, "title": chunk.heading or (d.title if d else None),
                        "documentId": str(chunk.document_id) if chunk.document_id else None,
                        "snippet": _snippet(chunk.text, terms), "score": round(h.score, 6), "signals": h.signals})
    return out
