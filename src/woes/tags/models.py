from __future__ import annotations

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from woes.db import Base, InWorkspace, Timestamps


class Tag(InWorkspace, Timestamps, Base):
    """A label for conversations and/or issues. `name_key` (case-folded name) makes names unique per
    workspace regardless of case."""

    __tablename__ = "tags"
    __table_args__ = (UniqueConstraint("workspace_id", "name_key"),)

    name: Mapped[str] = mapped_column(String(64))
    name_key: Mapped[str] = mapped_column(String(200))
    color: Mapped[str | None] = mapped_column(String(7))
    description: Mapped[str | None] = mapped_column(String(500))
    scope: Mapped[str] = mapped_column(String(16), default="both")  # conversation | issue | both
