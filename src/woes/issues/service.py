"""Issues: durable follow-ups linked to conversations. Every change writes its event in the same transaction."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from woes.access.principal import Principal
from woes.conversations import service as conversations
from woes.conversations.models import Conversation
from woes.conversations.schemas import MessageCreate
from woes.core.errors import ProblemError, conflict, not_found, validation_error
from woes.core.scoping import get_in_workspace
from woes.core.views import iso
from woes.customers.models import Account, Customer
from woes.customfields.service import validate_custom_field_values
from woes.db import utcnow
from woes.events.service import Actor, record_change, record_event
from woes.issues.models import Issue, IssueConversation, IssueExternalLink
from woes.issues.schemas import ExternalLinkIn, IssueCreate, IssuePatch
from woes.notes import service as notes
from woes.notes.models import Note
from woes.priorities.service import priority_or_default
from woes.tags.service import resolve_tag_names
from woes.workspaces.models import Workspace

REFERENCE_PREFIX = "ISS-"


def reference(issue: Issue) -> str:
    return f"{REFERENCE_PREFIX}{issue.number}"


def link_view(link: IssueExternalLink) -> dict[str, Any]:
    return {"id": str(link.id), "provider": link.provider, "url": link.url, "key": link.key, "state": link.state,
            "createdAt": iso(link.created_at)}


def issue_view(session: Session, issue: Issue) -> dict[str, Any]:
    conv_ids = session.scalars(select(IssueConversation.conversation_id).where(IssueConversation.issue_id == issue.id)
                               .order_by(IssueConversation.created_at))
    links = session.scalars(select(IssueExternalLink).where(IssueExternalLink.issue_id == issue.id)
                            .order_by(IssueExternalLink.created_at))
    return {
        "object": "issue", "id": str(issue.id), "reference": reference(issue), "title": issue.title,
        "description": issue.description, "status": issue.status, "priority": issue.priority,
        "customerId": str(issue.customer_id) if issue.customer_id else None,
        "accountId": str(issue.account_id) if issue.account_id else None, "tags": list(issue.tags or []),
        "customFields": issue.custom_fields or {}, "conversationIds": [str(c) for c in conv_ids],
        "externalLinks": [link_view(link) for link in links], "resolvedAt": iso(issue.resolved_at),
        "createdAt": iso(issue.created_at), "updatedAt": iso(issue.updated_at),
    }


def _event(session: Session, issue: Issue, type_: str, actor: Actor, **extra: Any) -> None:
    record_change(session, "issue", issue, type_, actor, issue_view(session, issue), **extra)


def get_issue(session: Session, workspace_id: uuid.UUID, issue_id: uuid.UUID) -> Issue:
    return get_in_workspace(session, Issue, workspace_id, issue_id, "Issue")


def list_stmt(workspace_id: uuid.UUID, *, status: str | None, conversation_id: uuid.UUID | None,
              customer_id: uuid.UUID | None, q: str | None):
    stmt = select(Issue).where(Issue.workspace_id == workspace_id)
    if status:
        stmt = stmt.where(Issue.status == status)
    if customer_id:
        stmt = stmt.where(Issue.customer_id == customer_id)
    if conversation_id:
        stmt = stmt.where(Issue.id.in_(select(IssueConversation.issue_id).where(
            IssueConversation.workspace_id == workspace_id, IssueConversation.conversation_id == conversation_id)))
    if q:
        stmt = stmt.where(func.lower(Issue.title).contains(q.lower()))
    return stmt


def _check_refs(session: Session, workspace_id: uuid.UUID, customer_id: uuid.UUID | None, account_id: uuid.UUID | None) -> None:
    if customer_id and session.scalar(select(Customer.id).where(Customer.id == customer_id, Customer.workspace_id == workspace_id)) is None:
        raise validation_error("customerId", "No customer with this id in the workspace.")
    if account_id and session.scalar(select(Account.id).where(Account.id == account_id, Account.workspace_id == workspace_id)) is None:
        raise validation_error("accountId", "No account with this id in the workspace.")


def _tags(session: Session, workspace_id: uuid.UUID, names: list[str], actor: Actor) -> list[str]:
    return [t.name for t in resolve_tag_names(session, workspace_id, names, "issue", create_missing=True, actor=actor)]


def _custom_fields(session: Session, issue: Issue, values: dict[str, Any]) -> None:
    issue.custom_fields, issue.custom_field_sources = validate_custom_field_values(
        session, issue.workspace_id, "issue", values, existing=issue.custom_fields or {}, source="manual",
        existing_sources=issue.custom_field_sources or {})


def _next_number(session: Session, workspace_id: uuid.UUID) -> int:
    return (session.scalar(select(func.max(Issue.number)).where(Issue.workspace_id == workspace_id)) or 0) + 1


def do_create_issue(session: Session, workspace_id: uuid.UUID, body: IssueCreate, p: Principal,
                    *, copy_notes_from: uuid.UUID | None = None) -> Issue:
    _check_refs(session, workspace_id, body.customer_id, body.account_id)
    priority = priority_or_default(session, workspace_id, body.priority)
    now = utcnow()
    for attempt in range(5):  # two creators can pick the same number on PostgreSQL: retry on the unique key
        issue = Issue(workspace_id=workspace_id, number=_next_number(session, workspace_id), title=body.title,
                      description=body.description, status=body.status, priority=priority, customer_id=body.customer_id,
                      account_id=body.account_id, tags=[], custom_fields={}, custom_field_sources={},
                      resolved_at=now if body.status == "resolved" else None, created_at=now, updated_at=now)
        try:
            with session.begin_nested():
                session.add(issue)
                session.flush()
            break
        except IntegrityError:
            if attempt == 4:
                raise ProblemError(409, "conflict", "Could not allocate an issue number; retry.") from None
    if body.tags:
        issue.tags = _tags(session, workspace_id, body.tags, p.actor)
    if body.custom_fields:
        _custom_fields(session, issue, body.custom_fields)
    for link in body.external_links:
        session.add(_external(workspace_id, issue.id, link))
    session.flush()
    _event(session, issue, "issue.created", p.actor)
    for conv_id in dict.fromkeys(body.conversation_ids):
        do_link_conversation(session, workspace_id, issue.id, conv_id, p, field="conversationIds")
    if copy_notes_from is not None:
        for note in session.scalars(notes.notes_stmt(workspace_id, "conversation", copy_notes_from).order_by(Note.created_at)):
            notes.do_add_note(session, workspace_id, "issue", issue.id, note.body, note.author_type, note.author_id,
                              p.actor, copied_from=note.id, created_at=note.created_at)
    return issue


def _external(workspace_id: uuid.UUID, issue_id: uuid.UUID, link: ExternalLinkIn) -> IssueExternalLink:
    return IssueExternalLink(workspace_id=workspace_id, issue_id=issue_id, provider=link.provider, url=str(link.url),
                             key=link.key, state=link.state, created_at=utcnow())


def do_update_issue(session: Session, workspace_id: uuid.UUID, issue_id: uuid.UUID, patch: IssuePatch, p: Principal) -> Issue:
    issue = get_issue(session, workspace_id, issue_id)
    fields = patch.model_fields_set
    for name in ("title", "status", "priority", "tags", "custom_fields"):
        if name in fields and getattr(patch, name) is None:
            raise validation_error({"custom_fields": "customFields"}.get(name, name), "cannot be null")
    _check_refs(session, workspace_id, patch.customer_id, patch.account_id)
    changed = []
    for name in ("title", "description", "customer_id", "account_id"):
        if name in fields and getattr(patch, name) != getattr(issue, name):
            setattr(issue, name, getattr(patch, name))
            changed.append(name)
    if "priority" in fields and patch.priority != issue.priority:
        issue.priority = priority_or_default(session, workspace_id, patch.priority)
        changed.append("priority")
    if "tags" in fields:
        tags = _tags(session, workspace_id, patch.tags or [], p.actor)
        if tags != issue.tags:
            issue.tags = tags
            changed.append("tags")
    if "custom_fields" in fields:
        before = dict(issue.custom_fields or {})
        _custom_fields(session, issue, patch.custom_fields or {})
        if issue.custom_fields != before:
            changed.append("customFields")
    resolved_now = False
    if "status" in fields and patch.status != issue.status:
        resolved_now = patch.status == "resolved"
        issue.status = patch.status
        issue.resolved_at = utcnow() if patch.status in ("resolved", "closed") else None
        changed.append("status")
    if not changed:
        return issue
    issue.updated_at = utcnow()
    session.flush()
    _event(session, issue, "issue.updated", p.actor, changedFields=changed)
    if resolved_now:
        _on_resolved(session, issue, p)
    return issue


def _on_resolved(session: Session, issue: Issue, p: Principal) -> None:
    """Linked conversations get a note; with the workspace setting on, their customers get a message."""
    _event(session, issue, "issue.resolved", p.actor)
    ws = session.get(Workspace, issue.workspace_id)
    automation = Actor("automation", "issue-resolution")
    for conv_id in session.scalars(select(IssueConversation.conversation_id).where(IssueConversation.issue_id == issue.id)):
        notes.do_add_note(session, issue.workspace_id, "conversation", conv_id,
                          f"Linked issue {reference(issue)} ({issue.title}) was resolved.", "automation", None, automation)
        if ws is not None and ws.notify_customer_on_issue_resolved:
            conv = session.get(Conversation, conv_id)
            if conv is not None and conv.merged_into_id is None:
                text = (ws.issue_resolved_message or "Good news: the problem you reported ({title}) has been fixed.")
                conversations.do_add_message(session, issue.workspace_id, conv_id,
                                             MessageCreate(body=text.replace("{title}", issue.title)[:8000], role="assistant",
                                                           author_type="operator"), p, actor=automation)


def do_link_conversation(session: Session, workspace_id: uuid.UUID, issue_id: uuid.UUID, conversation_id: uuid.UUID,
                         p: Principal, field: str = "conversationId") -> Issue:
    issue = get_issue(session, workspace_id, issue_id)
    conv = session.scalar(select(Conversation).where(Conversation.id == conversation_id, Conversation.workspace_id == workspace_id))
    if conv is None:
        raise validation_error(field, "No conversation with this id in the workspace.")
    exists = session.scalar(select(IssueConversation.id).where(IssueConversation.issue_id == issue.id,
                                                               IssueConversation.conversation_id == conversation_id))
    if exists:
        return issue
    session.add(IssueConversation(workspace_id=workspace_id, issue_id=issue.id, conversation_id=conversation_id, created_at=utcnow()))
    session.flush()
    _event(session, issue, "issue.linked", p.actor, conversationId=str(conversation_id))
    record_event(session, workspace_id=workspace_id, type="conversation.issue_linked", resource_type="conversation",
                 resource_id=conversation_id, data={"issueId": str(issue.id), "reference": reference(issue)}, actor=p.actor)
    return issue


def do_unlink_conversation(session: Session, workspace_id: uuid.UUID, issue_id: uuid.UUID, conversation_id: uuid.UUID,
                           p: Principal) -> Issue:
    issue = get_issue(session, workspace_id, issue_id)
    link = session.scalar(select(IssueConversation).where(IssueConversation.issue_id == issue.id,
                                                          IssueConversation.conversation_id == conversation_id))
    if link is None:
        raise not_found("Link")
    session.delete(link)
    session.flush()
    _event(session, issue, "issue.updated", p.actor, changedFields=["conversationIds"], unlinked=str(conversation_id))
    return issue


def do_add_external_link(session: Session, workspace_id: uuid.UUID, issue_id: uuid.UUID, body: ExternalLinkIn, p: Principal) -> Issue:
    issue = get_issue(session, workspace_id, issue_id)
    if session.scalar(select(func.count()).select_from(IssueExternalLink).where(IssueExternalLink.issue_id == issue.id)) >= 20:
        raise conflict("An issue holds at most 20 external links.")
    session.add(_external(workspace_id, issue.id, body))
    issue.updated_at = utcnow()
    session.flush()
    _event(session, issue, "issue.updated", p.actor, changedFields=["externalLinks"])
    return issue


def do_remove_external_link(session: Session, workspace_id: uuid.UUID, issue_id: uuid.UUID, link_id: uuid.UUID, p: Principal) -> Issue:
    issue = get_issue(session, workspace_id, issue_id)
    link = session.scalar(select(IssueExternalLink).where(IssueExternalLink.id == link_id, IssueExternalLink.issue_id == issue.id))
    if link is None:
        raise not_found("External link")
    session.delete(link)
    issue.updated_at = utcnow()
    session.flush()
    _event(session, issue, "issue.updated", p.actor, changedFields=["externalLinks"])
    return issue


def do_delete_issue(session: Session, workspace_id: uuid.UUID, issue_id: uuid.UUID, p: Principal) -> None:
    issue = get_issue(session, workspace_id, issue_id)
    data = issue_view(session, issue)
    session.delete(issue)
    record_event(session, workspace_id=workspace_id, type="issue.deleted", resource_type="issue", resource_id=issue_id,
                 data=data, actor=p.actor)


def do_convert_conversation(session: Session, workspace_id: uuid.UUID, conversation_id: uuid.UUID, title: str | None,
                            description: str | None, priority: str | None, p: Principal) -> Issue:
    """Create an issue from a conversation: linked to it, same customer, the conversation's notes copied."""
    conv = conversations.get_conversation(session, workspace_id, conversation_id)
    body = IssueCreate(title=title or conv.subject, description=description, priority=priority or conv.priority,
                       customer_id=conv.customer_id, conversation_ids=[conv.id])
    return do_create_issue(session, workspace_id, body, p, copy_notes_from=conv.id)


def follow_tag_rename(session: Session, workspace_id: uuid.UUID, old: str, new: str | None) -> None:
    for issue in session.scalars(select(Issue).where(Issue.workspace_id == workspace_id)):
        if any(t.lower() == old.lower() for t in issue.tags or []):
            issue.tags = [t for t in ([new if t.lower() == old.lower() else t for t in issue.tags]) if t]

