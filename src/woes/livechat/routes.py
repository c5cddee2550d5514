"""The widget API (`/api/widget/...`, SPEC §9), the widget script (`/widget.js`), and the operator's live-chat
actions on a conversation (`/api/v1/conversations/{id}/...`)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import deque
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request, Response
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from woes.access.deps import ReadDB, WriteDB, fast_read, require, run_write
from woes.access.principal import Principal
from woes.conversations import service as conversations
from woes.core.crud import Access, CrudRoutes
from woes.db import utcnow
from woes.livechat import forms, service
from woes.livechat.gate import SECRET_HEADER, Caller
from woes.livechat.models import TicketForm
from woes.livechat.schemas import (
    HistorySecretOut,
    TicketFormCreate,
    TicketFormOut,
    TicketFormPatch,
    TypingIn,
    WidgetCsatIn,
    WidgetEventIn,
    WidgetIdentifyIn,
    WidgetMessageIn,
)
from woes.members import service as members

WIDGET_JS = Path(__file__).parent / "static" / "widget.js"
TYPING_EVENT = "livechat.typing"  # live only: published on the bus, never stored
HEARTBEAT_SECONDS = 15.0
STREAM_MESSAGES = 50  # a stream (re)opens by sending the newest messages; the widget replaces them by id

widget_router = APIRouter(prefix="/api/widget", tags=["widget"])
script_router = APIRouter(include_in_schema=False)
operator_router = APIRouter(prefix="/api/v1/conversations", tags=["conversations"])
Secret = Annotated[str | None, Header(alias=SECRET_HEADER, description="The conversation's history secret.")]


def _json(data: Any, status_code: int = 200) -> Response:
    return Response(json.dumps(data, separators=(",", ":")), status_code=status_code, media_type="application/json",
                    headers={"Cache-Control": "no-store"})


@script_router.get("/widget.js")
def widget_script() -> Response:
    return Response(WIDGET_JS.read_bytes(), media_type="application/javascript; charset=utf-8",
                    headers={"Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff"})


@widget_router.get("/config", summary="What the widget shows before anyone writes (names, branding, identity mode, forms)")
def get_config(caller: Caller, db: ReadDB) -> Response:
    return _json(service.widget_config(db, caller))


@widget_router.post("/identify", summary="Identify the visitor; a verified identity also gets its conversations with new history secrets")
def identify(body: WidgetIdentifyIn, caller: Caller, db: WriteDB) -> Response:
    payload = body.payload()
    visitor_id = payload.pop("visitorId", None)
    identity = service.visitor_identity(db, caller, payload, utcnow())
    return _json(service.do_identify(db, caller, identity, visitor_id))


@widget_router.post("/messages", status_code=201,
             summary="Start a conversation (no conversationId: returns its history secret) or continue one (with its secret)")
def post_message(body: WidgetMessageIn, request: Request, caller: Caller, db: WriteDB, secret: Secret = None) -> Response:
    identity = service.visitor_identity(db, caller, body.identity.payload() if body.identity else None, utcnow())
    if body.conversation_id is None:
        request.app.state.widget_gate.count_start(request)
    posted = service.do_widget_message(db, caller, body, identity, secret)
    out: dict[str, Any] = {"conversationId": str(posted.conversation.id),
                           "message": service.widget_message_views(db, caller.workspace_id, [posted.message])[0],
                           "conversation": service.widget_conversation_view(db, posted.conversation)}
    if posted.conversation_secret is not None:
        out["conversationSecret"] = posted.conversation_secret
    return _json(out, 201)


@widget_router.get("/conversations/{conversation_id}", summary="The conversation's state (with its history secret)")
def get_conversation(conversation_id: uuid.UUID, caller: Caller, db: ReadDB, secret: Secret = None) -> Response:
    conv = service.conversation_for_secret(db, caller.workspace_id, conversation_id, secret)
    return _json(service.widget_conversation_view(db, conv))


@widget_router.get("/conversations/{conversation_id}/messages", summary="Customer-safe history, oldest first (with its history secret)")
def get_messages(conversation_id: uuid.UUID, caller: Caller, db: ReadDB, secret: Secret = None) -> Response:
    conv = service.conversation_for_secret(db, caller.workspace_id, conversation_id, secret)
    messages = service.conversation_messages(db, conv)
    return _json({"object": "list", "messages": service.widget_message_views(db, caller.workspace_id, messages)})


def _snapshot(db: Any, caller: Any, conversation_id: uuid.UUID, secret: str | None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    with db.reading() as session:
        conv = service.conversation_for_secret(session, caller.workspace_id, conversation_id, secret)
        messages = service.conversation_messages(session, conv, STREAM_MESSAGES)
        return (service.widget_conversation_view(session, conv),
                service.widget_message_views(session, caller.workspace_id, messages))


def _frame(event: str, data: dict[str, Any], event_id: str | None = None) -> str:
    head = f"id: {event_id}\n" if event_id else ""
    return f"{head}event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


@widget_router.get("/conversations/{conversation_id}/stream", response_class=StreamingResponse,
            summary="Live updates of the conversation (Server-Sent Events, read with fetch: send the history secret header)")
async def stream(conversation_id: uuid.UUID, request: Request, caller: Caller, secret: Secret = None,
                 last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None) -> StreamingResponse:
    runtime = request.app.state.runtime
    conv_view, messages = await run_in_threadpool(_snapshot, runtime.db, caller, conversation_id, secret)  # 404 here
    gate = request.app.state.widget_gate
    gate.check_stream_room(request)
    loop = asyncio.get_running_loop()
    wake = asyncio.Event()
    typing: deque[dict[str, Any]] = deque(maxlen=20)
    workspace = str(caller.workspace_id)
    # The conversations whose events concern this stream: the one asked for and, after a merge, the one it became
    # (conversation_for_secret serves that one).
    watched = {str(conversation_id), conv_view["id"]}

    def push_typing(data: dict[str, Any]) -> None:
        typing.append(data)
        wake.set()

    def on_event(env: dict[str, Any]) -> None:  # on the bus's thread
        if env.get("workspaceId") != workspace:
            return
        data = env.get("data") or {}
        if env.get("type") == TYPING_EVENT:
            if data.get("conversationId") in watched and (data.get("author") or {}).get("type") != "customer":
                loop.call_soon_threadsafe(push_typing, {"author": data.get("author"), "typing": bool(data.get("typing"))})
            return
        if data.get("conversationId") in watched or (env.get("resource") or {}).get("id") in watched:
            loop.call_soon_threadsafe(wake.set)

    async def frames() -> Any:
        with gate.holding_stream(request):
            async for frame in _frames():
                yield frame

    async def _frames() -> Any:
        unsubscribe = runtime.bus.subscribe(on_event)
        sent: dict[str, str] = {}
        last_conv: dict[str, Any] = {}
        try:
            yield "retry: 3000\n\n"
            view, msgs = conv_view, messages
            if last_event_id:  # a reconnect: what came after the last message it had, and every later change
                ids = [m["id"] for m in msgs]
                if last_event_id in ids:
                    for m in msgs[: ids.index(last_event_id) + 1]:
                        sent[m["id"]] = json.dumps(m, sort_keys=True)
            while True:
                for m in msgs:
                    signature = json.dumps(m, sort_keys=True)
                    if sent.get(m["id"]) != signature:
                        sent[m["id"]] = signature
                        yield _frame("message", m, m["id"])
                if view != last_conv:
                    frame = dict(view)
                    if last_conv.get("handling") == "agent" and view["handling"] == "human":
                        frame["notice"] = service.HANDOFF_NOTICE
                    last_conv = view
                    yield _frame("conversation", frame)
                while typing:
                    yield _frame("typing", typing.popleft())
                try:
                    await asyncio.wait_for(wake.wait(), timeout=HEARTBEAT_SECONDS)
                except TimeoutError:
                    yield ": keep-alive\n\n"
                    continue
                wake.clear()
                while typing:
                    yield _frame("typing", typing.popleft())
                try:  # the secret is checked again: an operator's rotation ends the stream
                    view, msgs = await run_in_threadpool(_snapshot, runtime.db, caller, conversation_id, secret)
                    watched.add(view["id"])
                except Exception:
                    yield _frame("end", {"reason": "The conversation is no longer available here."})
                    return
        finally:
            unsubscribe()

    return StreamingResponse(frames(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


def _publish_typing(request: Request, workspace_id: uuid.UUID, conversation_id: uuid.UUID, author: dict[str, Any],
                    is_typing: bool) -> None:
    request.app.state.runtime.bus.publish({"type": TYPING_EVENT, "workspaceId": str(workspace_id), "data": {
        "conversationId": str(conversation_id), "author": author, "typing": is_typing}})


@widget_router.post("/events", status_code=202, summary="Typing, read, page view or setContext data from the widget")
async def post_event(body: WidgetEventIn, request: Request, caller: Caller, secret: Secret = None) -> Response:
    if body.conversation_id is None:
        return _json({"accepted": False, "reason": "No conversation yet: context is sent when it starts."}, 202)
    db, conversation_id = request.app.state.runtime.db, body.conversation_id

    def check() -> None:
        with db.reading() as session:
            service.conversation_for_secret(session, caller.workspace_id, conversation_id, secret)

    await run_in_threadpool(check)  # 404 for a wrong secret, before anything else
    if body.type == "typing":  # live only: no write turn, nothing stored
        _publish_typing(request, caller.workspace_id, conversation_id, {"type": "customer", "name": None}, bool(body.typing))
    else:
        await run_write(request, lambda session: service.do_widget_event(
            session, caller, service.conversation_for_secret(session, caller.workspace_id, conversation_id, secret), body))
    return _json({"accepted": True}, 202)


@widget_router.post("/csat", status_code=201, summary="The visitor's CSAT answer (1–5) for a resolved conversation")
def post_csat(body: WidgetCsatIn, caller: Caller, db: WriteDB, secret: Secret = None) -> Response:
    conv = service.conversation_for_secret(db, caller.workspace_id, body.conversation_id, secret)
    return _json(service.do_widget_csat(db, caller, conv, body), 201)


# -- operators --------------------------------------------------------------------------------------------

Write = Annotated[Principal, Depends(require("conversations:write"))]
Read = Annotated[Principal, Depends(require("conversations:read"))]


@operator_router.post("/{conversation_id}/history-secret/rotate", response_model=HistorySecretOut,
                      summary="Revoke every widget history secret of a live-chat conversation and issue one new secret")
def rotate_history_secret(conversation_id: uuid.UUID, p: Write, db: WriteDB) -> dict:
    secret = service.do_rotate_history_secrets(db, p.workspace_id, conversation_id, p.actor)
    return {"conversationId": conversation_id, "conversationSecret": secret}


@operator_router.post("/{conversation_id}/typing", status_code=202,
                      summary="Show the visitor that you are typing (live only, nothing is stored)")
def operator_typing(conversation_id: uuid.UUID, body: TypingIn, request: Request, p: Write, db: ReadDB) -> Response:
    conversations.get_conversation(db, p.workspace_id, conversation_id)
    name = None
    if p.kind == "operator":
        name = members.member_names(db, p.workspace_id, {p.subject_id}).get(p.subject_id)
    _publish_typing(request, p.workspace_id, conversation_id, {"type": "operator", "name": name}, body.typing)
    return _json({"accepted": True}, 202)


@operator_router.get("/{conversation_id}/visitor", summary="How a live-chat conversation started, and the visitor's page and context")
def get_visitor(conversation_id: uuid.UUID, p: Read, db: ReadDB) -> Response:
    conversations.get_conversation(db, p.workspace_id, conversation_id)
    return _json({"object": "visitor", "conversationId": str(conversation_id),
                  **(service.visitor_context(db, p.workspace_id, conversation_id) or {})})


# -- ticket forms (widget settings: the channels scope) ----------------------------------------------------

forms_router = APIRouter(prefix="/api/v1", tags=["channels"])
form_routes = CrudRoutes(forms_router, Access(require, "channels:read", "channels:write", ReadDB, WriteDB, fast_read),
                         "/ticket-forms", "ticket_form_id", TicketFormOut, noun="ticket_form", plural="ticket_forms")
form_routes.paginated("List the widget's ticket forms (newest first)", forms.list_forms_stmt, TicketForm, forms.ticket_form_view)
form_routes.create(TicketFormCreate, forms.do_create_form, "Create a ticket form (its fields are conversation custom fields)")
form_routes.get(forms.get_form)
form_routes.update(TicketFormPatch, forms.do_update_form, "Change a ticket form")
form_routes.delete(forms.do_delete_form, "Delete a ticket form")

router = APIRouter()  # what woes.app discovers: the routers above
for _part in (widget_router, script_router, operator_router, forms_router):
    router.include_router(_part)
