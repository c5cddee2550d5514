from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Response
from sqlalchemy import select

from woes.access.deps import ReadDB, WriteDB, require
from woes.access.principal import Principal
from woes.core.pagination import Page, paginate
from woes.keys import schemas, service
from woes.keys.models import ApiKey, WidgetKey

router = APIRouter(prefix="/api/v1", tags=["keys"])
KeysRead = Annotated[Principal, Depends(require("keys:read"))]
KeysWrite = Annotated[Principal, Depends(require("keys:write"))]


@router.get("/keys", summary="List API keys")
def list_keys(p: KeysRead, db: ReadDB, page: Page) -> dict:
    return paginate(db, service.list_keys_stmt(p.workspace_id), ApiKey, page, "keys", service.key_view)


@router.post("/keys", status_code=201, response_model=schemas.ApiKeyWithSecret, summary="Create an API key (secret shown once)")
def create_key(body: schemas.ApiKeyCreate, p: KeysWrite, db: WriteDB):
    key, secret = service.do_create_key(db, p.workspace_id, body, p.actor, creator=p)
    return {**service.key_view(key), "secret": secret}


@router.get("/keys/{key_id}", response_model=schemas.ApiKeyOut)
def get_key(key_id: uuid.UUID, p: KeysRead, db: ReadDB):
    return service.get_key(db, p.workspace_id, key_id)


@router.post("/keys/{key_id}/rotate", response_model=schemas.ApiKeyWithSecret, summary="Issue a new secret; the old one works for the grace period")
def rotate_key(key_id: uuid.UUID, p: KeysWrite, db: WriteDB, body: schemas.ApiKeyRotate | None = None):
    body = body or schemas.ApiKeyRotate()
    key, secret = service.do_rotate_key(db, p.workspace_id, key_id, body.grace_period_seconds, p)
    return {**service.key_view(key), "secret": secret}


@router.delete("/keys/{key_id}", response_model=schemas.ApiKeyOut, summary="Revoke an API key")
def revoke_key(key_id: uuid.UUID, p: KeysWrite, db: WriteDB):
    return service.do_revoke_key(db, p.workspace_id, key_id, p)


@router.get("/widget-keys", summary="List widget public keys")
def list_widget_keys(p: KeysRead, db: ReadDB, page: Page) -> dict:
    stmt = select(WidgetKey).where(WidgetKey.workspace_id == p.workspace_id)
    return paginate(db, stmt, WidgetKey, page, "widgetKeys", service.widget_key_view)


@router.post("/widget-keys", status_code=201, response_model=schemas.WidgetKeyOut)
def create_widget_key(body: schemas.WidgetKeyCreate, p: KeysWrite, db: WriteDB):
    return service.do_create_widget_key(db, p.workspace_id, body, p)


@router.get("/widget-keys/{widget_key_id}", response_model=schemas.WidgetKeyOut)
def get_widget_key(widget_key_id: uuid.UUID, p: KeysRead, db: ReadDB):
    return service.get_widget_key(db, p.workspace_id, widget_key_id)


@router.patch("/widget-keys/{widget_key_id}", response_model=schemas.WidgetKeyOut)
def update_widget_key(widget_key_id: uuid.UUID, body: schemas.WidgetKeyPatch, p: KeysWrite, db: WriteDB):
    return service.do_update_widget_key(db, p.workspace_id, widget_key_id, body, p)


@router.delete("/widget-keys/{widget_key_id}", status_code=204)
def delete_widget_key(widget_key_id: uuid.UUID, p: KeysWrite, db: WriteDB) -> Response:
    service.do_delete_widget_key(db, p.workspace_id, widget_key_id, p)
    return Response(status_code=204)
