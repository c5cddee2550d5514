from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from woes.core.errors import conflict, validation_error
from woes.core.scoping import get_in_workspace
from woes.core.text import fold_name
from woes.core.views import iso
from woes.events.service import Actor, record_event
from woes.members.models import Member
from woes.teams.models import Team


def team_view(team: Team) -> dict[str, Any]:
    return {"object": "team", "id": str(team.id), "name": team.name, "memberIds": list(team.member_ids or []),
            "createdAt": iso(team.created_at),
            "updatedAt": iso(team.updated_at)}


def get_team(session: Session, workspace_id: uuid.UUID, team_id: uuid.UUID) -> Team:
    return get_in_workspace(session, Team, workspace_id, team_id, "Team")


def _check_members(session: Session, workspace_id: uuid.UUID, member_ids: list[uuid.UUID]) -> list[str]:
    ids = list(dict.fromkeys(member_ids))
    if ids:
        found = set(session.scalars(select(Member.id).where(Member.workspace_id == workspace_id, Member.id.in_(ids))))
        missing = [str(i) for i in ids if i not in found]
        if missing:
            raise validation_error("memberIds", f"Not members of this workspace: {', '.join(missing)}")
    return [str(i) for i in ids]


def _check_name(session: Session, workspace_id: uuid.UUID, name: str, exclude: uuid.UUID | None = None) -> None:
    stmt = select(Team.id).where(Team.workspace_id == workspace_id, Team.name_key == fold_name(name))
    if exclude:
        stmt = stmt.where(Team.id != exclude)
    existing = session.scalar(stmt)
    if existing:
        raise conflict("A team with this name exists.", existingId=str(existing))


def do_create_team(session: Session, workspace_id: uuid.UUID, name: str, member_ids: list[uuid.UUID], actor: Actor) -> Team:
    _check_name(session, workspace_id, name)
    team = Team(workspace_id=workspace_id, name=name, name_key=fold_name(name), member_ids=_check_members(session, workspace_id, member_ids))
    session.add(team)
    session.flush()
    record_event(session, workspace_id=workspace_id, type="team.created", resource_type="team", resource_id=team.id,
                 data=team_view(team), actor=actor)
    return team


def do_update_team(session: Session, workspace_id: uuid.UUID, team_id: uuid.UUID, changes: dict[str, Any], actor: Actor) -> Team:
    team = get_team(session, workspace_id, team_id)
    if changes.get("name") is not None:
        _check_name(session, workspace_id, changes["name"], exclude=team.id)
        team.name, team.name_key = changes["name"], fold_name(changes["name"])
    if changes.get("member_ids") is not None:
        team.member_ids = _check_members(session, workspace_id, changes["member_ids"])
    session.flush()
    record_event(session, workspace_id=workspace_id, type="team.updated", resource_type="team", resource_id=team.id,
                 data=team_view(team), actor=actor)
    return team


def do_delete_team(session: Session, workspace_id: uuid.UUID, team_id: uuid.UUID, actor: Actor) -> None:
    team = get_team(session, workspace_id, team_id)
    data = team_view(team)
    session.delete(team)
    record_event(session, workspace_id=workspace_id, type="team.deleted", resource_type="team", resource_id=team_id,
                 data=data, actor=actor)
