"""Field validators shared by request bodies."""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def no_control(v: str | None) -> str | None:
    """For single-line texts (names, labels): refuse control characters."""
    if v is not None and _CONTROL.search(v):
        raise ValueError("Must not contain control characters (newlines, tabs, ...).")
    return v
