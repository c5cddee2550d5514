from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from woes.core.text import fold_name
from woes.db import Base, JSONType, UTCDateTime, new_id, utcnow


class Team(Base):
    """A named group of members; conversations can be assigned to it. Names are unique per workspace
    regardless of case (`name_key`, woes.core.text.fold_name)."""

    __tablename__ = "teams"
    __table_args__ = (UniqueConstraint("workspace_id", "name_key"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    name_key: Mapped[str] = mapped_column(String(200), default=lambda ctx: fold_name(ctx.get_current_parameters()["name"]))
    member_ids: Mapped[list[str]] = mapped_column(JSONType, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
