"""A schedule made in open mode (owner ``api:local``: whoever reached the loopback API, with every
scope) must not keep running with every scope once the workspace has API keys. It is held back —
paused with the reason at its next run, listed as ``needs_claim``, not resumable — until an admin
claims it; then it runs as the admin's."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from assistant.keys import KeyStore
from assistant.schedules import new_schedule
from assistant.schedules.runner import Runner
from assistant.schedules.store import Schedule, ScheduleStore
from assistant.testing.webhook_receiver import WebhookReceiver
from foundation.scopes import EVERY_SCOPE
from foundation.settings import MaraSettings

ROOT = Path(__file__).resolve().parents[2]
TODAY = dt.date(2025, 11, 1)
DUE = dt.datetime(2025, 11, 3, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def cfg(modelled_workspace: Path) -> MaraSettings:
    """A workspace still in open mode (no key yet; the shared tiny workspace of ``tests/conftest.py``)."""
    return MaraSettings(home=modelled_workspace, mode="offline", webhook_allow="127.0.0.1", delivery_retries=0,
                        schedule_poll_s=3600, rate_limit_per_minute=600, _env_file=None)  # type: ignore[call-arg]


def made_in_open_mode(cfg: MaraSettings, hook: WebhookReceiver) -> Schedule:
    """What ``POST /v1/schedules`` saves for the open local API: owner api:local, every scope."""
    store = ScheduleStore(cfg)
    try:
        return store.add(new_schedule(cfg, owner="api:local", cadence="every Monday at 9:00",
                                      destinations=[f"webhook:{hook.url}"], metric="revenue", period="month", scopes=EVERY_SCOPE))
    finally:
        store.close()


def fire(cfg: MaraSettings, schedule: Schedule) -> Any:
    store = ScheduleStore(cfg)
    try:
        return Runner(cfg, store, today=TODAY, sleep=lambda s: None).fire(schedule.id, DUE)
    finally:
        store.close()


def stored(cfg: MaraSettings, schedule: Schedule) -> Schedule:
    store = ScheduleStore(cfg)
    try:
        return store.get(schedule.id)
    finally:
        store.close()


# --- the runner --------------------------------------------------------------------------------


def test_it_runs_while_the_workspace_is_still_open(cfg, hook) -> None:
    assert fire(cfg, made_in_open_mode(cfg, hook)).state == "done"


def test_once_a_key_exists_its_run_sends_nothing(cfg, hook) -> None:
    schedule = made_in_open_mode(cfg, hook)
    KeyStore.for_home(cfg.home).create("root", ["admin"])
    fire(cfg, schedule)
    assert hook.requests == []


def test_a_revoked_first_key_still_ends_open_mode_for_it(cfg, hook) -> None:
    schedule = made_in_open_mode(cfg, hook)
    keys = KeyStore.for_home(cfg.home)
    keys.create("first", ["chat"])
    keys.revoke("first")
    fire(cfg, schedule)
    assert hook.requests == []


def test_it_is_paused_saying_an_admin_must_claim_it(cfg, hook) -> None:
    schedule = made_in_open_mode(cfg, hook)
    KeyStore.for_home(cfg.home).create("root", ["admin"])
    fire(cfg, schedule)
    after = stored(cfg, schedule)
    assert after.paused and "made in open mode" in (after.paused_reason or "") and \
        f"mara schedule claim {schedule.id}" in (after.paused_reason or "")


# --- the API ---------------------------------------------------------------------------------------


@pytest.fixture
def api(cfg: MaraSettings, hook: WebhookReceiver) -> Iterator[dict[str, Any]]:
    """An open-mode schedule, then the first keys: an admin and a chat key."""
    schedule = made_in_open_mode(cfg, hook)
    keys = KeyStore.for_home(cfg.home)
    made = {"root": keys.create("root", ["admin"])[1], "ana": keys.create("ana", ["chat", "data:read"])[1]}
    with TestClient(create_app(cfg)) as client:
        yield {"client": client, "keys": made, "id": schedule.id, "cfg": cfg}


def call(api: dict[str, Any], who: str, method: str, path: str) -> Any:
    return api["client"].request(method, path, headers={"Authorization": f"Bearer {api['keys'][who]}"})


def test_the_listing_shows_it_needs_a_claim(api) -> None:
    (listed,) = [s for s in call(api, "root", "GET", "/v1/schedules").json()["schedules"] if s["id"] == api["id"]]
    assert (listed["needs_claim"], "made in open mode" in listed["blocked"], listed.get("next_run")) == (True, True, None)


def test_it_cannot_be_resumed_before_a_claim(api) -> None:
    answer = call(api, "root", "POST", f"/v1/schedules/{api['id']}/resume")
    assert (answer.status_code, answer.json()["error"]["type"]) == (409, "schedule_needs_claim")


def test_an_admin_claim_makes_the_admin_key_its_owner(api) -> None:
    claimed = call(api, "root", "POST", f"/v1/schedules/{api['id']}/claim").json()
    assert (claimed["owner"], claimed["needs_claim"], claimed["paused"]) == ("key:root", False, False)


def test_after_the_claim_it_runs_again(api) -> None:
    call(api, "root", "POST", f"/v1/schedules/{api['id']}/claim")
    assert call(api, "root", "POST", f"/v1/schedules/{api['id']}/run").json()["state"] == "done"


def test_a_claim_lifts_the_pause_the_runner_made(api) -> None:
    call(api, "root", "POST", f"/v1/schedules/{api['id']}/run")  # held back: paused with the reason
    claimed = call(api, "root", "POST", f"/v1/schedules/{api['id']}/claim").json()
    assert claimed["paused"] is False


def test_a_chat_key_can_neither_see_nor_claim_it(api) -> None:
    seen = call(api, "ana", "GET", f"/v1/schedules/{api['id']}").status_code
    claimed = call(api, "ana", "POST", f"/v1/schedules/{api['id']}/claim").status_code
    assert (seen, claimed) == (404, 403)


def test_a_schedule_whose_owner_may_still_run_it_is_not_claimed(api, hook) -> None:
    made = api["client"].post("/v1/schedules", headers={"Authorization": f"Bearer {api['keys']['ana']}"}, json={
        "metric": "orders", "period": "month", "cadence": "every Monday at 9:00",
        "destinations": [f"webhook:{hook.url}"]}).json()
    answer = call(api, "root", "POST", f"/v1/schedules/{made['id']}/claim")
    assert (answer.status_code, answer.json()["error"]["type"]) == (409, "schedule_has_an_owner")


# --- the CLI -----------------------------------------------------------------------------------------


def mara(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MARA_HOME": str(home), "PYTHONPATH": str(ROOT), "MARA_WEBHOOK_ALLOW": "127.0.0.1"}
    return subprocess.run([sys.executable, "-m", "assistant.cli", "schedule", *args], capture_output=True, text=True,
                          env=env, timeout=120, cwd=ROOT)


@pytest.mark.integration
def test_the_cli_lists_it_as_blocked_and_claims_it(cfg, hook) -> None:
    schedule = made_in_open_mode(cfg, hook)
    KeyStore.for_home(cfg.home).create("root", ["admin"])
    before = mara(cfg.home, "list").stdout
    claimed = json.loads(mara(cfg.home, "claim", schedule.id, "--json").stdout)
    assert (f"{schedule.id}  blocked" in before, claimed["owner"].startswith("cli:")) == (True, True)
