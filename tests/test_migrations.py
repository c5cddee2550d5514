"""Migrations keep data: upgrading a database that already holds rows loses none of them (SQLite
rebuilds tables for ALTERs; with foreign keys on, that used to cascade-delete referencing rows)."""

from __future__ import annotations

import uuid

from sqlalchemy import text
from support.databases import empty_database

from woes.db import utcnow
from woes.migrate import current_revision, head_revision, upgrade


def test_upgrade_from_an_older_revision_keeps_rows(tmp_path, database_url):
    db = empty_database(tmp_path, database_url)
    try:
        upgrade(db, "0005")
        ws, src, ep, ch = (uuid.uuid4() for _ in range(4))
        now = utcnow().replace(tzinfo=None) if db.is_sqlite else utcnow()
        hexid = (lambda u: u.hex) if db.is_sqlite else (lambda u: u)
        with db.engine.begin() as c:
            c.execute(text("INSERT INTO workspaces (id, name, timezone, default_priority, branding, identity_mode, "
                           "notify_customer_on_issue_resolved, created_at, updated_at) VALUES (:i, 'w', 'UTC', 'medium', '{}', 'off', false, :t, :t)"),
                      {"i": hexid(ws), "t": now})
            c.execute(text("INSERT INTO sources (id, workspace_id, name, type, origin, options, status, auth_schemes, counts, "
                           "created_at, updated_at) VALUES (:i, :w, 's', 'openapi', 'content', '{}', 'ready', '[]', '{}', :t, :t)"),
                      {"i": hexid(src), "w": hexid(ws), "t": now})
            c.execute(text("INSERT INTO endpoints (id, workspace_id, source_id, operation_key, record_key, tags, parameters, responses, "
                           "auth, servers, examples, extra, deprecated, markdown, content_hash, created_at, updated_at) VALUES "
                           "(:i, :w, :s, 'GET /x', 'GET /x', '[]', '[]', '[]', '[]', '[]', '[]', '{}', false, '# x', 'h', :t, :t)"),
                      {"i": hexid(ep), "w": hexid(ws), "s": hexid(src), "t": now})
            c.execute(text("INSERT INTO chunks (id, workspace_id, source_id, endpoint_id, kind, ordinal, text, content_hash, "
                           "lexical_id, created_at) VALUES (:i, :w, :s, :e, 'endpoint', 0, 'GET /x', 'h', 1, :t)"),
                      {"i": hexid(ch), "w": hexid(ws), "s": hexid(src), "e": hexid(ep), "t": now})
        upgrade(db)
        assert current_revision(db) == head_revision()
        with db.engine.connect() as c:
            assert c.execute(text("SELECT count(*) FROM chunks")).scalar() == 1
            assert c.execute(text("SELECT count(*) FROM endpoints")).scalar() == 1
            if db.is_sqlite:
                assert c.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1  # enforcement is back on
    finally:
        db.dispose()
