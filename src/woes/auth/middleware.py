"""Credential resolution: the API key or operator session of every /api/v1 request, once, into request state."""

from __future__ import annotations

from http.cookies import SimpleCookie
from typing import Any

from anyio import to_thread
from starlette.types import ASGIApp, Receive, Scope, Send

from woes.access.principal import Principal
from woes.auth import service as auth_service
from woes.core.clientaddr import client_ip
from woes.core.middleware import API_PREFIX, request_header, request_state
from woes.core.security import same_hash, sha256_hex
from woes.db import utcnow


class AuthMiddleware:
    """Resolves the caller (API key or operator session) once per /api/v1 request into request.state.
    Routes decide what they require through `woes.access.deps.require`. Resolutions are cached briefly
    (woes.access.cache) so that the hot path needs no database round trip."""

    def __init__(self, app: ASGIApp, runtime: Any) -> None:
        self.app = app
        self.runtime = runtime

    @staticmethod
    def _credential(scope: Scope) -> tuple[str, str] | auth_service.AuthFailure | None:
        authz = request_header(scope, b"authorization")
        if authz is not None:
            scheme, _, token = authz.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                return auth_service.NO_CREDENTIALS
            return "key", token.strip()
        cookie_header = request_header(scope, b"cookie")
        if cookie_header and auth_service.SESSION_COOKIE in cookie_header:
            cookies = SimpleCookie()
            try:
                cookies.load(cookie_header)
            except Exception:
                return auth_service.BAD_SESSION
            morsel = cookies.get(auth_service.SESSION_COOKIE)
            if morsel is not None:
                return "session", morsel.value
        return None

    def _lookup(self, kind: str, token: str) -> Principal | auth_service.AuthFailure:
        with self.runtime.db.reading() as session:
            if kind == "key":
                return auth_service.resolve_api_key(session, token)
            return auth_service.resolve_session(session, token)

    async def _resolve(self, scope: Scope) -> Principal | auth_service.AuthFailure | None:
        cred = self._credential(scope)
        if cred is None or isinstance(cred, auth_service.AuthFailure):
            return cred
        kind, token = cred
        cache = self.runtime.auth_cache
        cache_key = kind + ":" + sha256_hex(token)
        result = cache.get(cache_key)
        if isinstance(result, Principal) and result.expires_at is not None and result.expires_at <= utcnow():
            result = None  # the credential just expired: resolve again for the precise answer
        if result is None:
            generation = cache.generation
            result = await to_thread.run_sync(self._lookup, kind, token)
            cache.put(cache_key, result, generation)
        if not isinstance(result, Principal):
            return result
        if kind == "key":
            self.runtime.usage.record(result.subject_id, client_ip(scope))
        elif scope["method"] not in ("GET", "HEAD", "OPTIONS"):
            sent = request_header(scope, auth_service.CSRF_HEADER.encode()) or ""
            if not result.csrf_token or not same_hash(sent, result.csrf_token):
                return auth_service.AuthFailure(403, "permission_denied", "Missing or wrong X-CSRF-Token header.")
        return result

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(API_PREFIX):
            result = await self._resolve(scope)
            state = request_state(scope)
            if isinstance(result, Principal):
                state["principal"] = result
            elif result is not None:
                state["auth_failure"] = result
        await self.app(scope, receive, send)
