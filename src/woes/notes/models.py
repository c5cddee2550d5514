from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Index, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from woes.core.redacted import redact_on_write
from woes.db import Base, InWorkspace, UTCDateTime, utcnow


class Note(InWorkspace, Base):
    """A private note on a conversation or an issue. Never shown on customer surfaces."""

    __tablename__ = "notes"
    __table_args__ = (Index("ix_notes_target", "workspace_id", "target_type", "target_id", "created_at"),)

    workspace_index = False

    target_type: Mapped[str] = mapped_column(String(16))  # conversation | issue
    target_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    author_type: Mapped[str] = mapped_column(String(12))  # operator | automation | agent
    author_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    body: Mapped[str] = mapped_column(Text)
    copied_from_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


redact_on_write(Note.body)  # a note has no unmasked reader: stored redacted
