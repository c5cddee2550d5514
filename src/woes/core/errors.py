"""RFC 9457 problem details carrying Woes' stable `code` and human `error` (SPEC §2)."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("woes.errors")

PROBLEM_TYPE_BASE = "https://docs.woes.dev/errors/"

TITLES = {
    "unauthorized": "Unauthorized",
    "key_expired": "API key expired",
    "permission_denied": "Permission denied",
    "workspace_not_found": "Workspace not found",
    "not_found": "Not found",
    "validation_failed": "Validation failed",
    "payload_too_large": "Payload too large",
    "rate_limited": "Too many requests",
    "conflict": "Conflict",
    "idempotency_conflict": "Idempotency key reused with a different request",
    "idempotency_in_progress": "Idempotent request still in progress",
    "upstream_unavailable": "Upstream unavailable",
    "source_scan_failed": "Source scan failed",
    "agent_context_insufficient": "Agent context insufficient",
    "internal_error": "Internal error",
    "method_not_allowed": "Method not allowed",
}


class ProblemError(Exception):
    """Raise anywhere (services included) to answer with a problem+json body."""

    def __init__(
        self,
        status: int,
        code: str,
        error: str,
        *,
        errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(error)
        self.status = status
        self.code = code
        self.error = error
        self.errors = errors or []
        self.headers = headers or {}
        self.extra = extra or {}


def not_found(what: str = "Resource") -> ProblemError:
    return ProblemError(404, "not_found", f"{what} not found.")


def validation_error(field: str, message: str, status: int = 422) -> ProblemError:
    return ProblemError(status, "validation_failed", f"{field}: {message}", errors=[{"field": field, "message": message}])


def conflict(error: str, **extra: Any) -> ProblemError:
    return ProblemError(409, "conflict", error, extra=extra)


def problem_body(
    status: int, code: str, error: str, request_id: str | None, errors: list[dict[str, str]] | None = None, **extra: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + code.replace("_", "-"),
        "title": TITLES.get(code, code.replace("_", " ").capitalize()),
        "status": status,
        "detail": error,
        "code": code,
        "error": error,
        "requestId": request_id,
    }
    if errors:
        body["errors"] = errors
    body.update(extra)
    return body


def problem_response(
    status: int,
    code: str,
    error: str,
    request_id: str | None,
    *,
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    return JSONResponse(
        problem_body(status, code, error, request_id, errors, **extra),
        status_code=status,
        media_type="application/problem+json",
        headers=headers,
    )


def _request_id(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)


def _field_name(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:]
    out = ""
    for p in parts:
        if p.isdigit():
            out += f"[{p}]"
        else:
            out += ("." if out else "") + p
    return out or (str(loc[0]) if loc else "body")


def validation_errors(exc: RequestValidationError) -> tuple[int, list[dict[str, str]]]:
    status = 422
    errors = []
    for err in exc.errors():
        if err.get("type") == "json_invalid":
            status = 400
            errors.append({"field": "body", "message": "Request body is not valid JSON."})
            continue
        msg = err.get("msg", "invalid")
        if err.get("type") == "missing":
            msg = "This field is required."
        errors.append({"field": _field_name(err.get("loc", ())), "message": msg})
    return status, errors


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ProblemError)
    async def _problem(request: Request, exc: ProblemError) -> JSONResponse:
        return problem_response(
            exc.status, exc.code, exc.error, _request_id(request), errors=exc.errors, headers=exc.headers, **exc.extra
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        status, errors = validation_errors(exc)
        summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
        return problem_response(status, "validation_failed", summary, _request_id(request), errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large", 401: "unauthorized"}.get(
            exc.status_code, "validation_failed" if exc.status_code < 500 else "internal_error"
        )
        detail = exc.detail if isinstance(exc.detail, str) else TITLES.get(code, "Error")
        if exc.status_code == 404 and detail == "Not Found":
            detail = "No such route."
        return problem_response(exc.status_code, code, detail, _request_id(request), headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unhandled(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", extra={"path": request.url.path})
        return problem_response(500, "internal_error", "An internal error occurred.", _request_id(request))
