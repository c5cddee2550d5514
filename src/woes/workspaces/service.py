"""Workspace state changes. Each function writes the change and its event in the caller's transaction."""

from __future__ import annotations

import secrets
import uuid
from typing import Any

from sqlalchemy.orm import Session

from woes.core.errors import ProblemError
from woes.crypto import decrypt_json, encrypt_json
from woes.events.service import Actor, record_event
from woes.workspaces.models import Workspace
from woes.workspaces.schemas import WorkspaceOut, WorkspacePatch


def get_workspace(session: Session, workspace_id: uuid.UUID) -> Workspace:
    ws = session.get(Workspace, workspace_id)
    if ws is None:
        raise ProblemError(404, "workspace_not_found", "Workspace not found.")
    return ws


def workspace_view(ws: Workspace) -> dict[str, Any]:
    return WorkspaceOut.model_validate(ws).model_dump(mode="json", by_alias=True)


def do_create_workspace(session: Session, *, name: str, actor: Actor) -> Workspace:
    ws = Workspace(name=name, branding={}, timezone="UTC", default_priority="medium", identity_mode="off",
                   notify_customer_on_issue_resolved=False)
    session.add(ws)
    session.flush()
    record_event(session, workspace_id=ws.id, type="workspace.created", resource_type="workspace",
                 resource_id=ws.id, data=workspace_view(ws), actor=actor)
    return ws


def do_update_workspace(session: Session, workspace_id: uuid.UUID, patch: WorkspacePatch, actor: Actor) -> Workspace:
    ws = get_workspace(session, workspace_id)
    changes = patch.model_dump(exclude_unset=True, mode="json")
    if "name" in changes and changes["name"] is None:
        raise ProblemError(422, "validation_failed", "name: cannot be null", errors=[{"field": "name", "message": "cannot be null"}])
    changed = []
    for field, value in changes.items():
        if field == "branding":  # merged like a JSON merge patch: null clears it, a null member removes that member
            value = {} if value is None else {**(ws.branding or {}), **value}
            value = {k: v for k, v in value.items() if v is not None}
        if field in ("timezone", "default_priority", "identity_mode", "notify_customer_on_issue_resolved") and value is None:
            continue
        if getattr(ws, field) != value:
            setattr(ws, field, value)
            changed.append(field)
    if ws.identity_mode != "off" and ws.identity_secret is None:  # a verifying mode needs a secret to verify with
        _store_identity_secret(ws)
    if changed:
        session.flush()
        record_event(session, workspace_id=ws.id, type="workspace.updated", resource_type="workspace",
                     resource_id=ws.id, data={**workspace_view(ws), "changedFields": changed}, actor=actor)
    return ws


# -- the widget identity secret (SPEC §3): hex, stored encrypted, shown only to those who could read what it
# unlocks (a verified identity's live-chat history), through the routes that return it.
IDENTITY_SECRET_HOLDINGS = ("workspace:write", "customers:read", "conversations:read")


def _store_identity_secret(ws: Workspace) -> str:
    secret = secrets.token_hex(32)
    ws.identity_secret = encrypt_json({"identitySecret": secret})
    return secret


def identity_secret(ws: Workspace) -> str | None:
    """The workspace's widget identity secret (hex), or None before one was made."""
    if ws.identity_secret is None:
        return None
    return decrypt_json(ws.identity_secret)["identitySecret"]


def do_reveal_identity_secret(session: Session, workspace_id: uuid.UUID, actor: Actor) -> str:
    """The secret, created on first use (with its event, not carrying the secret)."""
    ws = get_workspace(session, workspace_id)
    current = identity_secret(ws)
    if current is not None:
        return current
    return do_rotate_identity_secret(session, workspace_id, actor)


def do_rotate_identity_secret(session: Session, workspace_id: uuid.UUID, actor: Actor) -> str:
    """A new secret: proofs made with the old one stop verifying at once."""
    ws = get_workspace(session, workspace_id)
    secret = _store_identity_secret(ws)
    session.flush()
    record_event(session, workspace_id=ws.id, type="workspace.identity_secret_rotated", resource_type="workspace",
                 resource_id=ws.id, data={"identityMode": ws.identity_mode}, actor=actor)
    return secret
