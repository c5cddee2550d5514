from __future__ import annotations

import uuid
from typing import Any, Literal
from zoneinfo import available_timezones

from pydantic import AnyHttpUrl, Field, field_validator

from woes.core.schemas import ApiInput, ApiOutput, Timestamp

IdentityMode = Literal["off", "hmac", "jwt"]
_TIMEZONES = available_timezones() | {"UTC"}


class BusinessHoursDay(ApiInput):
    day: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    start: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    end: str = Field(pattern=r"^([01]\d|2[0-4]):[0-5]\d$")


class Branding(ApiInput):
    color: str | None = Field(None, pattern=r"^#[0-9a-fA-F]{6}$")
    greeting: str | None = Field(None, max_length=500)


class WorkspaceOut(ApiOutput):
    object: Literal["workspace"] = "workspace"
    id: uuid.UUID
    name: str
    company_name: str | None
    support_url: str | None
    timezone: str
    default_priority: str
    business_hours: list[dict[str, Any]] | None
    branding: dict[str, Any]
    identity_mode: IdentityMode
    notify_customer_on_issue_resolved: bool
    issue_resolved_message: str | None
    created_at: Timestamp
    updated_at: Timestamp


class WorkspacePatch(ApiInput):
    name: str | None = Field(None, min_length=1, max_length=120)
    company_name: str | None = Field(None, max_length=120)
    support_url: AnyHttpUrl | None = None
    timezone: str | None = None
    default_priority: str | None = Field(None, min_length=1, max_length=32)
    business_hours: list[BusinessHoursDay] | None = None
    branding: Branding | None = None
    identity_mode: IdentityMode | None = None
    notify_customer_on_issue_resolved: bool | None = None
    issue_resolved_message: str | None = Field(None, max_length=2000, description="Sent to customers of linked conversations; {title} is replaced.")

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, v: str | None) -> str | None:
        if v is not None and v not in _TIMEZONES:
            raise ValueError("Unknown IANA time zone.")
        return v


class IdentitySecretOut(ApiOutput):
    secret: str = Field(description="Hex. HMAC mode: key = bytes.fromhex(secret); JWT mode: the HS256 signing secret as given.")
    identity_mode: IdentityMode
