from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from woes.core.redacted import redact_on_write
from woes.core.text import fold_name
from woes.db import Base, CreatedAt, InWorkspace, JSONType, Timestamps, UTCDateTime


class Agent(InWorkspace, Timestamps, Base):
    """An AI agent answering from the workspace's API context (SPEC §8)."""

    __tablename__ = "agents"
    __table_args__ = (Index("ix_agents_ws_created", "workspace_id", "created_at", "id"),
                      UniqueConstraint("workspace_id", "name_key"))

    workspace_index = False
    updated_by_service = True

    name: Mapped[str] = mapped_column(String(120))
    # woes.core.text.fold_name(name): unique regardless of case; on insert it follows `name` by itself.
    name_key: Mapped[str] = mapped_column(String(300), default=lambda ctx: fold_name(ctx.get_current_parameters()["name"]))
    description: Mapped[str | None] = mapped_column(Text)
    persona: Mapped[str | None] = mapped_column(Text)
    greeting: Mapped[str | None] = mapped_column(Text)
    instructions: Mapped[str | None] = mapped_column(Text)  # system prompt + runbook (agents:write to read)
    confidence_threshold: Mapped[float] = mapped_column(Float, default=0.6)
    guardrails: Mapped[list[str]] = mapped_column(JSONType, default=list)
    source_ids: Mapped[list[str]] = mapped_column(JSONType, default=list)  # uuids as strings, in order
    channels: Mapped[list[str]] = mapped_column(JSONType, default=list)
    widget_key_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    mode: Mapped[str] = mapped_column(String(12), default="draft")  # auto_reply | draft | off
    learned_profile: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    learning_status: Mapped[str] = mapped_column(String(8), default="idle")  # idle | pending | ready | failed


class AgentRun(InWorkspace, CreatedAt, Base):
    """One decision of an agent on one question: the answer object of SPEC §8 plus its trace."""

    __tablename__ = "agent_runs"
    __table_args__ = (
        Index("ix_agent_runs_ws_created", "workspace_id", "created_at", "id"),
        Index("ix_agent_runs_conversation", "conversation_id", "created_at", "id"),
        Index("ix_agent_runs_agent", "agent_id", "created_at", "id"),
    )

    workspace_index = False

    agent_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"))
    conversation_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    message_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)  # the customer message answered
    reply_message_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)  # the agent message sent, if any
    lab_run_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    trigger: Mapped[str] = mapped_column(String(12))  # direct | conversation | lab | draft
    question: Mapped[str] = mapped_column(Text)  # redacted
    outcome: Mapped[str] = mapped_column(String(10))  # answer | clarify | handoff
    text: Mapped[str] = mapped_column(Text)
    citations: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    confidence: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)  # {score, label, signals}
    handoff_reason: Mapped[str | None] = mapped_column(Text)
    provider: Mapped[str] = mapped_column(String(32), default="offline")
    trace: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)  # redacted; see SPEC §8 Traces
    latency_ms: Mapped[float] = mapped_column(Float, default=0.0)


class Draft(InWorkspace, CreatedAt, Base):
    """A suggested reply awaiting an operator (agent mode `draft`)."""

    __tablename__ = "drafts"
    __table_args__ = (
        Index("ix_drafts_ws_status", "workspace_id", "status", "created_at", "id"),
        Index("ix_drafts_conversation", "conversation_id"),
    )

    workspace_index = False

    agent_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"))
    conversation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    run_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agent_runs.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(10), default="pending")  # pending | sent | rejected
    body: Mapped[str] = mapped_column(Text)  # as suggested
    sent_body: Mapped[str | None] = mapped_column(Text)  # as sent (edited or not)
    edited: Mapped[bool] = mapped_column(default=False)
    citations: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[dict[str, Any] | None] = mapped_column(JSONType)  # actor summary
    message_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


# Written by people (agent settings, an operator's edited or rejected draft): stored redacted.
redact_on_write(Agent.name, Agent.description, Agent.persona, Agent.greeting, Agent.instructions, Agent.guardrails,
                Draft.sent_body, Draft.rejection_reason)
