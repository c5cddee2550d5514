"""An empty database on the test's backend, for tests that run migrations themselves."""

from __future__ import annotations

from sqlalchemy import text

from woes.db import Database


def empty_database(tmp_path, database_url: str | None) -> Database:
    """SQLite in tmp_path, or the per-test PostgreSQL database with its schema dropped and recreated."""
    if database_url is None:
        return Database(f"sqlite:///{tmp_path / 'old.db'}")
    db = Database("postgresql+psycopg://" + database_url.split("://", 1)[1])
    with db.engine.begin() as c:
        c.execute(text("DROP SCHEMA public CASCADE"))
        c.execute(text("CREATE SCHEMA public"))
    return db
