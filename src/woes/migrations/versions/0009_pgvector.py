"""pgvector: on PostgreSQL with the extension available, chunks get an `embedding_vec vector(384)` column
(filled from the stored float32 embeddings); elsewhere nothing changes and search stays on numpy.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29
"""
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    from woes.search.vectors import enable_on

    enable_on(op.get_bind())


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("ALTER TABLE chunks DROP COLUMN IF EXISTS embedding_vec")
    from woes.search.vectors import forget

    forget()
