"""Resolving credentials to a Principal; operator sign-in, sessions and invites."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from woes.access.cache import mark_auth_changed
from woes.access.failures import CSRF_COOKIE, CSRF_HEADER, NO_CREDENTIALS, SESSION_COOKIE, AuthFailure  # noqa: F401
from woes.access.principal import Principal, effective_permissions
from woes.auth.throttle import LoginGuard, Throttled
from woes.config import get_settings
from woes.core.errors import ProblemError
from woes.core.security import API_KEY_PREFIX, random_token, sha256_hex, verify_password
from woes.db import utcnow
from woes.keys.models import ApiKey, ApiKeySecret
from woes.members.models import Member, OperatorSession, User

BAD_KEY = AuthFailure(401, "unauthorized", "Invalid or revoked API key.")
EXPIRED_KEY = AuthFailure(401, "key_expired", "This API key has expired.")
BAD_SESSION = AuthFailure(401, "unauthorized", "Your session has ended; sign in again.")


def resolve_api_key(session: Session, secret: str) -> Principal | AuthFailure:
    if not secret.startswith(API_KEY_PREFIX) or len(secret) > 200:
        return BAD_KEY
    row = session.execute(
        select(ApiKey, ApiKeySecret.valid_until)
        .join(ApiKeySecret, ApiKeySecret.key_id == ApiKey.id)
        .where(ApiKeySecret.secret_hash == sha256_hex(secret))
    ).first()
    if row is None:
        return BAD_KEY
    key, valid_until = row
    now = utcnow()
    if key.revoked_at is not None or (valid_until is not None and valid_until <= now):
        return BAD_KEY
    if key.expires_at is not None and key.expires_at <= now:
        return EXPIRED_KEY
    return Principal(
        workspace_id=key.workspace_id,
        kind="api_key",
        expires_at=min((t for t in (key.expires_at, valid_until) if t is not None), default=None),
        subject_id=key.id,
        scopes=frozenset(key.scopes or ()),
        rate_key=f"key:{key.id}",
    )


def resolve_session(session: Session, token: str) -> Principal | AuthFailure:
    row = session.execute(
        select(OperatorSession, Member)
        .join(Member, (Member.user_id == OperatorSession.user_id) & (Member.workspace_id == OperatorSession.workspace_id))
        .where(OperatorSession.token_hash == sha256_hex(token))
    ).first()
    if row is None:
        return BAD_SESSION
    op_session, member = row
    if op_session.revoked_at is not None or op_session.expires_at <= utcnow() or member.status != "active":
        return BAD_SESSION
    return Principal(
        workspace_id=member.workspace_id,
        kind="operator",
        expires_at=op_session.expires_at,
        subject_id=member.id,
        role=member.role,
        permissions=effective_permissions(member.role, member.permissions),
        user_id=member.user_id,
        session_id=op_session.id,
        csrf_token=op_session.csrf_token,
        rate_key=f"user:{member.user_id}",
    )


def create_session(session: Session, user: User, member: Member) -> tuple[str, OperatorSession]:
    token = random_token()
    op = OperatorSession(
        user_id=user.id,
        workspace_id=member.workspace_id,
        token_hash=sha256_hex(token),
        csrf_token=random_token(24),
        expires_at=utcnow() + timedelta(hours=get_settings().session_ttl_hours),
    )
    session.add(op)
    session.flush()
    return token, op


def login(session: Session, email: str, password: str, workspace_id: uuid.UUID | None, *,
          guard: LoginGuard | None = None, address: str = "unknown") -> tuple[str, OperatorSession]:
    """Sign in; with a guard, failed attempts are throttled per email + address and per address
    (woes.auth.throttle): 429 for a throttled pair or address, never for the right password elsewhere."""
    if guard is None:
        return _login(session, email, password, workspace_id)
    try:
        attempt = guard.begin(email, address)
    except Throttled as e:
        raise ProblemError(429, "rate_limited", f"Too many failed sign-in attempts; retry in {e.retry_after} s.",
                           headers={"Retry-After": str(e.retry_after)}) from None
    try:
        result = _login(session, email, password, workspace_id)
    except ProblemError as e:
        if e.status == 401:
            attempt.failed()  # wrong email or password: its slots stay counted
        else:
            attempt.abandoned()
        raise
    except BaseException:
        attempt.abandoned()  # a server error is not a failed guess
        raise
    attempt.succeeded()
    return result


def _login(session: Session, email: str, password: str, workspace_id: uuid.UUID | None) -> tuple[str, OperatorSession]:
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    ok = verify_password(user.password_hash if user else None, password)
    if user is None or not ok:
        raise ProblemError(401, "unauthorized", "Email or password is incorrect.")
    stmt = select(Member).where(Member.user_id == user.id, Member.status == "active").order_by(Member.created_at)
    if workspace_id is not None:
        stmt = stmt.where(Member.workspace_id == workspace_id)
    member = session.scalars(stmt).first()
    if member is None:
        raise ProblemError(401, "unauthorized", "Email or password is incorrect.")
    return create_session(session, user, member)


def logout(session: Session, session_id: uuid.UUID) -> None:
    op = session.get(OperatorSession, session_id)
    if op and op.revoked_at is None:
        mark_auth_changed(session)
        op.revoked_at = utcnow()
