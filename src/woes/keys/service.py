"""API keys and widget keys: every change writes its event in the same transaction.

No credential can gain more than it holds: creating, rotating or revoking a key needs a caller who holds
every scope of that key, and a widget key (it opens the widget channel to the public) needs channels:write
and routes only to an agent of the caller's workspace. Callers pass their Principal; internal callers
(`woes init`, the demo) pass a plain Actor and are trusted."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from woes.access.cache import mark_auth_changed
from woes.access.principal import Principal, beyond_holdings
from woes.core.errors import ProblemError, validation_error
from woes.core.scoping import get_in_workspace
from woes.core.security import API_KEY_PREFIX, WIDGET_KEY_PREFIX, random_token, sha256_hex
from woes.db import utcnow
from woes.events.service import Actor, record_event
from woes.keys.models import ApiKey, ApiKeySecret, WidgetKey
from woes.keys.schemas import ApiKeyCreate, ApiKeyOut, WidgetKeyCreate, WidgetKeyOut, WidgetKeyPatch

PREFIX_LEN = 14
# What a widget key carries: the public may open conversations through the widget channel with it.
WIDGET_KEY_SCOPES = ("channels:write",)


def _actor(who: Principal | Actor) -> Actor:
    return who.actor if isinstance(who, Principal) else who


def _check_holds(who: Principal | Actor | None, scopes: list[str] | tuple[str, ...], doing: str) -> None:
    if isinstance(who, Principal):
        missing = who.missing_scopes(scopes)
        if missing:
            raise beyond_holdings(missing, doing)


def _new_secret() -> str:
    return API_KEY_PREFIX + random_token(32)


def key_view(key: ApiKey) -> dict[str, Any]:
    return ApiKeyOut.model_validate(key).model_dump(mode="json", by_alias=True)


def get_key(session: Session, workspace_id: uuid.UUID, key_id: uuid.UUID) -> ApiKey:
    return get_in_workspace(session, ApiKey, workspace_id, key_id, "API key")


def list_keys_stmt(workspace_id: uuid.UUID):
    return select(ApiKey).where(ApiKey.workspace_id == workspace_id)


def do_create_key(
    session: Session,
    workspace_id: uuid.UUID,
    body: ApiKeyCreate,
    actor: Actor,
    creator: Principal | None = None,
) -> tuple[ApiKey, str]:
    if body.expires_at is not None and body.expires_at <= utcnow():
        raise validation_error("expiresAt", "Must be in the future.")
    _check_holds(creator, body.scopes, "create this key")
    secret = _new_secret()
    key = ApiKey(
        workspace_id=workspace_id, name=body.name, prefix=secret[:PREFIX_LEN], scopes=body.scopes,
        expires_at=body.expires_at, created_by=f"{actor.type}:{actor.id}" if actor.id else actor.type,
        usage_count=0, created_at=utcnow(),
    )
    session.add(key)
    session.flush()
    session.add(ApiKeySecret(key_id=key.id, secret_hash=sha256_hex(secret), prefix=key.prefix))
    record_event(session, workspace_id=workspace_id, type="key.created", resource_type="api_key",
                 resource_id=key.id, data=key_view(key), actor=actor)
    return key, secret


def do_rotate_key(
    session: Session, workspace_id: uuid.UUID, key_id: uuid.UUID, grace_seconds: int, who: Principal | Actor
) -> tuple[ApiKey, str]:
    key = get_key(session, workspace_id, key_id)
    _check_holds(who, key.scopes or [], "rotate this key (the new secret would be yours)")
    actor = _actor(who)
    if key.revoked_at is not None:
        raise ProblemError(409, "conflict", "A revoked key cannot be rotated.")
    now = utcnow()
    grace_end = now + timedelta(seconds=grace_seconds)
    session.execute(
        update(ApiKeySecret)
        .where(ApiKeySecret.key_id == key.id, or_(ApiKeySecret.valid_until.is_(None), ApiKeySecret.valid_until > grace_end))
        .values(valid_until=grace_end)
    )
    mark_auth_changed(session)
    secret = _new_secret()
    key.prefix = secret[:PREFIX_LEN]
    session.add(ApiKeySecret(key_id=key.id, secret_hash=sha256_hex(secret), prefix=key.prefix))
    session.flush()
    record_event(session, workspace_id=workspace_id, type="key.rotated", resource_type="api_key", resource_id=key.id,
                 data={**key_view(key), "previousSecretValidUntil": grace_end.isoformat()}, actor=actor)
    return key, secret


def do_revoke_key(session: Session, workspace_id: uuid.UUID, key_id: uuid.UUID, who: Principal | Actor) -> ApiKey:
    key = get_key(session, workspace_id, key_id)
    _check_holds(who, key.scopes or [], "revoke this key")
    actor = _actor(who)
    if key.revoked_at is None:
        mark_auth_changed(session)
        key.revoked_at = utcnow()
        session.flush()
        record_event(session, workspace_id=workspace_id, type="key.revoked", resource_type="api_key",
                     resource_id=key.id, data=key_view(key), actor=actor)
    return key


# -- widget keys --------------------------------------------------------------------------------------

def widget_key_view(wk: WidgetKey) -> dict[str, Any]:
    return WidgetKeyOut.model_validate(wk).model_dump(mode="json", by_alias=True)


def get_widget_key(session: Session, workspace_id: uuid.UUID, widget_key_id: uuid.UUID) -> WidgetKey:
    return get_in_workspace(session, WidgetKey, workspace_id, widget_key_id, "Widget key")


def widget_public_keys(session: Session, workspace_id: uuid.UUID, widget_key_ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    """The public key of each widget key among `widget_key_ids` (of this workspace)."""
    if not widget_key_ids:
        return {}
    stmt = select(WidgetKey.id, WidgetKey.public_key).where(WidgetKey.workspace_id == workspace_id,
                                                            WidgetKey.id.in_(widget_key_ids))
    return {key_id: public_key for key_id, public_key in session.execute(stmt)}


# Whether an agent id names an agent of the workspace: the agents domain sits above keys, woes.wiring connects it.
AGENT_EXISTS: list[Callable[[Session, uuid.UUID, uuid.UUID], bool]] = []


def use_agent_check(check: Callable[[Session, uuid.UUID, uuid.UUID], bool]) -> None:
    AGENT_EXISTS[:] = [check]


def _check_agent(session: Session, workspace_id: uuid.UUID, agent_id: uuid.UUID | None) -> None:
    if agent_id is None:
        return
    if not AGENT_EXISTS[0](session, workspace_id, agent_id):
        raise validation_error("agentId", "No agent with this id in the workspace.")


def do_create_widget_key(session: Session, workspace_id: uuid.UUID, body: WidgetKeyCreate, who: Principal | Actor) -> WidgetKey:
    _check_holds(who, WIDGET_KEY_SCOPES, "create a widget key")
    _check_agent(session, workspace_id, body.agent_id)
    actor = _actor(who)
    now = utcnow()
    wk = WidgetKey(workspace_id=workspace_id, name=body.name, agent_id=body.agent_id,
                   public_key=WIDGET_KEY_PREFIX + random_token(18), allowed_origins=body.allowed_origins,
                   enabled=True, created_at=now, updated_at=now)
    session.add(wk)
    session.flush()
    record_event(session, workspace_id=workspace_id, type="widget_key.created", resource_type="widget_key",
                 resource_id=wk.id, data=widget_key_view(wk), actor=actor)
    return wk


def do_update_widget_key(
    session: Session, workspace_id: uuid.UUID, widget_key_id: uuid.UUID, body: WidgetKeyPatch, who: Principal | Actor
) -> WidgetKey:
    wk = get_widget_key(session, workspace_id, widget_key_id)
    _check_holds(who, WIDGET_KEY_SCOPES, "change a widget key")
    actor = _actor(who)
    changes = body.model_dump(exclude_unset=True)
    for field in ("name", "enabled", "allowed_origins"):
        if field in changes and changes[field] is None:
            raise validation_error({"allowed_origins": "allowedOrigins"}.get(field, field), "cannot be null")
    changed = [f for f, v in changes.items() if getattr(wk, f) != v]
    for f in changed:
        setattr(wk, f, changes[f])
    if changed:
        session.flush()
        mark_auth_changed(session)  # the widget API caches keys (woes.livechat.gate)
        record_event(session, workspace_id=workspace_id, type="widget_key.updated", resource_type="widget_key",
                     resource_id=wk.id, data={**widget_key_view(wk), "changedFields": changed}, actor=actor)
    return wk


def do_delete_widget_key(session: Session, workspace_id: uuid.UUID, widget_key_id: uuid.UUID, who: Principal | Actor) -> None:
    wk = get_widget_key(session, workspace_id, widget_key_id)
    _check_holds(who, WIDGET_KEY_SCOPES, "delete a widget key")
    actor = _actor(who)
    data = widget_key_view(wk)
    session.delete(wk)
    mark_auth_changed(session)
    record_event(session, workspace_id=workspace_id, type="widget_key.deleted", resource_type="widget_key",
                 resource_id=widget_key_id, data=data, actor=actor)


def find_widget_key(session: Session, public_key: str) -> WidgetKey | None:
    """The widget key with this public key (any workspace: the key is what names the workspace), or None."""
    if not public_key.startswith(WIDGET_KEY_PREFIX) or len(public_key) > 64:
        return None
    return session.scalar(select(WidgetKey).where(WidgetKey.public_key == public_key))
