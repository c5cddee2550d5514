"""Lab runs: a question bank run through an agent, scored."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from woes.core.redacted import redact_on_write
from woes.db import Base, CreatedAt, InWorkspace, JSONType, UTCDateTime


class LabRun(InWorkspace, CreatedAt, Base):
    """A question bank run through an agent, with per-question evaluations and aggregates."""

    __tablename__ = "lab_runs"
    __table_args__ = (Index("ix_lab_runs_agent", "agent_id", "created_at", "id"),)

    agent_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"))
    name: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(10), default="queued")  # queued | running | completed | failed
    question_count: Mapped[int] = mapped_column(Integer, default=0)
    questions: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)  # the bank, parsed
    results: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    aggregates: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    source_snapshot: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)  # sourceId -> lastScanId
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


redact_on_write(LabRun.name)  # written by people: stored redacted
