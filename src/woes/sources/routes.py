from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Annotated, BinaryIO

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import ValidationError
from sqlalchemy import func, select
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from woes.access.deps import ReadDB, WriteDB, require, run_write, write_turn
from woes.access.principal import Principal
from woes.core.errors import ProblemError, validation_error
from woes.core.pagination import Page, paginate
from woes.sources import service
from woes.sources.credentials import SourceAuthIn
from woes.sources.livetest import LiveTestIn, LiveTestPermissionIn
from woes.sources.models import Chunk, Document, Endpoint, Scan, Source
from woes.sources.schemas import SourceCreate, SourcePatch, options_dict

if TYPE_CHECKING:
    from woes.runtime import Runtime

router = APIRouter(prefix="/api/v1", tags=["knowledge"])
Read = Annotated[Principal, Depends(require("knowledge:read"))]
Write = Annotated[Principal, Depends(require("knowledge:write"))]

_CREATE_BODY = {
    "requestBody": {"required": True, "content": {
        "application/json": {"schema": SourceCreate.model_json_schema(by_alias=True)},
        "multipart/form-data": {"schema": {"type": "object", "required": ["name", "file"], "properties": {
            "name": {"type": "string"}, "type": {"type": "string"},
            "file": {"type": "array", "items": {"type": "string", "format": "binary"},
                     "description": "One or more files or archives (.zip, .tar, .tar.gz; a .gz file is unpacked)"}}}},
    }},
}


def _validation(exc: ValidationError) -> ProblemError:
    errors = [{"field": ".".join(str(x) for x in e["loc"]) or "body", "message": e["msg"]} for e in exc.errors()]
    return ProblemError(422, "validation_failed", "; ".join(f"{e['field']}: {e['message']}" for e in errors), errors=errors)


async def _read_create(request: Request) -> tuple[SourceCreate | None, list[tuple[str, BinaryIO]] | None, str, str]:
    ctype = request.headers.get("content-type", "")
    if ctype.startswith("multipart/form-data"):
        form = await request.form(max_files=service.MAX_FILES, max_fields=50)
        name = form.get("name")
        if not isinstance(name, str) or not name.strip() or len(name) > 200:
            raise validation_error("name", "A name of 1-200 characters is required.")
        type_ = form.get("type") or "auto"
        if type_ not in service.TYPES:
            raise validation_error("type", f"One of: {', '.join(service.TYPES)}.")
        uploads = _uploaded_files(form)
        if not uploads:
            raise validation_error("file", "Attach one or more files (field `file`).")
        return None, uploads, name.strip(), str(type_)
    try:
        raw = await request.body()
        body = SourceCreate.model_validate(json.loads(raw or b"null"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ProblemError(400, "validation_failed", "body: Request body is not valid JSON (UTF-8).",
                           errors=[{"field": "body", "message": "Request body is not valid JSON."}]) from None
    except ValidationError as exc:
        raise _validation(exc) from None
    return body, None, body.name, body.type


def _uploaded_files(form: FormData) -> list[tuple[str, BinaryIO]]:
    """The `file` parts as (name, spooled file): archives are unpacked from there, never copied into memory whole."""
    return [(f.filename or "file", f.file) for f in form.getlist("file") if isinstance(f, UploadFile)]


async def _expand(runtime: Runtime, uploads: list[tuple[str, BinaryIO]]) -> list[tuple[str, bytes]]:
    settings = runtime.settings
    return await run_in_threadpool(service.expand_uploads, uploads, max_file_bytes=settings.max_source_file_bytes,
                                   max_total_bytes=settings.max_source_bytes)


@router.post("/sources", status_code=201, openapi_extra=_CREATE_BODY,
             summary="Create a source from text, files/archive (multipart), a URL or a Git repository; starts its first scan")
async def create_source(request: Request, p: Write) -> dict:
    body, uploads, name, type_ = await _read_create(request)
    runtime = request.app.state.runtime
    files = await _expand(runtime, uploads) if uploads else None

    def write() -> dict:
        with runtime.db.transaction() as db:
            source, scan = service.do_create_source(
                db, p.workspace_id, name=name, type_=type_, actor=p.actor, content=body.content if body else None,
                files=files, url=body.url if body else None, options=options_dict(body.options) if body else None,
                git_url=body.git_url if body else None, git_path=body.git_path if body else None)
            return service.source_view(source, scan)

    async with write_turn(runtime.db):
        return await run_in_threadpool(write)


@router.get("/sources", summary="List sources")
def list_sources(p: Read, db: ReadDB, page: Page) -> dict:
    return paginate(db, select(Source).where(Source.workspace_id == p.workspace_id), Source, page, "sources", service.source_view)


@router.get("/sources/{source_id}")
def get_source(source_id: uuid.UUID, p: Read, db: ReadDB) -> dict:
    source = service.get_source(db, p.workspace_id, source_id)
    last = db.get(Scan, source.last_scan_id) if source.last_scan_id else None
    return service.source_view(source, last)


@router.patch("/sources/{source_id}")
def update_source(source_id: uuid.UUID, body: SourcePatch, p: Write, db: WriteDB) -> dict:
    changes = body.model_dump(exclude_unset=True)
    if "options" in changes:
        changes["options"] = options_dict(body.options)
    return service.source_view(service.do_rename_source(db, p.workspace_id, source_id, changes, p.actor))


@router.delete("/sources/{source_id}", status_code=204)
def delete_source(source_id: uuid.UUID, p: Write, db: WriteDB) -> Response:
    service.do_delete_source(db, p.workspace_id, source_id, p.actor)
    return Response(status_code=204)


@router.put("/sources/{source_id}/files", summary="Replace the files of an upload source (multipart `file`); rescans")
async def replace_files(source_id: uuid.UUID, request: Request, p: Write) -> dict:
    runtime = request.app.state.runtime
    with runtime.db.reading() as db:
        service.get_source(db, p.workspace_id, source_id)  # a foreign or unknown id is a 404 before anything else
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise validation_error("file", "Send the files as multipart/form-data (field `file`).")
    form = await request.form(max_files=service.MAX_FILES)
    files = await _expand(runtime, _uploaded_files(form))

    def write() -> dict:
        with runtime.db.transaction() as db:
            source, scan = service.do_replace_files(db, p.workspace_id, source_id, files, p.actor)
            return service.source_view(source, scan)

    async with write_turn(runtime.db):
        return await run_in_threadpool(write)


@router.post("/sources/{source_id}/scans", status_code=202, summary="Rescan (unchanged content is not re-parsed or re-embedded)")
def start_scan(source_id: uuid.UUID, p: Write, db: WriteDB) -> dict:
    return service.scan_view(service.do_start_scan(db, p.workspace_id, source_id, p.actor))


@router.get("/sources/{source_id}/scans", summary="Scans of a source, newest first")
def list_scans(source_id: uuid.UUID, p: Read, db: ReadDB, page: Page) -> dict:
    service.get_source(db, p.workspace_id, source_id)
    stmt = select(Scan).where(Scan.workspace_id == p.workspace_id, Scan.source_id == source_id)
    return paginate(db, stmt, Scan, page, "scans", service.scan_view)


@router.get("/sources/{source_id}/scans/{scan_id}")
def get_scan(source_id: uuid.UUID, scan_id: uuid.UUID, p: Read, db: ReadDB) -> dict:
    return service.scan_view(service.get_scan(db, p.workspace_id, source_id, scan_id))


@router.get("/sources/{source_id}/endpoints", summary="Endpoint records of a source")
def list_endpoints(source_id: uuid.UUID, p: Read, db: ReadDB, page: Page,
                   method: Annotated[str | None, Query(max_length=16)] = None,
                   q: Annotated[str | None, Query(max_length=200, description="Substring of the operation key or summary")] = None) -> dict:
    service.get_source(db, p.workspace_id, source_id)
    stmt = select(Endpoint).where(Endpoint.workspace_id == p.workspace_id, Endpoint.source_id == source_id)
    if method:
        stmt = stmt.where(Endpoint.method == method.upper())
    if q:
        like = f"%{q.lower()}%"
        stmt = stmt.where(func.lower(Endpoint.operation_key).like(like) | func.lower(func.coalesce(Endpoint.summary, "")).like(like))
    return paginate(db, stmt, Endpoint, page, "endpoints", service.endpoint_view, ascending=True)


@router.get("/endpoints/{endpoint_id}", summary="One endpoint record with its Markdown evidence")
def get_endpoint(endpoint_id: uuid.UUID, p: Read, db: ReadDB) -> dict:
    from woes.core.scoping import get_in_workspace

    return service.endpoint_view(get_in_workspace(db, Endpoint, p.workspace_id, endpoint_id, "Endpoint"), with_markdown=True)


@router.get("/sources/{source_id}/documents")
def list_documents(source_id: uuid.UUID, p: Read, db: ReadDB, page: Page) -> dict:
    service.get_source(db, p.workspace_id, source_id)
    stmt = select(Document).where(Document.workspace_id == p.workspace_id, Document.source_id == source_id)
    return paginate(db, stmt, Document, page, "documents", lambda d: service.document_view(d, with_markdown=False), ascending=True)


@router.get("/documents/{document_id}")
def get_document(document_id: uuid.UUID, p: Read, db: ReadDB) -> dict:
    from woes.core.scoping import get_in_workspace

    return service.document_view(get_in_workspace(db, Document, p.workspace_id, document_id, "Document"))


@router.get("/sources/{source_id}/chunks")
def list_chunks(source_id: uuid.UUID, p: Read, db: ReadDB, page: Page) -> dict:
    service.get_source(db, p.workspace_id, source_id)
    stmt = select(Chunk).where(Chunk.workspace_id == p.workspace_id, Chunk.source_id == source_id)
    return paginate(db, stmt, Chunk, page, "chunks", service.chunk_view, ascending=True)


@router.get("/sources/{source_id}/auth", summary="How Woes authenticates to this API (secrets are never returned)")
def get_source_auth(source_id: uuid.UUID, p: Read, db: ReadDB) -> dict:
    from woes.sources.credentials import auth_view, get_auth

    return auth_view(get_auth(db, p.workspace_id, source_id))


@router.put("/sources/{source_id}/auth", summary="Set credentials for guarded live tests (write-only; unset secrets are kept)")
def put_source_auth(source_id: uuid.UUID, body: SourceAuthIn, p: Write, db: WriteDB) -> dict:
    from woes.sources.credentials import auth_view, do_set_auth

    return auth_view(do_set_auth(db, p.workspace_id, source_id, body, p.actor))


@router.put("/endpoints/{endpoint_id}/live-test", summary="Allow (or stop) guarded live tests of this endpoint")
def set_live_test_permission(endpoint_id: uuid.UUID, body: LiveTestPermissionIn, p: Write, db: WriteDB) -> dict:
    from woes.sources.livetest import do_set_permission

    ep = do_set_permission(db, p.workspace_id, endpoint_id, body, p.actor)
    return {"object": "live_test_permission", "endpointId": str(ep.id), "enabled": ep.live_test_enabled,
            "allowWrite": ep.live_test_allow_write}


@router.post("/sources/{source_id}/tests", summary="Run a guarded live test of an opted-in endpoint")
async def live_test(source_id: uuid.UUID, body: LiveTestIn, p: Write, request: Request) -> dict:
    """Checked on a read, sent with no transaction open, recorded (event) in one short write."""
    from woes.sources import livetest

    runtime = request.app.state.runtime

    def check_and_send() -> dict:
        with runtime.db.reading() as db:
            plan = livetest.plan_live_test(db, p.workspace_id, source_id, body)
        return livetest.perform_live_test(plan)

    result = await run_in_threadpool(check_and_send)
    return await run_write(request, lambda db: livetest.do_record_live_test(db, p.workspace_id, source_id, result, p.actor))
