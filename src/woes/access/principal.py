"""Who is calling, and what they may do: API key scopes and operator roles/section permissions (SPEC §3)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from woes.core.actors import Actor
from woes.core.errors import ProblemError

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
# The scope area that stands for each section when an API key (which has scopes, not sections) grants a
# role: the sections behind an area above map back to it; the others are workspace settings, the widget
# is a channel.
SECTION_AREA: dict[str, str] = {
    "inbox": "conversations", "automations": "workspace", "surveys": "workspace", "widget": "channels",
    "keys": "keys", "data": "workspace", "macros": "workspace", "knowledge": "knowledge", "agents": "agents",
    "channels": "channels", "webhooks": "webhooks", "members": "members",
}
assert set(SECTION_AREA) == set(SECTIONS) and set(SECTION_AREA.values()) <= set(AREAS)
_LEVEL_RANK = {"none": 0, "read": 1, "write": 2}


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


def operator_allows(role: str | None, permissions: dict[str, str], needed: str) -> bool:
    """Whether an operator with this role and effective section permissions holds the scope `needed`.
    `*` (everything, owners included) is the owner's alone."""
    if needed == "*":
        return role == "owner"
    area, _, mode = needed.partition(":")
    if area not in AREA_SECTION or mode not in ("read", "write"):
        return False
    section = AREA_SECTION[area]
    if section is None:
        return mode == "read" or role in ("owner", "admin")
    level = permissions.get(section, "none")
    return level == "write" or (mode == "read" and level == "read")


def role_scopes(role: str, overrides: dict[str, Any] | None = None) -> frozenset[str]:
    """The API scopes a member with this role and these section overrides holds (an owner: `*`)."""
    if role == "owner":
        return frozenset({"*"})
    perms = effective_permissions(role, overrides)
    return frozenset(s for s in ALL_SCOPES if s != "*" and operator_allows(role, perms, s))


def beyond_holdings(missing: list[str], doing: str) -> ProblemError:
    """The refusal for an action that would yield, grant or act on more than the caller holds."""
    scope = next((m for m in missing if m in ALL_SCOPES), None)
    extra: dict[str, Any] = {"missing": missing}
    if scope is not None:
        extra["requiredScope"] = scope
    return ProblemError(403, "permission_denied",
                        f"You cannot {doing}: it carries {', '.join(missing)}, which you do not hold.", extra=extra)


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
        return operator_allows(self.role, self.permissions, needed)

    # -- no credential can gain more than it holds ------------------------------------------------------
    # Every action that yields, rotates, revokes or grants a credential or a role asks one of these
    # whether the caller already holds everything that credential or role carries.

    def missing_scopes(self, scopes: Iterable[str]) -> list[str]:
        """The scopes among `scopes` this caller does not hold (`*` covers all, `x:write` covers `x:read`)."""
        return [s for s in dict.fromkeys(scopes) if not self.allows(s)]

    def covers(self, scopes: Iterable[str]) -> bool:
        return not self.missing_scopes(scopes)

    def missing_for_role(self, role: str, overrides: dict[str, Any] | None = None) -> list[str]:
        """What a member with `role` and section `overrides` would hold that this caller does not: its
        scopes (an owner's is `*`) and, section by section, its access levels (for an API key, the
        section's scope, see SECTION_AREA)."""
        if role == "owner":
            return self.missing_scopes(["*"])
        missing = self.missing_scopes(sorted(role_scopes(role, overrides)))
        for section, level in effective_permissions(role, overrides).items():
            if level == "none":
                continue
            if self.kind == "api_key":
                scope = f"{SECTION_AREA[section]}:{level}"
                if not self.allows(scope) and scope not in missing:
                    missing.append(scope)
            elif _LEVEL_RANK[self.permissions.get(section, "none")] < _LEVEL_RANK[level]:
                missing.append(f"{section} section {level}")
        return missing

    def holds_role(self, role: str, overrides: dict[str, Any] | None = None) -> bool:
        return not self.missing_for_role(role, overrides)

    @property
    def actor(self) -> Actor:
        return Actor("api_key" if self.kind == "api_key" else "operator", str(self.subject_id))

    @property
    def is_admin(self) -> bool:
        return self.kind == "api_key" or self.role in ("owner", "admin")
