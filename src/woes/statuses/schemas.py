"""Request/response bodies for statuses."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import Field, field_validator

from woes.core.schemas import ApiInput, ApiOutput, Timestamp
from woes.core.validators import no_control

Lifecycle = Literal["open", "waiting", "solved"]
WaitingOn = Literal["customer", "team"]


class StatusOut(ApiOutput):
    object: Literal["status"] = "status"
    id: uuid.UUID
    label: str
    lifecycle: Lifecycle
    waiting_on: WaitingOn | None
    position: int
    is_default: bool
    created_at: Timestamp
    updated_at: Timestamp


class StatusCreate(ApiInput):
    label: str = Field(min_length=1, max_length=32)
    lifecycle: Lifecycle
    waiting_on: WaitingOn | None = Field(None, description="Only for lifecycle `waiting`.")
    position: int | None = Field(None, ge=0, le=1000, description="0-based place in the list (default: last).")
    is_default: bool = Field(False, description="Make this the default status of its lifecycle.")

    _label = field_validator("label")(classmethod(lambda cls, v: no_control(v)))


class StatusPatch(ApiInput):
    label: str | None = Field(None, min_length=1, max_length=32)
    lifecycle: Lifecycle | None = None
    waiting_on: WaitingOn | None = None
    position: int | None = Field(None, ge=0, le=1000)
    is_default: bool | None = None

    _label = field_validator("label")(classmethod(lambda cls, v: no_control(v)))
