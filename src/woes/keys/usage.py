"""API key usage metadata (last used time, IP, count), batched so requests never wait on a write."""

from __future__ import annotations

import logging
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update

from woes.db import Database, utcnow
from woes.keys.models import ApiKey

log = logging.getLogger("woes.keys.usage")


@dataclass
class _Usage:
    count: int
    last_at: datetime
    last_ip: str | None


class UsageRecorder:
    def __init__(self, db: Database, flush_seconds: float = 5.0) -> None:
        self.db = db
        self.flush_seconds = flush_seconds
        self._pending: dict[uuid.UUID, _Usage] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def record(self, key_id: uuid.UUID, ip: str | None) -> None:
        now = utcnow()
        with self._lock:
            u = self._pending.get(key_id)
            if u is None:
                self._pending[key_id] = _Usage(1, now, ip)
            else:
                u.count += 1
                u.last_at, u.last_ip = now, ip

    def flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, {}
        if not pending:
            return
        try:
            with self.db.transaction() as session:
                for key_id, u in pending.items():
                    session.execute(
                        update(ApiKey)
                        .where(ApiKey.id == key_id)
                        .values(usage_count=ApiKey.usage_count + u.count, last_used_at=u.last_at, last_used_ip=u.last_ip)
                    )
        except Exception:
            log.warning("could not record key usage; will retry", exc_info=True)
            with self._lock:
                for key_id, u in pending.items():
                    cur = self._pending.get(key_id)
                    if cur is None:
                        self._pending[key_id] = u
                    else:
                        cur.count += u.count

    def _run(self) -> None:
        while not self._stop.wait(self.flush_seconds):
            self.flush()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="woes-key-usage", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)
        self.flush()
