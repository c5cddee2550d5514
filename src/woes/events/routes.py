"""The event log over the API, and live updates for operators (Server-Sent Events)."""

from __future__ import annotations

import asyncio
import json
from collections import OrderedDict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from woes.access.deps import ReadDB, require
from woes.access.principal import Principal
from woes.events.models import DomainEvent
from woes.events.service import envelope

router = APIRouter(prefix="/api/v1/events", tags=["events"])

# Which read scope an event needs, by the part of its type before the dot.
EVENT_AREAS = {
    "conversation": "conversations", "message": "conversations", "note": "conversations", "attachment": "conversations",
    "customer": "customers", "account": "customers", "issue": "issues", "key": "keys", "widget_key": "keys",
    "member": "members", "team": "members", "source": "knowledge", "agent": "agents", "webhook": "webhooks",
    "survey": "analytics", "sla": "conversations",
}
# On PostgreSQL a transaction can commit after one that took a later seq; the live stream re-reads a
# window behind its position so that such late events are still delivered (once: ids are remembered).
LATE_WINDOW = 500
BATCH = 200


def visible(p: Principal, event_type: str) -> bool:
    area = EVENT_AREAS.get(event_type.split(".", 1)[0], "workspace")
    return p.allows(f"{area}:read")


def _fetch(db: Any, p: Principal, after: int, limit: int, types: list[str] | None,
           up_to: int | None = None) -> list[dict[str, Any]]:
    with db.reading() as session:
        stmt = (select(DomainEvent).where(DomainEvent.workspace_id == p.workspace_id, DomainEvent.seq > after)
                .order_by(DomainEvent.seq).limit(limit))
        if up_to is not None:
            stmt = stmt.where(DomainEvent.seq <= up_to)
        if types:
            stmt = stmt.where(DomainEvent.type.in_(types))
        return [envelope(e) for e in session.scalars(stmt)]


@router.get("", summary="The workspace's event log, oldest first (resume with ?after=<seq>)")
def list_events(p: Annotated[Principal, Depends(require("workspace:read"))], db: ReadDB,
                after: Annotated[int, Query(ge=0)] = 0, limit: Annotated[int, Query(ge=1, le=500)] = 100,
                type: Annotated[list[str] | None, Query(max_length=50)] = None) -> dict:
    rows = _fetch(db.info["woes_db"], p, after, limit + 1, type)
    events = [e for e in rows[:limit] if visible(p, e["type"])]
    last = rows[:limit][-1]["seq"] if rows else after
    return {"object": "list", "events": events, "hasMore": len(rows) > limit, "nextCursor": str(last) if len(rows) > limit else None}


@router.get("/stream", summary="Live domain events (SSE); resumes after Last-Event-ID",
            response_class=StreamingResponse)
async def stream(request: Request, p: Annotated[Principal, Depends(require("conversations:read"))],
                 last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
                 after: Annotated[int | None, Query(ge=0, description="Start after this seq (default: now)")] = None,
                 heartbeat: Annotated[float, Query(ge=1, le=60)] = 15.0) -> StreamingResponse:
    runtime = request.app.state.runtime
    db = runtime.db
    if last_event_id and last_event_id.isdigit():
        position = int(last_event_id)
    elif after is not None:
        position = after
    else:
        with db.reading() as session:
            from sqlalchemy import func

            position = session.scalar(select(func.max(DomainEvent.seq)).where(DomainEvent.workspace_id == p.workspace_id)) or 0
    loop = asyncio.get_running_loop()
    wake = asyncio.Event()
    workspace = str(p.workspace_id)

    def on_event(env: dict[str, Any]) -> None:
        if env.get("workspaceId") == workspace:
            loop.call_soon_threadsafe(wake.set)

    async def events() -> Any:
        unsubscribe = runtime.bus.subscribe(on_event)
        seen: OrderedDict[int, None] = OrderedDict()
        cursor = position
        try:
            yield "retry: 3000\n\n"
            while not await request.is_disconnected():
                rows = await run_in_threadpool(_fetch, db, p, cursor, BATCH, None)
                if not db.is_sqlite and cursor > position:  # late commits behind the cursor (see LATE_WINDOW)
                    late = await run_in_threadpool(_fetch, db, p, max(position, cursor - LATE_WINDOW), LATE_WINDOW, None, cursor)
                    rows = [e for e in late if e["seq"] not in seen] + rows
                fresh = [e for e in rows if e["seq"] not in seen]
                for e in fresh:
                    seen[e["seq"]] = None
                    cursor = max(cursor, e["seq"])
                    if visible(p, e["type"]):
                        yield f"id: {e['seq']}\nevent: {e['type']}\ndata: {json.dumps(e, separators=(',', ':'))}\n\n"
                while len(seen) > 4 * LATE_WINDOW:
                    seen.popitem(last=False)
                if len(rows) == BATCH and fresh:
                    continue
                try:
                    await asyncio.wait_for(wake.wait(), timeout=heartbeat)
                except TimeoutError:
                    yield ": keep-alive\n\n"
                wake.clear()
        finally:
            unsubscribe()

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
