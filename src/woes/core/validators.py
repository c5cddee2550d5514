"""Field validators shared by request bodies."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def no_control(v: str | None) -> str | None:
    """For single-line texts (names, labels): refuse control characters."""
    if v is not None and _CONTROL.search(v):
        raise ValueError("Must not contain control characters (newlines, tabs, ...).")
    return v


def _zoned(v: datetime) -> datetime:
    if v.tzinfo is None:
        raise ValueError("Give a time zone (e.g. 2027-01-01T09:00:00Z).")
    return v


ZonedDatetime = Annotated[datetime, AfterValidator(_zoned)]
"""A datetime in a request body: one without a time zone is refused rather than guessed."""
