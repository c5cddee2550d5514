"""The agent at work: answering a direct question, and replying to customers in conversations it handles.

A customer message on a conversation the agent handles (`handling: agent`) is noticed on the event stream
(outbox consumer on `message.created`) and answered by a job, so a slow provider never holds up the request
that stored the message. The job decides once per message (idempotent on retries) and then, by the agent's
mode: `auto_reply` sends the answer or the clarifying question; `draft` leaves a suggested reply for an
operator; a handoff always moves the conversation to humans (and in `auto_reply` tells the customer so)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from woes.access.principal import Principal
from woes.agents.models import Agent, AgentRun
from woes.agents.providers import get_provider
from woes.agents.runtime import RunContext, answer_question, do_record_run
from woes.agents.service import do_create_draft, get_agent
from woes.config import get_settings
from woes.conversations import service as conversations
from woes.conversations.models import Conversation, Message
from woes.conversations.schemas import MessageCreate
from woes.db import Database
from woes.events.models import DomainEvent
from woes.events.service import Actor
from woes.jobs import enqueue

RESPOND_JOB = "agents.respond"
HISTORY_TURNS = 8
_PROVIDER_CACHE: dict[str, Any] = {}


def configured_provider() -> Any:
    """The deployment's remote provider (None = the built-in offline provider), built once per settings."""
    settings = get_settings()
    key = f"{settings.agent_provider}|{settings.agent_model}|{settings.resolved_agent_base_url}"
    if key not in _PROVIDER_CACHE:
        _PROVIDER_CACHE.clear()
        _PROVIDER_CACHE[key] = get_provider(settings)
    return _PROVIDER_CACHE[key]


def decide_direct_answer(db: Database, workspace_id: uuid.UUID, agent_id: uuid.UUID, question: str) -> AgentRun:
    """A direct question (`POST /api/v1/agents/{id}/answer`), decided on a read with no transaction open
    while the provider composes; the caller stores it with `do_record_run` in one short write."""
    with db.reading() as session:
        agent = get_agent(session, workspace_id, agent_id)
        return answer_question(session, agent, question, context=RunContext(trigger="direct"), provider=configured_provider(),
                               record=False)


def notice_customer_message(session: Session, event: DomainEvent) -> None:
    """Outbox consumer: a customer wrote on a conversation an active agent handles → queue the reply job."""
    if event.type != "message.created":
        return
    data = event.payload or {}
    author = data.get("author") or {}
    if (author.get("type") if isinstance(author, dict) else data.get("authorType")) != "customer":
        return
    conv_id = data.get("conversationId")
    if not conv_id:
        return
    conv = session.get(Conversation, uuid.UUID(conv_id))
    if conv is None or conv.handling != "agent" or conv.agent_id is None:
        return
    agent = session.get(Agent, conv.agent_id)
    if agent is None or agent.mode == "off" or agent.workspace_id != conv.workspace_id:
        return
    enqueue(session, RESPOND_JOB, {"workspaceId": str(conv.workspace_id), "conversationId": str(conv.id),
                                   "messageId": str(event.resource_id)}, workspace_id=conv.workspace_id)


def _history(session: Session, conv: Conversation, before: Message) -> list[tuple[str, str]]:
    rows = session.scalars(select(Message).where(Message.conversation_id == conv.id, Message.created_at <= before.created_at,
                                                 Message.id != before.id)
                           .order_by(Message.created_at.desc(), Message.id.desc()).limit(HISTORY_TURNS)).all()
    return [(m.author_type, m.body) for m in reversed(rows)]


def _pending_reply(session: Session, workspace_id: uuid.UUID, conversation_id: uuid.UUID, message_id: uuid.UUID, *,
                   for_update: bool = False) -> tuple[Conversation, Message, Agent] | None:
    """The conversation, customer message and agent when the agent still has to decide on this message."""
    stmt = select(Conversation).where(Conversation.id == conversation_id, Conversation.workspace_id == workspace_id)
    conv = session.scalar(stmt.with_for_update() if for_update else stmt)
    msg = session.scalar(select(Message).where(Message.id == message_id, Message.conversation_id == conversation_id))
    if conv is None or msg is None or msg.author_type != "customer":
        return None
    if conv.handling != "agent" or conv.agent_id is None:
        return None  # a human took over meanwhile
    if session.scalar(select(AgentRun.id).where(AgentRun.workspace_id == workspace_id, AgentRun.message_id == message_id)):
        return None  # already decided (a retried job)
    agent = session.scalar(select(Agent).where(Agent.id == conv.agent_id, Agent.workspace_id == workspace_id))
    if agent is None or agent.mode == "off":
        return None
    return conv, msg, agent


def respond_to_message(db: Database, workspace_id: uuid.UUID, conversation_id: uuid.UUID, message_id: uuid.UUID) -> AgentRun | None:
    """Decide once for this customer message and act on the outcome. None when there is nothing to do.

    Retrieval, judging and the provider's composition run on a read with no transaction open; the run and
    what follows from it (reply, draft or handoff) are written in one short transaction, after checking
    again that nothing changed meanwhile (a takeover, another worker's decision, the agent switched)."""
    with db.reading() as session:
        pending = _pending_reply(session, workspace_id, conversation_id, message_id)
        if pending is None:
            return None
        conv, msg, agent = pending
        run = answer_question(session, agent, msg.body, provider=configured_provider(), record=False, context=RunContext(
            trigger="conversation", conversation_id=conv.id, message_id=msg.id, history=_history(session, conv, msg)))
    with db.transaction() as session:
        pending = _pending_reply(session, workspace_id, conversation_id, message_id, for_update=True)
        if pending is None or pending[2].id != agent.id:
            return None
        conv, _msg, agent = pending
        do_record_run(session, run)
        actor = Actor("agent", str(agent.id))
        if run.outcome == "handoff":
            conversations.do_hand_to_humans(session, workspace_id, conv.id, run.handoff_reason or "The agent handed off.", actor)
            if agent.mode == "auto_reply":
                _send(session, agent, conv, run)
        elif agent.mode == "auto_reply":
            _send(session, agent, conv, run)
        else:
            do_create_draft(session, run, run.text, run.citations)
    return run


def _send(session: Session, agent: Agent, conv: Conversation, run: AgentRun) -> None:
    text = run.text if len(run.text) <= 8000 else run.text[:7999] + "…"
    principal = Principal(workspace_id=conv.workspace_id, kind="agent", subject_id=agent.id)
    msg = conversations.do_add_message(session, conv.workspace_id, conv.id,
                                       MessageCreate(body=text, role="assistant", author_type="agent", author_id=agent.id),
                                       principal, actor=Actor("agent", str(agent.id)))
    run.reply_message_id = msg.id
    session.flush()
