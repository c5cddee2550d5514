"""Statuses: a workspace's labels for the lifecycle states open, waiting (on the customer or the team) and
solved. Every lifecycle keeps at least one status and exactly one default (the label a record in that state gets).

Helpers for other domains: `list_statuses(...)`, `resolve_status(...)`, `default_status(...)`.

A workspace without status rows reads as if it had `DEFAULT_STATUSES`; the first change writes them
(`core.crud.OrderedRecords`). Every change goes through a `do_*` function that writes the change and its domain
event in the caller's transaction (services never commit).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from woes.core.crud import OrderedRecords, patch_changes
from woes.core.errors import conflict, validation_error
from woes.core.text import fold_name
from woes.events.service import Actor, record_event
from woes.statuses.models import Status
from woes.statuses.schemas import StatusCreate, StatusOut, StatusPatch
from woes.workspaces.models import Workspace
from woes.workspaces.service import get_workspace

MAX_STATUSES = 50

# (slug, label, lifecycle, waiting_on, is_default) in list order
DEFAULT_STATUSES: tuple[tuple[str, str, str, str | None, bool], ...] = (
    ("open", "Open", "open", None, True),
    ("waiting-customer", "Waiting on customer", "waiting", "customer", True),
    ("waiting-team", "Waiting on team", "waiting", "team", False),
    ("resolved", "Resolved", "solved", None, True),
)


def status_view(st: Status) -> dict[str, Any]:
    return StatusOut.model_validate(st).model_dump(mode="json", by_alias=True)


def _default_statuses(session: Session, workspace_id: uuid.UUID) -> list[Status]:
    created = get_workspace(session, workspace_id).created_at
    return [
        Status(id=STATUSES.default_id(workspace_id, slug), workspace_id=workspace_id, label=label,
               label_key=fold_name(label), lifecycle=lifecycle, waiting_on=waiting_on, position=i, is_default=is_default,
               created_at=created, updated_at=created)
        for i, (slug, label, lifecycle, waiting_on, is_default) in enumerate(DEFAULT_STATUSES)
    ]


STATUSES = OrderedRecords(Status, "status", "Status", status_view, record_event, plural="statuses", limit=MAX_STATUSES,
                          defaults=_default_statuses, parent=Workspace)


def list_statuses(session: Session, workspace_id: uuid.UUID) -> list[Status]:
    """All statuses in list order; the built-in defaults (unsaved objects) when none were ever written."""
    return STATUSES.all(session, workspace_id)


def get_status(session: Session, workspace_id: uuid.UUID, status_id: uuid.UUID) -> Status:
    return STATUSES.get(session, workspace_id, status_id)


def default_status(session: Session, workspace_id: uuid.UUID, lifecycle: str = "open") -> Status:
    """The default status of a lifecycle (open | waiting | solved)."""
    rows = list_statuses(session, workspace_id)
    return next((s for s in rows if s.lifecycle == lifecycle and s.is_default),
                next(s for s in rows if s.lifecycle == lifecycle))


def resolve_status(session: Session, workspace_id: uuid.UUID, lifecycle: str, waiting_on: str | None = None) -> Status:
    """The status that best describes a record in `lifecycle` (+ `waiting_on`), for display: the default of
    the lifecycle when it matches `waiting_on`, else the first status (by position) that matches exactly,
    else the lifecycle's default."""
    if lifecycle not in ("open", "waiting", "solved"):
        raise validation_error("status", "Must be one of: open, waiting, solved.")
    rows = [s for s in list_statuses(session, workspace_id) if s.lifecycle == lifecycle]
    default = next((s for s in rows if s.is_default), rows[0])
    if default.waiting_on == waiting_on:
        return default
    return next((s for s in rows if s.waiting_on == waiting_on), default)


def _check_waiting_on(lifecycle: str, waiting_on: str | None) -> None:
    if waiting_on is not None and lifecycle != "waiting":
        raise validation_error("waitingOn", f"Only 'waiting' statuses say who is waited on; this one is '{lifecycle}'. "
                                            "Leave waitingOn null.")


def _demote_others(session: Session, workspace_id: uuid.UUID, rows: Sequence[Status], keep: Status,
                   actor: Actor) -> None:
    """`keep` is its lifecycle's one default: the lifecycle's previous default is no longer one."""
    STATUSES.demote(session, workspace_id, rows, keep, actor, among=lambda s: s.lifecycle == keep.lifecycle)


def do_create_status(session: Session, workspace_id: uuid.UUID, body: StatusCreate, actor: Actor) -> Status:
    _check_waiting_on(body.lifecycle, body.waiting_on)
    rows = STATUSES.materialize(session, workspace_id)
    STATUSES.check_new(rows, body.label)
    # The first status of a lifecycle is its default.
    is_default = body.is_default or not any(s.lifecycle == body.lifecycle for s in rows)
    st = Status(workspace_id=workspace_id, label=body.label, lifecycle=body.lifecycle, waiting_on=body.waiting_on,
                is_default=is_default)
    STATUSES.add(session, workspace_id, rows, st, body.position, actor)
    if is_default:
        _demote_others(session, workspace_id, rows, st, actor)
    return st


def do_update_status(session: Session, workspace_id: uuid.UUID, status_id: uuid.UUID, body: StatusPatch,
                     actor: Actor) -> Status:
    rows, st = STATUSES.writable(session, workspace_id, status_id)
    changes = patch_changes(body, ("label", "lifecycle", "position", "is_default"))
    lifecycle = changes.get("lifecycle", st.lifecycle)
    if "waiting_on" in changes:
        waiting_on = changes["waiting_on"]
    else:
        waiting_on = st.waiting_on if lifecycle == "waiting" else None
    _check_waiting_on(lifecycle, waiting_on)
    if "label" in changes:
        STATUSES.check_label(rows, changes["label"], exclude=st.id)
    wants_default = changes.get("is_default")
    if lifecycle != st.lifecycle and st.is_default:
        raise conflict(f"'{st.label}' is the default '{st.lifecycle}' status. Make another '{st.lifecycle}' status "
                       "the default before moving this one to another lifecycle.")
    if wants_default is False and st.is_default and lifecycle == st.lifecycle:
        raise conflict(f"Every lifecycle needs a default status. Make another '{st.lifecycle}' status the default "
                       f"(isDefault: true) instead of unsetting '{st.label}'.")
    values = {"lifecycle": lifecycle, "waiting_on": waiting_on}
    if wants_default or not any(s.lifecycle == lifecycle and s.is_default for s in rows if s is not st):
        values["is_default"] = True
    changed = STATUSES.update(session, workspace_id, rows, st, changes, actor, values=values,
                              fields=("label", "lifecycle", "waiting_on", "position", "is_default"))
    if changed and st.is_default:
        _demote_others(session, workspace_id, rows, st, actor)
    return st


def do_delete_status(session: Session, workspace_id: uuid.UUID, status_id: uuid.UUID, actor: Actor) -> None:
    STATUSES.remove(session, workspace_id, status_id, actor, refuse=lambda st: st.is_default and (
        f"'{st.label}' is the default '{st.lifecycle}' status and cannot be deleted. Make another "
        f"'{st.lifecycle}' status the default first (every lifecycle keeps at least one status)."))
