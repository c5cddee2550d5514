from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from woes.db import Base, JSONType, UTCDateTime, new_id, utcnow


class Tag(Base):
    """A label for conversations and/or issues. `name_key` (case-folded name) makes names unique per
    workspace regardless of case."""

    __tablename__ = "tags"
    __table_args__ = (UniqueConstraint("workspace_id", "name_key"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    name_key: Mapped[str] = mapped_column(String(200))
    color: Mapped[str | None] = mapped_column(String(7))
    description: Mapped[str | None] = mapped_column(String(500))
    scope: Mapped[str] = mapped_column(String(16), default="both")  # conversation | issue | both
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class CustomField(Base):
    """A typed field definition for conversations, customers or issues. Values live on the records
    themselves (JSON), validated by `service.validate_custom_field_values`."""

    __tablename__ = "custom_fields"
    __table_args__ = (UniqueConstraint("workspace_id", "target", "key"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(120))
    type: Mapped[str] = mapped_column(String(16))
    options: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONType)  # [{value, label}] for selects
    target: Mapped[str] = mapped_column(String(16))  # conversation | customer | issue
    description: Mapped[str | None] = mapped_column(String(500))
    required: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Status(Base):
    """A workspace's label for a lifecycle state (open | waiting | solved, SPEC §5)."""

    __tablename__ = "statuses"
    __table_args__ = (UniqueConstraint("workspace_id", "label_key"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(String(32))
    label_key: Mapped[str] = mapped_column(String(100))
    lifecycle: Mapped[str] = mapped_column(String(8))
    waiting_on: Mapped[str | None] = mapped_column(String(8))  # customer | team, only for lifecycle waiting
    position: Mapped[int] = mapped_column(Integer, default=0)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Priority(Base):
    """An ordered priority label; exactly one per workspace is the default."""

    __tablename__ = "priorities"
    __table_args__ = (UniqueConstraint("workspace_id", "label_key"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(String(32))
    label_key: Mapped[str] = mapped_column(String(100))
    position: Mapped[int] = mapped_column(Integer, default=0)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
