from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

import woes.models  # noqa: F401  (fills the metadata)
from woes.db import Base

config = context.config
target_metadata = Base.metadata


def include_object(obj, name, type_, reflected, compare_to):  # noqa: ANN001
    # Full-text tables are made by hand in migrations (FTS5 virtual tables and their shadow tables).
    return not (type_ == "table" and name and "_fts" in name)


def run_migrations_online() -> None:
    engine = config.attributes.get("engine") or create_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
            include_object=include_object,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run_migrations_online()
