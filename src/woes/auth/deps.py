"""FastAPI dependencies: the caller (with a required scope) and database sessions.

`require("keys:write")` both enforces the scope and marks the route so that the OpenAPI document
lists it (`x-required-scope`, see woes.app)."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from woes.auth.principal import ALL_SCOPES, Principal
from woes.auth.service import NO_CREDENTIALS, AuthFailure
from woes.core.errors import ProblemError


async def current_principal(request: Request) -> Principal:
    principal = getattr(request.state, "principal", None)
    if principal is None:
        failure: AuthFailure = getattr(request.state, "auth_failure", None) or NO_CREDENTIALS
        raise failure.problem()
    return principal


def require(scope: str) -> Callable[..., Principal]:
    if scope not in ALL_SCOPES:
        raise ValueError(f"unknown scope {scope}")

    async def dependency(request: Request) -> Principal:
        principal = await current_principal(request)
        if not principal.allows(scope):
            raise ProblemError(
                403, "permission_denied", f"This credential lacks the '{scope}' scope.", extra={"requiredScope": scope}
            )
        return principal

    dependency.woes_scope = scope  # type: ignore[attr-defined]
    return dependency


def _runtime(request: Request) -> Any:
    return request.app.state.runtime


async def read_session(request: Request) -> AsyncIterator[Session]:
    """A session for reads. Creating it is free (it connects on first use, in the handler's thread)."""
    session = _runtime(request).db.session()
    try:
        yield session
    finally:
        if session.in_transaction() and not session.get_bind().dialect.name == "sqlite":
            await run_in_threadpool(session.close)  # a network round trip: keep it off the event loop
        else:
            session.close()


def write_session(request: Request) -> Iterator[Session]:
    """One transaction per mutating request, committed before the response is sent."""
    with _runtime(request).db.transaction() as session:
        yield session


ReadDB = Annotated[Session, Depends(read_session, scope="function")]
WriteDB = Annotated[Session, Depends(write_session, scope="function")]


def fast_read(handler: Callable[..., Any]) -> Callable[..., Any]:
    """For cheap read handlers: on SQLite run them on the event loop (a WAL read never waits on a lock
    and takes microseconds, less than the thread hop); on PostgreSQL keep them in the threadpool.
    Measured by bench/http_overhead.py."""

    @functools.wraps(handler)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        session = next((v for v in kwargs.values() if isinstance(v, Session)), None)
        if session is not None and session.get_bind().dialect.name == "sqlite":
            return handler(*args, **kwargs)
        return await run_in_threadpool(handler, *args, **kwargs)

    return wrapper


def runtime_dep(request: Request) -> Any:
    return _runtime(request)
