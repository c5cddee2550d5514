"""Live chat: what the widget may do, as service functions (SPEC §1.3 "Widget separation", §3, §9).

A widget caller is a public widget key (it names the workspace, and maybe an agent) plus a browser. It can
start a conversation, write in a conversation whose history secret it holds, read that conversation's
customer-safe history, report typing / reads / pages / context, and answer the CSAT survey. Nothing here returns
notes, traces, internal fields or anything of another conversation; `widget_message_views` and
`widget_conversation_view` are the only shapes that leave this domain."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from woes.agents import service as agents
from woes.conversations import service as conversations
from woes.conversations.models import Conversation, Message
from woes.conversations.schemas import MessageCreate
from woes.core.errors import ProblemError, conflict, not_found
from woes.core.security import random_token, sha256_hex
from woes.core.views import iso
from woes.customers import service as customers
from woes.customers.models import Customer
from woes.customfields import service as customfields
from woes.db import utcnow
from woes.events.service import Actor, record_change
from woes.livechat.identity import ANONYMOUS, VisitorIdentity, verify_identity
from woes.livechat.models import ConversationSecret, LiveChatConversation, TicketForm
from woes.livechat.schemas import WidgetCsatIn, WidgetEventIn, WidgetMessageIn
from woes.members import service as members
from woes.sources import service as sources
from woes.surveys import service as surveys
from woes.workspaces import service as workspaces

CHANNEL = "live-chat"
SECRET_PREFIX = "wcs_"
HISTORY_LIMIT = 200  # messages a history read returns (the newest, oldest first)
SUBJECT_CHARS = 120
HANDOFF_NOTICE = "A person from the team will reply here."


@dataclass(frozen=True)
class WidgetCaller:
    """A request through a widget key: the workspace it names, the key, the agent it routes to (if any)."""

    workspace_id: uuid.UUID
    widget_key_id: uuid.UUID
    agent_id: uuid.UUID | None
    public_key: str


def _customer_actor(customer_id: uuid.UUID) -> Actor:
    return Actor("customer", str(customer_id))


# -- configuration and identity ---------------------------------------------------------------------------

def _agent_name(session: Session, workspace_id: uuid.UUID, agent_id: uuid.UUID) -> str | None:
    """The agent's display name, or None when it was deleted meanwhile."""
    try:
        return agents.get_agent(session, workspace_id, agent_id).name
    except ProblemError:
        return None


def widget_config(session: Session, caller: WidgetCaller) -> dict[str, Any]:
    """What the widget shows before anyone writes: names, branding, identity mode, the answering agent, forms."""
    ws = workspaces.get_workspace(session, caller.workspace_id)
    agent_id = caller.agent_id or agents.default_agent_id(session, caller.workspace_id, CHANNEL)
    agent_name = _agent_name(session, caller.workspace_id, agent_id) if agent_id else None
    branding = ws.branding or {}
    return {
        "workspace": {"name": ws.name, "companyName": ws.company_name},
        "branding": {"color": branding.get("color"), "greeting": branding.get("greeting")},
        "identityMode": ws.identity_mode,
        "agent": {"name": agent_name} if agent_name else None,
        "csat": {"enabled": True},
        "ticketForms": ticket_form_views(session, caller.workspace_id),
    }


def visitor_identity(session: Session, caller: WidgetCaller, payload: dict[str, Any] | None, now: datetime) -> VisitorIdentity:
    """The visitor's identity as the workspace's identity mode lets it be trusted (401 `identity_invalid`)."""
    if not payload:
        return ANONYMOUS
    ws = workspaces.get_workspace(session, caller.workspace_id)
    secret = workspaces.identity_secret(ws) if ws.identity_mode != "off" else None
    return verify_identity(payload, mode=ws.identity_mode, secret_hex=secret, public_key=caller.public_key, now=now)


def _visitor_customer(session: Session, caller: WidgetCaller, identity: VisitorIdentity, visitor_id: str | None) -> Customer:
    return customers.do_find_or_create_visitor(
        session, caller.workspace_id, visitor_id=visitor_id, verified=identity.verified, email=identity.email,
        name=identity.name, company=identity.company, external_id=identity.external_id,
        actor=Actor("widget", str(caller.widget_key_id)))


def do_identify(session: Session, caller: WidgetCaller, identity: VisitorIdentity, visitor_id: str | None) -> dict[str, Any]:
    """The visitor's profile; for a verified identity also their live-chat conversations, each with a new history
    secret for this browser (history across devices needs a verified identity *and* a secret)."""
    out: dict[str, Any] = {"identitySource": identity.source, "customer": None, "conversations": []}
    if identity.source == "anonymous" and not visitor_id:
        return out
    customer = _visitor_customer(session, caller, identity, visitor_id)
    out["customer"] = {"name": customer.name, "email": customer.email if identity.verified else identity.email}
    if not identity.verified:
        return out
    convs = session.scalars(select(Conversation).where(
        Conversation.workspace_id == caller.workspace_id, Conversation.customer_id == customer.id,
        Conversation.channel == CHANNEL, Conversation.merged_into_id.is_(None))
        .order_by(Conversation.last_message_at.desc(), Conversation.id).limit(20)).all()
    for conv in convs:
        out["conversations"].append({**widget_conversation_view(session, conv),
                                     "conversationSecret": _issue_secret(session, conv, "identity")})
    return out


# -- history secrets -------------------------------------------------------------------------------------

def _issue_secret(session: Session, conv: Conversation, issued_to: str) -> str:
    secret = SECRET_PREFIX + random_token(32)
    session.add(ConversationSecret(workspace_id=conv.workspace_id, conversation_id=conv.id, secret_hash=sha256_hex(secret),
                                   issued_to=issued_to, created_at=utcnow()))
    session.flush()
    return secret


def conversation_for_secret(session: Session, workspace_id: uuid.UUID, conversation_id: uuid.UUID,
                            secret: str | None) -> Conversation:
    """The live-chat conversation this secret opens, or 404 (the same answer for a wrong secret, another
    conversation's secret, another workspace's conversation and no conversation at all)."""
    if not secret or not secret.startswith(SECRET_PREFIX) or len(secret) > 100:
        raise not_found("Conversation")
    row = session.scalar(select(ConversationSecret).where(ConversationSecret.secret_hash == sha256_hex(secret),
                                                          ConversationSecret.revoked_at.is_(None)))
    if row is None or row.workspace_id != workspace_id or row.conversation_id != conversation_id:
        raise not_found("Conversation")
    conv = conversations.get_conversation(session, workspace_id, conversation_id)
    if conv.merged_into_id is not None:  # merged: the visitor follows into the conversation it became, if theirs
        target = session.scalar(select(Conversation).where(Conversation.workspace_id == workspace_id,
                                                           Conversation.id == conv.merged_into_id))
        if target is None or target.customer_id != conv.customer_id:
            raise not_found("Conversation")
        conv = target
    if conv.channel != CHANNEL:
        raise not_found("Conversation")
    return conv


def do_rotate_history_secrets(session: Session, workspace_id: uuid.UUID, conversation_id: uuid.UUID, actor: Actor) -> str:
    """An operator revokes every history secret of the conversation (a leaked one stops working at once) and
    gets one new secret to hand to the customer."""
    conv = conversations.get_conversation(session, workspace_id, conversation_id)
    if conv.channel != CHANNEL:
        raise conflict("Only live-chat conversations have history secrets.")
    now = utcnow()
    revoked = 0
    for row in session.scalars(select(ConversationSecret).where(ConversationSecret.workspace_id == workspace_id,
                                                                ConversationSecret.conversation_id == conv.id,
                                                                ConversationSecret.revoked_at.is_(None))):
        row.revoked_at = now
        revoked += 1
    secret = _issue_secret(session, conv, "operator")
    record_change(session, "conversation", conv, "conversation.history_secret_rotated", actor,
                  {"conversationId": str(conv.id), "revoked": revoked})
    return secret


# -- messages ----------------------------------------------------------------------------------------------

@dataclass
class WidgetPosted:
    conversation: Conversation
    message: Message
    conversation_secret: str | None  # only when the message started the conversation


def _subject(body: str, form: TicketForm | None) -> str:
    first = " ".join(body.split())
    if len(first) > SUBJECT_CHARS:
        first = first[: SUBJECT_CHARS - 1].rstrip() + "…"
    return f"{form.title}: {first}"[:300] if form is not None else first


def _start(session: Session, caller: WidgetCaller, body: WidgetMessageIn, identity: VisitorIdentity) -> tuple[Conversation, str]:
    form = None
    custom_fields = dict(body.fields)
    if body.ticket_form is not None:
        form = get_ticket_form(session, caller.workspace_id, body.ticket_form)
        _check_form_fields(form, custom_fields)
    customer = _visitor_customer(session, caller, identity, body.visitor_id)
    agent_id = caller.agent_id or agents.default_agent_id(session, caller.workspace_id, CHANNEL)
    conv = conversations.do_start_channel_conversation(
        session, caller.workspace_id, customer.id, channel=CHANNEL, subject=_subject(body.body, form),
        identity_source=identity.source, agent_id=agent_id, custom_fields=custom_fields or None,
        actor=_customer_actor(customer.id))
    session.add(LiveChatConversation(workspace_id=caller.workspace_id, conversation_id=conv.id,
                                     widget_key_id=caller.widget_key_id, visitor_id=body.visitor_id,
                                     ticket_form=form.key if form else None, context=body.context or {},
                                     page=body.page.model_dump(mode="json") if body.page else None, created_at=utcnow()))
    return conv, _issue_secret(session, conv, "starter")


def do_widget_message(session: Session, caller: WidgetCaller, body: WidgetMessageIn, identity: VisitorIdentity,
                      secret: str | None) -> WidgetPosted:
    """The visitor's message: it starts a conversation (no `conversationId`) or continues the one whose history
    secret the browser holds. The agent job reacts to it like to any customer message."""
    new_secret = None
    if body.conversation_id is None:
        conv, new_secret = _start(session, caller, body, identity)
    else:
        conv = conversation_for_secret(session, caller.workspace_id, body.conversation_id, secret)
    msg = conversations.do_add_message(session, caller.workspace_id, conv.id, MessageCreate(body=body.body, role="user"),
                                       None, actor=_customer_actor(conv.customer_id))
    return WidgetPosted(conv, msg, new_secret)


def do_widget_event(session: Session, caller: WidgetCaller, conv: Conversation, event: WidgetEventIn) -> None:
    """`read`, `page_view` and `context` change the record (with their events); `typing` is never stored."""
    actor = _customer_actor(conv.customer_id)
    if event.type == "read":
        conversations.do_mark_read_by_customer(session, caller.workspace_id, conv.id, actor)
        return
    live = session.scalar(select(LiveChatConversation).where(LiveChatConversation.workspace_id == caller.workspace_id,
                                                             LiveChatConversation.conversation_id == conv.id))
    if live is None:
        return
    if event.type == "page_view" and event.page is not None:
        live.page = event.page.model_dump(mode="json")
        changed = "page"
    elif event.type == "context" and event.context is not None:
        live.context = {**(live.context or {}), **event.context}
        changed = "context"
    else:
        return
    session.flush()
    record_change(session, "conversation", conv, "conversation.visitor_context_changed", actor,
                  {"conversationId": str(conv.id), "page": live.page, "context": live.context, "changedFields": [changed]})


def do_widget_csat(session: Session, caller: WidgetCaller, conv: Conversation, body: WidgetCsatIn) -> dict[str, Any]:
    if conv.status != "solved":
        raise conflict("The survey opens when the conversation is resolved.")
    response = surveys.do_record_response(session, caller.workspace_id, conv.id, survey="csat", score=body.score,
                                          comment=body.comment, channel=CHANNEL, customer_id=conv.customer_id,
                                          actor=_customer_actor(conv.customer_id))
    return {"score": response.score}


def visitor_context(session: Session, workspace_id: uuid.UUID, conversation_id: uuid.UUID) -> dict[str, Any] | None:
    """For operators: how a live-chat conversation started (widget key, ticket form) and the visitor's page and context."""
    live = session.scalar(select(LiveChatConversation).where(LiveChatConversation.workspace_id == workspace_id,
                                                             LiveChatConversation.conversation_id == conversation_id))
    if live is None:
        return None
    return {"widgetKeyId": str(live.widget_key_id) if live.widget_key_id else None, "ticketForm": live.ticket_form,
            "page": live.page, "context": live.context or {}}


# -- ticket forms ------------------------------------------------------------------------------------------

def get_ticket_form(session: Session, workspace_id: uuid.UUID, key: str) -> TicketForm:
    form = session.scalar(select(TicketForm).where(TicketForm.workspace_id == workspace_id, TicketForm.key == key,
                                                   TicketForm.enabled.is_(True)))
    if form is None:
        raise ProblemError(422, "validation_failed", "Unknown ticket form.",
                           errors=[{"field": "ticketForm", "message": "No enabled ticket form with this key."}])
    return form


def _check_form_fields(form: TicketForm, values: dict[str, Any]) -> None:
    missing = [f["customField"] for f in form.fields or [] if f.get("required") and values.get(f["customField"]) in (None, "", [])]
    if missing:
        raise ProblemError(422, "validation_failed", "Required ticket form fields are missing.",
                           errors=[{"field": f"fields.{key}", "message": "Required."} for key in missing])


def ticket_form_views(session: Session, workspace_id: uuid.UUID) -> list[dict[str, Any]]:
    forms = session.scalars(select(TicketForm).where(TicketForm.workspace_id == workspace_id, TicketForm.enabled.is_(True))
                            .order_by(TicketForm.position, TicketForm.key)).all()
    if not forms:
        return []
    defs = customfields.custom_field_definitions(session, workspace_id, "conversation")
    out = []
    for form in forms:
        fields = []
        for f in form.fields or []:
            cf = defs.get(f["customField"])
            if cf is None:
                continue  # the custom field was deleted: the form no longer asks for it
            fields.append({"key": cf.key, "label": cf.label, "type": cf.type, "required": bool(f.get("required")),
                           "options": cf.options, "description": cf.description})
        out.append({"key": form.key, "title": form.title, "description": form.description, "fields": fields})
    return out


# -- customer-safe views -----------------------------------------------------------------------------------

def _safe_citations(raw: list[dict[str, Any]], urls: dict[uuid.UUID, str]) -> list[dict[str, Any]]:
    out = []
    for c in raw:
        doc = c.get("documentId")
        url = urls.get(uuid.UUID(doc)) if doc else None
        title = c.get("title") or c.get("operationKey") or "Source"
        out.append({"n": c.get("n"), "title": str(title)[:200], "url": url})
    return out


def widget_message_views(session: Session, workspace_id: uuid.UUID, messages: list[Message]) -> list[dict[str, Any]]:
    """Messages as the visitor sees them: body, author kind and display name, delivery and read state, and for
    agent answers their numbered citations (title and public link only)."""
    agent_msgs = [m.id for m in messages if m.author_type == "agent"]
    citations = agents.reply_citations(session, workspace_id, agent_msgs)
    doc_ids = [uuid.UUID(c["documentId"]) for cs in citations.values() for c in cs if c.get("documentId")]
    urls = sources.public_document_urls(session, workspace_id, doc_ids)
    operator_names = members.member_names(session, workspace_id, {m.author_id for m in messages
                                                                  if m.author_type == "operator" and m.author_id})
    agent_names = {a: _agent_name(session, workspace_id, a) for a in {m.author_id for m in messages
                                                                      if m.author_type == "agent" and m.author_id}}
    views = conversations.message_views(session, messages)  # secrets in the customer's own text stay masked
    out = []
    for m, v in zip(messages, views, strict=True):
        name = None
        if m.author_type == "operator":
            name = operator_names.get(m.author_id) if m.author_id else None
        elif m.author_type == "agent":
            name = agent_names.get(m.author_id) if m.author_id else None
        out.append({"id": str(m.id), "role": m.role, "author": {"type": m.author_type, "name": name},
                    "body": v["body"], "createdAt": iso(m.created_at), "deliveryStatus": m.delivery_status,
                    "readAt": iso(m.read_at) if m.read_at else None,
                    "citations": _safe_citations(citations.get(m.id, []), urls)})
    return out


def conversation_messages(session: Session, conv: Conversation, limit: int = HISTORY_LIMIT) -> list[Message]:
    rows = session.scalars(select(Message).where(Message.workspace_id == conv.workspace_id,
                                                 Message.conversation_id == conv.id)
                           .order_by(Message.created_at.desc(), Message.id.desc()).limit(limit)).all()
    return list(reversed(rows))


def _awaiting(session: Session, conv: Conversation) -> str | None:
    """Who owes the visitor the next reply: "agent" (an auto-replying agent is on it), "team" (a person: no agent,
    a handoff, or an agent that only drafts for an operator), or None (the last word is not the visitor's, or the
    conversation is resolved)."""
    if conv.status == "solved":
        return None
    last = session.scalar(select(Message.author_type).where(Message.workspace_id == conv.workspace_id,
                                                            Message.conversation_id == conv.id)
                          .order_by(Message.created_at.desc(), Message.id.desc()).limit(1))
    if last != "customer":
        return None
    if conv.handling == "agent" and conv.agent_id is not None:
        try:
            if agents.get_agent(session, conv.workspace_id, conv.agent_id).mode == "auto_reply":
                return "agent"
        except ProblemError:
            pass
    return "team"


def widget_conversation_view(session: Session, conv: Conversation) -> dict[str, Any]:
    answer = surveys.find_response(session, conv.workspace_id, conv.id, "csat")
    return {"id": str(conv.id), "status": conv.status, "subject": conv.subject, "handling": conv.handling,
            "awaiting": _awaiting(session, conv),
            "createdAt": iso(conv.created_at), "lastMessageAt": iso(conv.last_message_at) if conv.last_message_at else None,
            "csat": {"score": answer.score} if answer else None}
