"""FastAPI dependencies: the caller (with a required scope) and database sessions.

`require("keys:write")` both enforces the scope and marks the route so that the OpenAPI document
lists it (`x-required-scope`, see woes.app)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from woes.auth.principal import ALL_SCOPES, Principal
from woes.auth.service import NO_CREDENTIALS, AuthFailure
from woes.core.errors import ProblemError


def current_principal(request: Request) -> Principal:
    principal = getattr(request.state, "principal", None)
    if principal is None:
        failure: AuthFailure = getattr(request.state, "auth_failure", None) or NO_CREDENTIALS
        raise failure.problem()
    return principal


def require(scope: str) -> Callable[..., Principal]:
    if scope not in ALL_SCOPES:
        raise ValueError(f"unknown scope {scope}")

    def dependency(request: Request) -> Principal:
        principal = current_principal(request)
        if not principal.allows(scope):
            raise ProblemError(
                403, "permission_denied", f"This credential lacks the '{scope}' scope.", extra={"requiredScope": scope}
            )
        return principal

    dependency.woes_scope = scope  # type: ignore[attr-defined]
    return dependency


def _runtime(request: Request) -> Any:
    return request.app.state.runtime


def read_session(request: Request) -> Iterator[Session]:
    with _runtime(request).db.reading() as session:
        yield session


def write_session(request: Request) -> Iterator[Session]:
    """One transaction per mutating request, committed before the response is sent."""
    with _runtime(request).db.transaction() as session:
        yield session


ReadDB = Annotated[Session, Depends(read_session, scope="function")]
WriteDB = Annotated[Session, Depends(write_session, scope="function")]


def runtime_dep(request: Request) -> Any:
    return _runtime(request)
