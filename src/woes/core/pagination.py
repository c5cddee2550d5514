"""Cursor pagination shared by every list route (SPEC §2): newest first, keyset on (created_at, id),
so rows inserted while a client pages never cause skips or repeats."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Query
from sqlalchemy import Select, and_, or_
from sqlalchemy.orm import Session

from woes.core.errors import validation_error


@dataclass
class PageParams:
    limit: int
    cursor: str | None


async def page_params(
    limit: Annotated[int, Query(ge=1, le=100, description="Page size (1-100).")] = 20,
    cursor: Annotated[str | None, Query(max_length=512, description="Opaque cursor from `nextCursor`.")] = None,
) -> PageParams:
    return PageParams(limit, cursor)


Page = Annotated[PageParams, Depends(page_params)]


def encode_cursor(created_at: datetime, id_: uuid.UUID) -> str:
    raw = json.dumps([created_at.isoformat(), str(id_)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        ts, id_ = json.loads(raw)
        when = datetime.fromisoformat(ts)
        if when.tzinfo is None:
            raise ValueError
        return when, uuid.UUID(id_)
    except (ValueError, TypeError, json.JSONDecodeError):
        raise validation_error("cursor", "Not a cursor returned by this API.", status=400) from None


def paginate(
    session: Session,
    stmt: Select[Any],
    model: Any,
    page: PageParams,
    plural: str,
    serialize: Callable[[Any], Any],
    *,
    ascending: bool = False,
    serialize_all: Callable[[list[Any]], list[Any]] | None = None,
) -> dict[str, Any]:
    """One page of `stmt` (already filtered by workspace). Newest first unless `ascending`.
    `serialize_all` turns the whole page at once (to batch-load related rows)."""
    created, ident = model.created_at, model.id
    if page.cursor:
        when, last_id = decode_cursor(page.cursor)
        if ascending:
            stmt = stmt.where(or_(created > when, and_(created == when, ident > last_id)))
        else:
            stmt = stmt.where(or_(created < when, and_(created == when, ident < last_id)))
    order = (created.asc(), ident.asc()) if ascending else (created.desc(), ident.desc())
    rows = session.scalars(stmt.order_by(*order).limit(page.limit + 1)).all()
    has_more = len(rows) > page.limit
    rows = list(rows[: page.limit])
    return {
        "object": "list",
        plural: serialize_all(rows) if serialize_all else [serialize(r) for r in rows],
        "hasMore": has_more,
        "nextCursor": encode_cursor(rows[-1].created_at, rows[-1].id) if has_more else None,
    }
