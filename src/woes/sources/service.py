"""Sources and scans: creating a source stores its files and starts its first scan (a job)."""

from __future__ import annotations

import hashlib
import io
import tempfile
import uuid
from collections.abc import Callable, Iterable
from typing import Any, BinaryIO
from urllib.parse import urlsplit

from sqlalchemy import Row, func, select
from sqlalchemy.orm import Session

from woes.core.decompression import (
    BudgetExceeded,
    DecompressionBudget,
    DecompressionError,
    ExtractedFile,
    archive_kind,
    extract,
    safe_member_path,
)
from woes.core.errors import ProblemError, conflict, validation_error
from woes.core.hooks import Hooks
from woes.core.scoping import get_in_workspace
from woes.core.views import iso
from woes.db import utcnow
from woes.events.service import Actor, record_event
from woes.jobs import enqueue
from woes.sources.models import Chunk, Document, Endpoint, Scan, Source, SourceFile

SCAN_JOB = "knowledge.scan"
TYPES = ("auto", "openapi", "markdown", "json", "website", "graphql", "asyncapi", "postman", "grpc", "wsdl")
MAX_FILES = 2000  # files of one source (uploads and archive members together)

# Called by do_delete_source as hook(session, workspace_id, source, actor) before the row is deleted, in the
# same transaction. Domains that refer to sources are connected in woes.wiring (agents drop the id from
# their sourceIds).
SOURCE_DELETE_HOOKS: Hooks[Callable[[Session, uuid.UUID, Source, Actor], None]] = Hooks("source deleted")


def scan_view(scan: Scan) -> dict[str, Any]:
    return {"object": "scan", "id": str(scan.id), "sourceId": str(scan.source_id), "status": scan.status,
            "trigger": scan.trigger, "unchanged": scan.unchanged,
            "counts": {k: (scan.counts or {}).get(k, 0) for k in ("endpoints", "documents", "chunks", "skipped", "errors")}
            | {k: v for k, v in (scan.counts or {}).items() if k in ("embedded", "reusedEmbeddings")},
            "errors": scan.errors or [], "timings": scan.timings or {}, "coverage": scan.coverage or {},
            "startedAt": iso(scan.started_at), "finishedAt": iso(scan.finished_at), "createdAt": iso(scan.created_at)}


def source_view(source: Source, last_scan: Scan | None = None) -> dict[str, Any]:
    return {"object": "source", "id": str(source.id), "name": source.name, "type": source.type,
            "detectedType": source.detected_type, "origin": source.origin, "url": source.url, "gitPath": source.git_path,
            "status": source.status, "title": source.title, "version": source.version,
            "counts": {k: (source.counts or {}).get(k, 0) for k in ("endpoints", "documents", "chunks")},
            "auth": source.auth_schemes or [], "options": source.options or {},
            "lastScan": scan_view(last_scan) if last_scan else ({"id": str(source.last_scan_id)} if source.last_scan_id else None),
            "createdAt": iso(source.created_at), "updatedAt": iso(source.updated_at)}


def endpoint_view(e: Endpoint, *, with_markdown: bool = False) -> dict[str, Any]:
    out = {"object": "endpoint", "id": str(e.id), "sourceId": str(e.source_id), "operationKey": e.operation_key,
           "method": e.method, "path": e.path, "operationId": e.operation_id, "summary": e.summary,
           "description": e.description, "tags": e.tags or [], "parameters": e.parameters or [],
           "requestBody": e.request_body, "responses": e.responses or [], "auth": e.auth or [], "servers": e.servers or [],
           "examples": e.examples or [], "extra": e.extra or {}, "deprecated": e.deprecated,
           "liveTest": {"enabled": e.live_test_enabled, "allowWrite": e.live_test_allow_write},
           "createdAt": iso(e.created_at), "updatedAt": iso(e.updated_at)}
    if with_markdown:
        out["markdown"] = e.markdown
    return out


def document_view(d: Document, *, with_markdown: bool = True) -> dict[str, Any]:
    out = {"object": "document", "id": str(d.id), "sourceId": str(d.source_id), "title": d.title, "path": d.path,
           "createdAt": iso(d.created_at), "updatedAt": iso(d.updated_at)}
    if with_markdown:
        out["markdown"] = d.markdown
    return out


def chunk_view(c: Chunk) -> dict[str, Any]:
    return {"object": "chunk", "id": str(c.id), "sourceId": str(c.source_id), "kind": c.kind,
            "endpointId": str(c.endpoint_id) if c.endpoint_id else None,
            "documentId": str(c.document_id) if c.document_id else None, "ordinal": c.ordinal, "heading": c.heading,
            "text": c.text, "embedded": c.embedding is not None, "embeddingModel": c.embedding_model,
            "createdAt": iso(c.created_at)}


def get_source(session: Session, workspace_id: uuid.UUID, source_id: uuid.UUID) -> Source:
    return get_in_workspace(session, Source, workspace_id, source_id, "Source")


def get_scan(session: Session, workspace_id: uuid.UUID, source_id: uuid.UUID, scan_id: uuid.UUID) -> Scan:
    scan = session.scalar(select(Scan).where(Scan.id == scan_id, Scan.source_id == source_id, Scan.workspace_id == workspace_id))
    if scan is None:
        raise ProblemError(404, "not_found", "Scan not found.")
    return scan


def _upload_problem(exc: DecompressionError, field: str) -> ProblemError:
    if isinstance(exc, BudgetExceeded) and exc.kind != "too_many_files":
        return ProblemError(413, "payload_too_large", f"{field}: {exc.reason}", errors=[{"field": field, "message": exc.reason}])
    return validation_error(field, exc.reason)


def expand_uploads(uploads: list[tuple[str, bytes | BinaryIO]], *, max_file_bytes: int, max_total_bytes: int,
                   field: str = "file") -> list[tuple[str, bytes]]:
    """Uploaded parts → files. Archives (.zip, .tar, .tar.gz, and a single .gz file) are unpacked into a
    temporary file on disk under a budget that counts the bytes actually produced (`woes.core.decompression`): at most
    `max_file_bytes` per file, `max_total_bytes` and MAX_FILES in all; traversing names, links and devices
    are refused. Only when everything fits are the files read back for storage. Raises ProblemError
    (413 over the budget, 422 for an unsafe or broken archive) naming `field`."""
    budget = DecompressionBudget(max_file_bytes=max_file_bytes, max_total_bytes=max_total_bytes, max_files=MAX_FILES)
    out: list[tuple[str, bytes]] = []
    with tempfile.TemporaryFile(prefix="woes-upload-") as scratch:  # unlinked at once: nothing is ever left behind
        extracted: list[ExtractedFile | tuple[str, bytes]] = []
        try:
            for name, upload in uploads:
                fh = io.BytesIO(upload) if isinstance(upload, bytes) else upload
                if archive_kind(name):
                    extracted += extract(fh, name, scratch, budget)
                    continue
                path = safe_member_path(name)
                budget.start_file(path)
                data = fh.read(max_file_bytes + 1)
                budget.spend(path, len(data), len(data))
                extracted.append((path, data))
        except DecompressionError as exc:
            raise _upload_problem(exc, field) from None
        for item in extracted:
            out.append((item.path, item.read(scratch)) if isinstance(item, ExtractedFile) else item)
    if not out:
        raise validation_error(field, "No files were uploaded.")
    seen = set()
    for path, _ in out:
        if path in seen:
            raise validation_error(field, f"Two files are named '{path}'.")
        seen.add(path)
    return out


def _guess_name(content: str, declared: str) -> str:
    head = content.lstrip()[:1]
    if declared in ("markdown",):
        return "content.md"
    if declared == "graphql":
        return "schema.graphql"
    if declared == "grpc":
        return "service.proto"
    if declared == "wsdl":
        return "service.wsdl"
    return "content.json" if head in "{[" else "content.yaml" if declared in ("openapi", "asyncapi", "auto") else "content.txt"


def check_url(url: str, field: str = "url") -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise validation_error(field, "Give an http(s) URL.")
    if parts.username or parts.password:
        raise validation_error(field, "Credentials in the URL are not accepted; use source auth instead.")
    return url


def do_create_source(session: Session, workspace_id: uuid.UUID, *, name: str, type_: str, actor: Actor,
                     content: str | None = None, files: list[tuple[str, bytes]] | None = None, url: str | None = None,
                     options: dict[str, Any] | None = None, git_url: str | None = None,
                     git_path: str | None = None) -> tuple[Source, Scan]:
    if type_ not in TYPES:
        raise validation_error("type", f"One of: {', '.join(TYPES)}.")
    given = [x for x in (content, files, url, git_url) if x]
    if len(given) != 1:
        raise validation_error("content", "Give exactly one of content, files (multipart), url or gitUrl.")
    if type_ == "website" and not url:
        raise validation_error("url", "A website source is crawled from a URL.")
    now = utcnow()
    origin = "url" if url else "git" if git_url else "upload" if files else "content"
    remote = check_url(url) if url else check_url(git_url, "gitUrl") if git_url else None
    source = Source(workspace_id=workspace_id, name=name, type=type_, origin=origin, url=remote,
                    git_path=(git_path or "").strip("/") or None, options=options or {}, status="queued", counts={},
                    auth_schemes=[], created_at=now, updated_at=now)
    session.add(source)
    session.flush()
    if content is not None:
        files = [(_guess_name(content, type_), content.encode())]
    for path, data in files or []:
        session.add(SourceFile(workspace_id=workspace_id, source_id=source.id, path=path, data=data,
                               sha256=hashlib.sha256(data).hexdigest(), size=len(data), created_at=now))
    record_event(session, workspace_id=workspace_id, type="source.created", resource_type="source", resource_id=source.id,
                 data=source_view(source), actor=actor)
    scan = do_start_scan(session, workspace_id, source.id, actor, trigger="created")
    return source, scan


def do_replace_files(session: Session, workspace_id: uuid.UUID, source_id: uuid.UUID, files: list[tuple[str, bytes]],
                     actor: Actor) -> tuple[Source, Scan]:
    """New content for an upload/content source; the rescan then updates only what changed."""
    source = get_source(session, workspace_id, source_id)
    if source.origin in ("url", "git"):
        raise conflict("This source is fetched from its URL or repository; rescan it instead of uploading files.")
    for row in session.scalars(select(SourceFile).where(SourceFile.source_id == source.id)):
        session.delete(row)
    session.flush()
    now = utcnow()
    for path, data in files:
        session.add(SourceFile(workspace_id=workspace_id, source_id=source.id, path=path, data=data,
                               sha256=hashlib.sha256(data).hexdigest(), size=len(data), created_at=now))
    if source.origin == "content" and files:
        source.origin = "upload" if len(files) > 1 else source.origin
    return source, do_start_scan(session, workspace_id, source.id, actor, trigger="content_changed")


def do_start_scan(session: Session, workspace_id: uuid.UUID, source_id: uuid.UUID, actor: Actor, trigger: str = "manual") -> Scan:
    source = get_source(session, workspace_id, source_id)
    running = session.scalar(select(Scan).where(Scan.source_id == source.id, Scan.status.in_(("queued", "running"))))
    if running is not None and trigger == "manual":
        raise conflict("A scan of this source is already queued or running.", existingId=str(running.id))
    scan = Scan(workspace_id=workspace_id, source_id=source.id, status="queued", trigger=trigger, counts={}, errors=[],
                timings={}, coverage={}, created_at=utcnow())
    session.add(scan)
    session.flush()
    if source.status not in ("ready", "partial"):
        source.status = "queued"
    enqueue(session, SCAN_JOB, {"workspaceId": str(workspace_id), "sourceId": str(source.id), "scanId": str(scan.id)},
            workspace_id=workspace_id)
    return scan


def do_delete_source(session: Session, workspace_id: uuid.UUID, source_id: uuid.UUID, actor: Actor) -> None:
    source = get_source(session, workspace_id, source_id)
    data = source_view(source)
    for hook in SOURCE_DELETE_HOOKS:
        hook(session, workspace_id, source, actor)
    session.delete(source)
    record_event(session, workspace_id=workspace_id, type="source.deleted", resource_type="source", resource_id=source_id,
                 data=data, actor=actor)


def do_rename_source(session: Session, workspace_id: uuid.UUID, source_id: uuid.UUID, changes: dict[str, Any], actor: Actor) -> Source:
    source = get_source(session, workspace_id, source_id)
    if changes.get("name"):
        source.name = changes["name"]
    if changes.get("options") is not None:
        source.options = changes["options"]
    source.updated_at = utcnow()
    session.flush()
    record_event(session, workspace_id=workspace_id, type="source.updated", resource_type="source", resource_id=source_id,
                 data=source_view(source), actor=actor)
    return source


# -- reads for other domains (the agents' learning profile) -----------------------------------------------

def sources_with_latest_scan(session: Session, workspace_id: uuid.UUID,
                             source_ids: list[uuid.UUID]) -> list[tuple[Source, Scan | None]]:
    """The workspace's sources among `source_ids`, in that order (missing ones left out), each with its newest scan."""
    rows = {s.id: s for s in session.scalars(select(Source).where(Source.workspace_id == workspace_id,
                                                                  Source.id.in_(source_ids)))}
    out = []
    for sid in source_ids:
        if sid in rows:
            latest = session.scalar(select(Scan).where(Scan.workspace_id == workspace_id, Scan.source_id == sid)
                                    .order_by(Scan.created_at.desc(), Scan.id.desc()).limit(1))
            out.append((rows[sid], latest))
    return out


def endpoint_outlines(session: Session, workspace_id: uuid.UUID, source_ids: list[uuid.UUID]) -> Iterable[Row[Any]]:
    """(source_id, operation_key, method, path, summary, description, deprecated, tags, parameters, responses, auth,
    servers) of every endpoint of the sources, by source and operation key."""
    return session.execute(
        select(Endpoint.source_id, Endpoint.operation_key, Endpoint.method, Endpoint.path, Endpoint.summary,
               Endpoint.description, Endpoint.deprecated, Endpoint.tags, Endpoint.parameters, Endpoint.responses,
               Endpoint.auth, Endpoint.servers)
        .where(Endpoint.workspace_id == workspace_id, Endpoint.source_id.in_(source_ids))
        .order_by(Endpoint.source_id, Endpoint.operation_key, Endpoint.record_key))


def document_counts(session: Session, workspace_id: uuid.UUID, source_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    return dict(session.execute(select(Document.source_id, func.count())  # type: ignore[arg-type]
                                .where(Document.workspace_id == workspace_id, Document.source_id.in_(source_ids))
                                .group_by(Document.source_id)).all())


def document_heads(session: Session, workspace_id: uuid.UUID, source_ids: list[uuid.UUID], *, chars: int,
                   limit: int) -> Iterable[Row[Any]]:
    """(source_id, title, path, the first `chars` characters of its Markdown) of at most `limit` documents."""
    return session.execute(select(Document.source_id, Document.title, Document.path, func.substr(Document.markdown, 1, chars))
                           .where(Document.workspace_id == workspace_id, Document.source_id.in_(source_ids))
                           .order_by(Document.source_id, Document.path).limit(limit))


def public_document_urls(session: Session, workspace_id: uuid.UUID, document_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
    """The web address of each of these documents that came from a web page (http or https), for citations shown
    to customers; documents from files and repositories have none."""
    ids = list(set(document_ids))
    if not ids:
        return {}
    rows = session.execute(select(Document.id, Document.path).where(Document.workspace_id == workspace_id, Document.id.in_(ids)))
    return {doc_id: path for doc_id, path in rows if path.startswith(("https://", "http://"))}
