"""What the JSON views of every domain spell the same way: timestamps and field names."""

from __future__ import annotations

from datetime import datetime
from typing import overload


@overload
def iso(value: datetime) -> str: ...


@overload
def iso(value: datetime | None) -> str | None: ...


def iso(value: datetime | None) -> str | None:
    """A timestamp as the API writes it: `datetime.isoformat()` with UTC as 'Z' (`2024-05-01T12:00:00.250000Z`;
    microseconds as isoformat gives them, none when they are zero). None stays None."""
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def camel(field: str) -> str:
    """A snake_case name in camelCase (`sensitive_traits` → `sensitiveTraits`), as API bodies and errors name fields."""
    head, *rest = field.split("_")
    return head + "".join(p.capitalize() for p in rest)
