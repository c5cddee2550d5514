"""Full-text search over conversation subjects and message bodies.

SQLite: an FTS5 table kept in step by the conversation services (one row per subject and per message).
PostgreSQL: GIN expression indexes on to_tsvector('english', ...), nothing to maintain."""

from __future__ import annotations

import re
import uuid

from sqlalchemy import ColumnElement, Uuid, func, select, text, union
from sqlalchemy.orm import Session

from woes.conversations.models import Conversation, Message

_TERM = re.compile(r"\w+", re.UNICODE)
MAX_TERMS = 12


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def index_text(session: Session, workspace_id: uuid.UUID, conversation_id: uuid.UUID, source_id: uuid.UUID, body: str) -> None:
    if _dialect(session) != "sqlite":
        return
    session.execute(
        text("DELETE FROM conversation_fts WHERE source_id = :s"), {"s": source_id.hex}
    )
    session.execute(
        text("INSERT INTO conversation_fts (body, conversation_id, workspace_id, source_id) VALUES (:b, :c, :w, :s)"),
        {"b": body, "c": conversation_id.hex, "w": workspace_id.hex, "s": source_id.hex},
    )


def move_conversation(session: Session, source_id: uuid.UUID, target_id: uuid.UUID) -> None:
    """Messages moved by a merge keep being found under the target conversation."""
    if _dialect(session) == "sqlite":
        session.execute(
            text("UPDATE conversation_fts SET conversation_id = :t WHERE conversation_id = :s AND source_id <> :s"),
            {"t": target_id.hex, "s": source_id.hex},
        )


def forget_conversation(session: Session, conversation_id: uuid.UUID) -> None:
    if _dialect(session) == "sqlite":
        session.execute(text("DELETE FROM conversation_fts WHERE conversation_id = :c"), {"c": conversation_id.hex})


def terms(q: str) -> list[str]:
    return _TERM.findall(q)[:MAX_TERMS]


def matches(session: Session, workspace_id: uuid.UUID, q: str) -> ColumnElement[bool]:
    """A WHERE clause on Conversation: its subject or one of its messages contains every word of `q`."""
    words = terms(q)
    if not words:
        return Conversation.id.is_(None)  # nothing searchable: no match
    if _dialect(session) == "sqlite":
        fts_query = " AND ".join('"' + w.replace('"', '""') + '"' for w in words)  # quoted: no FTS syntax
        hits = (
            text("SELECT conversation_id FROM conversation_fts WHERE conversation_fts MATCH :q AND workspace_id = :w")
            .bindparams(q=fts_query, w=workspace_id.hex)
            .columns(conversation_id=Uuid())
        )
        return Conversation.id.in_(select(hits.subquery().c.conversation_id))
    tsq = func.plainto_tsquery("english", " ".join(words))
    # One IN over a UNION (not an OR) so that each side uses its own GIN index.
    by_subject = select(Conversation.id).where(
        Conversation.workspace_id == workspace_id, func.to_tsvector("english", Conversation.subject).op("@@")(tsq))
    by_message = select(Message.conversation_id).where(
        Message.workspace_id == workspace_id, func.to_tsvector("english", Message.body).op("@@")(tsq))
    return Conversation.id.in_(union(by_subject, by_message))
