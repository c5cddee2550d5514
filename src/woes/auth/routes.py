"""Operator sign-in for the web app: HTTP-only session cookie + CSRF token (double submit, bound to the session)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from woes.access.deps import WriteDB, current_principal
from woes.access.principal import Principal
from woes.auth import service
from woes.config import get_settings
from woes.core.clientaddr import client_ip
from woes.core.errors import ProblemError
from woes.members import service as members_service
from woes.members.models import Member, User
from woes.members.schemas import AcceptInviteIn, LoginIn

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


def _set_session_cookies(response: Response, token: str, csrf: str) -> None:
    settings = get_settings()
    max_age = settings.session_ttl_hours * 3600
    response.set_cookie(service.SESSION_COOKIE, token, max_age=max_age, httponly=True, samesite="lax",
                        secure=settings.cookie_secure, path="/")
    response.set_cookie(service.CSRF_COOKIE, csrf, max_age=max_age, httponly=False, samesite="strict",
                        secure=settings.cookie_secure, path="/")


def _signed_in(member: Member, user: User, csrf: str) -> dict[str, Any]:
    return {"object": "session", "member": members_service.member_view(member, user), "csrfToken": csrf,
            "workspaceId": str(member.workspace_id)}


@router.post("/login", summary="Sign in with email and password (sets the session cookie)")
def login(body: LoginIn, request: Request, response: Response, db: WriteDB) -> dict:
    email = str(body.email).lower()
    token, op = service.login(db, email, body.password, body.workspace_id,
                              guard=request.app.state.runtime.login_guard, address=client_ip(request.scope) or "unknown")
    member = db.query(Member).filter(Member.user_id == op.user_id, Member.workspace_id == op.workspace_id).one()
    _set_session_cookies(response, token, op.csrf_token)
    return _signed_in(member, db.get(User, op.user_id), op.csrf_token)


@router.post("/accept-invite", summary="Accept an invite: set a password and sign in")
def accept_invite(body: AcceptInviteIn, response: Response, db: WriteDB) -> dict:
    member, user = members_service.do_accept_invite(db, body.token, body.password, body.name)
    token, op = service.create_session(db, user, member)
    _set_session_cookies(response, token, op.csrf_token)
    return _signed_in(member, user, op.csrf_token)


@router.post("/logout", status_code=204, summary="End the current operator session")
def logout(p: Annotated[Principal, Depends(current_principal)], db: WriteDB) -> Response:
    if p.session_id is None:
        raise ProblemError(400, "validation_failed", "Logout applies to operator sessions, not API keys.")
    service.logout(db, p.session_id)
    response = Response(status_code=204)
    response.delete_cookie(service.SESSION_COOKIE, path="/")
    response.delete_cookie(service.CSRF_COOKIE, path="/")
    return response


@router.get("/me", summary="Who am I: the calling key or operator")
def me(p: Annotated[Principal, Depends(current_principal)]) -> dict:
    out: dict[str, Any] = {"object": "principal", "kind": p.kind, "id": str(p.subject_id), "workspaceId": str(p.workspace_id)}
    if p.kind == "api_key":
        out["scopes"] = sorted(p.scopes)
    else:
        out.update(role=p.role, permissions=p.permissions, userId=str(p.user_id))
    return out
