"""Several API workers share rate limits, turn locks and Slack event ids through a real Redis.

Each test uses its own key prefix on the Redis at 127.0.0.1:6379 (skipped, with the reason,
when no Redis is running) and two independent :class:`SharedState` objects, as two workers
would have.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from api.auth import TokenBuckets
from api.runtime import TurnLocks
from api.shared_state import SharedState
from api.slack.guards import EventDeduper, KeyedLocks, RateLimiter
from foundation.errors import MaraError
from foundation.settings import MaraSettings

REDIS_URL = "redis://127.0.0.1:6379/0"


def _redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False


pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not _redis_up(), reason="Redis is not running on 127.0.0.1:6379"),
]


@pytest.fixture
def workers() -> Iterator[tuple[SharedState, SharedState]]:
    """Two workers' views of one Redis, under a prefix of this test's own."""
    prefix = f"mara-test-{uuid.uuid4().hex[:8]}:"
    first, second = SharedState(REDIS_URL, prefix), SharedState(REDIS_URL, prefix)
    yield first, second
    for key in first.client.scan_iter(f"{prefix}*"):
        first.client.delete(key)


def test_the_api_rate_limit_is_shared_by_all_workers(workers: tuple[SharedState, SharedState]) -> None:
    one, two = (TokenBuckets(per_minute=3, shared=s) for s in workers)
    assert [one.take("key-a"), two.take("key-a"), one.take("key-a")] == [0.0, 0.0, 0.0]
    wait = two.take("key-a")  # the fourth request within the minute, on the other worker
    assert 0 < wait <= 20.0  # 3 per minute: one token every 20 s
    assert one.take("key-b") == 0.0  # other callers have their own bucket


def test_slack_user_limits_and_retries_are_shared(workers: tuple[SharedState, SharedState]) -> None:
    one, two = (RateLimiter(per_minute=6, burst=2, shared=s) for s in workers)
    assert one.try_acquire("U1") == 0.0 and two.try_acquire("U1") == 0.0
    assert 0 < one.try_acquire("U1") <= 10.0

    first, retry = (EventDeduper(ttl=60, shared=s) for s in workers)
    assert first.first_time("Ev0001") is True
    assert retry.first_time("Ev0001") is False  # Slack's retry reached the other worker
    assert retry.first_time("Ev0002") is True


def test_one_turn_at_a_time_per_conversation_across_workers(
    workers: tuple[SharedState, SharedState],
) -> None:
    one, two = (TurnLocks(s) for s in workers)
    timeline: list[str] = []

    async def turn(locks: TurnLocks, name: str, conversation: str) -> None:
        async with locks.hold(conversation):
            timeline.append(f"{name} start")
            await asyncio.sleep(0.3)
            timeline.append(f"{name} end")

    async def main() -> float:
        start = time.perf_counter()
        await asyncio.gather(turn(one, "a", "c1"), turn(two, "b", "c1"), turn(two, "other", "c2"))
        return time.perf_counter() - start

    elapsed = asyncio.run(main())
    c1 = [t for t in timeline if not t.startswith("other")]
    assert c1 in (["a start", "a end", "b start", "b end"], ["b start", "b end", "a start", "a end"])
    assert timeline.index("other start") < timeline.index("other end") < len(timeline)
    assert 0.6 <= elapsed < 1.5  # c1's two turns in sequence; c2 ran alongside


def test_slack_thread_locks_are_shared_too(workers: tuple[SharedState, SharedState]) -> None:
    one, two = (KeyedLocks(s) for s in workers)
    held = one.acquire("slack:T:C:1.0")
    got: list[float] = []

    def other_worker() -> None:
        start = time.perf_counter()
        lock = two.acquire("slack:T:C:1.0")
        got.append(time.perf_counter() - start)
        two.release("slack:T:C:1.0", lock)

    thread = threading.Thread(target=other_worker)
    thread.start()
    time.sleep(0.3)
    assert not got  # still waiting for the first worker
    one.release("slack:T:C:1.0", held)
    thread.join(5)
    assert got and got[0] >= 0.3


def test_a_crashed_holder_stops_blocking_when_its_lease_expires(
    workers: tuple[SharedState, SharedState],
) -> None:
    crashed, alive = workers
    lease = crashed.lease("turn:c9", ttl_s=1.0)
    assert lease.try_acquire()
    lease._stop.set()  # the process died: no more renewals, no release
    assert not alive.lease("turn:c9").try_acquire()
    time.sleep(1.2)
    assert alive.lease("turn:c9").try_acquire()


def test_a_long_turn_keeps_its_lease(workers: tuple[SharedState, SharedState]) -> None:
    holder, other = workers
    lease = holder.lease("turn:long", ttl_s=1.0)
    assert lease.try_acquire()
    time.sleep(1.6)  # longer than the TTL: renewals keep it
    assert not other.lease("turn:long").try_acquire()
    lease.release()
    assert other.lease("turn:long").try_acquire()


def test_a_wrong_url_is_a_clear_error_at_start(tmp_path: Path) -> None:
    settings = MaraSettings(home=tmp_path, redis_url="redis://:secret@127.0.0.1:1/0", _env_file=None)  # type: ignore[call-arg]
    with pytest.raises(MaraError, match="cannot reach Redis at redis://:\\*\\*\\*@127.0.0.1:1/0") as err:
        SharedState.from_settings(settings)
    assert "secret" not in str(err.value) and "unset MARA_REDIS_URL" in (err.value.hint or "")
    assert SharedState.from_settings(MaraSettings(home=tmp_path, _env_file=None)) is None  # type: ignore[call-arg]


def test_redis_going_away_later_fails_open(caplog: pytest.LogCaptureFixture) -> None:
    gone = SharedState("redis://127.0.0.1:1/0")  # never checked: as if Redis died after start
    with caplog.at_level(logging.WARNING, logger="mara.shared"):
        assert TokenBuckets(per_minute=1, shared=gone).take("k") == 0.0
        assert EventDeduper(shared=gone).first_time("Ev1") is True
        assert gone.lease("turn:x").try_acquire() is True
    assert "request allowed" in caplog.text and "going ahead without it" in caplog.text


def test_two_api_servers_share_one_rate_limit(tmp_path: Path) -> None:
    """Two app instances (two pods) with 2 requests per minute per key between them."""
    import httpx

    from api.app import create_app
    from assistant.keys import KeyStore
    from tests.conftest import build_tiny_warehouse
    from tests.test_api import LiveServer

    home = tmp_path / "ws"
    home.mkdir()
    build_tiny_warehouse(home / "warehouse.duckdb")
    _, key = KeyStore.for_home(home).create(f"pods-{uuid.uuid4().hex[:6]}", ["data:read"])
    settings = MaraSettings(  # type: ignore[call-arg]
        home=home, mode="offline", redis_url=REDIS_URL, rate_limit_per_minute=2, _env_file=None
    )
    headers = {"Authorization": f"Bearer {key}"}
    with LiveServer(create_app(settings)) as pod_a, LiveServer(create_app(settings)) as pod_b:
        codes = [
            httpx.get(f"{url}/v1/data/tables", headers=headers, timeout=30).status_code
            for url in (pod_a.url, pod_b.url, pod_a.url)
        ]
        refused = httpx.get(f"{pod_b.url}/v1/data/tables", headers=headers, timeout=30)
    assert codes[:2] == [200, 200] and codes[2] == 429
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1


class _WaitingAssistant:
    """A turn that runs until its stop signal is set (as a long tool that checks between steps)."""

    mode = "offline"

    def stream(self, message: str, conversation_id: str | None = None, *, actor: str = "local",
               scopes: frozenset[str] | None = None, cancel: threading.Event | None = None) -> Iterator[Any]:
        from foundation.events import Event

        assert cancel is not None
        deadline = time.monotonic() + 20
        while not cancel.wait(0.05):
            assert time.monotonic() < deadline, "the stop never arrived"
        yield Event("done", {"reply": "Stopped.", "conversation_id": conversation_id, "mode": "offline", "tool_calls": []})


def test_stop_reaches_a_turn_running_on_another_worker(tmp_path: Path, workers: tuple[SharedState, SharedState]) -> None:
    from api.auth import Caller
    from api.runtime import Runtime

    settings = MaraSettings(home=tmp_path, mode="offline", _env_file=None)  # type: ignore[call-arg]
    runtimes = [Runtime(settings, assistant=_WaitingAssistant()) for _ in workers]  # type: ignore[arg-type]
    for runtime, shared in zip(runtimes, workers, strict=True):
        runtime.shared = shared
    running, other = runtimes
    caller = Caller(name="local", scopes=("chat",))
    assert other.stop("c-1") is False  # nothing runs anywhere yet
    lease = workers[0].lease("turn:c-1")  # what TurnLocks.hold takes for the running turn
    assert lease.try_acquire()
    ended: list[float] = []

    def run() -> None:
        for _ in running.turn(running._assistant, "train a model", "c-1", caller):  # type: ignore[arg-type]
            pass
        ended.append(time.monotonic())

    worker = threading.Thread(target=run)
    worker.start()
    time.sleep(0.3)
    asked = time.monotonic()
    assert other.stop("c-1") is True  # Stop landed on the other worker
    worker.join(timeout=5)
    lease.release()
    assert ended and ended[0] - asked < 1.0
