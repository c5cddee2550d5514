"""Request/response bodies for custom field definitions."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, WithJsonSchema, field_validator, model_validator

from woes.core.schemas import ApiInput, ApiOutput, Timestamp
from woes.core.validators import no_control

FieldType = Literal["text", "number", "decimal", "select", "multi_select", "boolean", "date", "url"]
FieldTarget = Literal["conversation", "customer", "issue"]

KEY_PATTERN = r"^[a-z][a-z0-9_]{0,63}$"


class FieldOption(ApiInput):
    value: str = Field(min_length=1, max_length=100, description="What is stored on records.")
    label: str | None = Field(None, min_length=1, max_length=200, description="What people see (default: the value).")

    _value = field_validator("value", "label")(classmethod(lambda cls, v: no_control(v)))

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

    _label = field_validator("label")(classmethod(lambda cls, v: no_control(v)))


class CustomFieldPatch(ApiInput):
    key: str | None = Field(None, description="Cannot change (409); accepted when equal to the current key.")
    type: FieldType | None = Field(None, description="Cannot change (409); accepted when equal to the current type.")
    target: FieldTarget | None = Field(None, description="Cannot change (409); accepted when equal.")
    label: str | None = Field(None, min_length=1, max_length=120)
    options: Options | None = Field(None, description="Replaces the whole option list (selects only).")
    description: str | None = Field(None, max_length=500)
    required: bool | None = None

    _label = field_validator("label")(classmethod(lambda cls, v: no_control(v)))
