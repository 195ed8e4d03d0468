"""The schedule store and APScheduler's job store on PostgreSQL (``MARA_AUDIT_URL`` there):
one start per run across workers, take-over of a dead worker's run, jobs shared by servers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.schedules import new_schedule
from assistant.schedules.service import ScheduleService
from assistant.schedules.store import ScheduleStore, run_summary, runs, store_url
from foundation.scopes import EVERY_SCOPE
from foundation.settings import MaraSettings
from tests.test_postgres import requires_postgres, throwaway_database


@pytest.fixture
def pg_settings(tmp_path: Path) -> Iterator[MaraSettings]:
    with throwaway_database("mara_sched") as (url, _engine):
        yield MaraSettings(home=tmp_path, audit_url=url.replace("postgresql+psycopg", "postgresql"),
                           _env_file=None)  # type: ignore[call-arg]


@requires_postgres
@pytest.mark.integration
def test_store_lives_in_postgres_and_one_claim_wins(pg_settings: MaraSettings) -> None:
    assert store_url(pg_settings).startswith("postgresql+psycopg://")
    one, two = ScheduleStore(pg_settings), ScheduleStore(pg_settings)
    try:
        made = one.add(new_schedule(pg_settings, owner="key:a", cadence="every day at 9:00",
                                    destinations=["slack:#m"], metric="orders", scopes=EVERY_SCOPE))
        first = one.claim(made.id, f"{made.id}@2026-12-07T09:00", "w1", lease_s=-1.0)  # w1 died: lease ran out
        second = two.claim(made.id, f"{made.id}@2026-12-07T09:00", "w2", lease_s=60)
        taken = two.take_over(first.run_id, "w2", lease_s=60) if first else None
        assert first is not None and second is None and taken is not None and taken.takeovers == 1
        assert two.take_over(first.run_id, "w3", lease_s=60) is None  # now held by w2
        assert not (pg_settings.home / "schedules.sqlite").exists()
    finally:
        one.close()
        two.close()


@requires_postgres
@pytest.mark.integration
def test_two_schedulers_share_one_job_per_schedule_in_postgres(pg_settings: MaraSettings) -> None:
    a, b = ScheduleService(pg_settings), ScheduleService(pg_settings)
    try:
        made = a.store.add(new_schedule(pg_settings, owner="key:a", cadence="every Monday at 9:00",
                                        timezone="Europe/Berlin", destinations=["slack:#m"], metric="orders", scopes=EVERY_SCOPE))
        a.scheduler.start(paused=True)
        b.scheduler.start(paused=True)
        a.sync()
        b.sync()  # sees the job a added: no second job, no error
        jobs = [j.id for j in b.scheduler.get_jobs(jobstore="default")]
        a.store.update(made.id, paused=True)
        b.sync()
        assert jobs == [made.id] and a.scheduler.get_jobs(jobstore="default") == []
    finally:
        a.stop()
        b.stop()
        a.store.close()
        b.store.close()


@requires_postgres
@pytest.mark.integration
def test_finished_runs_lose_their_body_and_old_ones_are_pruned_in_postgres(pg_settings: MaraSettings) -> None:
    store = ScheduleStore(pg_settings)
    try:
        made = store.add(new_schedule(pg_settings, owner="key:a", cadence="every day at 9:00",
                                      destinations=["slack:#m"], metric="orders", scopes=EVERY_SCOPE))
        run = store.claim(made.id, "manual:pg", "w1", lease_s=60)
        assert run is not None
        store.save_content(run.run_id, {"send": True, "full": {"headline": "Ada"}, "safe": {"headline": "[name]"}})
        store.record_delivery(run.run_id, "slack:#m", "sent", 1, None)
        store.finish(run.run_id, "done", summary=run_summary(store.run(run.run_id).content))  # type: ignore[union-attr]
        kept = store.run(run.run_id).content  # type: ignore[union-attr]
        with store.engine.begin() as con:
            con.execute(runs.update().values(finished="2025-01-01T00:00:00+00:00"))
        assert (kept, store.prune_runs(30), store.delivered(run.run_id)) == (
            {"pruned": True, "send": True, "headline": "[name]"}, 1, {})
    finally:
        store.close()
