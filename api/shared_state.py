"""What API workers share through Redis when ``MARA_REDIS_URL`` is set.

One process keeps its rate buckets, conversation turn locks and the Slack event ids it has
answered in memory. Several workers or pods behind a load balancer must share them, or each
pod would grant the full rate limit, two pods could run turns of one conversation at once
(interleaving its history), and a Slack retry landing on another pod would be answered
twice. :class:`SharedState` keeps all three in Redis:

- **rate buckets**: a token bucket per caller, updated atomically by a Lua script on Redis's
  clock;
- **leases**: ``SET NX PX`` with a random token, renewed while held and released by
  compare-and-delete, so a crashed holder's lease simply expires;
- **seen ids**: ``SET NX EX``.

Redis is checked when the app starts (a wrong URL is a clear error, not a silent fallback).
If it fails later, every operation fails open with a logged warning: requests keep being
served, only the cross-worker guarantees lapse until Redis is back.
"""

from __future__ import annotations

import logging
import secrets
import threading
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from foundation.errors import MaraError

if TYPE_CHECKING:
    from foundation.settings import MaraSettings

__all__ = ["Lease", "SharedState"]

log = logging.getLogger("mara.shared")

# KEYS[1] bucket; ARGV capacity, refill per second. Returns the seconds to wait (0: allowed).
_TOKEN_BUCKET = """
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'stamp')
local tokens = tonumber(state[1]) or capacity
local stamp = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - stamp) * rate)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = (1 - tokens) / rate end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'stamp', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(capacity / rate * 1000) + 1000)
return tostring(wait)
"""

# KEYS[1] lease; ARGV token (, ttl ms). Only the holder may renew or release.
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class SharedState:
    """Rate buckets, leases and seen ids in Redis, under ``prefix``."""

    def __init__(self, url: str, prefix: str = "mara:") -> None:
        # lazy: redis loads slowly; only this path needs it
        import redis

        self.url = url
        self.prefix = prefix
        self.client: Any = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._bucket = self.client.register_script(_TOKEN_BUCKET)
        self._renew = self.client.register_script(_RENEW)
        self._release = self.client.register_script(_RELEASE)

    @classmethod
    def from_settings(cls, settings: MaraSettings) -> SharedState | None:
        """The shared state ``MARA_REDIS_URL`` points at (checked now), or None without one."""
        if not settings.redis_url:
            return None
        state = cls(settings.redis_url)
        state.check()
        return state

    def check(self) -> None:
        """Raise a :class:`MaraError` that names the URL when Redis cannot be reached."""
        try:
            self.client.ping()
        except Exception as err:  # noqa: BLE001 - redis raises many connection error types
            raise MaraError(
                f"MARA_REDIS_URL: cannot reach Redis at {_redacted(self.url)}: {err}",
                hint="Start Redis or fix the URL (redis://host:6379/0), or unset MARA_REDIS_URL "
                "to keep rate limits and turn locks in this process only.",
            ) from err

    # --- rate buckets ---------------------------------------------------------------------

    def take(self, bucket: str, capacity: float, per_minute: float) -> float:
        """Take a token from ``bucket``: 0.0 when allowed, else seconds until one is free."""
        if per_minute <= 0:
            return 0.0
        try:
            wait = self._bucket(keys=[f"{self.prefix}bucket:{bucket}"], args=[capacity, per_minute / 60.0])
            return float(wait)
        except Exception as err:  # noqa: BLE001 - fail open: serving beats limiting
            log.warning("shared rate limit unavailable (%s); request allowed", err)
            return 0.0

    # --- seen ids ---------------------------------------------------------------------------

    def first_time(self, name: str, ttl_s: float) -> bool:
        """True the first time ``name`` is seen by any worker within ``ttl_s`` seconds."""
        try:
            return bool(self.client.set(f"{self.prefix}seen:{name}", b"1", nx=True, px=int(ttl_s * 1000)))
        except Exception as err:  # noqa: BLE001 - fail open: answer rather than drop
            log.warning("shared event ids unavailable (%s); treated as new", err)
            return True

    # --- stop requests ------------------------------------------------------------------------

    def request_stop(self, conversation_id: str, ttl_s: float = 30.0) -> bool:
        """Ask the worker running the conversation's turn to stop it; False when no worker holds
        its turn lease (no turn is running anywhere) or Redis is unreachable."""
        try:
            if not self.client.exists(f"{self.prefix}lease:turn:{conversation_id}"):
                return False
            self.client.set(f"{self.prefix}stop:{conversation_id}", b"1", px=int(ttl_s * 1000))
            return True
        except Exception as err:  # noqa: BLE001 - a Stop that cannot be passed on is reported as not done
            log.warning("shared stop request unavailable (%s)", err)
            return False

    def take_stop(self, conversation_id: str) -> bool:
        """True (once) when a stop was requested for the conversation's running turn."""
        try:
            return bool(self.client.delete(f"{self.prefix}stop:{conversation_id}"))
        except Exception as err:  # noqa: BLE001 - the local Stop still works
            log.warning("shared stop requests unavailable (%s)", err)
            return False

    def lease(self, name: str, ttl_s: float = 30.0) -> Lease:
        """A lease on ``name`` (e.g. a conversation) for one holder at a time."""
        return Lease(self, f"{self.prefix}lease:{name}", ttl_s)


class Lease:
    """One holder at a time across workers; renewed every ``ttl/3`` while held.

    :meth:`try_acquire` is a quick, non-blocking attempt; callers wait between attempts in
    their own way (``asyncio.sleep`` or ``time.sleep``). A holder that dies stops renewing,
    and the lease expires after ``ttl`` seconds.
    """

    def __init__(self, state: SharedState, key: str, ttl_s: float) -> None:
        self.state = state
        self.key = key
        self.ttl_ms = max(1000, int(ttl_s * 1000))
        self.token = secrets.token_hex(16)
        self.held = False
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None

    def try_acquire(self) -> bool:
        """Take the lease if it is free; True when held (also when Redis fails: fail open)."""
        try:
            self.held = bool(self.state.client.set(self.key, self.token, nx=True, px=self.ttl_ms))
        except Exception as err:  # noqa: BLE001
            log.warning("shared lock %s unavailable (%s); going ahead without it", self.key, err)
            return True
        if self.held:
            self._renewer = threading.Thread(target=self._renew_loop, name="mara-lease", daemon=True)
            self._renewer.start()
        return self.held

    def _renew_loop(self) -> None:
        while not self._stop.wait(self.ttl_ms / 3000):
            try:
                if not self.state._renew(keys=[self.key], args=[self.token, self.ttl_ms]):
                    log.warning("shared lock %s was lost (expired while held)", self.key)
                    return
            except Exception as err:  # noqa: BLE001 - keep trying; the TTL covers a short outage
                log.warning("renewing shared lock %s failed: %s", self.key, err)

    def release(self) -> None:
        """Give the lease up (only if this holder still has it)."""
        self._stop.set()
        if not self.held:
            return
        self.held = False
        try:
            self.state._release(keys=[self.key], args=[self.token])
        except Exception as err:  # noqa: BLE001 - it expires by itself
            log.warning("releasing shared lock %s failed (%s); it expires in %d ms", self.key, err, self.ttl_ms)


def _redacted(url: str) -> str:
    """``url`` without its password."""
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url
