from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from woes.db import Base, InWorkspace, JSONType, Timestamps


class CustomField(InWorkspace, Timestamps, Base):
    """A typed field definition for conversations, customers or issues. Values live on the records
    themselves (JSON), validated by `service.validate_custom_field_values`."""

    __tablename__ = "custom_fields"
    __table_args__ = (UniqueConstraint("workspace_id", "target", "key"),)

    key: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(120))
    type: Mapped[str] = mapped_column(String(16))
    options: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONType)  # [{value, label}] for selects
    target: Mapped[str] = mapped_column(String(16))  # conversation | customer | issue
    description: Mapped[str | None] = mapped_column(String(500))
    required: Mapped[bool] = mapped_column(Boolean, default=False)
