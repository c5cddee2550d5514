from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Response
from pydantic import Field
from sqlalchemy import select

from woes.access.deps import ReadDB, WriteDB, require
from woes.access.principal import Principal
from woes.core.pagination import Page, paginate
from woes.core.schemas import ApiInput
from woes.teams import service
from woes.teams.models import Team

router = APIRouter(prefix="/api/v1/teams", tags=["teams"])
Read = Annotated[Principal, Depends(require("members:read"))]
Write = Annotated[Principal, Depends(require("members:write"))]


class TeamCreate(ApiInput):
    name: str = Field(min_length=1, max_length=80)
    member_ids: list[uuid.UUID] = Field(default_factory=list, max_length=500)


class TeamPatch(ApiInput):
    name: str | None = Field(None, min_length=1, max_length=80)
    member_ids: list[uuid.UUID] | None = Field(None, max_length=500)


@router.get("", summary="List teams")
def list_teams(p: Read, db: ReadDB, page: Page) -> dict:
    return paginate(db, select(Team).where(Team.workspace_id == p.workspace_id), Team, page, "teams", service.team_view)


@router.post("", status_code=201, summary="Create a team (a named group of members)")
def create_team(body: TeamCreate, p: Write, db: WriteDB) -> dict:
    return service.team_view(service.do_create_team(db, p.workspace_id, body.name, body.member_ids, p.actor))


@router.get("/{team_id}")
def get_team(team_id: uuid.UUID, p: Read, db: ReadDB) -> dict:
    return service.team_view(service.get_team(db, p.workspace_id, team_id))


@router.patch("/{team_id}")
def update_team(team_id: uuid.UUID, body: TeamPatch, p: Write, db: WriteDB) -> dict:
    return service.team_view(service.do_update_team(db, p.workspace_id, team_id, body.model_dump(exclude_unset=True), p.actor))


@router.delete("/{team_id}", status_code=204)
def delete_team(team_id: uuid.UUID, p: Write, db: WriteDB) -> Response:
    service.do_delete_team(db, p.workspace_id, team_id, p.actor)
    return Response(status_code=204)
