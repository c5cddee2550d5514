"""Request/response bodies for tags."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import Field, field_validator

from woes.core.schemas import ApiInput, ApiOutput, Timestamp
from woes.core.validators import no_control

TagScope = Literal["conversation", "issue", "both"]

COLOR_PATTERN = r"^#[0-9a-fA-F]{6}$"


def _lower(v: str | None) -> str | None:
    return v.lower() if v is not None else v


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

    _name = field_validator("name")(classmethod(lambda cls, v: no_control(v)))
    _color = field_validator("color")(classmethod(lambda cls, v: _lower(v)))


class TagPatch(ApiInput):
    name: str | None = Field(None, min_length=1, max_length=64)
    color: str | None = Field(None, pattern=COLOR_PATTERN, description="null removes the color.")
    description: str | None = Field(None, max_length=500, description="null removes the description.")
    scope: TagScope | None = None

    _name = field_validator("name")(classmethod(lambda cls, v: no_control(v)))
    _color = field_validator("color")(classmethod(lambda cls, v: _lower(v)))


def check_tag_names(v: list[str] | None) -> list[str] | None:
    """Tag names as a record carries them (conversations, issues): trimmed, 1-64 characters, no case-insensitive repeats."""
    if v is None:
        return v
    out = []
    for t in v:
        t = t.strip()
        if not t or len(t) > 64:
            raise ValueError("Each tag is 1-64 characters.")
        if t.lower() not in {x.lower() for x in out}:
            out.append(t)
    return out
