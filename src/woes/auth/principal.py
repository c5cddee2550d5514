"""Who is calling, and what they may do: API key scopes and operator roles/section permissions (SPEC §3)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from woes.events.service import Actor

AREAS = (
    "workspace", "members", "conversations", "customers", "issues", "knowledge",
    "agents", "channels", "webhooks", "keys", "analytics",
)
ALL_SCOPES = tuple(f"{a}:{m}" for a in AREAS for m in ("read", "write")) + ("*",)
SECTIONS = (
    "inbox", "automations", "surveys", "widget", "keys", "data", "macros",
    "knowledge", "agents", "channels", "webhooks", "members",
)
ROLES = ("owner", "admin", "member", "viewer")
ACCESS_LEVELS = ("none", "read", "write")

# Which operator section guards each API scope area; None = governed by role (owner/admin write).
AREA_SECTION: dict[str, str | None] = {
    "workspace": None, "members": "members", "conversations": "inbox", "customers": "inbox",
    "issues": "inbox", "knowledge": "knowledge", "agents": "agents", "channels": "channels",
    "webhooks": "webhooks", "keys": "keys", "analytics": None,
}


def default_permissions(role: str) -> dict[str, str]:
    if role in ("owner", "admin"):
        return {s: "write" for s in SECTIONS}
    if role == "member":
        return {s: ("write" if s == "inbox" else "read") for s in SECTIONS}
    return {s: "read" for s in SECTIONS}


def effective_permissions(role: str, overrides: dict[str, Any] | None) -> dict[str, str]:
    perms = default_permissions(role)
    if role != "owner":  # the owner always has everything
        for section, level in (overrides or {}).items():
            if section in perms and level in ACCESS_LEVELS:
                perms[section] = level
    return perms


def scope_allows(granted: frozenset[str], needed: str) -> bool:
    if "*" in granted or needed in granted:
        return True
    area, _, mode = needed.partition(":")
    return mode == "read" and f"{area}:write" in granted


@dataclass(frozen=True)
class Principal:
    workspace_id: uuid.UUID
    kind: str  # api_key | operator
    subject_id: uuid.UUID  # key id or member id
    scopes: frozenset[str] = frozenset()
    role: str | None = None
    permissions: dict[str, str] = field(default_factory=dict)
    user_id: uuid.UUID | None = None
    session_id: uuid.UUID | None = None
    csrf_token: str | None = field(default=None, repr=False)
    expires_at: datetime | None = None  # when the credential stops working (key expiry, grace end, session end)
    rate_key: str = ""

    def allows(self, needed: str) -> bool:
        if self.kind == "api_key":
            return scope_allows(self.scopes, needed)
        area, _, mode = needed.partition(":")
        section = AREA_SECTION.get(area)
        if section is None:
            return mode == "read" or self.role in ("owner", "admin")
        level = self.permissions.get(section, "none")
        return level == "write" or (mode == "read" and level == "read")

    @property
    def actor(self) -> Actor:
        return Actor("api_key" if self.kind == "api_key" else "operator", str(self.subject_id))

    @property
    def is_admin(self) -> bool:
        return self.kind == "api_key" or self.role in ("owner", "admin")
