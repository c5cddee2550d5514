"""Sign-in throttling that counts failures and cannot be turned into a lockout of someone else.

Three sliding windows (a log of failure times per key, `WINDOW` seconds long), in memory or in Redis
when WOES_REDIS_URL is set (so that replicas share them):

- **email + address**: `PAIR_LIMIT` failures -> that pair is refused (429 + Retry-After), even with the
  right password, until its oldest failure leaves the window. Another address is not affected.
- **address**: `ADDRESS_LIMIT` failures across all emails -> that address is refused (credential
  stuffing from one place).
- **email**: past `EMAIL_LIMIT` failures from everywhere (a distributed guess at one account), only
  addresses that already failed for this email in the window are refused; an address without recent
  failures still gets its attempt, so the right password from a clean address always signs in.

An attempt takes a slot in its windows *before* the password is checked (so that concurrent guesses
cannot overshoot a limit) and gives it back when the sign-in succeeds or ends in a server error: only
failures stay counted. A success also clears the pair's failures. Keys hold hashes, not emails."""

from __future__ import annotations

import math
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from woes.core.security import sha256_hex

WINDOW = 300.0
PAIR_LIMIT = 10
ADDRESS_LIMIT = 50
EMAIL_LIMIT = 100


class FailureStore(Protocol):
    def add(self, key: str, member: str, now: float, window: float, keep: int) -> tuple[int, float]:
        """Drop entries older than the window, add `member` at `now`, keep the newest `keep`;
        return (entries now, oldest entry's time)."""

    def remove(self, key: str, member: str) -> None: ...

    def clear(self, key: str) -> None: ...


class MemoryFailureStore:
    """Per-process store (the embedded deployment). Empty and stale keys are swept as it goes."""

    SWEEP_EVERY = 1000

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._logs: dict[str, deque[tuple[float, str]]] = {}
        self._adds = 0

    def add(self, key: str, member: str, now: float, window: float, keep: int) -> tuple[int, float]:
        with self._lock:
            self._adds += 1
            if self._adds % self.SWEEP_EVERY == 0:
                for k in [k for k, log in self._logs.items() if not log or log[-1][0] <= now - window]:
                    del self._logs[k]
            log = self._logs.setdefault(key, deque(maxlen=keep))
            while log and log[0][0] <= now - window:
                log.popleft()
            log.append((now, member))
            return len(log), log[0][0]

    def remove(self, key: str, member: str) -> None:
        with self._lock:
            log = self._logs.get(key)
            if log is not None:
                for entry in log:
                    if entry[1] == member:
                        log.remove(entry)
                        break

    def clear(self, key: str) -> None:
        with self._lock:
            self._logs.pop(key, None)


class RedisFailureStore:
    """Shared between replicas: one sorted set per key (score = failure time), expiring with the window."""

    def __init__(self, url: str, prefix: str = "woes:login:") -> None:
        import redis

        self.redis = redis.Redis.from_url(url)
        self.prefix = prefix

    def add(self, key: str, member: str, now: float, window: float, keep: int) -> tuple[int, float]:
        k = self.prefix + key
        pipe = self.redis.pipeline(transaction=True)
        pipe.zremrangebyscore(k, "-inf", now - window)
        pipe.zadd(k, {member: now})
        pipe.zremrangebyrank(k, 0, -(keep + 1))
        pipe.zcard(k)
        pipe.zrange(k, 0, 0, withscores=True)
        pipe.expire(k, math.ceil(window) + 1)
        _, _, _, count, oldest, _ = pipe.execute()
        return int(count), float(oldest[0][1]) if oldest else now

    def remove(self, key: str, member: str) -> None:
        self.redis.zrem(self.prefix + key, member)

    def clear(self, key: str) -> None:
        self.redis.delete(self.prefix + key)


def make_store(redis_url: str | None) -> FailureStore:
    return RedisFailureStore(redis_url) if redis_url else MemoryFailureStore()


class Throttled(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"retry in {retry_after} s")
        self.retry_after = retry_after


@dataclass
class Attempt:
    """One sign-in attempt's slots. `succeeded()` / `abandoned()` give them back; a failure keeps them."""

    guard: LoginGuard
    slots: list[tuple[str, str]]
    pair_key: str

    def failed(self) -> None:
        self.slots = []

    def abandoned(self) -> None:
        for key, member in self.slots:
            self.guard.store.remove(key, member)
        self.slots = []

    def succeeded(self) -> None:
        self.abandoned()
        self.guard.store.clear(self.pair_key)


@dataclass
class LoginGuard:
    store: FailureStore
    clock: Callable[[], float] = time.time
    window: float = WINDOW
    pair_limit: int = PAIR_LIMIT
    address_limit: int = ADDRESS_LIMIT
    email_limit: int = EMAIL_LIMIT

    def begin(self, email: str, address: str) -> Attempt:
        """Take this attempt's slots, or raise Throttled (having taken none)."""
        now = self.clock()
        email_h = sha256_hex(email.strip().lower())
        pair_key = f"pair:{sha256_hex(email_h + '|' + address)}"
        attempt = Attempt(self, [], pair_key)
        member = f"{now:.6f}:{uuid.uuid4().hex}"

        def take(key: str, limit: int) -> tuple[int, float]:
            # Keeping twice the limit is enough to tell "over the limit" and when it ends.
            count, oldest = self.store.add(key, member, now, self.window, 2 * limit + 1)
            attempt.slots.append((key, member))
            return count, oldest

        def refuse(oldest: float | None) -> Throttled:
            attempt.abandoned()
            wait = self.window if oldest is None else oldest + self.window - now
            return Throttled(max(1, math.ceil(wait)))

        count, oldest = take(f"addr:{sha256_hex(address)}", self.address_limit)
        if count > self.address_limit:
            raise refuse(oldest)
        count, oldest = take(pair_key, self.pair_limit)
        if count > self.pair_limit:
            raise refuse(oldest)
        pair_failures = count - 1
        count, _ = take(f"email:{email_h}", self.email_limit)
        if count > self.email_limit and pair_failures > 0:
            raise refuse(None)  # until this address's own failures for the email have left the window
        return attempt
