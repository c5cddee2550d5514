"""Alembic migrations, run programmatically (`woes migrate`, and automatically by `woes serve`)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from woes.db import Database

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(db: Database | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if db is not None:
        cfg.set_main_option("sqlalchemy.url", db.url.replace("%", "%%"))
        cfg.attributes["engine"] = db.engine
    return cfg


def upgrade(db: Database, revision: str = "heads") -> None:
    command.upgrade(alembic_config(db), revision)


def head_revision() -> tuple[str, ...]:
    return tuple(sorted(ScriptDirectory.from_config(alembic_config()).get_heads()))


def current_revision(db: Database) -> tuple[str, ...]:
    with db.engine.connect() as conn:
        return tuple(sorted(MigrationContext.configure(conn).get_current_heads()))
