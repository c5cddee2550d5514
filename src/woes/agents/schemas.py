"""Request bodies of the agents, agent-runs and drafts APIs (camelCase, unknown fields rejected)."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from pydantic import Field, field_validator

from woes.conversations.schemas import MAX_BODY
from woes.core.schemas import ApiInput

Mode = Literal["auto_reply", "draft", "off"]
AgentChannel = Literal["api", "live-chat", "email", "discord"]
DraftStatus = Literal["pending", "sent", "rejected"]
Guardrail = Annotated[str, Field(min_length=1, max_length=1000)]
Threshold = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]

MAX_INSTRUCTIONS = 50_000


def _unique(values: list | None) -> list | None:
    """Drop repeats, keeping the first occurrence's position."""
    return None if values is None else list(dict.fromkeys(values))


class AgentCreate(ApiInput):
    name: str = Field(min_length=1, max_length=120)
    description: str | None = Field(None, max_length=2000)
    persona: str | None = Field(None, max_length=4000)
    greeting: str | None = Field(None, max_length=2000)
    instructions: str | None = Field(None, max_length=MAX_INSTRUCTIONS, description="System prompt and runbook.")
    confidence_threshold: Threshold = 0.6
    guardrails: list[Guardrail] = Field(default_factory=list, max_length=50)
    source_ids: list[uuid.UUID] = Field(default_factory=list, max_length=100)
    channels: list[AgentChannel] = Field(default_factory=list, max_length=4)
    widget_key: uuid.UUID | None = Field(None, description="Id of a widget key of the workspace.")
    mode: Mode = "draft"

    _dedupe = field_validator("source_ids", "channels", "guardrails")(classmethod(lambda cls, v: _unique(v)))


class AgentPatch(ApiInput):
    name: str | None = Field(None, min_length=1, max_length=120)
    description: str | None = Field(None, max_length=2000)
    persona: str | None = Field(None, max_length=4000)
    greeting: str | None = Field(None, max_length=2000)
    instructions: str | None = Field(None, max_length=MAX_INSTRUCTIONS)
    confidence_threshold: Threshold | None = None
    guardrails: list[Guardrail] | None = Field(None, max_length=50)
    source_ids: list[uuid.UUID] | None = Field(None, max_length=100)
    channels: list[AgentChannel] | None = Field(None, max_length=4)
    widget_key: uuid.UUID | None = None
    mode: Mode | None = None

    _dedupe = field_validator("source_ids", "channels", "guardrails")(classmethod(lambda cls, v: _unique(v)))


class DraftApprove(ApiInput):
    body: str | None = Field(None, min_length=1, max_length=MAX_BODY,
                             description="Edit-and-send: send this text instead of the suggestion.")


class DraftReject(ApiInput):
    reason: str = Field(min_length=1, max_length=1000, description="Why the suggestion was wrong (kept for learning).")


class QuestionIn(ApiInput):
    question: str = Field(min_length=1, max_length=8000, description="The developer's question, as they wrote it.")
