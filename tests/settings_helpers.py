"""Helpers for the tests of the settings domains (tags, custom fields, statuses, priorities) and their shared
CRUD machinery (woes.core.crud)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select

from woes.events.models import DomainEvent


def events_with_prefix(runtime, ws, prefix: str) -> list[DomainEvent]:
    with runtime.db.reading() as s:
        return list(s.scalars(select(DomainEvent).where(DomainEvent.workspace_id == ws.id,
                                                        DomainEvent.type.like(prefix + "%"))
                              .order_by(DomainEvent.seq)))


def row_count(runtime, model, ws) -> int:
    with runtime.db.reading() as s:
        return s.scalar(select(func.count()).select_from(model).where(model.workspace_id == ws.id))


def problem(r, status: int, field: str | None = None, code: str | None = None) -> dict:
    """The problem+json body of `r`, checked: its status, and the field it names / its code when given."""
    assert r.status_code == status, r.text
    body = r.json()
    assert r.headers["content-type"].startswith("application/problem+json")
    if code:
        assert body["code"] == code
    if field is not None:
        assert field in [e["field"] for e in body.get("errors", [])], body
    return body


def create(client, ws, path: str, body: dict) -> str:
    """POST `body` to `path` in `ws` (expecting 201); the new record's id."""
    r = client.post(path, json=body, headers=ws.headers)
    assert r.status_code == 201, (path, r.status_code, r.text)
    return r.json()["id"]


def in_threads(n: int, fn: Callable[[int], Any]) -> list:
    """fn(0) … fn(n-1) started together on n threads; each result, or the exception it raised."""
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def work(i: int) -> None:
        barrier.wait()
        try:
            results[i] = fn(i)
        except Exception as exc:  # noqa: BLE001 - reported below
            results[i] = exc

    threads = [threading.Thread(target=work, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results
