from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import Field, field_validator

from woes.core.schemas import ApiInput, ApiOutput, Timestamp
from woes.core.validators import ZonedDatetime
from woes.customers.schemas import ExternalId, Text, normalize_email
from woes.tags.schemas import check_tag_names

Channel = Literal["api", "live-chat", "email", "discord"]
Status = Literal["open", "waiting", "solved"]
Handling = Literal["agent", "human", "none"]
MAX_BODY = 8000


class CustomerRef(ApiInput):
    """The conversation's customer: your own stable id for them (their `externalId` in Woes) or a Woes
    customer id. The other fields create or update that customer."""

    id: ExternalId = Field(description="Your stable customer id (e.g. cus_123), or the id of an existing Woes customer.")
    name: Text | None = Field(None, min_length=1, max_length=200)
    email: str | None = Field(None, max_length=320, description="Validated and stored lower-cased.")
    company: Text | None = Field(None, min_length=1, max_length=200)

    @field_validator("email")
    @classmethod
    def _email(cls, v: str | None) -> str | None:
        return None if v is None else normalize_email(v)

    def profile_fields(self) -> dict[str, Any]:
        """The customer fields the caller gave (name, email, company)."""
        return self.model_dump(include={"name", "email", "company"}, exclude_unset=True)


class AssigneeIn(ApiInput):
    type: Literal["operator", "team", "agent"]
    id: uuid.UUID


class InitialMessage(ApiInput):
    body: str = Field(min_length=1, max_length=MAX_BODY)
    role: Literal["user", "assistant"] = "user"
    attachment_ids: list[uuid.UUID] = Field(default_factory=list, max_length=10)


class ConversationCreate(ApiInput):
    customer: CustomerRef
    subject: str = Field(min_length=1, max_length=300)
    channel: Channel = "api"
    priority: str | None = Field(None, min_length=1, max_length=32)
    external_id: str | None = Field(None, min_length=1, max_length=255)
    initial_message: InitialMessage | None = None
    tags: list[str] = Field(default_factory=list, max_length=50)
    custom_fields: dict[str, Any] = Field(default_factory=dict)
    assignee: AssigneeIn | None = None
    agent_id: uuid.UUID | None = None

    _tags = field_validator("tags")(classmethod(lambda cls, v: check_tag_names(v)))


class ConversationPatch(ApiInput):
    status: Status | None = None
    waiting_on: Literal["customer", "team"] | None = None
    priority: str | None = Field(None, min_length=1, max_length=32)
    subject: str | None = Field(None, min_length=1, max_length=300)
    tags: list[str] | None = Field(None, max_length=50)
    custom_fields: dict[str, Any] | None = None
    assignee: AssigneeIn | None = None
    snoozed_until: ZonedDatetime | None = None

    _tags = field_validator("tags")(classmethod(lambda cls, v: check_tag_names(v)))


class CustomerSummary(ApiOutput):
    id: str = Field(description="The customer's externalId when it has one (the id you gave), else its Woes id.")
    name: str | None
    email: str | None
    company: str | None
    identity_source: str


class AssigneeOut(ApiOutput):
    type: str
    id: uuid.UUID


class ConversationOut(ApiOutput):
    object: Literal["conversation"] = "conversation"
    id: uuid.UUID
    channel: str
    status: Status
    waiting_on: str | None
    is_new: bool
    priority: str
    subject: str
    preview: str | None
    customer: CustomerSummary
    customer_id: uuid.UUID = Field(description="The Woes id of the customer.")
    assignee: AssigneeOut | None
    agent_id: uuid.UUID | None
    handling: Handling
    tags: list[str]
    custom_fields: dict[str, Any]
    external_id: str | None
    snoozed_until: Timestamp | None
    archived_at: Timestamp | None
    merged_into_id: uuid.UUID | None
    first_response_at: Timestamp | None
    last_message_at: Timestamp | None
    closed_at: Timestamp | None
    created_at: Timestamp
    updated_at: Timestamp


class MessageCreate(ApiInput):
    body: str = Field(min_length=1, max_length=MAX_BODY)
    role: Literal["user", "assistant"] = "user"
    author_type: Literal["customer", "operator", "agent"] | None = Field(
        None, description="Defaults: user → customer; assistant → operator (or the calling operator).")
    author_id: uuid.UUID | None = None
    attachment_ids: list[uuid.UUID] = Field(default_factory=list, max_length=10)
    external_id: str | None = Field(None, max_length=255)
    delivery_status: Literal["queued", "sent", "delivered", "failed"] | None = None


class MessageStatePatch(ApiInput):
    delivery_status: Literal["queued", "sent", "delivered", "failed"] | None = None
    delivery_error: str | None = Field(None, max_length=500)
    read: bool | None = None


class AttachmentOut(ApiOutput):
    object: Literal["attachment"] = "attachment"
    id: uuid.UUID
    filename: str
    content_type: str
    size: int
    sha256: str
    message_id: uuid.UUID | None
    created_at: Timestamp


class MessageOut(ApiOutput):
    object: Literal["message"] = "message"
    id: uuid.UUID
    conversation_id: uuid.UUID
    role: str
    author: dict[str, Any]
    body: str
    body_masked: bool
    contains_secrets: bool
    channel: str
    delivery_status: str
    delivery_error: str | None
    read_at: Timestamp | None
    external_id: str | None
    attachments: list[AttachmentOut]
    created_at: Timestamp


class ReasonIn(ApiInput):
    reason: str = Field(min_length=1, max_length=500)


class OptionalReasonIn(ApiInput):
    reason: str | None = Field(None, max_length=500)


class AssignIn(ApiInput):
    assignee: AssigneeIn | None


class SnoozeIn(ApiInput):
    until: ZonedDatetime


class MergeIn(ApiInput):
    source_conversation_id: uuid.UUID
