"""Conversations and messages: every state change writes its event in the caller's transaction."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Select, delete, func, or_, select, update
from sqlalchemy.orm import Session

from woes.access.principal import Principal
from woes.attachments.models import Attachment
from woes.conversations import search
from woes.conversations.models import Conversation, ConversationTag, Message
from woes.conversations.schemas import (
    AssigneeIn,
    AttachmentOut,
    ConversationCreate,
    ConversationOut,
    ConversationPatch,
    MessageCreate,
    MessageOut,
)
from woes.core.errors import conflict, not_found, validation_error
from woes.core.redaction import contains_secret, redact
from woes.core.scoping import get_in_workspace
from woes.customers.models import Customer
from woes.customers.service import do_upsert_customer_by_reference
from woes.customfields.service import validate_custom_field_values
from woes.db import utcnow
from woes.events.service import Actor, record_change, record_event
from woes.jobs import enqueue
from woes.members.models import Member
from woes.notes.models import Note
from woes.priorities.service import priority_or_default
from woes.tags.service import resolve_tag_names
from woes.teams.models import Team

UNSNOOZE_JOB = "conversations.unsnooze"
PREVIEW_LEN = 140

# How an assignee id is checked, by assignee type. Domains above this one that own assignable things are
# added in woes.wiring with add_assignee_check (the agents domain adds "agent").
ASSIGNEE_CHECKS: dict[str, Callable[[Session, uuid.UUID, uuid.UUID], bool]] = {
    "operator": lambda s, ws, i: s.scalar(select(Member.id).where(Member.workspace_id == ws, Member.id == i)) is not None,
    "team": lambda s, ws, i: s.scalar(select(Team.id).where(Team.workspace_id == ws, Team.id == i)) is not None,
}


def add_assignee_check(assignee_type: str, check: Callable[[Session, uuid.UUID, uuid.UUID], bool]) -> None:
    ASSIGNEE_CHECKS[assignee_type] = check


# -- views -------------------------------------------------------------------------------------------

def _customer_summary(conv: Conversation, customer: Customer | None) -> dict[str, Any]:
    return {
        "id": (customer.external_id if customer and customer.external_id else None) or str(conv.customer_id),
        "name": customer.name if customer else None,
        "email": customer.email if customer else None,
        "company": customer.company if customer else None,
        "identity_source": conv.identity_source,
    }


def _as_out(conv: Conversation, customer: Customer | None, tags: list[str]) -> dict[str, Any]:
    return ConversationOut.model_validate({
        **{c: getattr(conv, c) for c in (
            "id", "channel", "status", "waiting_on", "priority", "subject", "preview", "agent_id", "handling",
            "custom_fields", "external_id", "snoozed_until", "archived_at", "merged_into_id", "first_response_at",
            "last_message_at", "closed_at", "created_at", "updated_at")},
        "preview": conv.preview or conv.subject,  # before the first message the subject is the preview
        "is_new": conv.first_response_at is None,
        "customer": _customer_summary(conv, customer),
        "customer_id": conv.customer_id,
        "assignee": {"type": conv.assignee_type, "id": conv.assignee_id} if conv.assignee_type else None,
        "tags": tags,
    }).model_dump(mode="json", by_alias=True)


def conversation_views(session: Session, convs: list[Conversation]) -> list[dict[str, Any]]:
    """Views for a page of conversations with customers and tags loaded in two queries."""
    if not convs:
        return []
    customers = {c.id: c for c in session.scalars(select(Customer).where(Customer.id.in_({c.customer_id for c in convs})))}
    tags: dict[uuid.UUID, list[str]] = {}
    for conv_id, name in session.execute(
        select(ConversationTag.conversation_id, ConversationTag.name)
        .where(ConversationTag.conversation_id.in_([c.id for c in convs])).order_by(ConversationTag.name)
    ):
        tags.setdefault(conv_id, []).append(name)
    return [_as_out(c, customers.get(c.customer_id), tags.get(c.id, [])) for c in convs]


def conversation_view(session: Session, conv: Conversation) -> dict[str, Any]:
    return conversation_views(session, [conv])[0]


def attachment_view(a: Attachment) -> dict[str, Any]:
    return AttachmentOut.model_validate(a).model_dump(mode="json", by_alias=True)


def message_views(session: Session, messages: list[Message], *, unmasked: bool = False) -> list[dict[str, Any]]:
    atts: dict[uuid.UUID, list[dict[str, Any]]] = {}
    if messages:
        for a in session.scalars(select(Attachment).where(Attachment.message_id.in_([m.id for m in messages]))
                                 .order_by(Attachment.created_at)):
            atts.setdefault(a.message_id, []).append(attachment_view(a))
    out = []
    for m in messages:
        masked = m.contains_secrets and not unmasked
        out.append(MessageOut.model_validate({
            "id": m.id, "conversation_id": m.conversation_id, "role": m.role,
            "author": {"type": m.author_type, "id": str(m.author_id) if m.author_id else None},
            "body": redact(m.body) if masked else m.body, "body_masked": masked,
            "contains_secrets": m.contains_secrets, "channel": m.channel, "delivery_status": m.delivery_status,
            "delivery_error": m.delivery_error, "read_at": m.read_at, "external_id": m.external_id,
            "attachments": atts.get(m.id, []), "created_at": m.created_at,
        }).model_dump(mode="json", by_alias=True))
    return out


def _event(session: Session, conv: Conversation, type_: str, actor: Actor, **extra: Any) -> None:
    record_change(session, "conversation", conv, type_, actor, conversation_view(session, conv), **extra)


# -- lookups -----------------------------------------------------------------------------------------

def get_conversation(session: Session, workspace_id: uuid.UUID, conversation_id: uuid.UUID) -> Conversation:
    return get_in_workspace(session, Conversation, workspace_id, conversation_id, "Conversation")


def _customers_named(workspace_id: uuid.UUID, reference: str) -> Select[Any]:
    """The ids of the customers a caller's customer id names: their externalId, or their Woes id."""
    named = Customer.external_id == reference
    try:
        named = or_(named, Customer.id == uuid.UUID(reference))
    except ValueError:
        pass
    return select(Customer.id).where(Customer.workspace_id == workspace_id, named)


def list_stmt(session: Session, workspace_id: uuid.UUID, *, status: str | None = None, channel: str | None = None,
              customer_id: str | None = None, assignee_id: uuid.UUID | None = None, tag: str | None = None,
              handling: str | None = None, priority: str | None = None, q: str | None = None,
              updated_since: datetime | None = None, archived: bool = False) -> Select[Any]:
    stmt = select(Conversation).where(Conversation.workspace_id == workspace_id, Conversation.merged_into_id.is_(None))
    stmt = stmt.where(Conversation.archived_at.is_not(None) if archived else Conversation.archived_at.is_(None))
    for column, value in ((Conversation.status, status), (Conversation.channel, channel),
                          (Conversation.assignee_id, assignee_id),
                          (Conversation.handling, handling), (Conversation.priority, priority)):
        if value is not None:
            stmt = stmt.where(column == value)
    if customer_id is not None:
        stmt = stmt.where(Conversation.customer_id.in_(_customers_named(workspace_id, customer_id)))
    if tag:
        stmt = stmt.where(Conversation.id.in_(select(ConversationTag.conversation_id).where(
            ConversationTag.workspace_id == workspace_id, func.lower(ConversationTag.name) == tag.lower())))
    if updated_since:
        stmt = stmt.where(Conversation.updated_at >= updated_since)
    if q:
        stmt = stmt.where(search.matches(session, workspace_id, q))
    return stmt


# -- validation helpers ------------------------------------------------------------------------------

def _check_assignee(session: Session, workspace_id: uuid.UUID, assignee: AssigneeIn | None, field: str = "assignee") -> None:
    if assignee is None:
        return
    check = ASSIGNEE_CHECKS.get(assignee.type)
    if check is None or not check(session, workspace_id, assignee.id):
        raise validation_error(f"{field}.id", f"No {assignee.type} with this id in the workspace.")


def _custom_fields(session: Session, conv: Conversation, values: dict[str, Any], source: str) -> None:
    merged, sources = validate_custom_field_values(
        session, conv.workspace_id, "conversation", values, existing=conv.custom_fields or {}, source=source,
        existing_sources=conv.custom_field_sources or {})
    conv.custom_fields, conv.custom_field_sources = merged, sources


def _set_tags(session: Session, conv: Conversation, names: list[str], actor: Actor) -> tuple[list[str], list[str]]:
    tags = resolve_tag_names(session, conv.workspace_id, names, "conversation", create_missing=True, actor=actor)
    wanted = {t.name for t in tags}
    current = set(session.scalars(select(ConversationTag.name).where(ConversationTag.conversation_id == conv.id)))
    added, removed = sorted(wanted - current), sorted(current - wanted)
    if removed:
        session.execute(delete(ConversationTag).where(ConversationTag.conversation_id == conv.id,
                                                      ConversationTag.name.in_(removed)))
    for name in added:
        session.add(ConversationTag(workspace_id=conv.workspace_id, conversation_id=conv.id, name=name))
    session.flush()
    return added, removed


def _set_status(conv: Conversation, status: str, waiting_on: str | None, now: datetime) -> bool:
    if status == "waiting" and waiting_on is None:
        waiting_on = conv.waiting_on or "customer"
    if status != "waiting":
        waiting_on = None
    if (conv.status, conv.waiting_on) == (status, waiting_on):
        return False
    conv.status, conv.waiting_on = status, waiting_on
    conv.closed_at = now if status == "solved" else None
    return True


# -- state changes -----------------------------------------------------------------------------------

def _new_conversation(session: Session, workspace_id: uuid.UUID, customer_id: uuid.UUID, *, channel: str, subject: str,
                      priority: str | None, identity_source: str, agent_id: uuid.UUID | None, actor: Actor,
                      external_id: str | None = None, assignee: AssigneeIn | None = None,
                      custom_fields: dict[str, Any] | None = None, tags: list[str] | None = None) -> Conversation:
    now = utcnow()
    conv = Conversation(
        workspace_id=workspace_id, customer_id=customer_id, channel=channel, status="open",
        priority=priority_or_default(session, workspace_id, priority), subject=subject,
        identity_source=identity_source, external_id=external_id, agent_id=agent_id,
        handling="agent" if agent_id else "none",
        assignee_type=assignee.type if assignee else None, assignee_id=assignee.id if assignee else None,
        custom_fields={}, custom_field_sources={}, created_at=now, updated_at=now, last_message_at=now,
    )
    session.add(conv)
    session.flush()
    search.index_text(session, workspace_id, conv.id, conv.id, conv.subject)
    if custom_fields:
        _custom_fields(session, conv, custom_fields, "manual")
    if tags:
        _set_tags(session, conv, tags, actor)
    _event(session, conv, "conversation.created", actor)
    return conv


def do_start_channel_conversation(session: Session, workspace_id: uuid.UUID, customer_id: uuid.UUID, *, channel: str,
                                  subject: str, identity_source: str, agent_id: uuid.UUID | None, actor: Actor,
                                  custom_fields: dict[str, Any] | None = None) -> Conversation:
    """A conversation a customer starts on a channel (live chat, email, Discord): their profile is already
    resolved by the channel; `agent_id` is the agent that answers first (None: the team)."""
    if agent_id is not None and not ASSIGNEE_CHECKS.get("agent", lambda *_: False)(session, workspace_id, agent_id):
        agent_id = None  # the agent was deleted meanwhile: the team answers
    return _new_conversation(session, workspace_id, customer_id, channel=channel, subject=subject, priority=None,
                             identity_source=identity_source, agent_id=agent_id, custom_fields=custom_fields, actor=actor)


def do_create_conversation(session: Session, workspace_id: uuid.UUID, body: ConversationCreate, p: Principal) -> Conversation:
    if body.external_id is not None:
        existing = session.scalar(select(Conversation.id).where(Conversation.workspace_id == workspace_id,
                                                                Conversation.external_id == body.external_id))
        if existing:
            raise conflict("A conversation with this externalId exists.", existingId=str(existing))
    _check_assignee(session, workspace_id, body.assignee)
    if body.agent_id is not None and not ASSIGNEE_CHECKS.get("agent", lambda *_: False)(session, workspace_id, body.agent_id):
        raise validation_error("agentId", "No agent with this id in the workspace.")
    customer = do_upsert_customer_by_reference(session, workspace_id, body.customer.id, body.customer.profile_fields(), p.actor)
    conv = _new_conversation(session, workspace_id, customer.id, channel=body.channel, subject=body.subject,
                             priority=body.priority, identity_source="api", agent_id=body.agent_id,
                             external_id=body.external_id, assignee=body.assignee, custom_fields=body.custom_fields,
                             tags=body.tags, actor=p.actor)
    if body.initial_message:
        m = body.initial_message
        do_add_message(session, workspace_id, conv.id, MessageCreate(body=m.body, role=m.role, attachment_ids=m.attachment_ids), p)
    return conv


def do_update_conversation(session: Session, workspace_id: uuid.UUID, conversation_id: uuid.UUID,
                           patch: ConversationPatch, p: Principal) -> Conversation:
    conv = get_conversation(session, workspace_id, conversation_id)
    fields = patch.model_fields_set
    for name in ("status", "priority", "subject", "tags", "custom_fields"):
        if name in fields and getattr(patch, name) is None:
            raise validation_error({"custom_fields": "customFields"}.get(name, name), "cannot be null")
    now = utcnow()
    changed: list[str] = []
    status_changed = False
    if "status" in fields or "waiting_on" in fields:
        status_changed = _set_status(conv, patch.status or conv.status, patch.waiting_on, now)
        if status_changed:
            changed.append("status")
    if "priority" in fields and patch.priority != conv.priority:
        conv.priority = priority_or_default(session, workspace_id, patch.priority)
        changed.append("priority")
    if "subject" in fields and patch.subject != conv.subject:
        conv.subject = patch.subject
        search.index_text(session, workspace_id, conv.id, conv.id, conv.subject)
        changed.append("subject")
    tag_changes: tuple[list[str], list[str]] = ([], [])
    if "tags" in fields:
        tag_changes = _set_tags(session, conv, patch.tags or [], p.actor)
        if tag_changes[0] or tag_changes[1]:
            changed.append("tags")
    if "custom_fields" in fields:
        before = dict(conv.custom_fields or {})
        _custom_fields(session, conv, patch.custom_fields or {}, "manual")
        if conv.custom_fields != before:
            changed.append("customFields")
    if "snoozed_until" in fields:
        if patch.snoozed_until is None:
            if conv.snoozed_until is not None:
                conv.snoozed_until = None
                changed.append("snoozedUntil")
        else:
            _snooze(session, conv, patch.snoozed_until, p)
            changed.append("snoozedUntil")
    assigned = False
    if "assignee" in fields:
        assigned = _assign(session, conv, patch.assignee)
    if changed or assigned:
        conv.updated_at = now
        session.flush()
    if changed:
        _event(session, conv, "conversation.updated", p.actor, changedFields=changed, tagsAdded=tag_changes[0],
               tagsRemoved=tag_changes[1])
    if status_changed:
        _status_events(session, conv, p.actor)
    if assigned:
        _event(session, conv, "conversation.assigned", p.actor)
    return conv


def _status_events(session: Session, conv: Conversation, actor: Actor) -> None:
    _event(session, conv, "conversation.status_changed", actor)
    if conv.status == "solved":
        _event(session, conv, "conversation.resolved", actor)


def _assign(session: Session, conv: Conversation, assignee: AssigneeIn | None) -> bool:
    _check_assignee(session, conv.workspace_id, assignee)
    new = (assignee.type, assignee.id) if assignee else (None, None)
    if (conv.assignee_type, conv.assignee_id) == new:
        return False
    conv.assignee_type, conv.assignee_id = new
    if assignee is not None and assignee.type == "agent":
        conv.agent_id, conv.handling = assignee.id, "agent"
    return True


def do_assign(session: Session, workspace_id: uuid.UUID, conversation_id: uuid.UUID, assignee: AssigneeIn | None,
              p: Principal) -> Conversation:
    conv = get_conversation(session, workspace_id, conversation_id)
    if _assign(session, conv, assignee):
        conv.updated_at = utcnow()
        session.flush()
        _event(session, conv, "conversation.assigned", p.actor)
    return conv


def do_detach_agent(session: Session, workspace_id: uuid.UUID, agent_id: uuid.UUID, actor: Actor) -> None:
    """An agent is being deleted: its conversations lose it (unassigned, no longer agent-handled), each with a
    conversation.updated event, in the caller's transaction."""
    assigned = (Conversation.assignee_type == "agent") & (Conversation.assignee_id == agent_id)
    for conv in session.scalars(select(Conversation).where(
            Conversation.workspace_id == workspace_id, or_(Conversation.agent_id == agent_id, assigned))):
        changed = ["agentId"]
        if conv.assignee_type == "agent" and conv.assignee_id == agent_id:
            conv.assignee_type, conv.assignee_id = None, None
            changed.append("assignee")
        if conv.handling == "agent":
            conv.handling = "none"
            changed.append("handling")
        conv.agent_id, conv.updated_at = None, utcnow()
        session.flush()
        _event(session, conv, "conversation.updated", actor, changedFields=changed,
               reason="agent_deleted", deletedAgentId=str(agent_id))


def do_hand_to_humans(session: Session, workspace_id: uuid.UUID, conversation_id: uuid.UUID, reason: str,
                      actor: Actor) -> Conversation:
    """The agent hands the conversation to people: humans handle it, the agent's assignment is released to the
    team queue, and the handoff is recorded with its reason."""
    conv = get_conversation(session, workspace_id, conversation_id)
    if conv.handling == "human":
        return conv
    previous = conv.handling
    conv.handling = "human"
    if conv.assignee_type == "agent":
        conv.assignee_type, conv.assignee_id = None, None
    conv.updated_at = utcnow()
    session.flush()
    _event(session, conv, "conversation.handed_off", actor, handoff={"reason": reason, "from": previous, "to": "human"})
    return conv


def do_takeover(session: Session, workspace_id: uuid.UUID, conversation_id: uuid.UUID, reason: str, p: Principal) -> Conversation:
    conv = get_conversation(session, workspace_id, conversation_id)
    if conv.handling == "human":
        raise conflict("A human already handles this conversation.")
    previous = conv.handling
    conv.handling = "human"
    if p.kind == "operator" and conv.assignee_type in (None, "agent"):
        conv.assignee_type, conv.assignee_id = "operator", p.subject_id
    conv.updated_at = utcnow()
    session.flush()
    _event(session, conv, "conversation.handed_off", p.actor, handoff={"reason": reason, "from": previous, "to": "human"})
    return conv


def do_handback(session: Session, workspace_id: uuid.UUID, conversation_id: uuid.UUID, reason: str | None,
                p: Principal) -> Conversation:
    conv = get_conversation(session, workspace_id, conversation_id)
    if conv.agent_id is None:
        raise conflict("This conversation has no agent to hand back to; assign an agent first.")
    if conv.handling == "agent":
        raise conflict("The agent already handles this conversation.")
    conv.handling = "agent"
    if conv.assignee_type == "operator":
        conv.assignee_type, conv.assignee_id = "agent", conv.agent_id
    conv.updated_at = utcnow()
    session.flush()
    _event(session, conv, "conversation.updated", p.actor, changedFields=["handling"],
           handoff={"reason": reason, "from": "human", "to": "agent"})
    return conv


def _snooze(session: Session, conv: Conversation, until: datetime, p: Principal) -> None:
    if until <= utcnow():
        raise validation_error("snoozedUntil", "Must be in the future.")
    conv.snoozed_until = until
    enqueue(session, UNSNOOZE_JOB,
                        {"workspaceId": str(conv.workspace_id), "conversationId": str(conv.id), "until": until.isoformat()},
                        workspace_id=conv.workspace_id, run_at=until)


def do_snooze(session: Session, workspace_id: uuid.UUID, conversation_id: uuid.UUID, until: datetime | None,
              p: Principal) -> Conversation:
    return do_update_conversation(session, workspace_id, conversation_id, ConversationPatch(snoozed_until=until), p)


def do_end_snooze(session: Session, workspace_id: uuid.UUID, conversation_id: uuid.UUID, until: datetime) -> bool:
    """Run by the job at the snooze time: reopens the conversation if that snooze still stands."""
    conv = session.scalar(select(Conversation).where(Conversation.id == conversation_id,
                                                     Conversation.workspace_id == workspace_id))
    if conv is None or conv.snoozed_until is None or abs((conv.snoozed_until - until).total_seconds()) > 0.001:
        return False  # unsnoozed or re-snoozed meanwhile: that later snooze has its own job
    now = utcnow()
    conv.snoozed_until = None
    status_changed = _set_status(conv, "open", None, now)
    conv.updated_at = now
    session.flush()
    actor = Actor("system")
    _event(session, conv, "conversation.updated", actor, changedFields=["snoozedUntil"] + (["status"] if status_changed else []),
           reason="snooze_ended")
    if status_changed:
        _status_events(session, conv, actor)
    return True


def do_archive(session: Session, workspace_id: uuid.UUID, conversation_id: uuid.UUID, archived: bool, p: Principal) -> Conversation:
    conv = get_conversation(session, workspace_id, conversation_id)
    if (conv.archived_at is not None) == archived:
        return conv
    conv.archived_at = utcnow() if archived else None
    conv.updated_at = utcnow()
    session.flush()
    _event(session, conv, "conversation.archived" if archived else "conversation.unarchived", p.actor)
    return conv


def do_merge(session: Session, workspace_id: uuid.UUID, target_id: uuid.UUID, source_id: uuid.UUID, p: Principal) -> Conversation:
    """Merge the source conversation into the target: messages and notes move (histories interleave by
    time), tags are united, the source is closed, archived and points at the target."""
    if target_id == source_id:
        raise validation_error("sourceConversationId", "A conversation cannot be merged into itself.")
    target = get_conversation(session, workspace_id, target_id)
    source = session.scalar(select(Conversation).where(Conversation.id == source_id, Conversation.workspace_id == workspace_id))
    if source is None:
        raise validation_error("sourceConversationId", "No conversation with this id in the workspace.")
    if source.merged_into_id is not None or target.merged_into_id is not None:
        raise conflict("One of these conversations was already merged.")
    session.execute(update(Message).where(Message.conversation_id == source.id).values(conversation_id=target.id))
    session.execute(update(Note).where(Note.workspace_id == workspace_id, Note.target_type == "conversation",
                                       Note.target_id == source.id).values(target_id=target.id))
    search.move_conversation(session, source.id, target.id)
    source_tags = list(session.scalars(select(ConversationTag.name).where(ConversationTag.conversation_id == source.id)))
    target_tags = set(session.scalars(select(ConversationTag.name).where(ConversationTag.conversation_id == target.id)))
    for name in source_tags:
        if name not in target_tags:
            session.add(ConversationTag(workspace_id=workspace_id, conversation_id=target.id, name=name))
    now = utcnow()
    times = [t for t in (target.last_message_at, source.last_message_at) if t is not None]
    target.last_message_at = max(times) if times else None
    if target.first_response_at is None or (source.first_response_at and source.first_response_at < target.first_response_at):
        target.first_response_at = source.first_response_at or target.first_response_at
    _refresh_preview(session, target)
    target.updated_at = now
    source.merged_into_id, source.archived_at, source.updated_at = target.id, now, now
    _set_status(source, "solved", None, now)
    session.flush()
    _event(session, source, "conversation.merged", p.actor, mergedInto=str(target.id))
    _event(session, target, "conversation.updated", p.actor, changedFields=["messages"], mergedFrom=str(source.id))
    return target


def _refresh_preview(session: Session, conv: Conversation) -> None:
    last = session.scalar(select(Message).where(Message.conversation_id == conv.id)
                          .order_by(Message.created_at.desc(), Message.id.desc()).limit(1))
    conv.preview = _preview(last.body) if last else None


def _preview(body: str) -> str:
    text = " ".join(redact(body).split())
    return text if len(text) <= PREVIEW_LEN else text[: PREVIEW_LEN - 1] + "…"


def _message_author(session: Session, conv: Conversation, body: MessageCreate, p: Principal | None) -> tuple[str, uuid.UUID | None]:
    if body.role == "user":
        if body.author_type not in (None, "customer"):
            raise validation_error("authorType", "A user message is written by the customer.")
        return "customer", conv.customer_id
    author_type = body.author_type or ("operator")
    if author_type == "customer":
        raise validation_error("authorType", "An assistant message is written by an operator or the agent.")
    if author_type == "operator":
        if p is not None and p.kind == "operator":
            return "operator", p.subject_id
        if body.author_id is not None and not ASSIGNEE_CHECKS["operator"](session, conv.workspace_id, body.author_id):
            raise validation_error("authorId", "No member with this id in the workspace.")
        return "operator", body.author_id
    return "agent", body.author_id or conv.agent_id


def do_add_message(session: Session, workspace_id: uuid.UUID, conversation_id: uuid.UUID, body: MessageCreate,
                   p: Principal | None, *, actor: Actor | None = None) -> Message:
    """A message on the conversation. `p` is the caller of the server API; a channel writing the customer's own
    message passes None and the customer as `actor`."""
    if p is None and (body.role != "user" or actor is None):
        raise ValueError("only a customer message, with its actor, is written without a principal")
    conv = get_conversation(session, workspace_id, conversation_id)
    if conv.merged_into_id is not None:
        raise conflict("This conversation was merged; write to the conversation it was merged into.",
                       mergedIntoId=str(conv.merged_into_id))
    author_type, author_id = _message_author(session, conv, body, p)
    attachments = []
    if body.attachment_ids:
        attachments = list(session.scalars(select(Attachment).where(
            Attachment.workspace_id == workspace_id, Attachment.id.in_(body.attachment_ids), Attachment.message_id.is_(None))))
        if len(attachments) != len(set(body.attachment_ids)):
            raise validation_error("attachmentIds", "Unknown or already used attachment id.")
    now = utcnow()
    msg = Message(workspace_id=workspace_id, conversation_id=conv.id, role=body.role, author_type=author_type,
                  author_id=author_id, body=body.body, contains_secrets=contains_secret(body.body), channel=conv.channel,
                  delivery_status=body.delivery_status or ("sent" if conv.channel in ("api", "live-chat") else "queued"),
                  external_id=body.external_id, created_at=now)
    session.add(msg)
    session.flush()
    for a in attachments:
        a.message_id = msg.id
    search.index_text(session, workspace_id, conv.id, msg.id, msg.body)
    conv.last_message_at, conv.preview, conv.updated_at = now, _preview(msg.body), now
    status_changed = False
    if author_type == "customer":
        if conv.status != "open":
            status_changed = _set_status(conv, "open", None, now)
        if conv.snoozed_until is not None:
            conv.snoozed_until = None
    else:
        if conv.first_response_at is None:
            conv.first_response_at = now
        if conv.status == "open":
            status_changed = _set_status(conv, "waiting", "customer", now)
    session.flush()
    actor = actor or p.actor  # type: ignore[union-attr]  # p is None only with an actor (checked above)
    record_event(session, workspace_id=workspace_id, type="message.created", resource_type="message", resource_id=msg.id,
                 data={**message_views(session, [msg])[0], "conversationId": str(conv.id)}, actor=actor,
                 aggregate_id=conv.id)
    if status_changed:
        _status_events(session, conv, actor)
    return msg


def get_message(session: Session, workspace_id: uuid.UUID, conversation_id: uuid.UUID, message_id: uuid.UUID) -> Message:
    msg = session.scalar(select(Message).where(Message.id == message_id, Message.workspace_id == workspace_id,
                                               Message.conversation_id == conversation_id))
    if msg is None:
        raise not_found("Message")
    return msg


def do_update_message_state(session: Session, workspace_id: uuid.UUID, conversation_id: uuid.UUID, message_id: uuid.UUID,
                            delivery_status: str | None, delivery_error: str | None, read: bool | None, p: Principal) -> Message:
    get_conversation(session, workspace_id, conversation_id)
    msg = get_message(session, workspace_id, conversation_id, message_id)
    changed = []
    if delivery_status and delivery_status != msg.delivery_status:
        msg.delivery_status = delivery_status
        msg.delivery_error = delivery_error if delivery_status == "failed" else None
        changed.append("deliveryStatus")
    if read is not None and (msg.read_at is not None) != read:
        msg.read_at = utcnow() if read else None
        changed.append("readAt")
    if changed:
        session.flush()
        record_event(session, workspace_id=workspace_id, type="message.updated", resource_type="message",
                     resource_id=msg.id, data={**message_views(session, [msg])[0], "changedFields": changed},
                     actor=p.actor, aggregate_id=conversation_id)
    return msg


# -- reactions to other domains ------------------------------------------------------------------------

def move_conversations_on_customer_merge(session: Session, workspace_id: uuid.UUID, source: Customer, target: Customer) -> None:
    moved = list(session.scalars(select(Conversation).where(Conversation.workspace_id == workspace_id,
                                                            Conversation.customer_id == source.id)))
    for conv in moved:
        conv.customer_id = target.id
        conv.updated_at = utcnow()
    session.flush()
    for conv in moved:
        _event(session, conv, "conversation.updated", Actor("system"), changedFields=["customer"], mergedCustomer=str(source.id))


def refuse_delete_with_conversations(session: Session, workspace_id: uuid.UUID, customer: Customer) -> None:
    count = session.scalar(select(func.count()).select_from(Conversation).where(
        Conversation.workspace_id == workspace_id, Conversation.customer_id == customer.id)) or 0
    if count:
        raise conflict(f"This customer has {count} conversation(s); merge the profile into another one instead.",
                       conversationCount=count)


def follow_tag_rename(session: Session, workspace_id: uuid.UUID, old: str, new: str | None) -> None:
    rows = list(session.scalars(select(ConversationTag).where(ConversationTag.workspace_id == workspace_id,
                                                              func.lower(ConversationTag.name) == old.lower())))
    for row in rows:
        if new is None:
            session.delete(row)
        else:
            row.name = new
    session.flush()




def do_mark_read_by_customer(session: Session, workspace_id: uuid.UUID, conversation_id: uuid.UUID, actor: Actor) -> list[Message]:
    """The customer has seen the conversation (a channel reported it): every reply to them not read yet is read now."""
    get_conversation(session, workspace_id, conversation_id)
    unread = list(session.scalars(select(Message).where(
        Message.workspace_id == workspace_id, Message.conversation_id == conversation_id,
        Message.author_type != "customer", Message.read_at.is_(None)).order_by(Message.created_at, Message.id).limit(500)))
    now = utcnow()
    for msg in unread:
        msg.read_at = now
    if unread:
        session.flush()
        for view in message_views(session, unread):
            record_event(session, workspace_id=workspace_id, type="message.updated", resource_type="message",
                         resource_id=view["id"], data={**view, "changedFields": ["readAt"]}, actor=actor,
                         aggregate_id=conversation_id)
    return unread
