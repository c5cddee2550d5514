from __future__ import annotations

import uuid
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator

from woes.access.principal import ALL_SCOPES
from woes.core.schemas import ApiInput, ApiOutput, Timestamp
from woes.core.validators import ZonedDatetime


class ApiKeyOut(ApiOutput):
    object: Literal["api_key"] = "api_key"
    id: uuid.UUID
    name: str
    prefix: str
    scopes: list[str]
    created_at: Timestamp
    expires_at: Timestamp | None
    last_used_at: Timestamp | None
    last_used_ip: str | None
    usage_count: int
    revoked_at: Timestamp | None
    created_by: str | None


class ApiKeyWithSecret(ApiKeyOut):
    secret: str = Field(description="The full key. Shown only in this response.")


class ApiKeyCreate(ApiInput):
    name: str = Field(min_length=1, max_length=120)
    scopes: list[str] = Field(min_length=1, max_length=len(ALL_SCOPES))
    expires_at: ZonedDatetime | None = Field(None, description="When the key stops working (UTC). Must be in the future.")

    @field_validator("scopes")
    @classmethod
    def _known_scopes(cls, v: list[str]) -> list[str]:
        unknown = [s for s in v if s not in ALL_SCOPES]
        if unknown:
            raise ValueError(f"Unknown scope(s): {', '.join(unknown)}. Use <area>:read, <area>:write or *.")
        return sorted(set(v))


class ApiKeyRotate(ApiInput):
    grace_period_seconds: int = Field(86400, ge=0, le=30 * 86400, description="How long the old secret keeps working.")


class WidgetKeyOut(ApiOutput):
    object: Literal["widget_key"] = "widget_key"
    id: uuid.UUID
    name: str
    public_key: str
    agent_id: uuid.UUID | None
    allowed_origins: list[str]
    enabled: bool
    created_at: Timestamp
    updated_at: Timestamp


def _check_origins(v: list[str] | None) -> list[str] | None:
    if v is None:
        return v
    out = []
    for origin in v:
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/") or parts.query:
            raise ValueError(f"'{origin}' is not an origin like https://app.example.com")
        out.append(f"{parts.scheme}://{parts.netloc}".lower())
    return sorted(set(out))


class WidgetKeyCreate(ApiInput):
    name: str = Field("Default widget", min_length=1, max_length=120)
    agent_id: uuid.UUID | None = None
    allowed_origins: list[str] = Field(default_factory=list, max_length=50)

    _origins = field_validator("allowed_origins")(classmethod(lambda cls, v: _check_origins(v)))


class WidgetKeyPatch(ApiInput):
    name: str | None = Field(None, min_length=1, max_length=120)
    allowed_origins: list[str] | None = Field(None, max_length=50)
    enabled: bool | None = None

    _origins = field_validator("allowed_origins")(classmethod(lambda cls, v: _check_origins(v)))
