"""Stored files for message attachments: size limit, content-type allowlist checked against the bytes."""

from __future__ import annotations

import hashlib
import re
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from woes.attachments.models import Attachment
from woes.core.errors import ProblemError, validation_error
from woes.core.scoping import get_in_workspace
from woes.core.views import iso
from woes.db import utcnow
from woes.events.service import Actor, record_event

MAX_BYTES = 10 * 1024 * 1024
# Declared type → magic prefixes the bytes must start with (None: text, checked as UTF-8).
ALLOWED: dict[str, tuple[bytes, ...] | None] = {
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "image/webp": (b"RIFF",),
    "application/pdf": (b"%PDF-",),
    "application/zip": (b"PK\x03\x04", b"PK\x05\x06"),
    "application/gzip": (b"\x1f\x8b",),
    "text/plain": None, "text/csv": None, "text/markdown": None, "application/json": None,
    "application/x-yaml": None, "text/yaml": None, "application/xml": None, "text/xml": None,
}
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._ -]+")


def storage_root(session: Session) -> Path:
    db = session.info["woes_db"]
    return Path(db.files_dir)


def safe_filename(name: str | None) -> str:
    base = Path(name or "file").name
    cleaned = _SAFE_NAME.sub("_", base).strip(" .") or "file"
    return cleaned[:200]


def check_content(content_type: str, data: bytes) -> str:
    ctype = (content_type or "").split(";")[0].strip().lower()
    if ctype not in ALLOWED:
        raise validation_error("file", f"Content type '{ctype or 'unknown'}' is not accepted. Allowed: {', '.join(sorted(ALLOWED))}.")
    magic = ALLOWED[ctype]
    if magic is None:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            raise validation_error("file", f"The file is not valid UTF-8 text, as {ctype} must be.") from None
        if b"\x00" in data:
            raise validation_error("file", f"The file holds binary data, not {ctype}.")
    elif not any(data.startswith(m) for m in magic):
        raise validation_error("file", f"The bytes do not look like {ctype}.")
    return ctype


def attachment_view(a: Attachment) -> dict[str, Any]:
    return {"object": "attachment", "id": str(a.id), "filename": a.filename, "contentType": a.content_type,
            "size": a.size, "sha256": a.sha256, "messageId": str(a.message_id) if a.message_id else None,
            "createdAt": iso(a.created_at)}


def do_store_attachment(session: Session, workspace_id: uuid.UUID, filename: str | None, content_type: str,
                        data: bytes, actor: Actor) -> Attachment:
    if not data:
        raise validation_error("file", "The file is empty.")
    if len(data) > MAX_BYTES:
        raise ProblemError(413, "payload_too_large", f"Attachments are limited to {MAX_BYTES} bytes.")
    ctype = check_content(content_type, data)
    att = Attachment(workspace_id=workspace_id, filename=safe_filename(filename), content_type=ctype, size=len(data),
                     sha256=hashlib.sha256(data).hexdigest(), storage_key="", created_at=utcnow())
    att.id = uuid.uuid4()
    att.storage_key = f"{workspace_id.hex}/{att.id.hex}"
    path = storage_root(session) / att.storage_key
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".part")
    tmp.write_bytes(data)
    tmp.replace(path)  # the file is complete before the row that points at it commits
    session.add(att)
    session.flush()
    record_event(session, workspace_id=workspace_id, type="attachment.created", resource_type="attachment",
                 resource_id=att.id, data=attachment_view(att), actor=actor)
    return att


def get_attachment(session: Session, workspace_id: uuid.UUID, attachment_id: uuid.UUID) -> Attachment:
    return get_in_workspace(session, Attachment, workspace_id, attachment_id, "Attachment")


def read_bytes(session: Session, att: Attachment) -> bytes:
    return (storage_root(session) / att.storage_key).read_bytes()
