"""Nearest chunks by embedding: pgvector on PostgreSQL when the extension is installed (migration 0009 adds
`chunks.embedding_vec` then), exact numpy cosine over cached per-source matrices otherwise (SQLite, or a
PostgreSQL without the extension). Both rank by the same cosine similarity of the same vectors."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterable
from typing import Any

import numpy as np
from sqlalchemy import text
from sqlalchemy.orm import Session

DIM = 384
COLUMN = "embedding_vec"
_enabled: dict[str, bool] = {}
_lock = threading.Lock()


def pgvector_enabled(session: Session) -> bool:
    """True on a PostgreSQL database whose chunks table has the pgvector column (checked once per database)."""
    bind = session.get_bind()
    if bind.dialect.name != "postgresql":
        return False
    key = bind.url.render_as_string(hide_password=True)
    if key not in _enabled:
        found = session.execute(text(
            "SELECT 1 FROM information_schema.columns WHERE table_name = 'chunks' AND column_name = :c "
            "AND table_schema = current_schema()"), {"c": COLUMN}).first()
        with _lock:
            _enabled[key] = found is not None
    return _enabled[key]


def forget(url_key: str | None = None) -> None:
    """Drop the cached answer (after a migration changed the schema)."""
    with _lock:
        if url_key is None:
            _enabled.clear()
        else:
            _enabled.pop(url_key, None)


def literal(vector: bytes | np.ndarray) -> str:
    arr = np.frombuffer(vector, dtype=np.float32) if isinstance(vector, bytes | bytearray | memoryview) else vector
    return "[" + ",".join(f"{x:.7g}" for x in arr.tolist()) + "]"


def store(session: Session, rows: Iterable[tuple[uuid.UUID, bytes | None]]) -> None:
    """Mirror chunk embeddings into the pgvector column (no-op elsewhere)."""
    if not pgvector_enabled(session):
        return
    params = [{"id": cid, "v": literal(vec)} for cid, vec in rows if vec is not None]
    if params:
        session.execute(text(f"UPDATE chunks SET {COLUMN} = CAST(:v AS vector) WHERE id = :id"), params)


def nearest(session: Session, source_ids: list[uuid.UUID], query: np.ndarray, limit: int) -> list[tuple[uuid.UUID, float]]:
    """(chunk id, cosine similarity) of the closest embedded chunks of these sources, best first."""
    rows = session.execute(text(
        f"SELECT id, 1 - ({COLUMN} <=> CAST(:q AS vector)) AS sim FROM chunks "
        f"WHERE source_id = ANY(:s) AND {COLUMN} IS NOT NULL ORDER BY {COLUMN} <=> CAST(:q AS vector) LIMIT :lim"),
        {"q": literal(query.astype(np.float32)), "s": list(source_ids), "lim": limit}).all()
    return [(r[0], float(r[1])) for r in rows]


def enable_on(connection: Any) -> bool:
    """Create the extension and the column when PostgreSQL offers pgvector and we may install it; backfill."""
    if connection.dialect.name != "postgresql":
        return False
    if connection.execute(text("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'")).first() is None:
        return False
    try:
        with connection.begin_nested():
            connection.execute(text("CREATE EXTENSION IF NOT EXISTS vector"))
    except Exception:  # noqa: BLE001 - no privilege to install it: stay on the numpy path
        return False
    connection.execute(text(f"ALTER TABLE chunks ADD COLUMN IF NOT EXISTS {COLUMN} vector({DIM})"))
    while True:
        batch = connection.execute(text(
            f"SELECT id, embedding FROM chunks WHERE embedding IS NOT NULL AND {COLUMN} IS NULL LIMIT 2000")).all()
        if not batch:
            break
        connection.execute(text(f"UPDATE chunks SET {COLUMN} = CAST(:v AS vector) WHERE id = :id"),
                           [{"id": r[0], "v": literal(bytes(r[1]))} for r in batch])
    forget()
    return True
