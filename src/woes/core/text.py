"""Text helpers shared by every domain."""

from __future__ import annotations


def fold_name(name: str) -> str:
    """The key under which a name is unique regardless of case: Unicode case folding, the same on SQLite
    and PostgreSQL (SQLite's lower() folds ASCII only, so a database-side lower() would let 'Équipe' and
    'équipe' both in on one backend and not the other)."""
    return name.casefold()
