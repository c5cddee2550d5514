"""Workspace scoping helpers: every lookup by id is also filtered by the caller's workspace."""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from woes.core.errors import not_found

T = TypeVar("T")


def get_in_workspace(session: Session, model: type[T], workspace_id: uuid.UUID, record_id: Any, label: str) -> T:
    """The record with this id in this workspace, or 404 (a foreign id is indistinguishable from none)."""
    record = session.scalar(select(model).where(model.id == record_id, model.workspace_id == workspace_id))  # type: ignore[attr-defined]
    if record is None:
        raise not_found(label)
    return record
