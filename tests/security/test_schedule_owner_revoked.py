"""A schedule runs with its owner's key: once that key is revoked, the schedule stops (paused,
the owner told) instead of sending the owner's data on for ever with the key's old scopes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.keys import KeyStore
from assistant.schedules import new_schedule
from assistant.schedules.runner import Runner
from assistant.schedules.store import Schedule, ScheduleStore
from assistant.testing.webhook_receiver import WebhookReceiver
from foundation.settings import MaraSettings

TODAY = dt.date(2025, 11, 1)


@pytest.fixture
def cfg(modelled_workspace: Path) -> MaraSettings:
    KeyStore.for_home(modelled_workspace).create("ana", ["chat", "data:read"])
    return MaraSettings(home=modelled_workspace, mode="offline", webhook_allow="127.0.0.1", delivery_retries=0,
                        _env_file=None)  # type: ignore[call-arg]


@pytest.fixture
def store(cfg: MaraSettings) -> Iterator[ScheduleStore]:
    made = ScheduleStore(cfg)
    yield made
    made.close()


def anas_schedule(cfg: MaraSettings, store: ScheduleStore, hook: WebhookReceiver) -> Schedule:
    return store.add(new_schedule(cfg, owner="key:ana", cadence="every day at 9:00", destinations=[f"webhook:{hook.url}"],
                                  metric="revenue", period="month", scopes=["chat", "data:read"]))


def runner(cfg: MaraSettings, store: ScheduleStore) -> Runner:
    return Runner(cfg, store, today=TODAY, sleep=lambda s: None)


def test_a_due_run_of_a_revoked_keys_schedule_sends_nothing(cfg, store, hook) -> None:
    schedule = anas_schedule(cfg, store, hook)
    KeyStore.for_home(cfg.home).revoke("ana")
    runner(cfg, store).fire(schedule.id, dt.datetime(2025, 11, 1, 9, 0, tzinfo=dt.UTC))
    assert hook.requests == []


def test_the_revoked_keys_schedule_is_paused_and_says_why(cfg, store, hook) -> None:
    schedule = anas_schedule(cfg, store, hook)
    KeyStore.for_home(cfg.home).revoke("ana")
    runner(cfg, store).run_now(schedule.id, "key:root")
    after = store.get(schedule.id)
    assert (after.paused, after.paused_reason) == (True, "its owner's API key 'ana' was revoked.")


def test_a_run_resumed_after_the_revocation_does_not_send_its_saved_body(cfg, store, hook) -> None:
    schedule = anas_schedule(cfg, store, hook)
    crashed = store.claim(schedule.id, "manual:crash", "dead-worker", lease_s=-1.0)
    assert crashed is not None
    store.save_content(crashed.run_id, {"send": True, "full": {"headline": "h"}, "safe": {"headline": "h"}})
    KeyStore.for_home(cfg.home).revoke("ana")
    runner(cfg, store).resume_stale()
    assert hook.requests == []


def test_a_schedule_of_an_active_key_still_runs(cfg, store, hook) -> None:
    schedule = anas_schedule(cfg, store, hook)
    assert runner(cfg, store).run_now(schedule.id, "key:ana").state == "done"
