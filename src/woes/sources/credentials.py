"""Source credentials (SPEC §3, §7): write-only secrets, encrypted at rest; leaving a secret unset on
update keeps the stored one."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import AnyHttpUrl, Field
from sqlalchemy.orm import Session

from woes.core.errors import validation_error
from woes.core.schemas import ApiInput
from woes.core.views import iso
from woes.crypto import decrypt_json, encrypt_json, hint
from woes.db import utcnow
from woes.events.service import Actor, record_event
from woes.sources.models import SourceAuth
from woes.sources.service import get_source

AuthType = Literal["none", "api_key", "bearer", "basic", "oauth2_client_credentials"]
SECRET_FIELDS = {"api_key": ("apiKey",), "bearer": ("token",), "basic": ("password",),
                 "oauth2_client_credentials": ("clientSecret",), "none": ()}
REQUIRED_CONFIG = {"api_key": ("name",), "basic": ("username",), "oauth2_client_credentials": ("tokenUrl", "clientId")}


class SourceAuthIn(ApiInput):
    type: AuthType
    # api_key
    name: str | None = Field(None, min_length=1, max_length=100, description="Header or query parameter name")
    location: Literal["header", "query"] = "header"
    api_key: str | None = Field(None, min_length=1, max_length=4096)
    # bearer
    token: str | None = Field(None, min_length=1, max_length=8192)
    # basic
    username: str | None = Field(None, min_length=1, max_length=200)
    password: str | None = Field(None, min_length=1, max_length=1024)
    # oauth2 client credentials
    token_url: AnyHttpUrl | None = None
    client_id: str | None = Field(None, min_length=1, max_length=500)
    client_secret: str | None = Field(None, min_length=1, max_length=4096)
    scopes: list[str] = Field(default_factory=list, max_length=50)


def auth_view(row: SourceAuth | None) -> dict[str, Any]:
    if row is None:
        return {"object": "source_auth", "type": "none", "config": {}, "secrets": {}}
    return {"object": "source_auth", "sourceId": str(row.source_id), "type": row.type, "config": row.config or {},
            "secrets": {name: {"set": True, "hint": h} for name, h in (row.secret_hints or {}).items()},
            "updatedAt": iso(row.updated_at)}


def get_auth(session: Session, workspace_id: uuid.UUID, source_id: uuid.UUID) -> SourceAuth | None:
    get_source(session, workspace_id, source_id)
    return session.get(SourceAuth, source_id)


def do_set_auth(session: Session, workspace_id: uuid.UUID, source_id: uuid.UUID, body: SourceAuthIn, actor: Actor) -> SourceAuth:
    row = get_auth(session, workspace_id, source_id)
    given = body.model_dump(by_alias=True, exclude_unset=True, mode="json")
    keep_secrets = row is not None and row.type == body.type and row.secrets_encrypted is not None
    stored: dict[str, str] = decrypt_json(row.secrets_encrypted) if keep_secrets and row else {}
    for name in SECRET_FIELDS[body.type]:
        if given.get(name):
            stored[name] = given[name]
        if name not in stored:
            raise validation_error(name, f"Required for {body.type} auth (send it once; it is kept when omitted later).")
    config = {k: v for k, v in given.items() if k not in ("type", "apiKey", "token", "password", "clientSecret")}
    if keep_secrets and row:
        config = {**(row.config or {}), **config}
    for name in REQUIRED_CONFIG.get(body.type, ()):
        if not config.get(name):
            raise validation_error(name, f"Required for {body.type} auth.")
    if body.type == "none":
        config, stored = {}, {}
    if row is None:
        row = SourceAuth(source_id=source_id, workspace_id=workspace_id, type=body.type)
        session.add(row)
    row.type, row.config, row.updated_at = body.type, config, utcnow()
    row.secrets_encrypted = encrypt_json(stored) if stored else None
    row.secret_hints = {k: hint(v) for k, v in stored.items()}
    session.flush()
    record_event(session, workspace_id=workspace_id, type="source.auth_updated", resource_type="source",
                 resource_id=source_id, data=auth_view(row), actor=actor)
    return row


def credentials(row: SourceAuth) -> dict[str, str]:
    """Decrypted secrets, for the live-test runner only (never for responses, logs, traces or models)."""
    return decrypt_json(row.secrets_encrypted) if row.secrets_encrypted else {}
