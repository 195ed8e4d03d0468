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
