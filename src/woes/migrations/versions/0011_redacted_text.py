"""Redaction first, everywhere: the conversation search index holds redacted text on both databases, and the
free text already stored in columns that are now redacted on write (woes.core.redacted) is redacted in place.

- PostgreSQL: the GIN expression indexes over the raw `messages.body` and `conversations.subject` are replaced
  by a `conversation_fts` table (the same rows as the SQLite FTS5 table: one per subject and per message, with
  redacted text) and a GIN index on it, filled here.
- SQLite: the FTS5 rows are rewritten with redacted text.
- Notes, subjects, issue titles and descriptions, customer and account names and traits, custom field
  values, agent settings, drafts as sent, lab run names, event payloads and the stored evidence of knowledge
  sources are redacted in place. Message bodies are not: they stay as sent, flagged and shown masked.

The redaction is not undone by a downgrade (the raw values are gone); the downgrade only restores the
PostgreSQL expression indexes.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from woes.core.redaction import redact, redact_json, redact_value

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

BATCH = 500
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def _text(limit: int | None = None) -> Callable[[Any], Any]:
    def fix(value: Any) -> Any:
        if not isinstance(value, str) or not value:
            return value
        out = redact(value)
        return out[:limit] if limit else out
    return fix


def _json_value(value: Any) -> Any:
    return redact_value(value) if value else value


# table -> (primary key column, primary key type, {column: (type, fix)})
TEXT, JSON_VALUE, JSON_DOC = sa.Text(), (JSON, _json_value), (JSON, redact_json)
SCRUB: dict[str, tuple[str, Any, dict[str, tuple[Any, Callable[[Any], Any]]]]] = {
    "notes": ("id", sa.Uuid(), {"body": (TEXT, _text())}),
    "conversations": ("id", sa.Uuid(), {"subject": (TEXT, _text(300)), "custom_fields": JSON_VALUE}),
    "issues": ("id", sa.Uuid(), {"title": (TEXT, _text(300)), "description": (TEXT, _text()), "custom_fields": JSON_VALUE}),
    "customers": ("id", sa.Uuid(), {"name": (TEXT, _text(200)), "company": (TEXT, _text(200)), "traits": JSON_VALUE,
                                    "custom_fields": JSON_VALUE}),
    "accounts": ("id", sa.Uuid(), {"name": (TEXT, _text(200)), "traits": JSON_VALUE}),
    "agents": ("id", sa.Uuid(), {"name": (TEXT, _text(120)), "description": (TEXT, _text()), "persona": (TEXT, _text()),
                                 "greeting": (TEXT, _text()), "instructions": (TEXT, _text()), "guardrails": JSON_VALUE}),
    "drafts": ("id", sa.Uuid(), {"sent_body": (TEXT, _text()), "rejection_reason": (TEXT, _text())}),
    "lab_runs": ("id", sa.Uuid(), {"name": (TEXT, _text(200))}),
    "events": ("seq", sa.BigInteger(), {"payload": JSON_DOC}),
    "sources": ("id", sa.Uuid(), {"name": (TEXT, _text(200)), "title": (TEXT, _text(300)), "version": (TEXT, _text(100)),
                                  "auth_schemes": JSON_DOC}),
    "scans": ("id", sa.Uuid(), {"errors": JSON_DOC}),
    "endpoints": ("id", sa.Uuid(), {"summary": (TEXT, _text()), "description": (TEXT, _text()), "markdown": (TEXT, _text()),
                                    "parameters": JSON_DOC, "request_body": JSON_DOC, "responses": JSON_DOC, "auth": JSON_DOC,
                                    "servers": JSON_DOC, "examples": JSON_DOC, "extra": JSON_DOC}),
    "documents": ("id", sa.Uuid(), {"title": (TEXT, _text(500)), "markdown": (TEXT, _text())}),
    "chunks": ("id", sa.Uuid(), {"heading": (TEXT, _text(500)), "text": (TEXT, _text())}),
}


def _scrub(bind: sa.Connection, name: str, key: str, key_type: Any, columns: dict[str, tuple[Any, Callable[[Any], Any]]]) -> None:
    table = sa.table(name, sa.column(key, key_type), *(sa.column(c, t) for c, (t, _fix) in columns.items()))
    pk = table.c[key]
    last = None
    while True:
        stmt = sa.select(table).order_by(pk).limit(BATCH)
        if last is not None:
            stmt = stmt.where(pk > last)
        rows = bind.execute(stmt).all()
        if not rows:
            return
        for row in rows:
            changes = {}
            for column, (_type, fix) in columns.items():
                value = getattr(row, column)
                new = fix(value)
                if new != value:
                    changes[column] = new
            if changes:
                bind.execute(table.update().where(pk == getattr(row, key)).values(**changes))
        last = getattr(rows[-1], key)


def _fill_postgres_index(bind: sa.Connection) -> None:
    for select in ("SELECT id, id, workspace_id, subject FROM conversations",
                   "SELECT id, conversation_id, workspace_id, body FROM messages"):
        last = None
        while True:
            where = " WHERE id > :last" if last is not None else ""
            rows = bind.execute(sa.text(f"{select}{where} ORDER BY id LIMIT {BATCH}"), {"last": last}).all()
            if not rows:
                break
            bind.execute(sa.text("INSERT INTO conversation_fts (source_id, conversation_id, workspace_id, body) "
                                 "VALUES (:s, :c, :w, :b)"),
                         [{"s": s_id, "c": c_id, "w": w_id, "b": redact(body or "")} for s_id, c_id, w_id, body in rows])
            last = rows[-1][0]


def _rewrite_sqlite_index(bind: sa.Connection) -> None:
    rows = bind.execute(sa.text("SELECT rowid, body FROM conversation_fts")).all()
    for rowid, body in rows:
        clean = redact(body or "")
        if clean != body:
            bind.execute(sa.text("UPDATE conversation_fts SET body = :b WHERE rowid = :r"), {"b": clean, "r": rowid})


def upgrade() -> None:
    bind = op.get_bind()
    for name, (key, key_type, columns) in SCRUB.items():
        _scrub(bind, name, key, key_type, columns)
    if bind.dialect.name == "sqlite":
        _rewrite_sqlite_index(bind)
        return
    op.execute(
        "CREATE TABLE conversation_fts ("
        "source_id uuid PRIMARY KEY, "
        "conversation_id uuid NOT NULL REFERENCES conversations (id) ON DELETE CASCADE, "
        "workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE, "
        "body text NOT NULL)"
    )
    _fill_postgres_index(bind)
    op.execute("CREATE INDEX ix_conversation_fts_body ON conversation_fts USING gin (to_tsvector('english', body))")
    op.execute("CREATE INDEX ix_conversation_fts_conversation ON conversation_fts (conversation_id)")
    op.execute("DROP INDEX IF EXISTS ix_messages_body_fts")
    op.execute("DROP INDEX IF EXISTS ix_conversations_subject_fts")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    op.execute("DROP TABLE IF EXISTS conversation_fts")
    op.execute("CREATE INDEX ix_messages_body_fts ON messages USING gin (to_tsvector('english', body))")
    op.execute("CREATE INDEX ix_conversations_subject_fts ON conversations USING gin (to_tsvector('english', subject))")
