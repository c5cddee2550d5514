"""Full-text search over conversation subjects and message bodies.

One index table, `conversation_fts` (one row per subject and per message), kept in step by the conversation
services: an FTS5 table on SQLite, a plain table with a GIN index on to_tsvector('english', body) on
PostgreSQL. It holds the redacted text only: a secret a customer pasted is stored with its message (shown
masked) but is never indexed, and a query that contains a secret matches nothing, so `?q=` cannot confirm a
guessed key."""

from __future__ import annotations

import re
import uuid
from typing import Any

from sqlalchemy import ColumnElement, Uuid, select, text
from sqlalchemy.orm import Session

from woes.conversations.models import Conversation
from woes.core.redaction import contains_secret, redact

_TERM = re.compile(r"\w+", re.UNICODE)
MAX_TERMS = 12


def _sqlite(session: Session) -> bool:
    return session.get_bind().dialect.name == "sqlite"


def _id(session: Session, value: uuid.UUID) -> Any:
    return value.hex if _sqlite(session) else value  # how the Uuid type stores it on each database


def index_text(session: Session, workspace_id: uuid.UUID, conversation_id: uuid.UUID, source_id: uuid.UUID, body: str) -> None:
    """(Re)index one subject (source_id = the conversation's id) or one message (source_id = its id)."""
    session.execute(text("DELETE FROM conversation_fts WHERE source_id = :s"), {"s": _id(session, source_id)})
    session.execute(
        text("INSERT INTO conversation_fts (body, conversation_id, workspace_id, source_id) VALUES (:b, :c, :w, :s)"),
        {"b": redact(body), "c": _id(session, conversation_id), "w": _id(session, workspace_id), "s": _id(session, source_id)},
    )


def move_conversation(session: Session, source_id: uuid.UUID, target_id: uuid.UUID) -> None:
    """Messages moved by a merge keep being found under the target conversation."""
    session.execute(
        text("UPDATE conversation_fts SET conversation_id = :t WHERE conversation_id = :s AND source_id <> :s"),
        {"t": _id(session, target_id), "s": _id(session, source_id)},
    )


def forget_conversation(session: Session, conversation_id: uuid.UUID) -> None:
    session.execute(text("DELETE FROM conversation_fts WHERE conversation_id = :c"), {"c": _id(session, conversation_id)})


def terms(q: str) -> list[str]:
    return _TERM.findall(q)[:MAX_TERMS]


def matches(session: Session, workspace_id: uuid.UUID, q: str) -> ColumnElement[bool]:
    """A WHERE clause on Conversation: its subject or one of its messages contains every word of `q`."""
    words = terms(q)
    if not words or contains_secret(q):
        return Conversation.id.is_(None)  # nothing searchable, or a secret, which is never indexed: no match
    if _sqlite(session):
        fts_query = " AND ".join('"' + w.replace('"', '""') + '"' for w in words)  # quoted: no FTS syntax
        sql = "SELECT conversation_id FROM conversation_fts WHERE conversation_fts MATCH :q AND workspace_id = :w"
    else:
        fts_query = " ".join(words)
        # OFFSET 0 keeps this a subquery that the GIN index answers once (a hashed set of ids). Without it the
        # planner walks the inbox newest first and tests every conversation's rows: seconds for a rare word.
        sql = ("SELECT conversation_id FROM conversation_fts WHERE workspace_id = :w "
               "AND to_tsvector('english', body) @@ plainto_tsquery('english', :q) OFFSET 0")
    hits = text(sql).bindparams(q=fts_query, w=_id(session, workspace_id)).columns(conversation_id=Uuid())
    return Conversation.id.in_(select(hits.subquery().c.conversation_id))
