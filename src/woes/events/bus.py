"""Live fan-out of committed events to subscribers in this process (and, with Redis, in every replica)."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger("woes.events.bus")

Subscriber = Callable[[dict[str, Any]], None]
CHANNEL = "woes:events"


class EventBus:
    """In-process publish/subscribe. Subscribers must be quick; they run on the publishing thread."""

    def __init__(self) -> None:
        self._subs: list[Subscriber] = []
        self._lock = threading.Lock()

    def subscribe(self, fn: Subscriber) -> Callable[[], None]:
        with self._lock:
            self._subs.append(fn)

        def unsubscribe() -> None:
            with self._lock:
                if fn in self._subs:
                    self._subs.remove(fn)

        return unsubscribe

    def deliver_local(self, envelope: dict[str, Any]) -> None:
        with self._lock:
            subs = list(self._subs)
        for fn in subs:
            try:
                fn(envelope)
            except Exception:  # one bad subscriber must not stop the others
                log.exception("event subscriber failed", extra={"eventType": envelope.get("type")})

    def publish(self, envelope: dict[str, Any]) -> None:
        self.deliver_local(envelope)

    def close(self) -> None:
        pass


class RedisEventBus(EventBus):
    """Publishes through Redis pub/sub so that subscribers on every replica see every event."""

    def __init__(self, redis_url: str) -> None:
        super().__init__()
        import redis

        self._redis = redis.Redis.from_url(redis_url)
        self._pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        self._pubsub.subscribe(**{CHANNEL: self._on_message})
        self._thread = self._pubsub.run_in_thread(sleep_time=0.5, daemon=True)

    def _on_message(self, message: dict[str, Any]) -> None:
        try:
            envelope = json.loads(message["data"])
        except (ValueError, TypeError):
            log.warning("ignoring malformed event on redis channel")
            return
        self.deliver_local(envelope)

    def publish(self, envelope: dict[str, Any]) -> None:
        self._redis.publish(CHANNEL, json.dumps(envelope))

    def close(self) -> None:
        try:
            self._thread.stop()
            self._thread.join(timeout=2)
            self._pubsub.close()
            self._redis.close()
        except Exception:
            log.debug("redis bus close failed", exc_info=True)
