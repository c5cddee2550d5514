"""Who caused a change, as recorded on every domain event."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Actor:
    """Who caused a change: an API key, an operator (member), the agent, an automation or the system."""

    type: str
    id: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"type": self.type, "id": self.id}


SYSTEM = Actor("system")
