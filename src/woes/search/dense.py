"""The dense stage: chunks ranked by the cosine similarity of their MiniLM vectors (`woes.search.embedder`)
to the question's. pgvector on a PostgreSQL database that has the extension (`woes.search.vectors`); an
exact numpy product over per-source matrices cached per scan (`VECTORS`) otherwise."""

from __future__ import annotations

import threading
import uuid

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from woes.core.caching import remember
from woes.search import vectors
from woes.sources.models import Chunk, Source

DENSE_CANDIDATES = 150


class _VectorCache:
    """Per-source matrices of chunk vectors, rebuilt when the source's last scan changes."""

    def __init__(self) -> None:
        self._data: dict[uuid.UUID, tuple[uuid.UUID | None, np.ndarray, list[tuple[uuid.UUID, uuid.UUID | None]]]] = {}
        self._lock = threading.Lock()

    def get(self, session: Session, source: Source) -> tuple[np.ndarray, list[tuple[uuid.UUID, uuid.UUID | None]]]:
        cached = self._data.get(source.id)
        if cached is not None and cached[0] == source.last_scan_id:
            return cached[1], cached[2]
        rows = session.execute(select(Chunk.id, Chunk.endpoint_id, Chunk.embedding).where(
            Chunk.source_id == source.id, Chunk.embedding.is_not(None))).all()
        ids = [(r[0], r[1]) for r in rows]
        matrix = np.frombuffer(b"".join(r[2] for r in rows), dtype=np.float32).reshape(len(rows), -1) if rows else np.zeros((0, 384), np.float32)
        with self._lock:
            remember(self._data, source.id, (source.last_scan_id, matrix, ids))
        return matrix, ids


VECTORS = _VectorCache()


def rank_chunks(session: Session, sources: list[Source], query: str, limit: int) -> list[tuple[uuid.UUID, float]]:
    """Chunks of these sources nearest to the question: (chunk id, cosine similarity), best first."""
    from woes.search.embedder import get_embedder

    qv = get_embedder().embed_one(query)
    if vectors.pgvector_enabled(session):
        return vectors.nearest(session, [s.id for s in sources], qv, limit)
    out: list[tuple[uuid.UUID, float]] = []
    for src in sources:
        matrix, ids = VECTORS.get(session, src)
        if not len(ids):
            continue
        scores = matrix @ qv
        top = np.argpartition(-scores, min(limit, len(scores) - 1))[:limit] if len(scores) > limit else np.arange(len(scores))
        out += [(ids[i][0], float(scores[i])) for i in top]
    out.sort(key=lambda x: -x[1])
    return out[:limit]
