"""HTTP: private notes on conversations and issues (`/api/v1/conversations/{id}/notes`, `/api/v1/issues/{id}/notes`).

The two sets of routes differ only in their target, scope and wording, so one function declares each set.
(No `from __future__ import annotations`: FastAPI must see the closure's annotation aliases as objects.)"""


import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response

from woes.access.deps import ReadDB, WriteDB, require
from woes.access.principal import Principal
from woes.core.pagination import Page, paginate
from woes.notes import service
from woes.notes.models import Note
from woes.notes.schemas import NoteCreate

router = APIRouter(prefix="/api/v1")


def _note_routes(target_type: str, collection: str, *, list_summary: str | None = None, add_summary: str | None = None,
                 delete_summary: str | None = None) -> None:
    """GET/POST `/{collection}/{<target>_id}/notes` and DELETE `.../notes/{note_id}`, behind `<collection>:read|write`."""
    param = f"{target_type}_id"
    base = f"/{collection}/{{{param}}}/notes"
    Read = Annotated[Principal, Depends(require(f"{collection}:read"))]  # noqa: N806
    Write = Annotated[Principal, Depends(require(f"{collection}:write"))]  # noqa: N806
    TargetId = Annotated[uuid.UUID, Path(alias=param)]  # noqa: N806

    @router.get(base, summary=list_summary, tags=[collection])
    def list_notes(target_id: TargetId, p: Read, db: ReadDB, page: Page) -> dict:
        service.check_target(db, p.workspace_id, target_type, target_id)
        return paginate(db, service.notes_stmt(p.workspace_id, target_type, target_id), Note, page, "notes",
                        service.note_view, ascending=True)

    @router.post(base, status_code=201, summary=add_summary, tags=[collection])
    def add_note(target_id: TargetId, body: NoteCreate, p: Write, db: WriteDB) -> dict:
        service.check_target(db, p.workspace_id, target_type, target_id)
        return service.note_view(service.do_add_note(db, p.workspace_id, target_type, target_id, body.body, "operator",
                                                     p.subject_id if p.kind == "operator" else None, p.actor))

    @router.delete(base + "/{note_id}", status_code=204, summary=delete_summary, tags=[collection])
    def delete_note(target_id: TargetId, note_id: uuid.UUID, p: Write, db: WriteDB) -> Response:
        service.check_target(db, p.workspace_id, target_type, target_id)
        service.do_delete_note(db, p.workspace_id, target_type, target_id, note_id, p)
        return Response(status_code=204)


_note_routes("conversation", "conversations", list_summary="Private notes, oldest first", add_summary="Add a private note",
             delete_summary="Delete a note (its author or an admin; automation notes are kept)")
_note_routes("issue", "issues")
