"""Data settings routes: tags, custom fields, statuses, priorities. Reads need `workspace:read`, changes
`workspace:write` (for operators: owners and admins)."""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response

from woes.access.deps import ReadDB, WriteDB, fast_read, require
from woes.access.principal import Principal
from woes.core.pagination import Page, paginate
from woes.core.schemas import respond
from woes.datasettings import service
from woes.datasettings.models import CustomField, Tag
from woes.datasettings.schemas import (
    CustomFieldCreate,
    CustomFieldOut,
    CustomFieldPatch,
    FieldTarget,
    Lifecycle,
    PriorityCreate,
    PriorityOut,
    PriorityPatch,
    StatusCreate,
    StatusOut,
    StatusPatch,
    TagCreate,
    TagOut,
    TagPatch,
    TagScope,
)

router = APIRouter(prefix="/api/v1", tags=["data settings"])
SettingsRead = Annotated[Principal, Depends(require("workspace:read"))]
SettingsWrite = Annotated[Principal, Depends(require("workspace:write"))]


def _whole_list(plural: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"object": "list", plural: items, "hasMore": False, "nextCursor": None}


# -- tags ---------------------------------------------------------------------------------------------

@router.get("/tags", summary="List tags (newest first)")
@fast_read
def list_tags(
    p: SettingsRead, db: ReadDB, page: Page,
    scope: Annotated[TagScope | None, Query(description="conversation/issue also include tags usable on both.")] = None,
) -> dict:
    return paginate(db, service.list_tags_stmt(p.workspace_id, scope), Tag, page, "tags", service.tag_view)


@router.post("/tags", status_code=201, response_model=TagOut, summary="Create a tag")
def create_tag(body: TagCreate, p: SettingsWrite, db: WriteDB):
    return respond(TagOut, service.do_create_tag(db, p.workspace_id, body, p.actor), 201)


@router.get("/tags/{tag_id}", response_model=TagOut)
@fast_read
def get_tag(tag_id: uuid.UUID, p: SettingsRead, db: ReadDB):
    return respond(TagOut, service.get_tag(db, p.workspace_id, tag_id))


@router.patch("/tags/{tag_id}", response_model=TagOut, summary="Rename or restyle a tag")
def update_tag(tag_id: uuid.UUID, body: TagPatch, p: SettingsWrite, db: WriteDB):
    return respond(TagOut, service.do_update_tag(db, p.workspace_id, tag_id, body, p.actor))


@router.delete("/tags/{tag_id}", status_code=204, summary="Delete a tag")
def delete_tag(tag_id: uuid.UUID, p: SettingsWrite, db: WriteDB) -> Response:
    service.do_delete_tag(db, p.workspace_id, tag_id, p.actor)
    return Response(status_code=204)


# -- custom fields ------------------------------------------------------------------------------------

@router.get("/custom-fields", summary="List custom field definitions (newest first)")
@fast_read
def list_custom_fields(
    p: SettingsRead, db: ReadDB, page: Page,
    target: Annotated[FieldTarget | None, Query(description="Only fields for this kind of record.")] = None,
) -> dict:
    stmt = service.list_custom_fields_stmt(p.workspace_id, target)
    return paginate(db, stmt, CustomField, page, "customFields", service.custom_field_view)


@router.post("/custom-fields", status_code=201, response_model=CustomFieldOut, summary="Define a custom field")
def create_custom_field(body: CustomFieldCreate, p: SettingsWrite, db: WriteDB):
    return respond(CustomFieldOut, service.do_create_custom_field(db, p.workspace_id, body, p.actor), 201)


@router.get("/custom-fields/{field_id}", response_model=CustomFieldOut)
@fast_read
def get_custom_field(field_id: uuid.UUID, p: SettingsRead, db: ReadDB):
    return respond(CustomFieldOut, service.get_custom_field(db, p.workspace_id, field_id))


@router.patch("/custom-fields/{field_id}", response_model=CustomFieldOut,
              summary="Change a custom field's label, options, description or required flag (key, type and target are fixed)")
def update_custom_field(field_id: uuid.UUID, body: CustomFieldPatch, p: SettingsWrite, db: WriteDB):
    return respond(CustomFieldOut, service.do_update_custom_field(db, p.workspace_id, field_id, body, p.actor))


@router.delete("/custom-fields/{field_id}", status_code=204, summary="Delete a custom field definition")
def delete_custom_field(field_id: uuid.UUID, p: SettingsWrite, db: WriteDB) -> Response:
    service.do_delete_custom_field(db, p.workspace_id, field_id, p.actor)
    return Response(status_code=204)


# -- statuses -----------------------------------------------------------------------------------------

@router.get("/statuses", summary="List statuses in order (the whole list; hasMore is always false)")
@fast_read
def list_statuses(
    p: SettingsRead, db: ReadDB,
    lifecycle: Annotated[Lifecycle | None, Query(description="Only statuses of this lifecycle.")] = None,
) -> dict:
    rows = service.list_statuses(db, p.workspace_id)
    return _whole_list("statuses", [service.status_view(s) for s in rows if lifecycle in (None, s.lifecycle)])


@router.post("/statuses", status_code=201, response_model=StatusOut, summary="Add a status label for a lifecycle state")
def create_status(body: StatusCreate, p: SettingsWrite, db: WriteDB):
    return respond(StatusOut, service.do_create_status(db, p.workspace_id, body, p.actor), 201)


@router.get("/statuses/{status_id}", response_model=StatusOut)
@fast_read
def get_status(status_id: uuid.UUID, p: SettingsRead, db: ReadDB):
    return respond(StatusOut, service.get_status(db, p.workspace_id, status_id))


@router.patch("/statuses/{status_id}", response_model=StatusOut, summary="Relabel, move or make a status the default")
def update_status(status_id: uuid.UUID, body: StatusPatch, p: SettingsWrite, db: WriteDB):
    return respond(StatusOut, service.do_update_status(db, p.workspace_id, status_id, body, p.actor))


@router.delete("/statuses/{status_id}", status_code=204, summary="Delete a status (not a lifecycle's default)")
def delete_status(status_id: uuid.UUID, p: SettingsWrite, db: WriteDB) -> Response:
    service.do_delete_status(db, p.workspace_id, status_id, p.actor)
    return Response(status_code=204)


# -- priorities ---------------------------------------------------------------------------------------

@router.get("/priorities", summary="List priorities, lowest first (the whole list; hasMore is always false)")
@fast_read
def list_priorities(p: SettingsRead, db: ReadDB) -> dict:
    return _whole_list("priorities", [service.priority_view(x) for x in service.list_priorities(db, p.workspace_id)])


@router.post("/priorities", status_code=201, response_model=PriorityOut, summary="Add a priority")
def create_priority(body: PriorityCreate, p: SettingsWrite, db: WriteDB):
    return respond(PriorityOut, service.do_create_priority(db, p.workspace_id, body, p.actor), 201)


@router.get("/priorities/{priority_id}", response_model=PriorityOut)
@fast_read
def get_priority(priority_id: uuid.UUID, p: SettingsRead, db: ReadDB):
    return respond(PriorityOut, service.get_priority(db, p.workspace_id, priority_id))


@router.patch("/priorities/{priority_id}", response_model=PriorityOut, summary="Relabel, move or make a priority the default")
def update_priority(priority_id: uuid.UUID, body: PriorityPatch, p: SettingsWrite, db: WriteDB):
    return respond(PriorityOut, service.do_update_priority(db, p.workspace_id, priority_id, body, p.actor))


@router.delete("/priorities/{priority_id}", status_code=204, summary="Delete a priority (not the default)")
def delete_priority(priority_id: uuid.UUID, p: SettingsWrite, db: WriteDB) -> Response:
    service.do_delete_priority(db, p.workspace_id, priority_id, p.actor)
    return Response(status_code=204)
