"""Chunk ranking moved to the in-memory per-source BM25 (woes.search.retrieval): drop the SQLite FTS5
table, the PostgreSQL GIN expression index and the chunks.lexical_id column that only served them.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29
"""
import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE IF EXISTS knowledge_fts")
    else:
        op.execute("DROP INDEX IF EXISTS ix_chunks_text_fts")
    with op.batch_alter_table('chunks', schema=None) as batch_op:
        batch_op.drop_column('lexical_id')


def downgrade() -> None:
    with op.batch_alter_table('chunks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lexical_id', sa.BigInteger(), nullable=True))
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        op.execute("UPDATE chunks SET lexical_id = rowid")
        op.execute("CREATE VIRTUAL TABLE knowledge_fts USING fts5(text, source_id UNINDEXED, tokenize='porter unicode61')")
        op.execute("INSERT INTO knowledge_fts (rowid, text, source_id) SELECT lexical_id, text, source_id FROM chunks")
    else:
        op.execute("UPDATE chunks SET lexical_id = (('x' || substr(md5(id::text), 1, 15))::bit(60))::bigint")
        op.execute("CREATE INDEX ix_chunks_text_fts ON chunks USING gin (to_tsvector('english', text))")
