"""Team and agent names are unique per workspace regardless of case through a stored case-folded key
(woes.core.text.fold_name), the same on SQLite and PostgreSQL. Before, a lower() comparison in SQL let
'Équipe' twice past the check on SQLite (ASCII-only lower) and into a unique-constraint 500.

Existing names that fold to the same key get a numbered suffix so that the unique constraint holds.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

_TABLES = {"teams": 80, "agents": 120}  # table: length of its name column
_KEY_LENGTH = {"teams": 200, "agents": 300}


def _fold(name: str) -> str:
    return name.casefold()


def _backfill(table: str, name_length: int) -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.text(f"SELECT id, workspace_id, name FROM {table} ORDER BY created_at, id")).fetchall()
    taken: set[tuple[str, str]] = set()
    for row_id, workspace_id, name in rows:
        new_name, n = name, 1
        while (str(workspace_id), _fold(new_name)) in taken:
            n += 1
            suffix = f" ({n})"
            new_name = name[: name_length - len(suffix)] + suffix
        taken.add((str(workspace_id), _fold(new_name)))
        bind.execute(sa.text(f"UPDATE {table} SET name = :name, name_key = :key WHERE id = :id"),
                     {"name": new_name, "key": _fold(new_name), "id": row_id})


def upgrade() -> None:
    for table, name_length in _TABLES.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('name_key', sa.String(length=_KEY_LENGTH[table]), nullable=True))
        _backfill(table, name_length)
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column('name_key', existing_type=sa.String(length=_KEY_LENGTH[table]), nullable=False)
            if table == "teams":
                batch_op.drop_constraint('uq_teams_workspace_id_name', type_='unique')
            batch_op.create_unique_constraint(f'uq_{table}_workspace_id_name_key', ['workspace_id', 'name_key'])


def downgrade() -> None:
    for table in _TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(f'uq_{table}_workspace_id_name_key', type_='unique')
            batch_op.drop_column('name_key')
            if table == "teams":
                batch_op.create_unique_constraint('uq_teams_workspace_id_name', ['workspace_id', 'name'])
