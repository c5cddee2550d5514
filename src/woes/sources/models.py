from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint, Uuid, false
from sqlalchemy.orm import Mapped, mapped_column

from woes.core.redacted import redact_on_write
from woes.db import Base, CreatedAt, InWorkspace, JSONType, Timestamps, UTCDateTime, utcnow


class Source(InWorkspace, Timestamps, Base):
    """A body of API context: a spec, a set of files, a website or a Git repository."""

    __tablename__ = "sources"
    __table_args__ = (Index("ix_sources_ws_created", "workspace_id", "created_at", "id"),)

    workspace_index = False
    updated_by_service = True

    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(16))  # declared: auto | openapi | markdown | ...
    detected_type: Mapped[str | None] = mapped_column(String(16))
    origin: Mapped[str] = mapped_column(String(8))  # content | upload | url | git
    url: Mapped[str | None] = mapped_column(String(2048))
    git_path: Mapped[str | None] = mapped_column(String(500))
    options: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)  # crawl limits etc.
    status: Mapped[str] = mapped_column(String(12), default="queued")  # queued|scanning|ready|partial|failed
    title: Mapped[str | None] = mapped_column(String(300))
    version: Mapped[str | None] = mapped_column(String(100))
    content_hash: Mapped[str | None] = mapped_column(String(64))
    auth_schemes: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    counts: Mapped[dict[str, int]] = mapped_column(JSONType, default=dict)
    last_scan_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)


redact_on_write(Source.name)  # what the source says is redacted as it is scanned (scanning, evidence)


class SourceFile(InWorkspace, CreatedAt, Base):
    """Raw bytes of an uploaded or fetched file (kept in the database: replicas share it)."""

    __tablename__ = "source_files"
    __table_args__ = (UniqueConstraint("source_id", "path"),)

    source_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"), index=True)
    path: Mapped[str] = mapped_column(String(1000))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class Scan(InWorkspace, CreatedAt, Base):
    __tablename__ = "scans"
    __table_args__ = (Index("ix_scans_source_created", "source_id", "created_at", "id"),)

    source_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(12), default="queued")  # queued|running|completed|partial|failed
    trigger: Mapped[str] = mapped_column(String(16), default="manual")
    counts: Mapped[dict[str, int]] = mapped_column(JSONType, default=dict)
    errors: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    timings: Mapped[dict[str, float]] = mapped_column(JSONType, default=dict)
    coverage: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    unchanged: Mapped[bool] = mapped_column(Boolean, default=False)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Endpoint(InWorkspace, Timestamps, Base):
    """One operation, normalized (SPEC §7 "Endpoint evidence"), with its generated Markdown."""

    __tablename__ = "endpoints"
    __table_args__ = (
        UniqueConstraint("source_id", "record_key"),
        Index("ix_endpoints_ws_source", "workspace_id", "source_id"),
        Index("ix_endpoints_source_key", "source_id", "operation_key"),
        Index("ix_endpoints_source_created", "source_id", "created_at", "id"),
    )

    workspace_index = False
    updated_by_service = True

    source_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    operation_key: Mapped[str] = mapped_column(String(600))
    # Unique per source: the operation key, plus a discriminator when a collection repeats one (Postman
    # folders often hold two requests for the same METHOD /path).
    record_key: Mapped[str] = mapped_column(String(700))
    method: Mapped[str | None] = mapped_column(String(16))
    path: Mapped[str | None] = mapped_column(String(600))
    operation_id: Mapped[str | None] = mapped_column(String(300))
    summary: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    tags: Mapped[list[str]] = mapped_column(JSONType, default=list)
    parameters: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    request_body: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    responses: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    auth: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    servers: Mapped[list[str]] = mapped_column(JSONType, default=list)
    examples: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    extra: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    deprecated: Mapped[bool] = mapped_column(Boolean, default=False)
    # Guarded live tests: an operator opts each endpoint in; non-GET/HEAD methods need allow_write too.
    live_test_enabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    live_test_allow_write: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    markdown: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))


class Document(InWorkspace, Timestamps, Base):
    __tablename__ = "documents"
    __table_args__ = (UniqueConstraint("source_id", "path"), Index("ix_documents_source_created", "source_id", "created_at", "id"))

    updated_by_service = True

    source_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(500))
    path: Mapped[str] = mapped_column(String(2048))
    markdown: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))


class Chunk(InWorkspace, CreatedAt, Base):
    """A retrievable piece of evidence: part of a document, or one view of an endpoint."""

    __tablename__ = "chunks"
    __table_args__ = (
        Index("ix_chunks_source", "source_id", "created_at", "id"),
        Index("ix_chunks_hash", "source_id", "content_hash"),
    )

    source_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    endpoint_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("endpoints.id", ondelete="CASCADE"), index=True)
    document_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # endpoint | section
    ordinal: Mapped[int] = mapped_column(Integer, default=0)
    heading: Mapped[str | None] = mapped_column(String(500))
    text: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    embedding: Mapped[bytes | None] = mapped_column(LargeBinary)
    embedding_model: Mapped[str | None] = mapped_column(String(64))


class SourceAuth(Base):
    """How Woes authenticates to the API a source describes (for guarded live tests). Secrets are
    encrypted at rest and never returned."""

    __tablename__ = "source_auth"

    source_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"), primary_key=True)
    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)
    type: Mapped[str] = mapped_column(String(32))  # none | api_key | bearer | basic | oauth2_client_credentials
    config: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)  # non-secret settings
    secrets_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    secret_hints: Mapped[dict[str, str]] = mapped_column(JSONType, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
