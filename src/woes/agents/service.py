"""Agents, their runs and drafts: every change writes its record and its event in the caller's transaction.

The runtime (answering) lives elsewhere; it reuses `run_view` and calls `do_create_draft`."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from woes.access.principal import Principal
from woes.agents.models import Agent, AgentRun, Draft
from woes.agents.schemas import AgentCreate, AgentPatch
from woes.conversations import service as conversations
from woes.conversations.schemas import MessageCreate
from woes.core.errors import conflict, not_found, validation_error
from woes.core.redaction import redact
from woes.core.scoping import get_in_workspace
from woes.core.text import fold_name
from woes.core.views import iso
from woes.db import utcnow
from woes.events.service import Actor, record_change, record_event
from woes.keys.service import widget_public_keys
from woes.sources.models import Source

# Input field name → model attribute, for PATCH and `changedFields` (camelCase as in the API).
EDITABLE = {
    "name": "name", "description": "description", "persona": "persona", "greeting": "greeting",
    "instructions": "instructions", "confidenceThreshold": "confidence_threshold", "guardrails": "guardrails",
    "sourceIds": "source_ids", "channels": "channels", "widgetKey": "widget_key_id", "mode": "mode",
}
NOT_NULL = ("name", "confidenceThreshold", "guardrails", "sourceIds", "channels", "mode")
# Keys a trace must never carry to a client, whoever asks (the runtime should not store them either).
CREDENTIAL_KEYS = ("apiKey", "api_key", "authorization", "Authorization", "headers")


def _str(v: Any) -> str | None:
    return str(v) if v is not None else None


# -- views -------------------------------------------------------------------------------------------

def _agent_view(agent: Agent, public_key: str | None, show_instructions: bool) -> dict[str, Any]:
    return {
        "object": "agent", "id": str(agent.id), "name": agent.name, "description": agent.description,
        "persona": agent.persona, "greeting": agent.greeting,
        "instructions": agent.instructions if show_instructions else None, "instructionsHidden": not show_instructions,
        "confidenceThreshold": agent.confidence_threshold, "guardrails": list(agent.guardrails or []),
        "sourceIds": list(agent.source_ids or []), "channels": list(agent.channels or []),
        "widgetKey": _str(agent.widget_key_id) if public_key else None, "widgetPublicKey": public_key,
        "mode": agent.mode, "learnedProfile": agent.learned_profile, "learningStatus": agent.learning_status,
        "createdAt": iso(agent.created_at), "updatedAt": iso(agent.updated_at),
    }


def agent_views(session: Session, agents: list[Agent], *, show_instructions: bool) -> list[dict[str, Any]]:
    """Views of a page of agents, their widget keys loaded in one query. `instructions` (the system
    prompt) only for callers holding agents:write."""
    key_ids = {a.widget_key_id for a in agents if a.widget_key_id}
    keys = widget_public_keys(session, agents[0].workspace_id, key_ids) if key_ids else {}
    return [_agent_view(a, keys.get(a.widget_key_id), show_instructions) for a in agents]


def agent_view(session: Session, agent: Agent, *, show_instructions: bool) -> dict[str, Any]:
    return agent_views(session, [agent], show_instructions=show_instructions)[0]


def run_view(run: AgentRun) -> dict[str, Any]:
    """The public answer object of a run (SPEC §8)."""
    handoff = {"reason": run.handoff_reason} if run.outcome == "handoff" or run.handoff_reason else None
    return {
        "object": "agent_run", "id": str(run.id), "agentId": str(run.agent_id), "conversationId": _str(run.conversation_id),
        "messageId": _str(run.message_id), "replyMessageId": _str(run.reply_message_id), "trigger": run.trigger,
        "outcome": run.outcome, "text": run.text, "citations": list(run.citations or []),
        "confidence": dict(run.confidence or {}), "handoff": handoff, "traceId": str(run.id),
        "latencyMs": run.latency_ms, "provider": run.provider, "createdAt": iso(run.created_at),
    }


def _without(d: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if k not in keys}


def trace_view(run: AgentRun, *, show_system_prompt: bool) -> dict[str, Any]:
    """The run's trace; system prompts only for callers holding agents:write, provider credentials never."""
    hidden = () if show_system_prompt else ("systemPrompt",)
    trace = _without(run.trace or {}, ("object", "runId") + hidden)
    if isinstance(trace.get("provider"), dict):
        trace["provider"] = _without(trace["provider"], CREDENTIAL_KEYS + hidden)
    return {"object": "agent_trace", "runId": str(run.id), **trace}


def draft_view(draft: Draft) -> dict[str, Any]:
    return {
        "object": "draft", "id": str(draft.id), "agentId": str(draft.agent_id),
        "conversationId": str(draft.conversation_id), "runId": str(draft.run_id), "status": draft.status,
        "body": draft.body, "sentBody": draft.sent_body, "edited": draft.edited, "citations": list(draft.citations or []),
        "rejectionReason": draft.rejection_reason, "decidedBy": draft.decided_by, "decidedAt": iso(draft.decided_at),
        "messageId": _str(draft.message_id), "createdAt": iso(draft.created_at),
    }


# -- lookups -----------------------------------------------------------------------------------------

def get_agent(session: Session, workspace_id: uuid.UUID, agent_id: uuid.UUID) -> Agent:
    return get_in_workspace(session, Agent, workspace_id, agent_id, "Agent")


def get_run(session: Session, workspace_id: uuid.UUID, run_id: uuid.UUID) -> AgentRun:
    return get_in_workspace(session, AgentRun, workspace_id, run_id, "Agent run")


def get_draft(session: Session, workspace_id: uuid.UUID, draft_id: uuid.UUID, *, for_update: bool = False) -> Draft:
    stmt = select(Draft).where(Draft.id == draft_id, Draft.workspace_id == workspace_id)
    draft = session.scalar(stmt.with_for_update() if for_update else stmt)
    if draft is None:
        raise not_found("Draft")
    return draft


def agent_source_ids(session: Session, workspace_id: uuid.UUID, agent_id: uuid.UUID) -> list[uuid.UUID]:
    """The sources an agent answers from (404 if the agent is not in the workspace)."""
    return [uuid.UUID(s) for s in get_agent(session, workspace_id, agent_id).source_ids or []]


def agents_stmt(workspace_id: uuid.UUID) -> Select[Any]:
    return select(Agent).where(Agent.workspace_id == workspace_id)


def runs_stmt(workspace_id: uuid.UUID, conversation_id: uuid.UUID) -> Select[Any]:
    return select(AgentRun).where(AgentRun.workspace_id == workspace_id, AgentRun.conversation_id == conversation_id)


def drafts_stmt(workspace_id: uuid.UUID, *, status: str | None = None, agent_id: uuid.UUID | None = None,
                conversation_id: uuid.UUID | None = None) -> Select[Any]:
    stmt = select(Draft).where(Draft.workspace_id == workspace_id)
    for column, value in ((Draft.status, status), (Draft.agent_id, agent_id), (Draft.conversation_id, conversation_id)):
        if value is not None:
            stmt = stmt.where(column == value)
    return stmt


# -- validation --------------------------------------------------------------------------------------

def _check_sources(session: Session, workspace_id: uuid.UUID, source_ids: list[uuid.UUID]) -> list[str]:
    if not source_ids:
        return []
    found = set(session.scalars(select(Source.id).where(Source.workspace_id == workspace_id, Source.id.in_(source_ids))))
    missing = [str(s) for s in source_ids if s not in found]
    if missing:
        raise validation_error("sourceIds", f"No source with this id in the workspace: {', '.join(missing)}.")
    return [str(s) for s in source_ids]


def _check_widget_key(session: Session, workspace_id: uuid.UUID, widget_key_id: uuid.UUID | None) -> None:
    if widget_key_id is None:
        return
    if widget_key_id not in widget_public_keys(session, workspace_id, {widget_key_id}):
        raise validation_error("widgetKey", "No widget key with this id in the workspace.")


def _check_name(session: Session, workspace_id: uuid.UUID, name: str, exclude: uuid.UUID | None = None) -> None:
    # Names are stored redacted (redact_on_write): compare the key of the name as it will be stored.
    stmt = select(Agent.id).where(Agent.workspace_id == workspace_id, Agent.name_key == fold_name(redact(name)))
    existing = session.scalar(stmt.where(Agent.id != exclude) if exclude else stmt)
    if existing:
        raise conflict("An agent with this name exists (names are case-insensitive).", existingId=str(existing))


def agent_event(session: Session, agent: Agent, type_: str, actor: Actor, **extra: Any) -> None:
    """Record `type_` for the agent with its view and `extra`. Events reach webhooks and streams of any scope:
    the system prompt stays out of them."""
    record_change(session, "agent", agent, type_, actor, agent_view(session, agent, show_instructions=False), **extra)


# -- agents ------------------------------------------------------------------------------------------

def do_create_agent(session: Session, workspace_id: uuid.UUID, body: AgentCreate, actor: Actor) -> Agent:
    _check_name(session, workspace_id, body.name)
    source_ids = _check_sources(session, workspace_id, body.source_ids)
    _check_widget_key(session, workspace_id, body.widget_key)
    now = utcnow()
    agent = Agent(workspace_id=workspace_id, name=body.name, description=body.description, persona=body.persona,
                  greeting=body.greeting, instructions=body.instructions, confidence_threshold=body.confidence_threshold,
                  guardrails=body.guardrails, source_ids=source_ids, channels=body.channels, widget_key_id=body.widget_key,
                  mode=body.mode, learned_profile=None, learning_status="idle", created_at=now, updated_at=now)
    agent.name_key = fold_name(agent.name)  # of the stored (redacted) name
    session.add(agent)
    session.flush()
    agent_event(session, agent, "agent.created", actor)
    return agent


def _new_value(session: Session, agent: Agent, field: str, value: Any) -> Any:
    if field in NOT_NULL and value is None:
        raise validation_error(field, "cannot be null")
    if field == "name":
        _check_name(session, agent.workspace_id, value, exclude=agent.id)
    elif field == "sourceIds":
        return _check_sources(session, agent.workspace_id, value)
    elif field == "widgetKey":
        _check_widget_key(session, agent.workspace_id, value)
    return value


def do_update_agent(session: Session, workspace_id: uuid.UUID, agent_id: uuid.UUID, patch: AgentPatch, actor: Actor) -> Agent:
    agent = get_agent(session, workspace_id, agent_id)
    given = patch.model_dump(by_alias=True, exclude_unset=True)
    changed = []
    for field, value in given.items():
        value = _new_value(session, agent, field, value)
        if value != getattr(agent, EDITABLE[field]):
            setattr(agent, EDITABLE[field], value)
            if field == "name":
                agent.name_key = fold_name(agent.name)  # of the stored (redacted) name
            changed.append(field)
    if changed:
        agent.updated_at = utcnow()
        session.flush()
        agent_event(session, agent, "agent.updated", actor, changedFields=changed)
    return agent


def do_delete_agent(session: Session, workspace_id: uuid.UUID, agent_id: uuid.UUID, actor: Actor) -> None:
    """Deletes the agent with its runs and drafts; its conversations lose it (unassigned, no longer agent-handled)."""
    agent = get_agent(session, workspace_id, agent_id)
    data = agent_view(session, agent, show_instructions=False)
    conversations.do_detach_agent(session, workspace_id, agent.id, actor)
    session.delete(agent)
    session.flush()
    record_event(session, workspace_id=workspace_id, type="agent.deleted", resource_type="agent", resource_id=agent_id,
                 data=data, actor=actor)


# -- drafts ------------------------------------------------------------------------------------------

def do_create_draft(session: Session, run: AgentRun, body: str, citations: list[dict[str, Any]]) -> Draft:
    """A pending suggested reply for the run's conversation (called by the runtime in `draft` mode)."""
    if run.conversation_id is None:
        raise ValueError("a draft answers a conversation; this run has none")
    draft = Draft(workspace_id=run.workspace_id, agent_id=run.agent_id, conversation_id=run.conversation_id, run_id=run.id,
                  status="pending", body=body, edited=False, citations=list(citations or []), created_at=utcnow())
    session.add(draft)
    session.flush()
    _draft_event(session, draft, "draft.created", Actor("agent", str(run.agent_id)))
    return draft


def _draft_event(session: Session, draft: Draft, type_: str, actor: Actor, **extra: Any) -> None:
    record_change(session, "draft", draft, type_, actor, draft_view(draft), aggregate_id=draft.conversation_id, **extra)


def _pending_draft(session: Session, workspace_id: uuid.UUID, draft_id: uuid.UUID) -> Draft:
    draft = get_draft(session, workspace_id, draft_id, for_update=True)
    if draft.status != "pending":
        raise conflict(f"This draft was already decided (status {draft.status}).", draftStatus=draft.status)
    return draft


def _agent_message(draft: Draft, text: str) -> MessageCreate:
    try:
        return MessageCreate(body=text, role="assistant", author_type="agent", author_id=draft.agent_id)
    except ValidationError as exc:  # a suggestion too long (or empty) to send as is: the operator edits it
        raise validation_error("body", exc.errors()[0]["msg"]) from None


def do_approve_draft(session: Session, workspace_id: uuid.UUID, draft_id: uuid.UUID, body: str | None, p: Principal) -> Draft:
    """Send the suggestion (or the operator's edited text) as the agent's message on the conversation."""
    draft = _pending_draft(session, workspace_id, draft_id)
    text = draft.body if body is None else body
    msg = conversations.do_add_message(session, workspace_id, draft.conversation_id, _agent_message(draft, text), p)
    run = session.scalar(select(AgentRun).where(AgentRun.id == draft.run_id, AgentRun.workspace_id == workspace_id))
    if run is not None and run.reply_message_id is None:
        run.reply_message_id = msg.id
    draft.status, draft.sent_body, draft.edited, draft.message_id = "sent", text, text != draft.body, msg.id
    draft.decided_by, draft.decided_at = p.actor.as_dict(), utcnow()
    session.flush()
    _draft_event(session, draft, "draft.approved", p.actor)
    return draft


def do_reject_draft(session: Session, workspace_id: uuid.UUID, draft_id: uuid.UUID, reason: str, p: Principal) -> Draft:
    draft = _pending_draft(session, workspace_id, draft_id)
    draft.status, draft.rejection_reason = "rejected", reason
    draft.decided_by, draft.decided_at = p.actor.as_dict(), utcnow()
    session.flush()
    _draft_event(session, draft, "draft.rejected", p.actor, reason=reason)
    return draft


# -- reactions to other domains ------------------------------------------------------------------------

def is_agent(session: Session, workspace_id: uuid.UUID, agent_id: uuid.UUID) -> bool:
    return session.scalar(select(Agent.id).where(Agent.workspace_id == workspace_id, Agent.id == agent_id)) is not None


def forget_deleted_source(session: Session, workspace_id: uuid.UUID, source: Source, actor: Actor) -> None:
    gone = str(source.id)
    for agent in session.scalars(agents_stmt(workspace_id)):
        if gone in (agent.source_ids or []):
            agent.source_ids = [s for s in agent.source_ids if s != gone]
            agent.updated_at = utcnow()
            session.flush()
            agent_event(session, agent, "agent.updated", actor, changedFields=["sourceIds"], removedSourceId=gone)



def default_agent_id(session: Session, workspace_id: uuid.UUID, channel: str) -> uuid.UUID | None:
    """The agent that answers a new conversation on `channel` when nothing names one: the oldest agent that is
    not off and lists the channel."""
    for agent in session.scalars(select(Agent).where(Agent.workspace_id == workspace_id, Agent.mode != "off")
                                 .order_by(Agent.created_at, Agent.id)):
        if channel in (agent.channels or []):
            return agent.id
    return None


def reply_citations(session: Session, workspace_id: uuid.UUID, message_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[dict[str, Any]]]:
    """The citations of the agent answers sent as these messages (directly or as an approved draft)."""
    if not message_ids:
        return {}
    out: dict[uuid.UUID, list[dict[str, Any]]] = {}
    for run in session.scalars(select(AgentRun).where(AgentRun.workspace_id == workspace_id,
                                                      AgentRun.reply_message_id.in_(message_ids))):
        out[run.reply_message_id] = list(run.citations or [])
    for draft in session.scalars(select(Draft).where(Draft.workspace_id == workspace_id, Draft.message_id.in_(message_ids))):
        out[draft.message_id] = list(draft.citations or [])  # an approved draft: the citations as approved
    return out
