"""Pure-ASGI middleware shared by every route: request ids and logs, body limits, credential
resolution, rate limits and Idempotency-Key handling (SPEC §2). Handlers repeat none of this."""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
import time
import uuid
from datetime import timedelta
from typing import Any, Protocol

from anyio import to_thread
from limits import RateLimitItemPerMinute
from limits.storage import storage_from_string
from limits.strategies import SlidingWindowCounterRateLimiter
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from woes.core.clientaddr import client_ip
from woes.core.errors import problem_body
from woes.core.models import IdempotencyRecord
from woes.core.redaction import redact
from woes.db import WritesOverloaded, utcnow

log = logging.getLogger("woes.http")

API_PREFIX = "/api/v1"
_REQUEST_ID_OK = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class Caller(Protocol):
    """What the middleware reads of the resolved caller (woes.access.principal.Principal; core names no domain)."""

    workspace_id: uuid.UUID
    kind: str
    subject_id: uuid.UUID
    rate_key: str


def request_header(scope: Scope, name: bytes) -> str | None:
    for k, v in scope.get("headers", ()):
        if k == name:
            return v.decode("latin-1")
    return None


def request_state(scope: Scope) -> dict[str, Any]:
    return scope.setdefault("state", {})


async def send_problem(send: Send, scope: Scope, status: int, code: str, error: str, headers: dict[str, str] | None = None) -> None:
    body = json.dumps(problem_body(status, code, error, request_state(scope).get("request_id"))).encode()
    raw = [(b"content-type", b"application/problem+json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


class RequestContextMiddleware:
    """X-Request-Id on every response (echoed when the client sent a sane one) and one redacted log line."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        incoming = request_header(scope, b"x-request-id")
        request_id = incoming if incoming and _REQUEST_ID_OK.match(incoming) else uuid.uuid4().hex
        request_state(scope)["request_id"] = request_id
        started = time.perf_counter()
        status_holder = [500]

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder[0] = message["status"]
                message["headers"] = list(message.get("headers", [])) + [(b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if log.isEnabledFor(logging.INFO):
                self._log(scope, request_id, status_holder[0], started)

    @staticmethod
    def _log(scope: Scope, request_id: str, status: int, started: float) -> None:
        principal: Caller | None = request_state(scope).get("principal")
        log.info(
            "request",
            extra={
                "requestId": request_id,
                "method": scope["method"],
                "path": redact(scope["path"]),
                "status": status,
                "durationMs": round((time.perf_counter() - started) * 1000, 2),
                "workspaceId": str(principal.workspace_id) if principal else None,
                "principal": f"{principal.kind}:{principal.subject_id}" if principal else None,
            },
        )


class BodyLimitExceeded(Exception):
    pass


class BodyLimitMiddleware:
    """413 `payload_too_large` for bodies over the JSON limit (uploads get the larger upload limit)."""

    def __init__(self, app: ASGIApp, json_limit: int, upload_limit: int) -> None:
        self.app = app
        self.json_limit = json_limit
        self.upload_limit = upload_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE"):
            return await self.app(scope, receive, send)
        ctype = (request_header(scope, b"content-type") or "").lower()
        limit = self.upload_limit if ctype.startswith("multipart/") or "octet-stream" in ctype else self.json_limit
        declared = request_header(scope, b"content-length")
        too_large_msg = f"Request body exceeds the {limit} byte limit."
        if declared and declared.isdigit() and int(declared) > limit:
            return await send_problem(send, scope, 413, "payload_too_large", too_large_msg)
        seen = 0
        state = {"exceeded": False, "replaced": False}

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    state["exceeded"] = True
                    raise BodyLimitExceeded
            return message

        async def guarded_send(message: Message) -> None:
            # Whatever the app answered while parsing a body that was cut off, the answer is 413.
            if state["exceeded"]:
                if message["type"] == "http.response.start" and not state["replaced"]:
                    state["replaced"] = True
                    await send_problem(send, scope, 413, "payload_too_large", too_large_msg)
                return
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except BodyLimitExceeded:
            if not state["replaced"]:
                state["replaced"] = True
                await send_problem(send, scope, 413, "payload_too_large", too_large_msg)


class RateLimitMiddleware:
    """Per API key / operator (or client IP when anonymous) budgets with IETF RateLimit headers."""

    POLICY = "default"

    def __init__(self, app: ASGIApp, per_minute: int, redis_url: str | None) -> None:
        self.app = app
        self.item = RateLimitItemPerMinute(per_minute)
        storage_uri = redis_url if redis_url else "memory://"
        self.limiter = SlidingWindowCounterRateLimiter(storage_from_string(storage_uri))
        self.policy_header = f"{self.POLICY};q={per_minute};w=60".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(API_PREFIX):
            return await self.app(scope, receive, send)
        principal: Caller | None = request_state(scope).get("principal")
        if principal is not None:
            ident = principal.rate_key
        else:
            ident = f"ip:{client_ip(scope) or 'unknown'}"
        allowed = self.limiter.hit(self.item, "woes", ident)
        stats = self.limiter.get_window_stats(self.item, "woes", ident)
        reset = max(1, math.ceil(stats.reset_time - time.time()))
        headers = [
            (b"ratelimit-policy", self.policy_header),
            (b"ratelimit", f"{self.POLICY};r={stats.remaining};t={reset}".encode()),
        ]
        if not allowed:
            return await send_problem(
                send, scope, 429, "rate_limited",
                f"Rate limit of {self.item.amount} requests per minute exceeded; retry in {reset} s.",
                {"Retry-After": str(reset), "RateLimit-Policy": self.policy_header.decode(),
                 "RateLimit": headers[1][1].decode()},
            )

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", [])) + headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


_REPLAYED_HEADERS = ("content-type", "location")
STALE_IN_PROGRESS = timedelta(minutes=5)


class IdempotencyMiddleware:
    """`Idempotency-Key` on POST/PATCH: replay (Idempotent-Replayed: true), 422 on a different request,
    409 while the first is still running. Keys are per workspace and kept `idempotency_ttl_hours`."""

    def __init__(self, app: ASGIApp, runtime: Any, ttl_hours: int) -> None:
        self.app = app
        self.runtime = runtime
        self.ttl = timedelta(hours=ttl_hours)

    def _begin(self, workspace_id: uuid.UUID, key: str, fingerprint: str) -> tuple[str, IdempotencyRecord | None]:
        db = self.runtime.db
        now = utcnow()
        for _ in range(2):
            with db.transaction() as session:
                rec = session.scalar(
                    select(IdempotencyRecord).where(IdempotencyRecord.workspace_id == workspace_id, IdempotencyRecord.key == key)
                )
                if rec is not None and (rec.expires_at <= now or (rec.status == "in_progress" and rec.created_at <= now - STALE_IN_PROGRESS)):
                    session.delete(rec)
                    session.flush()
                    rec = None
                if rec is not None:
                    if rec.fingerprint != fingerprint:
                        return "conflict", None
                    return ("replay", rec) if rec.status == "completed" else ("in_progress", None)
                try:
                    with session.begin_nested():
                        session.add(IdempotencyRecord(workspace_id=workspace_id, key=key, fingerprint=fingerprint,
                                                      created_at=now, expires_at=now + self.ttl))
                    return "new", None
                except IntegrityError:
                    continue  # another request took the key between our read and insert: look again
        return "in_progress", None

    def _finish(self, workspace_id: uuid.UUID, key: str, status: int, headers: dict[str, str], body: bytes) -> None:
        with self.runtime.db.transaction() as session:
            rec = session.scalar(
                select(IdempotencyRecord).where(IdempotencyRecord.workspace_id == workspace_id, IdempotencyRecord.key == key)
            )
            if rec is None:
                return
            if status >= 500:
                session.delete(rec)  # a server failure is not a result: let the client retry
                return
            rec.status, rec.response_status, rec.response_headers, rec.response_body = "completed", status, headers, body

    def _abandon(self, workspace_id: uuid.UUID, key: str) -> None:
        with self.runtime.db.transaction() as session:
            session.execute(delete(IdempotencyRecord).where(
                IdempotencyRecord.workspace_id == workspace_id, IdempotencyRecord.key == key,
                IdempotencyRecord.status == "in_progress"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PATCH"):
            return await self.app(scope, receive, send)
        key = request_header(scope, b"idempotency-key")
        principal: Caller | None = request_state(scope).get("principal")
        if key is None or principal is None:
            return await self.app(scope, receive, send)
        key = key.strip().strip('"')
        if not key or len(key) > 255:
            return await send_problem(send, scope, 400, "validation_failed", "Idempotency-Key must be 1-255 characters.")

        # Read the whole body (already bounded by BodyLimitMiddleware) to fingerprint it, then replay it downstream.
        chunks = []
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        digest = hashlib.sha256()
        for part in (scope["method"].encode(), scope["path"].encode(), scope.get("query_string", b""), body):
            digest.update(part + b"\x00")
        fingerprint = digest.hexdigest()

        try:
            async with self.runtime.db.write_turns.turn():
                outcome, rec = await to_thread.run_sync(self._begin, principal.workspace_id, key, fingerprint)
        except WritesOverloaded as exc:
            return await send_problem(send, scope, 503, "upstream_unavailable",
                                      f"The database is busy with other writes; retry in {exc.retry_after} s.",
                                      {"Retry-After": str(exc.retry_after)})
        if outcome == "conflict":
            return await send_problem(send, scope, 422, "idempotency_conflict",
                                      "This Idempotency-Key was used with a different request.")
        if outcome == "in_progress":
            return await send_problem(send, scope, 409, "idempotency_in_progress",
                                      "A request with this Idempotency-Key is still in progress.")
        if outcome == "replay" and rec is not None:
            raw = [(k.encode(), v.encode()) for k, v in (rec.response_headers or {}).items()]
            raw += [(b"idempotent-replayed", b"true"), (b"content-length", str(len(rec.response_body or b"")).encode())]
            await send({"type": "http.response.start", "status": rec.response_status, "headers": raw})
            await send({"type": "http.response.body", "body": rec.response_body or b""})
            return

        delivered = [False]

        async def replay_receive() -> Message:
            if not delivered[0]:
                delivered[0] = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        captured: dict[str, Any] = {"status": 500, "headers": {}, "body": []}

        async def capture_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                captured["status"] = message["status"]
                captured["headers"] = {
                    k.decode().lower(): v.decode() for k, v in message.get("headers", []) if k.decode().lower() in _REPLAYED_HEADERS
                }
            elif message["type"] == "http.response.body":
                captured["body"].append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, replay_receive, capture_send)
        except BaseException:
            async with self.runtime.db.write_turns.turn(patient=True):
                await to_thread.run_sync(self._abandon, principal.workspace_id, key)
            raise
        async with self.runtime.db.write_turns.turn(patient=True):  # the response is sent: record it, however long the queue
            await to_thread.run_sync(
                self._finish, principal.workspace_id, key, captured["status"], captured["headers"], b"".join(captured["body"])
            )
