"""The door of the widget API: public key, origin check, per-IP and per-key limits, and CORS.

Every `/api/widget/...` request names its widget key in `X-Woes-Public-Key`. A disabled or unknown key is a
401; an `Origin` outside the key's allowed origins (when it has any) is a 403; too many requests from one IP or
through one key is a 429 with Retry-After. Browsers only read a response when it carries
`Access-Control-Allow-Origin`, which `WidgetCorsMiddleware` adds for an origin the key allows. Preflights
(`OPTIONS`) carry no key, so they are answered for any origin: the real request is what is checked."""

from __future__ import annotations

import math
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import Depends, Request
from limits import RateLimitItemPerHour, RateLimitItemPerMinute
from limits.storage import storage_from_string
from limits.strategies import SlidingWindowCounterRateLimiter
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from woes.core.clientaddr import client_ip
from woes.core.errors import ProblemError
from woes.core.security import sha256_hex
from woes.keys import service as keys
from woes.livechat.service import WidgetCaller

WIDGET_PREFIX = "/api/widget/"
PUBLIC_KEY_HEADER = "X-Woes-Public-Key"
SECRET_HEADER = "X-Woes-Conversation-Secret"
_ALLOWED_HEADERS = "Content-Type, X-Woes-Public-Key, X-Woes-Conversation-Secret, Last-Event-ID"
_STATE_ORIGIN = "widget_cors_origin"


def normalize_origin(value: str | None) -> str | None:
    """`scheme://host[:port]` in lower case, default ports dropped; None for anything that is not an http(s) origin."""
    if not value:
        return None
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    default = {"http": 80, "https": 443}[parts.scheme]
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme}://{host}" + (f":{port}" if port and port != default else "")


def origin_allowed(allowed: list[str], origin: str | None) -> bool:
    """An empty list allows any origin (development); otherwise the request's Origin must be one of them."""
    if not allowed:
        return True
    given = normalize_origin(origin)
    return given is not None and given in {normalize_origin(a) for a in allowed}


@dataclass(frozen=True)
class _KeyFacts:
    caller: WidgetCaller
    allowed_origins: tuple[str, ...]


class WidgetGate:
    def __init__(self, runtime: Any) -> None:
        settings = runtime.settings
        self.runtime = runtime
        storage = storage_from_string(settings.redis_url or "memory://")
        self.limiter = SlidingWindowCounterRateLimiter(storage)
        self.per_ip = RateLimitItemPerMinute(settings.widget_ip_rate_limit_per_minute)
        self.per_key = RateLimitItemPerMinute(settings.widget_key_rate_limit_per_minute)
        self.starts = RateLimitItemPerHour(settings.widget_starts_per_hour)
        self.streams_per_ip = settings.widget_streams_per_ip
        self._streams: Counter[str] = Counter()
        self._streams_lock = threading.Lock()

    def _lookup(self, public_key: str) -> _KeyFacts | None:
        with self.runtime.db.reading() as session:
            wk = keys.find_widget_key(session, public_key)
            if wk is None or not wk.enabled:
                return None
            return _KeyFacts(WidgetCaller(wk.workspace_id, wk.id, wk.agent_id, wk.public_key), tuple(wk.allowed_origins or ()))

    async def facts(self, public_key: str) -> _KeyFacts | None:
        cache = self.runtime.auth_cache  # cleared when a widget key changes (keys.service marks it)
        cache_key = "widget:" + sha256_hex(public_key)
        found = cache.get(cache_key)
        if found is None:
            generation = cache.generation
            found = await run_in_threadpool(self._lookup, public_key)
            cache.put(cache_key, found or False, generation)
        return found or None

    def _limit(self, item: Any, *ident: str) -> None:
        if self.limiter.hit(item, "woes-widget", *ident):
            return
        stats = self.limiter.get_window_stats(item, "woes-widget", *ident)
        wait = max(1, math.ceil(stats.reset_time - time.time()))
        raise ProblemError(429, "rate_limited", f"Too many requests; retry in {wait} s.", headers={"Retry-After": str(wait)})

    def check_stream_room(self, request: Request) -> None:
        """429 when the client address already holds its share of this process's live streams."""
        if self._streams[client_ip(request.scope) or "unknown"] >= self.streams_per_ip:
            raise ProblemError(429, "rate_limited", f"At most {self.streams_per_ip} live streams per address; close one "
                               "first.", headers={"Retry-After": "30"})

    @contextmanager
    def holding_stream(self, request: Request) -> Iterator[None]:
        """Count a stream against its address while it runs (entered by the stream itself, so a stream that never
        started holds nothing)."""
        ip = client_ip(request.scope) or "unknown"
        with self._streams_lock:
            self._streams[ip] += 1
        try:
            yield
        finally:
            with self._streams_lock:
                self._streams[ip] -= 1
                if self._streams[ip] <= 0:
                    del self._streams[ip]

    def count_start(self, request: Request) -> None:
        """A new conversation: limited per IP per hour (spam through a public key)."""
        self._limit(self.starts, "start", client_ip(request.scope) or "unknown")

    async def admit(self, request: Request) -> WidgetCaller:
        public_key = request.headers.get(PUBLIC_KEY_HEADER, "").strip()
        if not public_key:
            raise ProblemError(401, "unauthorized", f"Send the widget public key in the {PUBLIC_KEY_HEADER} header.")
        self._limit(self.per_ip, "ip", client_ip(request.scope) or "unknown")
        facts = await self.facts(public_key)
        if facts is None:
            raise ProblemError(401, "unauthorized", "Unknown or disabled widget public key.")
        origin = request.headers.get("origin")
        if not origin_allowed(list(facts.allowed_origins), origin):
            raise ProblemError(403, "origin_not_allowed", "This page's origin is not an allowed origin of the widget key.")
        if origin:
            request.scope.setdefault("state", {})[_STATE_ORIGIN] = origin
        self._limit(self.per_key, "key", str(facts.caller.widget_key_id))
        return facts.caller


async def widget_caller(request: Request) -> WidgetCaller:
    return await request.app.state.widget_gate.admit(request)


Caller = Annotated[WidgetCaller, Depends(widget_caller)]


class WidgetCorsMiddleware:
    """CORS for `/api/widget/...`: preflights answered, and the allowed origin echoed on responses (never cookies)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(WIDGET_PREFIX):
            return await self.app(scope, receive, send)
        headers = {k.lower(): v for k, v in scope.get("headers", [])}
        origin = headers.get(b"origin")
        if scope["method"] == "OPTIONS" and origin and b"access-control-request-method" in headers:
            await send({"type": "http.response.start", "status": 204, "headers": [
                (b"access-control-allow-origin", origin), (b"vary", b"Origin"),
                (b"access-control-allow-methods", b"GET, POST, OPTIONS"),
                (b"access-control-allow-headers", _ALLOWED_HEADERS.encode()),
                (b"access-control-max-age", b"600")]})
            await send({"type": "http.response.body", "body": b""})
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                allowed = scope.get("state", {}).get(_STATE_ORIGIN)
                extra = [(b"vary", b"Origin")]
                if allowed:
                    extra += [(b"access-control-allow-origin", allowed.encode()),
                              (b"access-control-expose-headers", b"Retry-After")]
                message["headers"] = list(message.get("headers", [])) + extra
            await send(message)

        await self.app(scope, receive, send_with_cors)
