from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from woes.core.redacted import redact_on_write
from woes.db import Base, CreatedAt, InWorkspace, JSONType, Timestamps, UTCDateTime


class Conversation(InWorkspace, Timestamps, Base):
    __tablename__ = "conversations"
    __table_args__ = (
        UniqueConstraint("workspace_id", "external_id"),
        Index("ix_conversations_ws_created", "workspace_id", "created_at", "id"),
        Index("ix_conversations_ws_status", "workspace_id", "status", "created_at"),
        Index("ix_conversations_ws_updated", "workspace_id", "updated_at"),
    )

    workspace_index = False
    updated_by_service = True

    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(16), default="api")
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | waiting | solved
    waiting_on: Mapped[str | None] = mapped_column(String(16))  # customer | team
    priority: Mapped[str] = mapped_column(String(32), default="medium")
    subject: Mapped[str] = mapped_column(String(300))
    preview: Mapped[str | None] = mapped_column(String(300))
    identity_source: Mapped[str] = mapped_column(String(16), default="api")
    assignee_type: Mapped[str | None] = mapped_column(String(16))  # operator | team | agent
    assignee_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    agent_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    handling: Mapped[str] = mapped_column(String(8), default="none")  # agent | human | none
    custom_fields: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    custom_field_sources: Mapped[dict[str, str]] = mapped_column(JSONType, default=dict)
    external_id: Mapped[str | None] = mapped_column(String(255))
    snoozed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    merged_into_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    first_response_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_message_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ConversationTag(InWorkspace, CreatedAt, Base):
    __tablename__ = "conversation_tags"
    __table_args__ = (UniqueConstraint("conversation_id", "name"), Index("ix_conversation_tags_ws_name", "workspace_id", "name"))

    workspace_index = False

    conversation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(64))


class Message(InWorkspace, CreatedAt, Base):
    __tablename__ = "messages"
    __table_args__ = (Index("ix_messages_conversation_created", "conversation_id", "created_at", "id"),)

    conversation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(12))  # user | assistant
    author_type: Mapped[str] = mapped_column(String(12))  # customer | operator | agent
    author_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    body: Mapped[str] = mapped_column(Text)
    contains_secrets: Mapped[bool] = mapped_column(Boolean, default=False)
    channel: Mapped[str] = mapped_column(String(16), default="api")
    delivery_status: Mapped[str] = mapped_column(String(12), default="sent")  # queued|sent|delivered|failed
    delivery_error: Mapped[str | None] = mapped_column(String(500))
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    external_id: Mapped[str | None] = mapped_column(String(255))


# Stored redacted. Message bodies are not: they are kept as sent, flagged (contains_secrets) and shown masked.
redact_on_write(Conversation.subject, Conversation.custom_fields, Message.delivery_error)
