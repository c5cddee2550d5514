"""Members, invites and operator accounts. Each change writes its event in the same transaction.

No credential can gain more than it holds: inviting, changing or removing a member needs a caller who
holds everything the member's role and section permissions carry (before and after the change; an
owner carries `*`). The role an invite grants is fixed when it is made; accepting it cannot change it."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from woes.access.cache import mark_auth_changed
from woes.access.principal import Principal, beyond_holdings, effective_permissions
from woes.core.errors import ProblemError, conflict, not_found, validation_error
from woes.core.security import hash_password, random_token, sha256_hex, verify_password
from woes.db import utcnow
from woes.events.service import Actor, record_event
from woes.members.models import Invite, Member, User
from woes.members.schemas import MemberInvite, MemberOut, MemberPatch

INVITE_TTL = timedelta(days=7)


def member_view(member: Member, user: User) -> dict[str, Any]:
    return MemberOut(
        id=member.id, user_id=user.id, email=user.email, name=user.name, role=member.role, status=member.status,
        permissions=effective_permissions(member.role, member.permissions), permission_overrides=member.permissions or {},
        created_at=member.created_at, updated_at=member.updated_at,
    ).model_dump(mode="json", by_alias=True)


def members_stmt(workspace_id: uuid.UUID):
    return select(Member).where(Member.workspace_id == workspace_id)


def get_member(session: Session, workspace_id: uuid.UUID, member_id: uuid.UUID) -> tuple[Member, User]:
    row = session.execute(
        select(Member, User).join(User, User.id == Member.user_id)
        .where(Member.id == member_id, Member.workspace_id == workspace_id)
    ).first()
    if row is None:
        raise not_found("Member")
    return row[0], row[1]


def view_member_by_id(session: Session, member: Member) -> dict[str, Any]:
    return member_view(member, session.get(User, member.user_id))


def _owner_count(session: Session, workspace_id: uuid.UUID) -> int:
    return session.scalar(
        select(func.count()).select_from(Member).where(
            Member.workspace_id == workspace_id, Member.role == "owner", Member.status == "active")
    ) or 0


def _check_holds_role(p: Principal | None, role: str, overrides: dict[str, Any] | None, doing: str) -> None:
    """Refuse (403) unless the caller holds everything `role` with `overrides` carries (None: internal caller)."""
    if p is None:
        return
    missing = p.missing_for_role(role, overrides)
    if missing:
        raise beyond_holdings(missing, doing)


def do_create_owner(session: Session, workspace_id: uuid.UUID, email: str, password: str, name: str | None, actor: Actor) -> Member:
    """Used by `woes init`: an active owner with a password."""
    email = email.strip().lower()
    user = session.scalar(select(User).where(User.email == email))
    if user is None:
        user = User(email=email, name=name, password_hash=hash_password(password), created_at=utcnow())
        session.add(user)
        session.flush()
    elif not verify_password(user.password_hash, password):
        raise ProblemError(409, "conflict", "A user with this email exists with another password.")
    now = utcnow()
    member = Member(workspace_id=workspace_id, user_id=user.id, role="owner", permissions={}, status="active",
                    created_at=now, updated_at=now)
    session.add(member)
    session.flush()
    record_event(session, workspace_id=workspace_id, type="member.created", resource_type="member",
                 resource_id=member.id, data=member_view(member, user), actor=actor)
    return member


def do_invite_member(session: Session, workspace_id: uuid.UUID, body: MemberInvite, p: Principal) -> tuple[Member, User, str]:
    _check_holds_role(p, body.role, body.permissions, f"invite a member as {body.role} with these permissions")
    email = str(body.email).strip().lower()
    user = session.scalar(select(User).where(User.email == email))
    if user is None:
        user = User(email=email, name=body.name, created_at=utcnow())
        session.add(user)
        session.flush()
    existing = session.scalar(select(Member).where(Member.workspace_id == workspace_id, Member.user_id == user.id))
    if existing is not None:
        raise conflict("This person is already a member of the workspace.", existingId=str(existing.id))
    now = utcnow()
    member = Member(workspace_id=workspace_id, user_id=user.id, role=body.role, permissions=body.permissions or {},
                    status="invited", invited_by=p.subject_id, created_at=now, updated_at=now)
    session.add(member)
    session.flush()
    token = random_token(24)
    session.add(Invite(workspace_id=workspace_id, member_id=member.id, token_hash=sha256_hex(token),
                       expires_at=now + INVITE_TTL, created_at=now))
    record_event(session, workspace_id=workspace_id, type="member.invited", resource_type="member",
                 resource_id=member.id, data=member_view(member, user), actor=p.actor)
    return member, user, token


def do_update_member(session: Session, workspace_id: uuid.UUID, member_id: uuid.UUID, body: MemberPatch, p: Principal) -> tuple[Member, User]:
    member, user = get_member(session, workspace_id, member_id)
    changes = body.model_dump(exclude_unset=True)
    if "role" in changes and changes["role"] is None:
        raise validation_error("role", "cannot be null")
    _check_holds_role(p, member.role, member.permissions, f"change this member (a {member.role})")
    new_role = changes.get("role") or member.role
    new_permissions = changes["permissions"] if "permissions" in changes else member.permissions
    _check_holds_role(p, new_role, new_permissions, f"make this member {new_role} with these permissions")
    if (member.role == "owner" and member.status == "active" and changes.get("role") not in (None, "owner")
            and _owner_count(session, workspace_id) <= 1):
        raise conflict("The last owner cannot be demoted; make someone else owner first.")
    changed = []
    if changes.get("role") and changes["role"] != member.role:
        member.role = changes["role"]
        changed.append("role")
    if "permissions" in changes:
        new = changes["permissions"] or {}
        if new != (member.permissions or {}):
            member.permissions = new
            changed.append("permissions")
    if changed:
        mark_auth_changed(session)
        member.updated_at = utcnow()
        session.flush()
        record_event(session, workspace_id=workspace_id, type="member.updated", resource_type="member",
                     resource_id=member.id, data={**member_view(member, user), "changedFields": changed}, actor=p.actor)
    return member, user


def do_remove_member(session: Session, workspace_id: uuid.UUID, member_id: uuid.UUID, p: Principal) -> None:
    member, user = get_member(session, workspace_id, member_id)
    _check_holds_role(p, member.role, member.permissions, f"remove this member (a {member.role})")
    if member.role == "owner" and member.status == "active" and _owner_count(session, workspace_id) <= 1:
        raise conflict("The last owner cannot be removed.")
    data = member_view(member, user)
    mark_auth_changed(session)
    session.delete(member)
    record_event(session, workspace_id=workspace_id, type="member.removed", resource_type="member",
                 resource_id=member_id, data=data, actor=p.actor)


def do_accept_invite(session: Session, token: str, password: str, name: str | None) -> tuple[Member, User]:
    invite = session.scalar(select(Invite).where(Invite.token_hash == sha256_hex(token)))
    if invite is None or invite.accepted_at is not None or invite.expires_at <= utcnow():
        raise ProblemError(404, "not_found", "This invite link is invalid or has expired.")
    member = session.get(Member, invite.member_id)
    if member is None:
        raise ProblemError(404, "not_found", "This invite link is invalid or has expired.")
    user = session.get(User, member.user_id)
    if user.password_hash and not verify_password(user.password_hash, password):
        raise ProblemError(401, "unauthorized", "This account already has a password; enter it to join.")
    if not user.password_hash:
        user.password_hash = hash_password(password)
    if name:
        user.name = name
    invite.accepted_at = utcnow()
    member.status = "active"
    member.updated_at = utcnow()
    session.flush()
    record_event(session, workspace_id=member.workspace_id, type="member.joined", resource_type="member",
                 resource_id=member.id, data=member_view(member, user), actor=Actor("operator", str(member.id)))
    return member, user


def member_names(session: Session, workspace_id: uuid.UUID, member_ids: set[uuid.UUID]) -> dict[uuid.UUID, str | None]:
    """Each member's display name (the user's name), for showing who replied."""
    if not member_ids:
        return {}
    rows = session.execute(select(Member.id, User.name).join(User, User.id == Member.user_id)
                           .where(Member.workspace_id == workspace_id, Member.id.in_(member_ids)))
    return dict(rows.all())  # type: ignore[arg-type]
