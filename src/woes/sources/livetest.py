"""Guarded live API tests (SPEC §7): only endpoints an operator opted in, GET/HEAD unless writes were
explicitly allowed, through safe fetch, credentials applied server-side and never echoed; the answer is
sanitized (headers and body redacted, body truncated) and checked against the documented response."""

from __future__ import annotations

import base64
import json
import re
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from pydantic import Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from woes.core.errors import ProblemError, validation_error
from woes.core.redaction import redact, redact_headers
from woes.core.schemas import ApiInput
from woes.events.service import Actor, record_event
from woes.sources.credentials import credentials
from woes.sources.models import Endpoint, SourceAuth
from woes.sources.service import get_source

READ_METHODS = ("GET", "HEAD")
BODY_LIMIT = 4096
_PARAM = re.compile(r"\{([^}]+)\}")


class LiveTestPermissionIn(ApiInput):
    enabled: bool
    allow_write: bool = False


class LiveTestIn(ApiInput):
    endpoint_id: uuid.UUID
    path_params: dict[str, str] = Field(default_factory=dict)
    query: dict[str, str] = Field(default_factory=dict)
    headers: dict[str, str] = Field(default_factory=dict, description="Extra headers (never credentials: those come from source auth)")
    body: Any = None
    server: str | None = Field(None, max_length=2048, description="One of the endpoint's documented servers")


def do_set_permission(session: Session, workspace_id: uuid.UUID, endpoint_id: uuid.UUID, body: LiveTestPermissionIn,
                      actor: Actor) -> Endpoint:
    from woes.core.scoping import get_in_workspace

    ep = get_in_workspace(session, Endpoint, workspace_id, endpoint_id, "Endpoint")
    ep.live_test_enabled, ep.live_test_allow_write = body.enabled, body.enabled and body.allow_write
    session.flush()
    record_event(session, workspace_id=workspace_id, type="source.live_test_permission_changed", resource_type="endpoint",
                 resource_id=ep.id, data={"endpointId": str(ep.id), "operationKey": ep.operation_key,
                                          "enabled": ep.live_test_enabled, "allowWrite": ep.live_test_allow_write},
                 actor=actor, aggregate_id=ep.source_id)
    return ep


def _url(ep: Endpoint, body: LiveTestIn) -> str:
    servers = list(ep.servers or [])
    if body.server is not None:
        if body.server not in servers:
            raise validation_error("server", "Use one of the endpoint's documented servers.")
        base = body.server
    elif servers:
        base = servers[0]
    else:
        raise validation_error("server", "The endpoint documents no server to call.")
    if urlsplit(base).scheme not in ("http", "https"):
        raise validation_error("server", "Only http(s) servers can be tested.")
    path = (ep.path or "").split("#", 1)[0]
    missing = [n for n in _PARAM.findall(path) if n not in body.path_params]
    if missing:
        raise validation_error(f"pathParams.{missing[0]}", "A value is required for this path parameter.")
    path = _PARAM.sub(lambda m: quote(str(body.path_params[m.group(1)]), safe=""), path)
    url = base.rstrip("/") + path
    return url + ("?" + urlencode(body.query) if body.query else "")


def _apply_auth(row: SourceAuth | None, secret: dict[str, str], url: str, headers: dict[str, str], fetcher: Any) -> str:
    if row is None or row.type == "none":
        return url
    cfg = row.config or {}
    if row.type == "bearer":
        headers["Authorization"] = f"Bearer {secret['token']}"
    elif row.type == "basic":
        raw = f"{cfg.get('username', '')}:{secret['password']}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(raw).decode()
    elif row.type == "api_key":
        if cfg.get("location") == "query":
            url += ("&" if "?" in url else "?") + urlencode({cfg["name"]: secret["apiKey"]})
        else:
            headers[cfg["name"]] = secret["apiKey"]
    elif row.type == "oauth2_client_credentials":
        form = {"grant_type": "client_credentials", "client_id": cfg["clientId"], "client_secret": secret["clientSecret"]}
        if cfg.get("scopes"):
            form["scope"] = " ".join(cfg["scopes"])
        got = fetcher.request("POST", cfg["tokenUrl"], content=urlencode(form).encode(),
                              headers={"Content-Type": "application/x-www-form-urlencoded"})
        token = (got.json() or {}).get("access_token") if got.ok else None
        if not token:
            raise ProblemError(502, "upstream_unavailable", f"The token endpoint answered HTTP {got.status} without an access token.")
        headers["Authorization"] = f"Bearer {token}"
    return url


def validate_response(ep: Endpoint, status: int, content_type: str, body: bytes) -> dict[str, Any]:
    """Does the answer match what the endpoint documents? (status documented; 2xx JSON has the
    documented top-level fields that are required)."""
    problems: list[str] = []
    codes = {str(r.get("code")) for r in ep.responses or []}
    family = f"{str(status)[0]}XX"
    if codes and str(status) not in codes and family not in codes and "default" not in codes:
        problems.append(f"HTTP {status} is not a documented response ({', '.join(sorted(codes))}).")
    doc = next((r for r in ep.responses or [] if str(r.get("code")) in (str(status), family)), None)
    checked = 0
    if doc and doc.get("fields") and "json" in content_type:
        try:
            data = json.loads(body)
        except ValueError:
            problems.append("The body is not valid JSON although JSON is documented.")
            data = None
        if isinstance(data, dict):
            for f in doc["fields"]:
                name = f.get("name", "")
                if "." in name or "[" in name:
                    continue
                checked += 1
                if f.get("required") and name not in data:
                    problems.append(f"Required field `{name}` is missing.")
    return {"matches": not problems, "problems": problems, "checkedFields": checked,
            "documentedStatuses": sorted(codes)}


@dataclass
class LiveTestPlan:
    """What a guarded live test will send, checked and loaded from the database before any network call."""

    endpoint: Endpoint
    method: str
    url: str
    headers: dict[str, str]
    content: bytes | None
    auth: SourceAuth | None
    secrets: dict[str, str]


def plan_live_test(session: Session, workspace_id: uuid.UUID, source_id: uuid.UUID, body: LiveTestIn) -> LiveTestPlan:
    """Check that this endpoint may be tested and load what the request needs (a read; no network)."""
    get_source(session, workspace_id, source_id)
    ep = session.scalar(select(Endpoint).where(Endpoint.id == body.endpoint_id, Endpoint.source_id == source_id,
                                               Endpoint.workspace_id == workspace_id))
    if ep is None:
        raise validation_error("endpointId", "No endpoint with this id in the source.")
    if not ep.live_test_enabled:
        raise ProblemError(403, "permission_denied", f"Live tests are not enabled for {ep.operation_key}; an operator opts "
                           "each endpoint in (PUT /api/v1/endpoints/{id}/live-test).", extra={"requiredScope": "knowledge:write"})
    method = (ep.method or "").upper()
    if method not in READ_METHODS and not ep.live_test_allow_write:
        raise ProblemError(403, "permission_denied", f"{method} is not a read method; allow writes for this endpoint first.",
                           extra={"requiredScope": "knowledge:write"})
    if method not in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"):
        raise validation_error("endpointId", f"{ep.operation_key} is not an HTTP operation.")
    if any(h.lower() in ("authorization", "cookie", "proxy-authorization") for h in body.headers):
        raise validation_error("headers", "Credentials come from the source's auth settings, not from the request.")
    headers = {"Accept": "application/json, */*;q=0.5", **body.headers}
    content = None
    if body.body is not None:
        content = json.dumps(body.body).encode()
        headers.setdefault("Content-Type", "application/json")
    auth = session.get(SourceAuth, source_id)
    secrets = credentials(auth) if auth is not None else {}
    return LiveTestPlan(ep, method, _url(ep, body), headers, content, auth, secrets)


def perform_live_test(plan: LiveTestPlan) -> dict[str, Any]:
    """Send the planned request through the safe fetcher; the sanitized result (no database, no transaction)."""
    from woes.config import get_settings
    from woes.core.safefetch import FetchError

    ep, url, headers = plan.endpoint, plan.url, dict(plan.headers)
    fetcher = get_settings().safe_fetcher()
    result: dict[str, Any] = {"object": "live_test", "endpointId": str(ep.id), "operationKey": ep.operation_key,
                              "method": plan.method, "url": redact(url.split("?", 1)[0])}
    started = time.perf_counter()
    try:
        url = _apply_auth(plan.auth, plan.secrets, url, headers, fetcher)
        got = fetcher.request(plan.method, url, headers=headers, content=plan.content)
    except FetchError as exc:
        result.update(status=None, latencyMs=round((time.perf_counter() - started) * 1000, 1), headers={}, body=None,
                      validation=None, error=str(exc))
    else:
        text = got.content[:BODY_LIMIT].decode("utf-8", errors="replace")
        ctype = got.headers.get("content-type", "")
        result.update(status=got.status, latencyMs=round(got.elapsed_ms, 1),
                      headers=redact_headers(dict(got.headers)), body=redact(text), bodyTruncated=len(got.content) > BODY_LIMIT,
                      validation=validate_response(ep, got.status, ctype, got.content), error=None)
    blob = json.dumps(result)
    for value in plan.secrets.values():  # belt and braces: a server that echoes the credential back
        if value and value in blob:
            blob = blob.replace(value, "[REDACTED:credential]")
    return json.loads(blob)


def do_record_live_test(session: Session, workspace_id: uuid.UUID, source_id: uuid.UUID, result: dict[str, Any],
                        actor: Actor) -> dict[str, Any]:
    record_event(session, workspace_id=workspace_id, type="source.live_test_completed", resource_type="source",
                 resource_id=source_id, data=result, actor=actor)
    return result
