"""The long-lived pieces of one Woes process, wired from configuration.

`woes serve` = HTTP API + outbox relay + embedded job workers; `woes worker` = job workers only.
Both build the same Runtime, so there is one code path for the embedded and scale-out deployments."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

from woes.access.cache import PrincipalCache
from woes.auth.throttle import LoginGuard, make_store
from woes.config import Settings
from woes.db import Database
from woes.events.bus import EventBus, RedisEventBus
from woes.events.relay import OutboxRelay
from woes.jobs.queue import JobQueue, make_queue
from woes.keys.usage import UsageRecorder
from woes.wiring import wire

log = logging.getLogger("woes.runtime")


@dataclass
class Runtime:
    settings: Settings
    db: Database
    bus: EventBus
    queue: JobQueue
    relay: OutboxRelay
    usage: UsageRecorder
    login_guard: LoginGuard
    auth_cache: PrincipalCache
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    started: bool = False

    @classmethod
    def build(cls, settings: Settings, db: Database | None = None) -> Runtime:
        wire()  # cross-domain hooks and every domain's job handlers
        if not settings.is_postgres:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
        db = db or Database(settings.resolved_database_url, write_wait_seconds=settings.write_wait_seconds,
                            max_waiting_writes=settings.max_waiting_writes)
        bus: EventBus = RedisEventBus(settings.redis_url) if settings.redis_url else EventBus()
        queue = make_queue(db, settings.effective_job_backend)
        db.queue = queue
        db.files_dir = str((settings.data_dir / "files").resolve())
        login_guard = LoginGuard(make_store(settings.redis_url))  # failure windows shared through Redis when set
        auth_cache = PrincipalCache(ttl=settings.auth_cache_seconds)
        bus.subscribe(auth_cache.on_event)
        return cls(settings=settings, db=db, bus=bus, queue=queue, relay=OutboxRelay(db, bus), usage=UsageRecorder(db),
                   login_guard=login_guard, auth_cache=auth_cache)

    def start(self, *, workers: int | None = None, relay: bool = True) -> None:
        """Start background services: key-usage flusher, outbox relay and `workers` job threads."""
        if self.started:
            return
        self.started = True
        self._stop.clear()
        self.usage.start()
        if relay:
            self.relay.start()
        n = self.settings.embedded_workers if workers is None else workers
        if n > 0:
            t = threading.Thread(target=self.queue.run_worker, args=(self._stop,), kwargs={"concurrency": n},
                                 name="woes-workers", daemon=True)
            t.start()
            self._threads.append(t)
        log.info("runtime started", extra={"jobBackend": self.queue.backend, "workers": n, "database": self.db.dialect})

    def stop(self) -> None:
        if not self.started:
            return
        self._stop.set()
        for t in self._threads:
            t.join(timeout=15)
        self._threads.clear()
        self.relay.stop()
        self.usage.stop()
        self.bus.close()
        self.started = False
