from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, File, UploadFile
from fastapi.responses import Response

from woes.access.deps import ReadDB, WriteDB, require
from woes.access.principal import Principal
from woes.attachments import service

router = APIRouter(prefix="/api/v1/attachments", tags=["attachments"])


@router.post("", status_code=201, summary="Upload a file to attach to a message (multipart field `file`)")
def upload(file: Annotated[UploadFile, File()], p: Annotated[Principal, Depends(require("conversations:write"))],
           db: WriteDB) -> dict:
    data = file.file.read(service.MAX_BYTES + 1)
    att = service.do_store_attachment(db, p.workspace_id, file.filename, file.content_type or "", data, p.actor)
    return service.attachment_view(att)


@router.get("/{attachment_id}", summary="Attachment metadata")
def get_attachment(attachment_id: uuid.UUID, p: Annotated[Principal, Depends(require("conversations:read"))], db: ReadDB) -> dict:
    return service.attachment_view(service.get_attachment(db, p.workspace_id, attachment_id))


@router.get("/{attachment_id}/content", summary="Download the file")
def download(attachment_id: uuid.UUID, p: Annotated[Principal, Depends(require("conversations:read"))], db: ReadDB) -> Response:
    att = service.get_attachment(db, p.workspace_id, attachment_id)
    return Response(service.read_bytes(db, att), media_type=att.content_type, headers={
        "Content-Disposition": f'attachment; filename="{att.filename}"', "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox"})
