"""How a request that cannot be authenticated is answered, and the names of the session cookie and CSRF header."""

from __future__ import annotations

from dataclasses import dataclass

from woes.core.errors import ProblemError

SESSION_COOKIE = "woes_session"
CSRF_COOKIE = "woes_csrf"
CSRF_HEADER = "x-csrf-token"


@dataclass(frozen=True)
class AuthFailure:
    status: int
    code: str
    error: str

    def problem(self) -> ProblemError:
        return ProblemError(self.status, self.code, self.error, headers={"WWW-Authenticate": 'Bearer realm="woes"'})


NO_CREDENTIALS = AuthFailure(401, "unauthorized", "A valid workspace API key is required.")
