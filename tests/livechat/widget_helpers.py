"""Helpers of the live-chat tests: a widget key, and a visitor that talks to the widget API."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from fastapi.testclient import TestClient

ORIGIN = "https://docs.example.com"


def make_widget_key(client: TestClient, ws: Any, *, origins: list[str] | None = None, agent_id: str | None = None) -> str:
    body: dict[str, Any] = {"name": "Docs", "allowedOrigins": origins if origins is not None else [ORIGIN]}
    if agent_id:
        body["agentId"] = agent_id
    r = client.post("/api/v1/widget-keys", json=body, headers=ws.headers)
    assert r.status_code == 201, r.text
    return r.json()["publicKey"]


@dataclass
class Visitor:
    client: TestClient
    public_key: str
    origin: str | None = ORIGIN
    visitor_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    conversation_id: str | None = None
    secret: str | None = None

    def headers(self, secret: str | None = None) -> dict[str, str]:
        h = {"X-Woes-Public-Key": self.public_key}
        if self.origin:
            h["Origin"] = self.origin
        s = secret if secret is not None else self.secret
        if s:
            h["X-Woes-Conversation-Secret"] = s
        return h

    def say(self, body: str, **extra: Any):
        payload = {"body": body, "visitorId": self.visitor_id, **extra}
        if self.conversation_id:
            payload["conversationId"] = self.conversation_id
        r = self.client.post("/api/widget/messages", json=payload, headers=self.headers())
        if r.status_code == 201 and "conversationSecret" in r.json():
            self.conversation_id, self.secret = r.json()["conversationId"], r.json()["conversationSecret"]
        return r

    def history(self, secret: str | None = None, conversation_id: str | None = None):
        cid = conversation_id or self.conversation_id
        return self.client.get(f"/api/widget/conversations/{cid}/messages", headers=self.headers(secret))

    def identify(self, **identity: Any):
        return self.client.post("/api/widget/identify", json={**identity, "visitorId": self.visitor_id}, headers=self.headers())
