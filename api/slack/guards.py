"""Thread-safe guards for the Slack adapter: event de-duplication and per-user rate limits."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from api.shared_state import Lease, SharedState


class EventDeduper:
    """Remembers event ids for ``ttl`` seconds so Slack's retries are answered only once.

    Slack re-sends an event (``X-Slack-Retry-Num``) when it did not get a fast 200; the retry
    carries the same ``event_id``. State is per process unless ``shared`` (``MARA_REDIS_URL``)
    keeps the ids in Redis for every worker.
    """

    def __init__(
        self,
        ttl: float = 3600.0,
        max_size: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
        shared: SharedState | None = None,
    ) -> None:
        self.shared = shared
        self._ttl = ttl
        self._max_size = max_size
        self._clock = clock
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def first_time(self, event_id: str) -> bool:
        """True the first time ``event_id`` is seen (within the TTL), False for repeats."""
        if self.shared is not None:  # seen by any worker
            return self.shared.first_time(f"slack-event:{event_id}", self._ttl)
        now = self._clock()
        with self._lock:
            while self._seen:
                oldest, seen_at = next(iter(self._seen.items()))
                if now - seen_at < self._ttl and len(self._seen) < self._max_size:
                    break
                del self._seen[oldest]
            if event_id in self._seen:
                return False
            self._seen[event_id] = now
            return True


class RateLimiter:
    """A token bucket per key: ``burst`` requests at once, refilled at ``per_minute``."""

    def __init__(
        self,
        per_minute: float,
        burst: int,
        clock: Callable[[], float] = time.monotonic,
        shared: SharedState | None = None,
    ) -> None:
        self.shared = shared
        self._per_minute = per_minute
        self._rate = per_minute / 60.0
        self._burst = float(burst)
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def try_acquire(self, key: str) -> float:
        """Take a token for ``key``: 0.0 when allowed, else the seconds until one is free."""
        if self.shared is not None:
            return self.shared.take(f"slack:{key}", self._burst, self._per_minute)
        now = self._clock()
        with self._lock:
            tokens, last = self._buckets.get(key, (self._burst, now))
            tokens = min(self._burst, tokens + (now - last) * self._rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self._rate


class KeyedLocks:
    """One lock per key (a Slack thread), dropped when nobody holds or waits for it.

    With ``shared`` (``MARA_REDIS_URL``) a Redis lease on the key is also held, so one turn at
    a time runs per conversation across workers.
    """

    def __init__(self, shared: SharedState | None = None) -> None:
        self.shared = shared
        self._locks: dict[str, tuple[threading.Lock, int]] = {}
        self._leases: dict[str, Lease] = {}
        self._guard = threading.Lock()

    def acquire(self, key: str) -> threading.Lock:
        """Block until ``key``'s lock is held; pass the result to :meth:`release`."""
        with self._guard:
            lock, users = self._locks.get(key, (threading.Lock(), 0))
            self._locks[key] = (lock, users + 1)
        lock.acquire()
        if self.shared is not None:
            lease = self.shared.lease(f"turn:{key}")
            delay = 0.02
            while not lease.try_acquire():
                time.sleep(delay)
                delay = min(0.5, delay * 2)
            self._leases[key] = lease  # the local lock makes this process's holder unique
        return lock

    def release(self, key: str, lock: threading.Lock) -> None:
        """Release ``key``'s lock taken with :meth:`acquire`."""
        lease = self._leases.pop(key, None)
        if lease is not None:
            lease.release()
        lock.release()
        with self._guard:
            _, users = self._locks[key]
            if users <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)
