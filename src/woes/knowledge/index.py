"""The lexical index over chunks (SQLite FTS5 keyed by each chunk's `lexical_id`; on PostgreSQL a GIN
expression index on chunks.text needs no upkeep), kept in step by the scan."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import text
from sqlalchemy.orm import Session


def _sqlite(session: Session) -> bool:
    return session.get_bind().dialect.name == "sqlite"


def add_chunks(session: Session, rows: Iterable[tuple[int, uuid.UUID, str]]) -> None:
    """rows: (lexical_id, source_id, text)."""
    if not _sqlite(session):
        return
    params = [{"r": r, "t": t, "s": s.hex} for r, s, t in rows]
    if params:
        session.execute(text("INSERT INTO knowledge_fts (rowid, text, source_id) VALUES (:r, :t, :s)"), params)


def remove_chunks(session: Session, lexical_ids: Iterable[int]) -> None:
    if not _sqlite(session):
        return
    params = [{"r": r} for r in lexical_ids]
    if params:
        session.execute(text("DELETE FROM knowledge_fts WHERE rowid = :r"), params)


def remove_source(session: Session, source_id: uuid.UUID) -> None:
    if _sqlite(session):
        session.execute(text("DELETE FROM knowledge_fts WHERE source_id = :s"), {"s": source_id.hex})
