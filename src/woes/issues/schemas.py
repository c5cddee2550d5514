from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import AnyHttpUrl, Field, field_validator

from woes.core.schemas import ApiInput
from woes.tags.schemas import check_tag_names

IssueStatus = Literal["open", "in_progress", "resolved", "closed"]


class ExternalLinkIn(ApiInput):
    provider: Literal["linear", "github", "jira", "url"]
    url: AnyHttpUrl
    key: str | None = Field(None, max_length=100)
    state: str | None = Field(None, max_length=50)


class IssueCreate(ApiInput):
    title: str = Field(min_length=1, max_length=300)
    description: str | None = Field(None, max_length=50000)
    status: IssueStatus = "open"
    priority: str | None = Field(None, min_length=1, max_length=32)
    customer_id: uuid.UUID | None = None
    account_id: uuid.UUID | None = None
    tags: list[str] = Field(default_factory=list, max_length=50)
    custom_fields: dict[str, Any] = Field(default_factory=dict)
    conversation_ids: list[uuid.UUID] = Field(default_factory=list, max_length=100)
    external_links: list[ExternalLinkIn] = Field(default_factory=list, max_length=20)

    _tags = field_validator("tags")(classmethod(lambda cls, v: check_tag_names(v)))


class IssuePatch(ApiInput):
    title: str | None = Field(None, min_length=1, max_length=300)
    description: str | None = Field(None, max_length=50000)
    status: IssueStatus | None = None
    priority: str | None = Field(None, min_length=1, max_length=32)
    customer_id: uuid.UUID | None = None
    account_id: uuid.UUID | None = None
    tags: list[str] | None = Field(None, max_length=50)
    custom_fields: dict[str, Any] | None = None

    _tags = field_validator("tags")(classmethod(lambda cls, v: check_tag_names(v)))


class LinkIn(ApiInput):
    conversation_id: uuid.UUID


class ConvertIn(ApiInput):
    title: str | None = Field(None, min_length=1, max_length=300)
    description: str | None = Field(None, max_length=50000)
    priority: str | None = Field(None, min_length=1, max_length=32)
