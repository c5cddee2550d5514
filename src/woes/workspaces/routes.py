from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from woes.access.deps import ReadDB, WriteDB, fast_read, require
from woes.access.principal import Principal
from woes.core.schemas import respond
from woes.workspaces import service
from woes.workspaces.schemas import WorkspaceOut, WorkspacePatch

router = APIRouter(prefix="/api/v1/workspace", tags=["workspace"])


@router.get("", response_model=WorkspaceOut)
@fast_read
def get_workspace(p: Annotated[Principal, Depends(require("workspace:read"))], db: ReadDB):
    return respond(WorkspaceOut, service.get_workspace(db, p.workspace_id))


@router.patch("", response_model=WorkspaceOut)
def update_workspace(body: WorkspacePatch, p: Annotated[Principal, Depends(require("workspace:write"))], db: WriteDB):
    return respond(WorkspaceOut, service.do_update_workspace(db, p.workspace_id, body, p.actor))
