"""Background jobs. Services enqueue inside their own transaction with `enqueue(session, name, payload)`."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session


def enqueue(session: Session, name: str, payload: dict[str, Any], *, workspace_id: uuid.UUID | None = None,
            run_at: datetime | None = None) -> None:
    """Enqueue a job that exists exactly when `session`'s transaction commits."""
    db = session.info.get("woes_db")
    if db is None or db.queue is None:
        raise RuntimeError("this session has no job queue (build a Runtime for its Database)")
    db.queue.enqueue(session, name, payload, workspace_id=workspace_id, run_at=run_at)
