"""The ASGI application: routers of every domain + the shared middleware stack."""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from woes import __version__
from woes.auth.middleware import AuthMiddleware
from woes.config import Settings, get_settings
from woes.core.clientaddr import ClientAddressMiddleware
from woes.core.errors import install_error_handlers
from woes.core.middleware import (
    BodyLimitMiddleware,
    IdempotencyMiddleware,
    RateLimitMiddleware,
    RequestContextMiddleware,
)
from woes.livechat.gate import WidgetCorsMiddleware, WidgetGate
from woes.models import domain_modules
from woes.runtime import Runtime


def discover_routers() -> list[Any]:
    """The `router` of every domain's routes module (woes/<domain>/routes.py)."""
    return [importlib.import_module(m).router for m in domain_modules("routes")]


ROUTERS = discover_routers()


def route_scope(route: APIRoute) -> str | None:
    """The scope a route requires, read from its `require(...)` dependency."""
    stack = list(route.dependant.dependencies)
    while stack:
        dep = stack.pop()
        scope = getattr(dep.call, "woes_scope", None)
        if scope:
            return scope
        stack.extend(dep.dependencies)
    return None


def api_routes(app: FastAPI) -> list[APIRoute]:
    """Every APIRoute of the app, including those inside included routers (FastAPI ≥0.16x keeps
    included routers as wrapper objects in app.routes)."""
    found: list[APIRoute] = []

    def walk(routes: Any) -> None:
        for route in routes:
            if isinstance(route, APIRoute):
                found.append(route)
            elif hasattr(route, "original_router"):
                walk(route.original_router.routes)

    walk(app.router.routes)
    return found


def _lift_local_defs(document: dict[str, Any]) -> None:
    """Schemas given to routes as plain JSON Schema (openapi_extra) carry their own `$defs` with
    `#/$defs/...` refs, which do not resolve inside an OpenAPI document: move them to components.schemas."""
    components = document.setdefault("components", {}).setdefault("schemas", {})

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            for name, definition in node.pop("$defs", {}).items():
                components.setdefault(name, walk(definition))
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                node["$ref"] = "#/components/schemas/" + ref.removeprefix("#/$defs/")
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
        return node

    walk(document["paths"])


_PROBLEM_SCHEMA = {
    "type": "object", "description": "RFC 9457 problem details with Woes' own fields.",
    "required": ["type", "title", "status", "code", "error"],
    "properties": {
        "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
        "detail": {"type": "string"}, "code": {"type": "string"}, "error": {"type": "string"},
        "requestId": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object", "properties": {
            "field": {"type": "string"}, "message": {"type": "string"}}}},
    },
}
_PROBLEM_RESPONSES = {
    "400": "Malformed request", "401": "Missing, unknown, revoked or expired credential", "403": "A scope or permission is missing",
    "404": "Not found in this workspace", "409": "Conflict", "413": "Payload too large", "422": "Validation failed",
    "429": "Rate limited (see Retry-After)", "503": "Busy or a dependency is unavailable (see Retry-After)",
}


def _document_problems(schema: dict[str, Any]) -> None:
    """Every error answer is application/problem+json (woes.core.errors): say so on every operation."""
    schema["components"].setdefault("schemas", {})["Problem"] = _PROBLEM_SCHEMA
    schema["components"]["schemas"].pop("HTTPValidationError", None)
    schema["components"]["schemas"].pop("ValidationError", None)
    content = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for item in schema["paths"].values():
        for op in item.values():
            responses = op.setdefault("responses", {})
            for status, description in _PROBLEM_RESPONSES.items():
                responses[status] = {"description": description, "content": content}


def _openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(title="Woes API", version=__version__, routes=app.routes,
                         description="Server API of Woes. Authenticate with `Authorization: Bearer woesk_...`.")
    _lift_local_defs(schema)
    _document_problems(schema)
    schema.setdefault("components", {}).setdefault("securitySchemes", {}).update({
        "bearerAuth": {"type": "http", "scheme": "bearer", "description": "Workspace API key (woesk_...)"},
        "sessionCookie": {"type": "apiKey", "in": "cookie", "name": "woes_session"},
    })
    for route in api_routes(app):
        if not route.include_in_schema:
            continue
        scope = route_scope(route)
        for method in route.methods:
            op = schema["paths"].get(route.path_format, {}).get(method.lower())
            if op is None:
                continue
            op["x-required-scope"] = scope
            if scope:
                op["security"] = [{"bearerAuth": []}, {"sessionCookie": []}]
                op.setdefault("description", "")
                op["description"] = (op["description"] + f"\n\nRequired scope: `{scope}`.").strip()
    app.openapi_schema = schema
    return schema


def create_app(settings: Settings | None = None, runtime: Runtime | None = None, *, background: bool = True,
               migrate: bool = True) -> FastAPI:
    settings = settings or get_settings()
    runtime = runtime or Runtime.build(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if migrate:
            from woes.migrate import upgrade

            upgrade(runtime.db)
        if background:
            runtime.start()
        try:
            yield
        finally:
            if background:
                runtime.stop()

    app = FastAPI(title="Woes", version=__version__, lifespan=lifespan, openapi_url="/api/v1/openapi.json",
                  docs_url="/api/v1/docs", redoc_url=None)
    app.state.runtime = runtime
    app.state.widget_gate = WidgetGate(runtime)
    install_error_handlers(app)
    for router in ROUTERS:
        app.include_router(router)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]

    # Added innermost first: the request passes ClientAddress → RequestContext → WidgetCors → BodyLimit → Auth → RateLimit
    # → Idempotency.
    app.add_middleware(IdempotencyMiddleware, runtime=runtime, ttl_hours=settings.idempotency_ttl_hours)
    app.add_middleware(RateLimitMiddleware, per_minute=settings.rate_limit_per_minute, redis_url=settings.redis_url)
    app.add_middleware(AuthMiddleware, runtime=runtime)
    app.add_middleware(BodyLimitMiddleware, json_limit=settings.max_json_body_bytes, upload_limit=settings.max_upload_body_bytes)
    app.add_middleware(WidgetCorsMiddleware)
    app.add_middleware(RequestContextMiddleware)
    app.add_middleware(ClientAddressMiddleware, trusted_proxies=settings.trusted_proxies)
    return app
