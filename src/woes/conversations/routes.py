from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from sqlalchemy import select

from woes.access.deps import ReadDB, WriteDB, fast_read, require
from woes.access.principal import Principal
from woes.conversations import schemas, service
from woes.conversations.models import Conversation, Message
from woes.core.pagination import Page, paginate
from woes.events.models import DomainEvent
from woes.events.service import envelope

router = APIRouter(prefix="/api/v1/conversations", tags=["conversations"])
Read = Annotated[Principal, Depends(require("conversations:read"))]
Write = Annotated[Principal, Depends(require("conversations:write"))]


def _view(db, conv: Conversation) -> dict:
    return service.conversation_view(db, conv)


@router.get("", summary="List conversations (filters, full-text q)")
def list_conversations(
    p: Read, db: ReadDB, page: Page,
    status: Literal["open", "waiting", "solved"] | None = None,
    channel: Literal["api", "live-chat", "email", "discord"] | None = None,
    customer_id: Annotated[str | None, Query(alias="customerId", min_length=1, max_length=255,
                                             description="Your customer id (their externalId) or the Woes customer id.")] = None,
    assignee_id: Annotated[uuid.UUID | None, Query(alias="assigneeId")] = None,
    tag: Annotated[str | None, Query(max_length=64)] = None,
    handling: Literal["agent", "human", "none"] | None = None,
    priority: Annotated[str | None, Query(max_length=32)] = None,
    q: Annotated[str | None, Query(max_length=500, description="Words that must all occur in the subject or one message.")] = None,
    updated_since: Annotated[datetime | None, Query(alias="updatedSince")] = None,
    archived: bool = False,
) -> dict:
    stmt = service.list_stmt(db, p.workspace_id, status=status, channel=channel, customer_id=customer_id,
                             assignee_id=assignee_id, tag=tag, handling=handling, priority=priority, q=q,
                             updated_since=updated_since, archived=archived)
    return paginate(db, stmt, Conversation, page, "conversations", None,
                    serialize_all=lambda rows: service.conversation_views(db, rows))


@router.post("", status_code=201, response_model=schemas.ConversationOut, summary="Create a conversation")
def create_conversation(body: schemas.ConversationCreate, p: Write, db: WriteDB) -> dict:
    return _view(db, service.do_create_conversation(db, p.workspace_id, body, p))


@router.get("/{conversation_id}", response_model=schemas.ConversationOut, summary="Get a conversation")
@fast_read
def get_conversation(conversation_id: uuid.UUID, p: Read, db: ReadDB) -> dict:
    return _view(db, service.get_conversation(db, p.workspace_id, conversation_id))


@router.patch("/{conversation_id}", response_model=schemas.ConversationOut,
              summary="Change status, priority, subject, tags, custom fields, assignee or snooze")
def update_conversation(conversation_id: uuid.UUID, body: schemas.ConversationPatch, p: Write, db: WriteDB) -> dict:
    return _view(db, service.do_update_conversation(db, p.workspace_id, conversation_id, body, p))


@router.post("/{conversation_id}/assign", response_model=schemas.ConversationOut, summary="Assign to an operator, team or agent (null unassigns)")
def assign(conversation_id: uuid.UUID, body: schemas.AssignIn, p: Write, db: WriteDB) -> dict:
    return _view(db, service.do_assign(db, p.workspace_id, conversation_id, body.assignee, p))


@router.post("/{conversation_id}/takeover", response_model=schemas.ConversationOut, summary="A human takes over from the agent")
def takeover(conversation_id: uuid.UUID, body: schemas.ReasonIn, p: Write, db: WriteDB) -> dict:
    return _view(db, service.do_takeover(db, p.workspace_id, conversation_id, body.reason, p))


@router.post("/{conversation_id}/handback", response_model=schemas.ConversationOut, summary="Return the conversation to its agent")
def handback(conversation_id: uuid.UUID, p: Write, db: WriteDB, body: schemas.OptionalReasonIn | None = None) -> dict:
    return _view(db, service.do_handback(db, p.workspace_id, conversation_id, body.reason if body else None, p))


@router.post("/{conversation_id}/snooze", response_model=schemas.ConversationOut, summary="Snooze until a time; it reopens then")
def snooze(conversation_id: uuid.UUID, body: schemas.SnoozeIn, p: Write, db: WriteDB) -> dict:
    return _view(db, service.do_snooze(db, p.workspace_id, conversation_id, body.until, p))


@router.post("/{conversation_id}/unsnooze", response_model=schemas.ConversationOut)
def unsnooze(conversation_id: uuid.UUID, p: Write, db: WriteDB) -> dict:
    return _view(db, service.do_snooze(db, p.workspace_id, conversation_id, None, p))


@router.post("/{conversation_id}/archive", response_model=schemas.ConversationOut)
def archive(conversation_id: uuid.UUID, p: Write, db: WriteDB) -> dict:
    return _view(db, service.do_archive(db, p.workspace_id, conversation_id, True, p))


@router.post("/{conversation_id}/unarchive", response_model=schemas.ConversationOut)
def unarchive(conversation_id: uuid.UUID, p: Write, db: WriteDB) -> dict:
    return _view(db, service.do_archive(db, p.workspace_id, conversation_id, False, p))


@router.post("/{conversation_id}/merge", response_model=schemas.ConversationOut,
             summary="Merge another conversation into this one (histories interleaved by time)")
def merge(conversation_id: uuid.UUID, body: schemas.MergeIn, p: Write, db: WriteDB) -> dict:
    return _view(db, service.do_merge(db, p.workspace_id, conversation_id, body.source_conversation_id, p))


@router.get("/{conversation_id}/messages", summary="Messages, oldest first")
def list_messages(conversation_id: uuid.UUID, p: Read, db: ReadDB, page: Page,
                  unmasked: Annotated[bool, Query(description="Show secrets customers pasted (needs conversations:write).")] = False) -> dict:
    service.get_conversation(db, p.workspace_id, conversation_id)
    if unmasked and not p.allows("conversations:write"):
        from woes.core.errors import ProblemError

        raise ProblemError(403, "permission_denied", "Unmasked messages need the 'conversations:write' scope.",
                           extra={"requiredScope": "conversations:write"})
    stmt = select(Message).where(Message.workspace_id == p.workspace_id, Message.conversation_id == conversation_id)
    return paginate(db, stmt, Message, page, "messages", None, ascending=True,
                    serialize_all=lambda rows: service.message_views(db, rows, unmasked=unmasked))


@router.post("/{conversation_id}/messages", status_code=201, response_model=schemas.MessageOut, summary="Add a message")
def add_message(conversation_id: uuid.UUID, body: schemas.MessageCreate, p: Write, db: WriteDB) -> dict:
    msg = service.do_add_message(db, p.workspace_id, conversation_id, body, p)
    return service.message_views(db, [msg])[0]


@router.patch("/{conversation_id}/messages/{message_id}", response_model=schemas.MessageOut,
              summary="Record delivery (queued/sent/delivered/failed) or read state")
def update_message_state(conversation_id: uuid.UUID, message_id: uuid.UUID, body: schemas.MessageStatePatch, p: Write, db: WriteDB) -> dict:
    msg = service.do_update_message_state(db, p.workspace_id, conversation_id, message_id, body.delivery_status,
                                          body.delivery_error, body.read, p)
    return service.message_views(db, [msg])[0]


@router.get("/{conversation_id}/events", summary="Timeline: every change with actor and time, oldest first")
def timeline(conversation_id: uuid.UUID, p: Read, db: ReadDB,
             limit: Annotated[int, Query(ge=1, le=500)] = 100,
             after: Annotated[int | None, Query(description="Return events after this seq")] = None) -> dict:
    service.get_conversation(db, p.workspace_id, conversation_id)
    stmt = (select(DomainEvent).where(DomainEvent.workspace_id == p.workspace_id,
                                      DomainEvent.aggregate_id == str(conversation_id))
            .order_by(DomainEvent.seq).limit(limit + 1))
    if after is not None:
        stmt = stmt.where(DomainEvent.seq > after)
    rows = db.scalars(stmt).all()
    events = [envelope(e) for e in rows[:limit]]
    return {"object": "list", "events": events, "hasMore": len(rows) > limit,
            "nextCursor": str(events[-1]["seq"]) if len(rows) > limit else None}
