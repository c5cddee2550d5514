"""Request/response bodies for priorities."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import Field, field_validator

from woes.core.schemas import ApiInput, ApiOutput, Timestamp
from woes.core.validators import no_control


class PriorityOut(ApiOutput):
    object: Literal["priority"] = "priority"
    id: uuid.UUID
    label: str
    position: int
    is_default: bool
    created_at: Timestamp
    updated_at: Timestamp


class PriorityCreate(ApiInput):
    label: str = Field(min_length=1, max_length=32, description="Unique per workspace, case-insensitively.")
    position: int | None = Field(None, ge=0, le=1000, description="0-based place, lowest first (default: last).")
    is_default: bool = False

    _label = field_validator("label")(classmethod(lambda cls, v: no_control(v)))


class PriorityPatch(ApiInput):
    label: str | None = Field(None, min_length=1, max_length=32)
    position: int | None = Field(None, ge=0, le=1000)
    is_default: bool | None = None

    _label = field_validator("label")(classmethod(lambda cls, v: no_control(v)))
