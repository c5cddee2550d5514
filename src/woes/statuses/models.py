from __future__ import annotations

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from woes.core.crud import ListColumns
from woes.db import Base


class Status(ListColumns, Base):
    """A workspace's label for a lifecycle state (open | waiting | solved, SPEC §5)."""

    __tablename__ = "statuses"
    __table_args__ = (UniqueConstraint("workspace_id", "label_key"),)

    lifecycle: Mapped[str] = mapped_column(String(8))
    waiting_on: Mapped[str | None] = mapped_column(String(8))  # customer | team, only for lifecycle waiting
