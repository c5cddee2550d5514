"""Request bodies of the widget API (`/api/widget/...`). Everything here comes from browsers: sizes are small
and every field is checked, so that bad input is a 422 naming the field."""

from __future__ import annotations

import json
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel

from woes.core.schemas import ApiInput, ApiOutput, Timestamp

MAX_CONTEXT_KEYS = 20
MAX_CONTEXT_VALUE = 500
MAX_IDENTITY_BYTES = 8192
VISITOR_ID = r"^[A-Za-z0-9_-]{8,64}$"


def check_context(value: dict[str, Any] | None) -> dict[str, Any] | None:
    """`setContext` data: at most 20 short keys with short scalar values (what an operator reads at a glance)."""
    if value is None:
        return None
    if len(value) > MAX_CONTEXT_KEYS:
        raise ValueError(f"At most {MAX_CONTEXT_KEYS} keys.")
    for key, item in value.items():
        if not 1 <= len(key) <= 64:
            raise ValueError("Keys are 1 to 64 characters.")
        if item is not None and not isinstance(item, str | int | float | bool):
            raise ValueError(f"{key}: values are text, numbers or booleans.")
        if isinstance(item, str) and len(item) > MAX_CONTEXT_VALUE:
            raise ValueError(f"{key}: at most {MAX_CONTEXT_VALUE} characters.")
    return value


class PageIn(ApiInput):
    url: str = Field(max_length=2048)
    title: str | None = Field(None, max_length=300)


class WidgetIdentity(BaseModel):
    """The payload of `Woes("identify", …)`: `email`, `name`, `company`, `id` / `externalId`, and the proof the
    workspace's identity mode asks for (`email_hash` or `jwt`). Other members are display data (e.g. `plan`)."""

    model_config = ConfigDict(extra="allow", str_strip_whitespace=True)

    email: str | None = Field(None, max_length=320)
    name: str | None = Field(None, max_length=200)
    company: str | None = Field(None, max_length=200)
    id: str | int | None = None
    externalId: str | None = Field(None, max_length=255)  # noqa: N815 (the browser's spelling)
    email_hash: str | None = Field(None, max_length=128)
    jwt: str | None = Field(None, max_length=8192)

    @field_validator("email")
    @classmethod
    def _email(cls, v: str | None) -> str | None:
        if v is not None and (v.count("@") != 1 or v.startswith("@") or v.endswith("@") or any(c.isspace() for c in v)):
            raise ValueError("Not an email address.")
        return v or None

    def payload(self) -> dict[str, Any]:
        data = self.model_dump(exclude_none=True)
        if len(json.dumps(data, default=str)) > MAX_IDENTITY_BYTES:
            raise ValueError("identity is too large")
        return data


class WidgetIdentifyIn(WidgetIdentity):
    visitorId: str | None = Field(None, pattern=VISITOR_ID)  # noqa: N815


class WidgetMessageIn(ApiInput):
    body: str = Field(min_length=1, max_length=8000)
    conversation_id: uuid.UUID | None = Field(None, description="Continue this conversation (with its history secret).")
    identity: WidgetIdentity | None = None
    fields: dict[str, Any] = Field(default_factory=dict, max_length=50,
                                   description="Conversation custom field values (setNewConversationFields, ticket forms).")
    context: dict[str, Any] | None = None
    page: PageIn | None = None
    ticket_form: str | None = Field(None, min_length=1, max_length=64)
    visitor_id: str | None = Field(None, pattern=VISITOR_ID)

    _context = field_validator("context")(classmethod(lambda cls, v: check_context(v)))


class WidgetEventIn(ApiInput):
    type: Literal["typing", "read", "page_view", "context"]
    conversation_id: uuid.UUID | None = None
    typing: bool | None = None
    page: PageIn | None = None
    context: dict[str, Any] | None = None

    _context = field_validator("context")(classmethod(lambda cls, v: check_context(v)))


class WidgetCsatIn(ApiInput):
    conversation_id: uuid.UUID
    score: int = Field(description="1 (bad) to 5 (great).")
    comment: str | None = Field(None, max_length=2000)


class TypingIn(ApiInput):
    typing: bool = True


class HistorySecretOut(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    conversation_id: uuid.UUID
    conversation_secret: str


# -- ticket forms (operators) ------------------------------------------------------------------------------

FORM_KEY = r"^[a-z0-9][a-z0-9_-]{0,63}$"


class TicketFormField(ApiInput):
    custom_field: str = Field(min_length=1, max_length=64, description="The key of a conversation custom field.")
    required: bool = False


class TicketFormCreate(ApiInput):
    key: str = Field(pattern=FORM_KEY, description="What the widget opens: Woes('showTicketForm', key).")
    title: str = Field(min_length=1, max_length=120)
    description: str | None = Field(None, max_length=500)
    fields: list[TicketFormField] = Field(default_factory=list, max_length=20)
    enabled: bool = True
    position: int = Field(0, ge=0, le=1000, description="Forms are listed in the widget by position, then key.")


class TicketFormPatch(ApiInput):
    key: str | None = Field(None, pattern=FORM_KEY)
    title: str | None = Field(None, min_length=1, max_length=120)
    description: str | None = Field(None, max_length=500)
    fields: list[TicketFormField] | None = Field(None, max_length=20)
    enabled: bool | None = None
    position: int | None = Field(None, ge=0, le=1000)


class TicketFormOut(ApiOutput):
    object: Literal["ticket_form"] = "ticket_form"
    id: uuid.UUID
    key: str
    title: str
    description: str | None
    fields: list[dict[str, Any]]
    enabled: bool
    position: int
    created_at: Timestamp
    updated_at: Timestamp
