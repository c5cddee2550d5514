from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Response
from sqlalchemy import select

from woes.access.deps import ReadDB, WriteDB, require
from woes.access.principal import Principal
from woes.core.pagination import Page, paginate
from woes.members import service
from woes.members.models import Member, User
from woes.members.schemas import MemberInvite, MemberInvited, MemberOut, MemberPatch

router = APIRouter(prefix="/api/v1/members", tags=["members"])
MembersRead = Annotated[Principal, Depends(require("members:read"))]
MembersWrite = Annotated[Principal, Depends(require("members:write"))]


@router.get("", summary="List members")
def list_members(p: MembersRead, db: ReadDB, page: Page) -> dict:
    result = paginate(db, service.members_stmt(p.workspace_id), Member, page, "members", lambda m: m)
    users = {u.id: u for u in db.scalars(select(User).where(User.id.in_([m.user_id for m in result["members"]])))}
    result["members"] = [service.member_view(m, users[m.user_id]) for m in result["members"]]
    return result


@router.post("", status_code=201, response_model=MemberInvited, summary="Invite a member by email")
def invite_member(body: MemberInvite, p: MembersWrite, db: WriteDB):
    member, user, token = service.do_invite_member(db, p.workspace_id, body, p)
    return {**service.member_view(member, user), "inviteToken": token, "inviteUrl": f"/app/accept-invite?token={token}"}


@router.get("/{member_id}", response_model=MemberOut)
def get_member(member_id: uuid.UUID, p: MembersRead, db: ReadDB):
    return service.member_view(*service.get_member(db, p.workspace_id, member_id))


@router.patch("/{member_id}", response_model=MemberOut, summary="Change a member's role or section permissions")
def update_member(member_id: uuid.UUID, body: MemberPatch, p: MembersWrite, db: WriteDB):
    return service.member_view(*service.do_update_member(db, p.workspace_id, member_id, body, p))


@router.delete("/{member_id}", status_code=204, summary="Remove a member (the last owner cannot be removed)")
def remove_member(member_id: uuid.UUID, p: MembersWrite, db: WriteDB) -> Response:
    service.do_remove_member(db, p.workspace_id, member_id, p)
    return Response(status_code=204)
