"""Request/response bodies for tags, custom fields, statuses and priorities."""

from __future__ import annotations

import re
import uuid
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, WithJsonSchema, field_validator, model_validator

from woes.core.schemas import ApiInput, ApiOutput, Timestamp

TagScope = Literal["conversation", "issue", "both"]
FieldType = Literal["text", "number", "decimal", "select", "multi_select", "boolean", "date", "url"]
FieldTarget = Literal["conversation", "customer", "issue"]
Lifecycle = Literal["open", "waiting", "solved"]
WaitingOn = Literal["customer", "team"]

KEY_PATTERN = r"^[a-z][a-z0-9_]{0,63}$"
COLOR_PATTERN = r"^#[0-9a-fA-F]{6}$"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _no_control(v: str | None) -> str | None:
    if v is not None and _CONTROL.search(v):
        raise ValueError("Must not contain control characters (newlines, tabs, ...).")
    return v


def _lower(v: str | None) -> str | None:
    return v.lower() if v is not None else v


# -- tags ---------------------------------------------------------------------------------------------

class TagOut(ApiOutput):
    object: Literal["tag"] = "tag"
    id: uuid.UUID
    name: str
    color: str | None
    description: str | None
    scope: TagScope
    created_at: Timestamp
    updated_at: Timestamp


class TagCreate(ApiInput):
    name: str = Field(min_length=1, max_length=64, description="Unique per workspace, case-insensitively.")
    color: str | None = Field(None, pattern=COLOR_PATTERN, description="#rrggbb (stored lower-case).")
    description: str | None = Field(None, max_length=500)
    scope: TagScope = Field("both", description="Where the tag may be used.")

    _name = field_validator("name")(classmethod(lambda cls, v: _no_control(v)))
    _color = field_validator("color")(classmethod(lambda cls, v: _lower(v)))


class TagPatch(ApiInput):
    name: str | None = Field(None, min_length=1, max_length=64)
    color: str | None = Field(None, pattern=COLOR_PATTERN, description="null removes the color.")
    description: str | None = Field(None, max_length=500, description="null removes the description.")
    scope: TagScope | None = None

    _name = field_validator("name")(classmethod(lambda cls, v: _no_control(v)))
    _color = field_validator("color")(classmethod(lambda cls, v: _lower(v)))


# -- custom fields ------------------------------------------------------------------------------------

class FieldOption(ApiInput):
    value: str = Field(min_length=1, max_length=100, description="What is stored on records.")
    label: str | None = Field(None, min_length=1, max_length=200, description="What people see (default: the value).")

    _value = field_validator("value", "label")(classmethod(lambda cls, v: _no_control(v)))

    @model_validator(mode="after")
    def _default_label(self) -> FieldOption:
        if self.label is None:
            self.label = self.value
        return self


def _option_shorthand(v: Any) -> Any:
    return {"value": v} if isinstance(v, str) else v


OptionIn = Annotated[
    FieldOption,
    BeforeValidator(_option_shorthand),
    WithJsonSchema({
        "anyOf": [
            {"type": "object", "required": ["value"], "additionalProperties": False, "properties": {
                "value": {"type": "string", "minLength": 1, "maxLength": 100},
                "label": {"type": "string", "minLength": 1, "maxLength": 200},
            }},
            {"type": "string", "minLength": 1, "maxLength": 100, "description": "Shorthand for {value: s, label: s}."},
        ]
    }),
]
Options = Annotated[list[OptionIn], Field(max_length=500)]


class FieldOptionOut(ApiOutput):
    value: str
    label: str


class CustomFieldOut(ApiOutput):
    object: Literal["custom_field"] = "custom_field"
    id: uuid.UUID
    key: str
    label: str
    type: FieldType
    options: list[FieldOptionOut] | None = Field(description="For select and multi_select; null for other types.")
    target: FieldTarget
    description: str | None
    required: bool
    created_at: Timestamp
    updated_at: Timestamp


class CustomFieldCreate(ApiInput):
    key: str = Field(pattern=KEY_PATTERN, description="Slug used in `customFields` objects; unique per target.")
    label: str = Field(min_length=1, max_length=120)
    type: FieldType
    options: Options | None = Field(
        None, description="Required (non-empty) for select and multi_select, forbidden otherwise. Each option is "
                          "`{value, label}` or a plain string (value = label).")
    target: FieldTarget = "conversation"
    description: str | None = Field(None, max_length=500)
    required: bool = Field(False, description="A value is needed before the record can be solved/closed "
                                              "(enforced by callers that pass enforceRequired).")

    _label = field_validator("label")(classmethod(lambda cls, v: _no_control(v)))


class CustomFieldPatch(ApiInput):
    key: str | None = Field(None, description="Cannot change (409); accepted when equal to the current key.")
    type: FieldType | None = Field(None, description="Cannot change (409); accepted when equal to the current type.")
    target: FieldTarget | None = Field(None, description="Cannot change (409); accepted when equal.")
    label: str | None = Field(None, min_length=1, max_length=120)
    options: Options | None = Field(None, description="Replaces the whole option list (selects only).")
    description: str | None = Field(None, max_length=500)
    required: bool | None = None

    _label = field_validator("label")(classmethod(lambda cls, v: _no_control(v)))


# -- statuses -----------------------------------------------------------------------------------------

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

    _label = field_validator("label")(classmethod(lambda cls, v: _no_control(v)))


class StatusPatch(ApiInput):
    label: str | None = Field(None, min_length=1, max_length=32)
    lifecycle: Lifecycle | None = None
    waiting_on: WaitingOn | None = None
    position: int | None = Field(None, ge=0, le=1000)
    is_default: bool | None = None

    _label = field_validator("label")(classmethod(lambda cls, v: _no_control(v)))


# -- priorities ---------------------------------------------------------------------------------------

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

    _label = field_validator("label")(classmethod(lambda cls, v: _no_control(v)))


class PriorityPatch(ApiInput):
    label: str | None = Field(None, min_length=1, max_length=32)
    position: int | None = Field(None, ge=0, le=1000)
    is_default: bool | None = None

    _label = field_validator("label")(classmethod(lambda cls, v: _no_control(v)))
