from __future__ import annotations

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from woes.core.text import fold_name
from woes.db import Base, InWorkspace, JSONType, Timestamps


class Team(InWorkspace, Timestamps, Base):
    """A named group of members; conversations can be assigned to it. Names are unique per workspace
    regardless of case (`name_key`, woes.core.text.fold_name)."""

    __tablename__ = "teams"
    __table_args__ = (UniqueConstraint("workspace_id", "name_key"),)

    name: Mapped[str] = mapped_column(String(80))
    name_key: Mapped[str] = mapped_column(String(200), default=lambda ctx: fold_name(ctx.get_current_parameters()["name"]))
    member_ids: Mapped[list[str]] = mapped_column(JSONType, default=list)
