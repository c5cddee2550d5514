from __future__ import annotations

from typing import Any


def customer(client, ws, **extra) -> dict[str, Any]:
    r = client.post("/api/v1/customers", json={"name": "Dev Person", "email": "dev@example.com", **extra}, headers=ws.headers)
    assert r.status_code == 201, r.text
    return r.json()


def conversation(client, ws, subject: str = "Webhook signatures fail", cust: dict | None = None, **extra) -> dict[str, Any]:
    cust = cust or customer(client, ws)
    r = client.post("/api/v1/conversations", json={"customer": {"id": cust["id"]}, "subject": subject, **extra}, headers=ws.headers)
    assert r.status_code == 201, r.text
    return r.json()


def message(client, ws, conv_id: str, body: str, **extra) -> dict[str, Any]:
    r = client.post(f"/api/v1/conversations/{conv_id}/messages", json={"body": body, **extra}, headers=ws.headers)
    assert r.status_code == 201, r.text
    return r.json()


def events_of(runtime, ws_id, types=None) -> list:
    from sqlalchemy import select

    from woes.events.models import DomainEvent

    with runtime.db.reading() as s:
        stmt = select(DomainEvent).where(DomainEvent.workspace_id == ws_id).order_by(DomainEvent.seq)
        if types:
            stmt = stmt.where(DomainEvent.type.in_(types))
        return list(s.scalars(stmt))
