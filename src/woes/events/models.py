from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from woes.db import Base, JSONType, UTCDateTime, new_id, utcnow

BigIntPK = BigInteger().with_variant(Integer(), "sqlite")


class DomainEvent(Base):
    """The event log and transactional outbox: written in the same transaction as the change it records."""

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_workspace_seq", "workspace_id", "seq"),
        Index("ix_events_undispatched", "dispatched_at", "seq"),
        Index("ix_events_aggregate", "workspace_id", "aggregate_id", "seq"),
    )

    seq: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True, default=new_id)
    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(64))
    resource_type: Mapped[str] = mapped_column(String(40))
    resource_id: Mapped[str] = mapped_column(String(64))
    # The record whose timeline this event belongs to (a message's or note's conversation, for example).
    aggregate_id: Mapped[str | None] = mapped_column(String(64))
    actor_type: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[str | None] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
