from __future__ import annotations

from sqlalchemy import UniqueConstraint

from woes.core.crud import ListColumns
from woes.db import Base


class Priority(ListColumns, Base):
    """An ordered priority label; exactly one per workspace is the default."""

    __tablename__ = "priorities"
    __table_args__ = (UniqueConstraint("workspace_id", "label_key"),)
