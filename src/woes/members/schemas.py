from __future__ import annotations

import uuid
from typing import Literal

from pydantic import EmailStr, Field, field_validator

from woes.access.principal import ACCESS_LEVELS, SECTIONS
from woes.core.schemas import ApiInput, ApiOutput, Timestamp

Role = Literal["owner", "admin", "member", "viewer"]


def _check_permissions(v: dict[str, str] | None) -> dict[str, str] | None:
    if v is None:
        return v
    for section, level in v.items():
        if section not in SECTIONS:
            raise ValueError(f"Unknown section '{section}'. Sections: {', '.join(SECTIONS)}.")
        if level not in ACCESS_LEVELS:
            raise ValueError(f"Level for '{section}' must be one of {', '.join(ACCESS_LEVELS)}.")
    return v


class MemberOut(ApiOutput):
    object: Literal["member"] = "member"
    id: uuid.UUID
    user_id: uuid.UUID
    email: str
    name: str | None
    role: Role
    status: Literal["invited", "active"]
    permissions: dict[str, str] = Field(description="Effective access per section.")
    permission_overrides: dict[str, str]
    created_at: Timestamp
    updated_at: Timestamp


class MemberInvited(MemberOut):
    invite_token: str = Field(description="Shown once; the invitee accepts with it.")
    invite_url: str


class MemberInvite(ApiInput):
    email: EmailStr
    role: Role = "member"
    name: str | None = Field(None, max_length=120)
    permissions: dict[str, str] | None = None

    _perms = field_validator("permissions")(classmethod(lambda cls, v: _check_permissions(v)))


class MemberPatch(ApiInput):
    role: Role | None = None
    permissions: dict[str, str] | None = Field(None, description="Per-section overrides (none|read|write); {} clears them.")

    _perms = field_validator("permissions")(classmethod(lambda cls, v: _check_permissions(v)))


class LoginIn(ApiInput):
    email: EmailStr
    password: str = Field(min_length=1, max_length=1024)
    workspace_id: uuid.UUID | None = None


class AcceptInviteIn(ApiInput):
    token: str = Field(min_length=10, max_length=200)
    password: str = Field(min_length=10, max_length=1024)
    name: str | None = Field(None, max_length=120)
