"""Real `mara serve` processes: two on one workspace start each due run exactly once, and a run
whose server is killed is finished by the restarted one without sending anything twice."""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from assistant.schedules import new_schedule
from assistant.schedules.store import ScheduleStore
from assistant.testing.schedule_fleet import (
    FleetReport,
    build_workspace,
    run_fleet,
    start_servers,
    stop_servers,
)
from assistant.testing.webhook_receiver import WebhookReceiver
from foundation.scopes import EVERY_SCOPE

pytestmark = [pytest.mark.integration, pytest.mark.timeout(400)]


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Future[FleetReport]]:
    """Two servers and six schedules due at the next whole minute (a cron start cannot be sooner),
    run in the background from the module's start so that the wait overlaps the crash test."""
    with ThreadPoolExecutor(1) as pool:
        yield pool.submit(run_fleet, tmp_path_factory.mktemp("fleet") / "ws", servers=2, count=6, fail_first=2,
                          lead_s=10, timeout_s=120, log=lambda m: None)


@pytest.mark.usefixtures("fleet")  # started first: the fleet waits for its minute meanwhile
def test_a_server_killed_mid_run_is_resumed_by_the_restarted_one_not_run_twice(tmp_path: Path) -> None:
    """The run is started with "run now" (no wait for a whole minute; the cron start is the fleet's test)
    and hangs on its second destination; the server is killed; the restarted one takes the run over."""
    home = tmp_path / "ws"
    settings = build_workspace(home).model_copy(update={"webhook_allow": "127.0.0.1"})
    env = {"MARA_WEBHOOK_ALLOW": "127.0.0.1", "MARA_SCHEDULE_POLL_S": "1", "MARA_SCHEDULE_LEASE_S": "3",
           "MARA_DELIVERY_TIMEOUT_S": "60"}
    with WebhookReceiver() as first, WebhookReceiver() as second:
        store = ScheduleStore(settings)
        schedule = store.add(new_schedule(settings, owner="key:ops", cadence="0 9 * * *", metric="orders",
                                          destinations=[f"webhook:{first.url}", f"webhook:{second.url}"], scopes=EVERY_SCOPE))
        store.update(schedule.id, paused=True)  # no cron start: only the run started below may send
        second.fail_next(1, status=200, delay=120)  # the run hangs on its second destination
        ((server, url),) = start_servers(home, 1, env)
        try:
            threading.Thread(target=_run_now, args=(url, schedule.id), daemon=True).start()
            deadline = time.monotonic() + 90
            while not second.requests and time.monotonic() < deadline:
                time.sleep(0.2)
            assert second.requests, "the run did not start"
            server.send_signal(signal.SIGKILL)
            server.wait(timeout=10)
        finally:
            stop_servers([(server, url)])
        (restarted,) = start_servers(home, 1, env)
        try:
            second.wait_for(1, timeout=60)
        finally:
            stop_servers([restarted])
        runs = store.runs_of(schedule.id)
        store.close()
    assert len(runs) == 1 and runs[0].takeovers == 1 and runs[0].state == "done"
    assert len(first.requests) == 1  # delivered before the crash, not again
    assert {r.headers["idempotency-key"] for r in second.requests} == {runs[0].run_id}


def _run_now(url: str, schedule_id: str) -> None:
    with contextlib.suppress(httpx.HTTPError):  # the server is killed while it answers
        httpx.post(f"{url}/v1/schedules/{schedule_id}/run", timeout=120)


def test_two_servers_start_each_run_exactly_once_and_retries_keep_the_key(fleet: Future[FleetReport]) -> None:
    report = fleet.result(timeout=300)
    assert (report.delivered, report.runs, report.distinct_run_keys) == (6, 6, 6)
    assert report.retried_keys == report.retried_keys_same >= 1
    assert report.last_delivery_s < 60
