"""FastAPI dependencies: the caller (with a required scope) and database sessions.

`require("keys:write")` both enforces the scope and marks the route so that the OpenAPI document
lists it (`x-required-scope`, see woes.app)."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from woes.access.failures import NO_CREDENTIALS, AuthFailure
from woes.access.principal import ALL_SCOPES, Principal
from woes.core.errors import ProblemError
from woes.db import Database, WritesOverloaded

T = TypeVar("T")


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


def _overloaded(exc: WritesOverloaded) -> ProblemError:
    return ProblemError(503, "upstream_unavailable", f"The database is busy with other writes; retry in {exc.retry_after} s.",
                        headers={"Retry-After": str(exc.retry_after)})


@asynccontextmanager
async def write_turn(db: Database) -> AsyncIterator[None]:
    """This request's turn to write (woes.db.WriteTurns), taken on the event loop before any thread; 503 with
    Retry-After when none comes in time."""
    try:
        async with db.write_turns.turn():
            yield
    except WritesOverloaded as exc:
        raise _overloaded(exc) from None


async def write_session(request: Request) -> AsyncIterator[Session]:
    """One transaction per mutating request, committed before the response is sent. The write turn is held
    from before the handler's thread starts until the commit returns."""
    db = _runtime(request).db
    async with write_turn(db):
        session = db.session(write=True)
        try:
            yield session
            await run_in_threadpool(_end, session, commit=True)
        except BaseException:
            await run_in_threadpool(_end, session, commit=False)
            raise


def _end(session: Session, *, commit: bool) -> None:
    """Commit (or roll back) and close on a pool thread: on PostgreSQL returning the connection to the
    pool is a round trip too, which must not run on the event loop."""
    try:
        session.commit() if commit else session.rollback()
    finally:
        session.close()


async def run_write(request: Request, work: Callable[[Session], T]) -> T:
    """Run `work` in one write transaction on a pool thread, after taking this request's write turn: for
    handlers that do slow work (parsing, network calls) first and write only at the end."""
    db = _runtime(request).db

    def transaction() -> T:
        with db.transaction() as session:
            return work(session)

    async with write_turn(db):
        return await run_in_threadpool(transaction)


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
