from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

import woes.models  # noqa: F401  (fills the metadata)
from woes.db import Base

config = context.config
target_metadata = Base.metadata


def include_object(obj, name, type_, reflected, compare_to):  # noqa: ANN001
    # Full-text tables are made by hand in migrations (FTS5 virtual tables and their shadow tables), and the
    # optional pgvector column by migration 0009 when the extension exists: autogenerate leaves them alone.
    if type_ == "column" and name == "embedding_vec":
        return False
    return not (type_ == "table" and name and "_fts" in name)


def run_migrations_online() -> None:
    engine = config.attributes.get("engine") or create_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # SQLite "batch" migrations rebuild a table (copy, drop, rename). With foreign keys enforced,
            # dropping the old table would cascade-delete every row that references it, so enforcement
            # is off while migrating (set on the raw connection: the pragma is ignored inside a
            # transaction) and the result is checked with foreign_key_check afterwards.
            connection.connection.dbapi_connection.execute("PRAGMA foreign_keys=OFF")
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
            include_object=include_object,
        )
        try:
            with context.begin_transaction():
                context.run_migrations()
            connection.commit()
        finally:
            if sqlite:
                raw = connection.connection.dbapi_connection
                problems = raw.execute("PRAGMA foreign_key_check").fetchall()
                raw.execute("PRAGMA foreign_keys=ON")
                if problems:
                    raise RuntimeError(f"foreign key violations after migrating: {problems[:5]}")


run_migrations_online()
