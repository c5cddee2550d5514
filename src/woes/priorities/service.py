"""Priorities: a workspace's ordered priority labels, lowest first; exactly one is the default, mirrored into
`workspace.default_priority`.

Helpers for other domains: `valid_priority(...)`, `default_priority(...)`.

A workspace without priority rows reads as if it had `DEFAULT_PRIORITIES` (the default: the workspace's
`default_priority` if it is one of them, else `DEFAULT_PRIORITY`); the first change writes them
(`core.crud.OrderedRecords`). Every change goes through a `do_*` function that writes the change and its domain
event in the caller's transaction (services never commit).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from woes.core.crud import OrderedRecords, patch_changes
from woes.core.errors import ProblemError, conflict, validation_error
from woes.core.text import fold_name
from woes.events.service import Actor, record_event
from woes.priorities.models import Priority
from woes.priorities.schemas import PriorityCreate, PriorityOut, PriorityPatch
from woes.workspaces.models import Workspace
from woes.workspaces.service import get_workspace, workspace_view

MAX_PRIORITIES = 50
DEFAULT_PRIORITIES = ("low", "medium", "high", "urgent")
DEFAULT_PRIORITY = "medium"


def priority_view(pr: Priority) -> dict[str, Any]:
    return PriorityOut.model_validate(pr).model_dump(mode="json", by_alias=True)


def _default_priorities(session: Session, workspace_id: uuid.UUID) -> list[Priority]:
    ws = get_workspace(session, workspace_id)
    # Honor a workspace default set (PATCH /workspace) before the priority list was ever edited.
    default = fold_name(ws.default_priority or "")
    default = default if default in DEFAULT_PRIORITIES else DEFAULT_PRIORITY
    return [
        Priority(id=PRIORITIES.default_id(workspace_id, label), workspace_id=workspace_id, label=label,
                 label_key=label, position=i, is_default=label == default, created_at=ws.created_at,
                 updated_at=ws.created_at)
        for i, label in enumerate(DEFAULT_PRIORITIES)
    ]


PRIORITIES = OrderedRecords(Priority, "priority", "Priority", priority_view, record_event, plural="priorities",
                            limit=MAX_PRIORITIES, defaults=_default_priorities, parent=Workspace)


def list_priorities(session: Session, workspace_id: uuid.UUID) -> list[Priority]:
    """All priorities, lowest first; the built-in defaults (unsaved objects) when none were ever written."""
    return PRIORITIES.all(session, workspace_id)


def get_priority(session: Session, workspace_id: uuid.UUID, priority_id: uuid.UUID) -> Priority:
    return PRIORITIES.get(session, workspace_id, priority_id)


def default_priority(session: Session, workspace_id: uuid.UUID) -> str:
    """The label of the workspace's default priority (e.g. 'medium')."""
    rows = list_priorities(session, workspace_id)
    return next((p.label for p in rows if p.is_default), rows[0].label)


def priority_or_default(session: Session, workspace_id: uuid.UUID, label: str | None) -> str:
    """A configured priority label; none given → the workspace's default priority (or the configured default)."""
    if label is None:
        ws = session.get(Workspace, workspace_id)
        try:
            return valid_priority(session, workspace_id, ws.default_priority if ws else None)
        except ProblemError:
            return valid_priority(session, workspace_id, None)
    return valid_priority(session, workspace_id, label)


def valid_priority(session: Session, workspace_id: uuid.UUID, label: str | None, *, field: str = "priority") -> str:
    """The configured spelling of `label` (matched case-insensitively, trimmed); `None` → the default.
    A label that is not configured → 422 naming `priority` (or `field`)."""
    rows = list_priorities(session, workspace_id)
    if label is None:
        return next((p.label for p in rows if p.is_default), rows[0].label)
    if not isinstance(label, str):
        raise validation_error(field, "Must be a priority label (string).")
    key = fold_name(label.strip())
    for p in rows:
        if p.label_key == key:
            return p.label
    labels = ", ".join(p.label for p in rows)
    raise validation_error(field, f"'{label}' is not a configured priority; use one of: {labels}.")


def _after_priority_change(session: Session, workspace_id: uuid.UUID, rows: Sequence[Priority], keep: Priority,
                           actor: Actor) -> None:
    """Keep exactly one default (demoting others, with events) and mirror it into workspace.default_priority."""
    if keep.is_default:
        PRIORITIES.demote(session, workspace_id, rows, keep, actor)
    label = next(p.label for p in rows if p.is_default)
    ws = get_workspace(session, workspace_id)
    if ws.default_priority != label:
        ws.default_priority = label
        session.flush()
        record_event(session, workspace_id=workspace_id, type="workspace.updated", resource_type="workspace",
                     resource_id=workspace_id, data={**workspace_view(ws), "changedFields": ["default_priority"]},
                     actor=actor)


def do_create_priority(session: Session, workspace_id: uuid.UUID, body: PriorityCreate, actor: Actor) -> Priority:
    rows = PRIORITIES.materialize(session, workspace_id)
    PRIORITIES.check_new(rows, body.label)
    pr = Priority(workspace_id=workspace_id, label=body.label, is_default=body.is_default or not rows)
    PRIORITIES.add(session, workspace_id, rows, pr, body.position, actor)
    _after_priority_change(session, workspace_id, rows, pr, actor)
    return pr


def do_update_priority(session: Session, workspace_id: uuid.UUID, priority_id: uuid.UUID, body: PriorityPatch,
                       actor: Actor) -> Priority:
    rows, pr = PRIORITIES.writable(session, workspace_id, priority_id)
    changes = patch_changes(body, ("label", "position", "is_default"))
    if "label" in changes:
        PRIORITIES.check_label(rows, changes["label"], exclude=pr.id)
    if changes.get("is_default") is False and pr.is_default:
        raise conflict(f"Exactly one priority is the default. Make another priority the default (isDefault: true) "
                       f"instead of unsetting '{pr.label}'.")
    values = {"is_default": True} if changes.get("is_default") else {}
    if PRIORITIES.update(session, workspace_id, rows, pr, changes, actor, values=values,
                         fields=("label", "position", "is_default")):
        _after_priority_change(session, workspace_id, rows, pr, actor)
    return pr


def do_delete_priority(session: Session, workspace_id: uuid.UUID, priority_id: uuid.UUID, actor: Actor) -> None:
    PRIORITIES.remove(session, workspace_id, priority_id, actor, refuse=lambda pr: pr.is_default and (
        f"'{pr.label}' is the default priority and cannot be deleted. Make another priority the default first."))
