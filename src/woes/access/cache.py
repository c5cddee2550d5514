"""A short-lived cache of resolved credentials, so the hot path needs no database round trip.

Entries live `ttl` seconds (default 2 s). Any committed change to keys, members or sessions in this
process clears the cache at commit time (`mark_auth_changed`), and the outbox events of such changes
clear it in every replica that shares the Redis bus, so revocation takes effect at once locally and
within the TTL everywhere else."""

from __future__ import annotations

import threading
import time
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

_FLAG = "woes_auth_changed"
_caches: list[PrincipalCache] = []


class PrincipalCache:
    def __init__(self, ttl: float = 2.0, max_entries: int = 10000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._data: dict[str, tuple[float, int, Any]] = {}
        self._generation = 0
        self._lock = threading.Lock()
        _caches.append(self)

    def get(self, credential_hash: str) -> Any | None:
        entry = self._data.get(credential_hash)
        if entry is None:
            return None
        expires, generation, value = entry
        if generation != self._generation or expires < time.monotonic():
            self._data.pop(credential_hash, None)
            return None
        return value

    def put(self, credential_hash: str, value: Any, generation: int) -> None:
        if self.ttl <= 0:
            return
        with self._lock:
            if generation != self._generation:
                return  # something changed while we were resolving: do not cache a stale answer
            if len(self._data) >= self.max_entries:
                self._data.clear()
            self._data[credential_hash] = (time.monotonic() + self.ttl, generation, value)

    @property
    def generation(self) -> int:
        return self._generation

    def invalidate(self) -> None:
        with self._lock:
            self._generation += 1
            self._data.clear()

    def on_event(self, envelope: dict[str, Any]) -> None:
        if str(envelope.get("type", "")).startswith(("key.", "widget_key.", "member.", "session.")):
            self.invalidate()


def mark_auth_changed(session: Session) -> None:
    """Call from a service that changes credentials or access; caches clear when it commits."""
    session.info[_FLAG] = True


@sa_event.listens_for(Session, "after_commit")
def _clear_after_commit(session: Session) -> None:
    if session.info.pop(_FLAG, False):
        for cache in list(_caches):
            cache.invalidate()


@sa_event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_FLAG, None)
