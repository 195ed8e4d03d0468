"""``/v1/schedules`` (owner or admin, like conversations) and ``mara schedule`` (CLI contract)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from assistant.audit import open_audit
from assistant.testing.webhook_receiver import WebhookReceiver
from foundation.settings import MaraSettings
from tests.conftest import keyed_workspace
from tools.semantic_model import refresh_workspace_model

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    home, made = keyed_workspace(tmp_path_factory.mktemp("sched-api"), {
        "ana": ("ana", ["chat", "data:read"]), "bob": ("bob", ["chat", "data:read"]), "chatonly": ("chatonly", ["chat"]),
        "root": ("root", ["admin"])})
    settings = MaraSettings(home=home, mode="offline", webhook_allow="127.0.0.1", rate_limit_per_minute=600,
                            schedule_poll_s=3600, _env_file=None)  # type: ignore[call-arg]
    refresh_workspace_model(settings)
    with WebhookReceiver() as hook, TestClient(create_app(settings)) as client:
        yield {"client": client, "keys": made, "hook": hook, "settings": settings}


def auth(api: dict[str, Any], who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api['keys'][who]}"}


def create(api: dict[str, Any], who: str, **body: Any) -> httpx.Response:
    payload = {"metric": "orders", "period": "month", "cadence": "every Monday at 9:00", "timezone": "Europe/Berlin",
               "destinations": [f"webhook:{api['hook'].url}"], **body}
    return api["client"].post("/v1/schedules", json=payload, headers=auth(api, who))


def test_create_returns_the_schedule_and_its_webhook_secret_once(api: dict[str, Any]) -> None:
    made = create(api, "ana").json()
    listed = api["client"].get("/v1/schedules", headers=auth(api, "ana")).json()["schedules"]
    assert made["webhook_secret"].startswith("whsec_") and made["owner"] == "key:ana" and made["cron"] == "0 9 * * mon"
    assert [s.get("webhook_secret") for s in listed if s["id"] == made["id"]] == [None]


def test_another_key_neither_sees_nor_changes_a_schedule(api: dict[str, Any]) -> None:
    made = create(api, "ana").json()
    client = api["client"]
    assert client.get(f"/v1/schedules/{made['id']}", headers=auth(api, "bob")).status_code == 404
    assert client.post(f"/v1/schedules/{made['id']}/pause", headers=auth(api, "bob")).status_code == 404
    assert client.delete(f"/v1/schedules/{made['id']}", headers=auth(api, "bob")).status_code == 404
    assert made["id"] not in [s["id"] for s in client.get("/v1/schedules", headers=auth(api, "bob")).json()["schedules"]]


def test_admin_sees_and_pauses_anyones_schedule(api: dict[str, Any]) -> None:
    made = create(api, "ana").json()
    paused = api["client"].post(f"/v1/schedules/{made['id']}/pause", headers=auth(api, "root")).json()
    assert paused["paused"] and paused["paused_reason"] == "paused by key:root" and "next_run" not in paused


def test_pause_resume_remove_are_audited(api: dict[str, Any]) -> None:
    made = create(api, "ana").json()
    client = api["client"]
    client.post(f"/v1/schedules/{made['id']}/pause", headers=auth(api, "ana"))
    client.post(f"/v1/schedules/{made['id']}/resume", headers=auth(api, "ana"))
    assert client.delete(f"/v1/schedules/{made['id']}", headers=auth(api, "ana")).status_code == 204
    names = [r.name for r in open_audit(api["settings"]).query(kinds=("schedule",)) if r.conversation_id == made["id"]]
    assert names == ["create", "pause", "resume", "remove"]


def test_run_now_delivers_and_answers_with_the_run(api: dict[str, Any]) -> None:
    made = create(api, "ana").json()
    run = api["client"].post(f"/v1/schedules/{made['id']}/run", headers=auth(api, "ana")).json()
    assert run["state"] == "done" and run["deliveries"] == {f"webhook:{api['hook'].url}": "sent"}


@pytest.mark.parametrize(("body", "message"), [
    ({"cadence": "61 9 * * *"}, "Invalid cron expression"),
    ({"timezone": "Mars/Base"}, "Unknown time zone 'Mars/Base'"),
    ({"destinations": ["webhook:https://169.254.169.254/latest"]}, "link-local"),
])
def test_bad_input_is_400_naming_the_problem(api: dict[str, Any], body: dict[str, Any], message: str) -> None:
    answer = create(api, "ana", **body)
    assert answer.status_code == 400 and message in answer.json()["error"]["message"]


def test_a_key_without_data_read_cannot_schedule_a_metric_check(api: dict[str, Any]) -> None:
    answer = create(api, "chatonly")
    assert answer.status_code == 400 and "data:read" in answer.json()["error"]["message"]


def test_resuming_a_schedule_that_runs_keeps_its_job(api: dict[str, Any]) -> None:
    """Resume bumps the version of a schedule whose job exists: the job is replaced, not a 500."""
    made = create(api, "ana").json()
    api["client"].post(f"/v1/schedules/{made['id']}/resume", headers=auth(api, "ana"))
    assert api["client"].app.state.runtime.schedules.scheduler.get_job(made["id"]).kwargs["version"] == 2


def test_new_schedules_become_jobs_of_the_scheduler(api: dict[str, Any]) -> None:
    made = create(api, "ana").json()
    service = api["client"].app.state.runtime.schedules
    assert service.scheduler.get_job(made["id"]) is not None


def test_workspace_file_is_owner_only(api: dict[str, Any]) -> None:
    assert oct((api["settings"].home / "schedules.sqlite").stat().st_mode & 0o777) == "0o600"


# --- the CLI ----------------------------------------------------------------------------------


def mara(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MARA_HOME": str(home), "PYTHONPATH": str(ROOT), "MARA_WEBHOOK_ALLOW": "127.0.0.1"}
    return subprocess.run([sys.executable, "-m", "assistant.cli", "schedule", *args], capture_output=True, text=True,
                          env=env, timeout=120, cwd=ROOT)


@pytest.mark.integration
def test_cli_add_list_pause_resume_run_now_remove(api: dict[str, Any], tmp_path: Path) -> None:
    home = tmp_path / "ws"
    shutil.copytree(api["settings"].home, home)
    hook = api["hook"]
    added = json.loads(mara(home, "add", "--metric", "revenue", "--period", "month", "--every", "every day at 7am",
                            "--tz", "Europe/Berlin", "--to", f"webhook:{hook.url}", "--json").stdout)
    sid = added["id"]
    assert added["cron"] == "0 7 * * *" and added["webhook_secret"].startswith("whsec_")
    assert json.loads(mara(home, "pause", sid, "--json").stdout)["paused"] is True
    assert json.loads(mara(home, "resume", sid, "--json").stdout)["paused"] is False
    ran = json.loads(mara(home, "run-now", sid, "--json").stdout)
    assert ran["state"] == "done" and ran["deliveries"] == {f"webhook:{hook.url}": "sent"}
    assert sid in [s["id"] for s in json.loads(mara(home, "list", "--json").stdout)["schedules"]]
    assert json.loads(mara(home, "remove", sid, "--json").stdout) == {"removed": sid}


@pytest.mark.integration
def test_cli_bad_cron_is_one_line_and_nonzero(tmp_path: Path) -> None:
    (tmp_path / "ws").mkdir()
    done = mara(tmp_path / "ws", "add", "--metric", "orders", "--cron", "99 * * * *", "--to", "slack:#m")
    assert done.returncode == 1 and done.stderr.startswith("Error: Invalid cron expression '99 * * * *'")
