"""Private notes on conversations and issues (never on customer surfaces)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from woes.access.principal import Principal
from woes.core.errors import ProblemError, not_found
from woes.core.views import iso
from woes.db import utcnow
from woes.events.service import Actor, record_event
from woes.notes.models import Note
from woes.notes.schemas import MAX_NOTE  # noqa: F401  (the limit, where callers look for it)

# How a note's target is found, by target type ("conversation", "issue"): those domains sit above notes and
# are connected in woes.wiring. The getter raises the 404 of a target missing from the workspace.
TargetGetter = Callable[[Session, uuid.UUID, uuid.UUID], object]
NOTE_TARGETS: dict[str, TargetGetter] = {}


def add_note_target(target_type: str, get_target: TargetGetter) -> None:
    NOTE_TARGETS[target_type] = get_target


def check_target(session: Session, workspace_id: uuid.UUID, target_type: str, target_id: uuid.UUID) -> None:
    """404 unless the workspace holds that conversation or issue."""
    NOTE_TARGETS[target_type](session, workspace_id, target_id)


def note_view(note: Note) -> dict[str, Any]:
    return {
        "object": "note", "id": str(note.id), "targetType": note.target_type, "targetId": str(note.target_id),
        "authorType": note.author_type, "authorId": str(note.author_id) if note.author_id else None, "body": note.body,
        "copiedFromId": str(note.copied_from_id) if note.copied_from_id else None,
        "createdAt": iso(note.created_at),
    }


def notes_stmt(workspace_id: uuid.UUID, target_type: str, target_id: uuid.UUID):
    return select(Note).where(Note.workspace_id == workspace_id, Note.target_type == target_type,
                              Note.target_id == target_id, Note.deleted_at.is_(None))


def do_add_note(session: Session, workspace_id: uuid.UUID, target_type: str, target_id: uuid.UUID, body: str,
                author_type: str, author_id: uuid.UUID | None, actor: Actor, *, copied_from: uuid.UUID | None = None,
                created_at=None) -> Note:
    note = Note(workspace_id=workspace_id, target_type=target_type, target_id=target_id, author_type=author_type,
                author_id=author_id, body=body, copied_from_id=copied_from, created_at=created_at or utcnow())
    session.add(note)
    session.flush()
    record_event(session, workspace_id=workspace_id, type="note.created", resource_type="note", resource_id=note.id,
                 data=note_view(note), actor=actor, aggregate_id=target_id)
    return note


def do_delete_note(session: Session, workspace_id: uuid.UUID, target_type: str, target_id: uuid.UUID,
                   note_id: uuid.UUID, p: Principal) -> None:
    note = session.scalar(select(Note).where(Note.id == note_id, Note.workspace_id == workspace_id,
                                             Note.target_type == target_type, Note.target_id == target_id,
                                             Note.deleted_at.is_(None)))
    if note is None:
        raise not_found("Note")
    if note.author_type == "automation":
        raise ProblemError(409, "conflict", "Automation notes are kept as provenance and cannot be deleted.")
    own = note.author_type == "operator" and p.kind == "operator" and note.author_id == p.subject_id
    if not (own or p.is_admin):
        raise ProblemError(403, "permission_denied", "Only the note's author or an admin can delete it.",
                           extra={"requiredScope": "conversations:write"})
    note.deleted_at = utcnow()
    record_event(session, workspace_id=workspace_id, type="note.deleted", resource_type="note", resource_id=note.id,
                 data=note_view(note), actor=p.actor, aggregate_id=target_id)
