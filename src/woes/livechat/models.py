"""What the live-chat channel keeps beside a conversation: how it started in the widget, its history
secrets, and the ticket forms a workspace offers in the widget."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from woes.core.redacted import redact_on_write
from woes.db import Base, CreatedAt, InWorkspace, JSONType, Timestamps, UTCDateTime


class LiveChatConversation(InWorkspace, CreatedAt, Base):
    """A conversation started in the widget: through which widget key, by which browser (`visitor_id`, a random
    id the widget keeps), from which ticket form, and the visitor's latest page and `setContext` data."""

    __tablename__ = "livechat_conversations"
    __table_args__ = (UniqueConstraint("conversation_id"),)

    conversation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    widget_key_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    visitor_id: Mapped[str | None] = mapped_column(String(64))
    ticket_form: Mapped[str | None] = mapped_column(String(64))
    context: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    page: Mapped[dict[str, Any] | None] = mapped_column(JSONType)


redact_on_write(LiveChatConversation.context, LiveChatConversation.page)  # written by browsers


class ConversationSecret(InWorkspace, CreatedAt, Base):
    """One history secret of a conversation (only its hash). The browser that started the conversation gets
    the first; a verified identity gets one per device for its own conversations; an operator's rotation
    revokes them all."""

    __tablename__ = "conversation_secrets"

    conversation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    issued_to: Mapped[str] = mapped_column(String(16))  # starter | identity | operator
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class TicketForm(InWorkspace, Timestamps, Base):
    """A form the widget can open (`showTicketForm(key)`): its fields are conversation custom fields, so a
    submitted form is a conversation carrying those values."""

    __tablename__ = "ticket_forms"
    __table_args__ = (UniqueConstraint("workspace_id", "key"),)
    workspace_index = False

    key: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(120))
    description: Mapped[str | None] = mapped_column(String(500))
    fields: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)  # [{customField, required}]
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    position: Mapped[int] = mapped_column(Integer, default=0)


redact_on_write(TicketForm.title, TicketForm.description)  # shown to visitors: stored redacted
