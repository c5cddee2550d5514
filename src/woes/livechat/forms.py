"""Ticket forms: what `Woes("showTicketForm", key)` opens. A form lists conversation custom fields (each maybe
required); a submitted form is a conversation carrying those values. Each change is written with its event."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from woes.core.crud import Records, patch_changes
from woes.core.errors import ProblemError, validation_error
from woes.customfields import service as customfields
from woes.events.service import Actor, record_event
from woes.livechat.models import TicketForm
from woes.livechat.schemas import TicketFormCreate, TicketFormField, TicketFormOut, TicketFormPatch


def ticket_form_view(form: TicketForm) -> dict[str, Any]:
    return TicketFormOut.model_validate(form).model_dump(mode="json", by_alias=True)


FORMS = Records(TicketForm, "ticket_form", "Ticket form", ticket_form_view, record_event)


def get_form(session: Session, workspace_id: uuid.UUID, form_id: uuid.UUID) -> TicketForm:
    return FORMS.get(session, workspace_id, form_id)


def list_forms_stmt(workspace_id: uuid.UUID) -> Select[Any]:
    return select(TicketForm).where(TicketForm.workspace_id == workspace_id)


def _key_taken(session: Session, workspace_id: uuid.UUID, key: str) -> ProblemError:
    return FORMS.taken(f"A ticket form with the key '{key}' exists.", FORMS.find(session, workspace_id, key=key))


def _fields(session: Session, workspace_id: uuid.UUID, fields: list[TicketFormField]) -> list[dict[str, Any]]:
    """The form's fields, each a conversation custom field of the workspace, once."""
    known = customfields.custom_field_definitions(session, workspace_id, "conversation")
    out, seen = [], set()
    for i, f in enumerate(fields):
        if f.custom_field not in known:
            raise validation_error(f"fields[{i}].customField", "No conversation custom field with this key.")
        if f.custom_field in seen:
            raise validation_error(f"fields[{i}].customField", "Listed twice.")
        seen.add(f.custom_field)
        out.append({"customField": f.custom_field, "required": f.required})
    return out


def do_create_form(session: Session, workspace_id: uuid.UUID, body: TicketFormCreate, actor: Actor) -> TicketForm:
    if FORMS.find(session, workspace_id, key=body.key) is not None:
        raise _key_taken(session, workspace_id, body.key)
    form = TicketForm(workspace_id=workspace_id, key=body.key, title=body.title, description=body.description,
                      fields=_fields(session, workspace_id, body.fields), enabled=body.enabled, position=body.position)
    return FORMS.insert(session, workspace_id, form, actor, on_conflict=lambda: _key_taken(session, workspace_id, body.key))


def do_update_form(session: Session, workspace_id: uuid.UUID, form_id: uuid.UUID, body: TicketFormPatch, actor: Actor) -> TicketForm:
    form = get_form(session, workspace_id, form_id)
    changes = patch_changes(body, ("key", "title", "fields", "enabled", "position"))
    if "fields" in changes:
        changes["fields"] = _fields(session, workspace_id, body.fields or [])
    if "key" in changes and changes["key"] != form.key and FORMS.find(session, workspace_id, key=changes["key"]):
        raise _key_taken(session, workspace_id, changes["key"])
    changed = FORMS.apply(session, form, changes, on_conflict=lambda: _key_taken(session, workspace_id, changes.get("key", "")))
    if changed:
        FORMS.updated(session, workspace_id, form, changed, actor)
    return form


def do_delete_form(session: Session, workspace_id: uuid.UUID, form_id: uuid.UUID, actor: Actor) -> None:
    FORMS.delete(session, workspace_id, get_form(session, workspace_id, form_id), actor)
