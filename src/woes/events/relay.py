"""Transactional outbox relay.

Reads committed, undispatched events in order, runs the registered outbox consumers inside the same
transaction that marks the events dispatched (so a consumer's own writes, e.g. enqueueing webhook
deliveries, happen exactly when the event is marked), then publishes the events to the live bus.
Several relays (replicas) may run at once: on PostgreSQL batches are claimed with SKIP LOCKED.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from woes.db import Database, utcnow
from woes.events.bus import EventBus
from woes.events.models import DomainEvent
from woes.events.service import envelope, register_wake_handle, unregister_wake_handle

log = logging.getLogger("woes.events.relay")

OutboxConsumer = Callable[[Session, DomainEvent], None]
_consumers: list[OutboxConsumer] = []


def outbox_consumer(fn: OutboxConsumer) -> OutboxConsumer:
    """Register a function run once per committed event, in the relay's transaction."""
    _consumers.append(fn)
    return fn


class OutboxRelay:
    def __init__(self, db: Database, bus: EventBus, *, batch_size: int = 200, poll_seconds: float = 1.0) -> None:
        self.db = db
        self.bus = bus
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def dispatch_pending(self) -> int:
        """Dispatch every committed undispatched event; returns how many were dispatched."""
        total = 0
        while True:
            published: list[dict[str, Any]] = []
            with self.db.transaction() as session:
                stmt = (
                    select(DomainEvent)
                    .where(DomainEvent.dispatched_at.is_(None))
                    .order_by(DomainEvent.seq)
                    .limit(self.batch_size)
                )
                if not self.db.is_sqlite:
                    stmt = stmt.with_for_update(skip_locked=True)
                events = session.scalars(stmt).all()
                now = utcnow()
                for ev in events:
                    for consumer in list(_consumers):
                        consumer(session, ev)
                    ev.dispatched_at = now
                    published.append(envelope(ev))
            for env in published:
                self.bus.publish(env)
            total += len(published)
            if len(published) < self.batch_size:
                return total

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.dispatch_pending()
            except Exception:
                log.exception("outbox relay pass failed; retrying")
            self._wake.wait(self.poll_seconds)
            self._wake.clear()

    def start(self) -> None:
        register_wake_handle(self._wake)
        self._thread = threading.Thread(target=self._run, name="woes-outbox-relay", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        unregister_wake_handle(self._wake)
        if self._thread:
            self._thread.join(timeout=5)
