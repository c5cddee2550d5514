from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from woes.core.redacted import redact_on_write
from woes.db import Base, CreatedAt, InWorkspace, JSONType, Timestamps, UTCDateTime


class Issue(InWorkspace, Timestamps, Base):
    """A durable follow-up record (bug, feature request, incident), linked to conversations or standalone."""

    __tablename__ = "issues"
    __table_args__ = (UniqueConstraint("workspace_id", "number"),)

    updated_by_service = True

    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | in_progress | resolved | closed
    priority: Mapped[str] = mapped_column(String(32), default="medium")
    customer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("customers.id", ondelete="SET NULL"))
    account_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    tags: Mapped[list[str]] = mapped_column(JSONType, default=list)
    custom_fields: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    custom_field_sources: Mapped[dict[str, str]] = mapped_column(JSONType, default=dict)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


redact_on_write(Issue.title, Issue.description, Issue.custom_fields)


class IssueConversation(InWorkspace, CreatedAt, Base):
    __tablename__ = "issue_conversations"
    __table_args__ = (UniqueConstraint("issue_id", "conversation_id"),)

    issue_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("issues.id", ondelete="CASCADE"), index=True)
    conversation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), index=True)


class IssueExternalLink(InWorkspace, CreatedAt, Base):
    """A link to the same work in an external tracker."""

    __tablename__ = "issue_external_links"

    issue_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("issues.id", ondelete="CASCADE"), index=True)
    provider: Mapped[str] = mapped_column(String(16))  # linear | github | jira | url
    url: Mapped[str] = mapped_column(String(2048))
    key: Mapped[str | None] = mapped_column(String(100))
    state: Mapped[str | None] = mapped_column(String(50))
