"""Two real `mara serve` processes on one workspace: each due run is started by exactly one."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.testing.schedule_fleet import run_fleet


@pytest.mark.integration
@pytest.mark.timeout(400)
def test_two_servers_start_each_run_exactly_once_and_retries_keep_the_key(tmp_path: Path) -> None:
    report = run_fleet(tmp_path / "ws", servers=2, count=6, fail_first=2, lead_s=10, timeout_s=120, log=lambda m: None)
    assert (report.delivered, report.runs, report.distinct_run_keys) == (6, 6, 6)
    assert report.retried_keys == report.retried_keys_same >= 1
    assert report.last_delivery_s < 60


@pytest.mark.integration
@pytest.mark.timeout(400)
def test_a_server_killed_mid_run_is_resumed_by_the_restarted_one_not_run_twice(tmp_path: Path) -> None:
    import signal
    import time

    from assistant.schedules import new_schedule
    from assistant.schedules.store import ScheduleStore
    from assistant.testing.schedule_fleet import build_workspace, start_servers, stop_servers
    from assistant.testing.webhook_receiver import WebhookReceiver

    home = tmp_path / "ws"
    settings = build_workspace(home).model_copy(update={"webhook_allow": "127.0.0.1"})
    env = {"MARA_WEBHOOK_ALLOW": "127.0.0.1", "MARA_SCHEDULE_POLL_S": "1", "MARA_SCHEDULE_LEASE_S": "3",
           "MARA_DELIVERY_TIMEOUT_S": "60"}
    with WebhookReceiver() as first, WebhookReceiver() as second:
        store = ScheduleStore(settings)
        schedule = store.add(new_schedule(settings, owner="key:ops", cadence="* * * * *", metric="orders",
                                          destinations=[f"webhook:{first.url}", f"webhook:{second.url}"]))
        second.fail_next(1, status=200, delay=120)  # the run hangs on its second destination
        (server,) = start_servers(home, 1, env)
        try:
            deadline = time.monotonic() + 90
            while not second.requests and time.monotonic() < deadline:
                time.sleep(0.2)
            assert second.requests, "the scheduled run did not start"
            store.update(schedule.id, paused=True)  # no new minute's run: only the resumed one may send
            server[0].send_signal(signal.SIGKILL)
            server[0].wait(timeout=10)
        finally:
            stop_servers([server])
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
