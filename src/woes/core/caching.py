"""Bounded per-process caches: the retrieval indexes are kept per source and scan, so a long-running server
with many sources (or many rescans) must forget the oldest ones."""

from __future__ import annotations

from typing import Any, TypeVar

V = TypeVar("V")
MAX_ENTRIES = 256


def remember(cache: dict[Any, Any], key: Any, value: V, limit: int = MAX_ENTRIES) -> V:
    """Store `value` under `key` and drop the oldest entries beyond `limit` (insertion order)."""
    cache.pop(key, None)  # a rebuilt entry becomes the newest
    cache[key] = value
    while len(cache) > limit:
        cache.pop(next(iter(cache)))
    return value
