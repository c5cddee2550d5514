"""The one write path for domain events (Zulip `do_*` style).

A service function changes its records and calls `record_event` on the same session; both commit or
neither does. The outbox relay (events/relay.py) later hands committed events to consumers and the live
bus, so an event from a rolled-back transaction can never be published.
"""

from __future__ import annotations

import threading
import uuid
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from woes.core.actors import SYSTEM, Actor  # noqa: F401  (re-exported: domains record events with them)
from woes.core.redaction import redact_json
from woes.core.views import iso
from woes.db import utcnow
from woes.events.models import DomainEvent

_PENDING_FLAG = "woes_pending_events"
_wake_handles: set[threading.Event] = set()
_wake_lock = threading.Lock()


def register_wake_handle(handle: threading.Event) -> None:
    with _wake_lock:
        _wake_handles.add(handle)


def unregister_wake_handle(handle: threading.Event) -> None:
    with _wake_lock:
        _wake_handles.discard(handle)


def record_event(
    session: Session,
    *,
    workspace_id: uuid.UUID,
    type: str,
    resource_type: str,
    resource_id: uuid.UUID | str,
    data: dict[str, Any],
    actor: Actor = SYSTEM,
    aggregate_id: uuid.UUID | str | None = None,
) -> DomainEvent:
    """Store one domain event in the caller's transaction.

    The payload is redacted here, the one write path of every event: the event log, conversation
    timelines, the live stream and webhooks all read this stored payload, so a secret that reached a
    view (a reason, a name, a field no service redacted) never reaches them."""
    ev = DomainEvent(
        id=uuid.uuid4(),
        workspace_id=workspace_id,
        type=type,
        resource_type=resource_type,
        resource_id=str(resource_id),
        aggregate_id=str(aggregate_id if aggregate_id is not None else resource_id),
        actor_type=actor.type,
        actor_id=actor.id,
        payload=redact_json(data),
        created_at=utcnow(),
    )
    session.add(ev)
    session.info[_PENDING_FLAG] = True
    return ev


def record_change(session: Session, resource_type: str, row: Any, type: str, actor: Actor, view: dict[str, Any], *,
                  aggregate_id: uuid.UUID | str | None = None, **extra: Any) -> DomainEvent:
    """`record_event` for a change to one record of a workspace, `row` (its `workspace_id` and `id`): the record's
    `view` with `extra` (e.g. `changedFields`) as the data."""
    return record_event(session, workspace_id=row.workspace_id, type=type, resource_type=resource_type,
                        resource_id=row.id, data={**view, **extra}, actor=actor, aggregate_id=aggregate_id)


def envelope(ev: DomainEvent) -> dict[str, Any]:
    """The public shape of an event (webhooks, SSE, logs): {type, id, timestamp, workspaceId, data}."""
    return {
        "type": ev.type,
        "id": str(ev.id),
        "seq": ev.seq,
        "timestamp": iso(ev.created_at),
        "workspaceId": str(ev.workspace_id),
        "resource": {"type": ev.resource_type, "id": ev.resource_id},
        "actor": {"type": ev.actor_type, "id": ev.actor_id},
        "data": ev.payload,
    }


@sa_event.listens_for(Session, "after_commit")
def _wake_relays_after_commit(session: Session) -> None:
    if session.info.pop(_PENDING_FLAG, False):
        with _wake_lock:
            handles = list(_wake_handles)
        for h in handles:
            h.set()


@sa_event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    session.info.pop(_PENDING_FLAG, None)
