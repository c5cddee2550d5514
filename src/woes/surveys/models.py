"""Survey answers: a customer's CSAT (1–5) or NPS (0–10) score for a conversation."""

from __future__ import annotations

import uuid

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from woes.core.redacted import redact_on_write
from woes.db import Base, CreatedAt, InWorkspace


class SurveyResponse(InWorkspace, CreatedAt, Base):
    __tablename__ = "survey_responses"
    __table_args__ = (UniqueConstraint("conversation_id", "survey"),)

    conversation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    customer_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    survey: Mapped[str] = mapped_column(String(8))  # csat | nps
    score: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    channel: Mapped[str] = mapped_column(String(16))  # live-chat | email | in-app


redact_on_write(SurveyResponse.comment)
