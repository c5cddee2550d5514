from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean, LargeBinary, String, false
from sqlalchemy.orm import Mapped, mapped_column

from woes.core.redacted import redact_on_write
from woes.db import Base, JSONType, RowId, Timestamps


class Workspace(RowId, Timestamps, Base):
    __tablename__ = "workspaces"

    name: Mapped[str] = mapped_column(String(120))
    company_name: Mapped[str | None] = mapped_column(String(120))
    support_url: Mapped[str | None] = mapped_column(String(2048))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    default_priority: Mapped[str] = mapped_column(String(32), default="medium")
    business_hours: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    branding: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    identity_mode: Mapped[str] = mapped_column(String(8), default="off")
    notify_customer_on_issue_resolved: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    issue_resolved_message: Mapped[str | None] = mapped_column(String(2000))
    identity_secret: Mapped[bytes | None] = mapped_column(LargeBinary)  # widget identity secret, encrypted (woes.crypto)


redact_on_write(Workspace.issue_resolved_message)  # a template sent to customers: stored redacted
