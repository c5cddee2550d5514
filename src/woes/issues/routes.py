from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Response

from woes.access.deps import ReadDB, WriteDB, require
from woes.access.principal import Principal
from woes.core.pagination import Page, paginate
from woes.issues import service
from woes.issues.models import Issue
from woes.issues.schemas import ConvertIn, ExternalLinkIn, IssueCreate, IssuePatch, LinkIn

router = APIRouter(prefix="/api/v1", tags=["issues"])
Read = Annotated[Principal, Depends(require("issues:read"))]
Write = Annotated[Principal, Depends(require("issues:write"))]


@router.get("/issues", summary="List issues")
def list_issues(p: Read, db: ReadDB, page: Page,
                status: Literal["open", "in_progress", "resolved", "closed"] | None = None,
                conversation_id: Annotated[uuid.UUID | None, Query(alias="conversationId")] = None,
                customer_id: Annotated[uuid.UUID | None, Query(alias="customerId")] = None,
                q: Annotated[str | None, Query(max_length=200)] = None) -> dict:
    stmt = service.list_stmt(p.workspace_id, status=status, conversation_id=conversation_id, customer_id=customer_id, q=q)
    return paginate(db, stmt, Issue, page, "issues", lambda i: service.issue_view(db, i))


@router.post("/issues", status_code=201, summary="Create an issue (optionally linked to conversations)")
def create_issue(body: IssueCreate, p: Write, db: WriteDB) -> dict:
    return service.issue_view(db, service.do_create_issue(db, p.workspace_id, body, p))


@router.get("/issues/{issue_id}")
def get_issue(issue_id: uuid.UUID, p: Read, db: ReadDB) -> dict:
    return service.issue_view(db, service.get_issue(db, p.workspace_id, issue_id))


@router.patch("/issues/{issue_id}", summary="Update; resolving notifies linked conversations")
def update_issue(issue_id: uuid.UUID, body: IssuePatch, p: Write, db: WriteDB) -> dict:
    return service.issue_view(db, service.do_update_issue(db, p.workspace_id, issue_id, body, p))


@router.delete("/issues/{issue_id}", status_code=204)
def delete_issue(issue_id: uuid.UUID, p: Write, db: WriteDB) -> Response:
    service.do_delete_issue(db, p.workspace_id, issue_id, p)
    return Response(status_code=204)


@router.post("/issues/{issue_id}/links", summary="Link a conversation")
def link(issue_id: uuid.UUID, body: LinkIn, p: Write, db: WriteDB) -> dict:
    return service.issue_view(db, service.do_link_conversation(db, p.workspace_id, issue_id, body.conversation_id, p))


@router.delete("/issues/{issue_id}/links/{conversation_id}", summary="Unlink a conversation")
def unlink(issue_id: uuid.UUID, conversation_id: uuid.UUID, p: Write, db: WriteDB) -> dict:
    return service.issue_view(db, service.do_unlink_conversation(db, p.workspace_id, issue_id, conversation_id, p))


@router.post("/issues/{issue_id}/external-links", summary="Link the issue in Linear, GitHub, Jira or any URL")
def add_external_link(issue_id: uuid.UUID, body: ExternalLinkIn, p: Write, db: WriteDB) -> dict:
    return service.issue_view(db, service.do_add_external_link(db, p.workspace_id, issue_id, body, p))


@router.delete("/issues/{issue_id}/external-links/{link_id}")
def remove_external_link(issue_id: uuid.UUID, link_id: uuid.UUID, p: Write, db: WriteDB) -> dict:
    return service.issue_view(db, service.do_remove_external_link(db, p.workspace_id, issue_id, link_id, p))


@router.post("/conversations/{conversation_id}/convert-to-issue", status_code=201,
             summary="Create an issue from a conversation (linked, notes copied)",
             dependencies=[Depends(require("conversations:write"))])
def convert(conversation_id: uuid.UUID, p: Write, db: WriteDB, body: ConvertIn | None = None) -> dict:
    body = body or ConvertIn()
    issue = service.do_convert_conversation(db, p.workspace_id, conversation_id, body.title, body.description, body.priority, p)
    return service.issue_view(db, issue)
