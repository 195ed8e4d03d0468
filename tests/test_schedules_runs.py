"""Scheduled runs: metric alerts, signed webhooks with retries, one start per run, resume after
a crash, late runs, broken schedules pausing, Slack and e-mail delivery, personal data."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.audit import open_audit
from assistant.schedules import new_schedule
from assistant.schedules.runner import Runner
from assistant.schedules.store import Schedule, ScheduleStore, runs
from assistant.testing.fake_slack import FakeSlack
from assistant.testing.webhook_receiver import WebhookReceiver
from foundation.scopes import EVERY_SCOPE
from foundation.settings import MaraSettings

TODAY = dt.date(2025, 11, 1)  # the tiny orders run to 2025-10-15: October 140 vs September 385.25


@pytest.fixture
def cfg(modelled_workspace: Path) -> MaraSettings:
    return MaraSettings(home=modelled_workspace, mode="offline", webhook_allow="127.0.0.1", delivery_backoff_s=0.01,
                        delivery_retries=3, delivery_timeout_s=2, schedule_lease_s=2,
                        _env_file=None)  # type: ignore[call-arg]


@pytest.fixture
def store(cfg: MaraSettings) -> Iterator[ScheduleStore]:
    made = ScheduleStore(cfg)
    yield made
    made.close()


def runner(cfg: MaraSettings, store: ScheduleStore, **kw: object) -> Runner:
    return Runner(cfg, store, audit=open_audit(cfg), today=TODAY, sleep=lambda s: None, **kw)  # type: ignore[arg-type]


def metric_schedule(cfg: MaraSettings, store: ScheduleStore, to: list[str], condition: dict | None = None,
                    cadence: str = "every day at 9:00") -> Schedule:
    made = new_schedule(cfg, owner="key:ana", cadence=cadence, timezone="Europe/Berlin", destinations=to,
                        metric="revenue", period="month", condition=condition, scopes=EVERY_SCOPE)
    return store.add(made)


def test_briefing_webhook_is_signed_with_the_run_as_idempotency_key(cfg, store, hook) -> None:
    schedule = metric_schedule(cfg, store, [f"webhook:{hook.url}"])
    outcome = runner(cfg, store).run_now(schedule.id, "key:ana")
    got = hook.wait_for(1)[0]
    assert got.verify(schedule.webhook_secret)
    assert got.headers["idempotency-key"] == outcome.run.run_id
    assert json.loads(got.body)["headline"].startswith("Revenue was 140 in October 2025, down 63.7%")


def test_webhook_is_retried_on_5xx_and_timeouts_with_the_same_key(cfg, store, hook) -> None:
    schedule = metric_schedule(cfg, store, [f"webhook:{hook.url}"])
    hook.fail_next(1, status=503)
    hook.fail_next(1, status=200, delay=3.0)  # longer than the 2 s timeout
    outcome = runner(cfg, store).run_now(schedule.id, "key:ana")
    hook.wait_for(1, timeout=10)
    keys = {r.headers["idempotency-key"] for r in hook.requests}
    assert outcome.state == "done" and keys == {outcome.run.run_id} and len(hook.requests) == 3


def test_failing_destination_gives_up_tells_the_owner_and_others_still_get_it(cfg, store, hook) -> None:
    dead = "webhook:http://127.0.0.1:9/nothing-listens"
    schedule = metric_schedule(cfg, store, [dead, f"webhook:{hook.url}"])
    outcome = runner(cfg, store).run_now(schedule.id, "key:ana")
    assert outcome.state == "partial"
    assert outcome.delivered == {dead: "failed", f"webhook:{hook.url}": "sent"}
    assert "could not be delivered to webhook:http://127.0.0.1:9" in store.get(schedule.id).notices[-1]


def test_client_error_is_not_retried(cfg, store, hook) -> None:
    schedule = metric_schedule(cfg, store, [f"webhook:{hook.url}"])
    hook.fail_next(1, status=400)
    outcome = runner(cfg, store).run_now(schedule.id, "key:ana")
    assert outcome.state == "failed" and len(hook.requests) == 1


def test_alert_fires_with_value_normal_range_and_reason(cfg, store, hook) -> None:
    schedule = metric_schedule(cfg, store, [f"webhook:{hook.url}"],
                               {"kind": "change", "pct": 30, "direction": "down"})
    runner(cfg, store).run_now(schedule.id, "key:ana")
    body = json.loads(hook.wait_for(1)[0].body)
    assert body["lines"][:2] == [
        "Normal range (the 8 months before): 0 – 385.25.",
        "Alert condition (revenue falls 30% or more vs the previous period): down 63.7% vs the previous period (385.25).",
    ]


def test_alert_explains_what_changed_with_the_top_contributors(cfg, store, hook) -> None:
    """Issue 18's exact decomposition: September 385.25 → October 140 (the tiny shop's orders)."""
    schedule = metric_schedule(cfg, store, [f"webhook:{hook.url}"], {"kind": "change", "pct": 30, "direction": "down"})
    runner(cfg, store).run_now(schedule.id, "key:ana")
    said = json.loads(hook.wait_for(1)[0].body)["lines"][-1]
    assert said.startswith("What changed: Revenue fell 245 (−63.7%) from September 2025")
    assert "by channel, the biggest contributions were app −310; web +64.75" in said


def test_alert_that_does_not_hold_sends_nothing(cfg, store, hook) -> None:
    schedule = metric_schedule(cfg, store, [f"webhook:{hook.url}"], {"kind": "threshold", "op": "above", "value": 1000})
    outcome = runner(cfg, store).run_now(schedule.id, "key:ana")
    assert (outcome.state, hook.requests) == ("skipped", [])


def test_alert_cool_down_keeps_the_second_alert_quiet(cfg, store, hook) -> None:
    made = new_schedule(cfg, owner="key:ana", cadence="every hour", destinations=[f"webhook:{hook.url}"],
                        metric="revenue", period="month", condition={"kind": "threshold", "op": "below", "value": 200},
                        cooldown_s=3600, scopes=EVERY_SCOPE)
    store.add(made)
    first = runner(cfg, store).run_now(made.id, "key:ana")
    second = runner(cfg, store).run_now(made.id, "key:ana")
    assert (first.state, second.state, len(hook.requests)) == ("done", "skipped", 1)


def test_exactly_one_of_two_workers_starts_a_due_run(cfg, store, hook) -> None:
    schedule = metric_schedule(cfg, store, [f"webhook:{hook.url}"], cadence="0 9 * * *")
    at = dt.datetime(2025, 11, 1, 8, 0, 5, tzinfo=dt.UTC)  # 09:00:05 in Berlin
    first = runner(cfg, store).fire(schedule.id, at)
    second = runner(cfg, store).fire(schedule.id, at + dt.timedelta(seconds=1))
    assert first is not None and second is None and len(hook.requests) == 1


def test_missed_run_runs_once_late_and_says_so(cfg, store, hook) -> None:
    schedule = metric_schedule(cfg, store, [f"webhook:{hook.url}"], cadence="0 9 * * *")
    at = dt.datetime(2025, 11, 1, 11, 30, tzinfo=dt.UTC)  # 12:30 in Berlin, 3.5 h after 09:00
    outcome = runner(cfg, store).fire(schedule.id, at)
    body = json.loads(hook.wait_for(1)[0].body)
    assert outcome is not None and outcome.run.late_s == 12600.0
    assert body["late"] == "This was due at Sat 01 Nov 09:00 (Europe/Berlin) and runs 3.5 h late: the server was not running then."


def test_restart_mid_run_resumes_the_same_run_without_resending(cfg, store, hook) -> None:
    with WebhookReceiver() as other:
        schedule = metric_schedule(cfg, store, [f"webhook:{hook.url}", f"webhook:{other.url}"])
        crashed = store.claim(schedule.id, "manual:crash", "dead-worker", lease_s=-1.0)  # its lease has run out
        assert crashed is not None
        store.save_content(crashed.run_id, {"send": True, "full": {"headline": "h", "run_id": crashed.run_id},
                                            "safe": {"headline": "h", "run_id": crashed.run_id}})
        store.record_delivery(crashed.run_id, f"webhook:{hook.url}", "sent", 1, None)  # sent before the crash
        resumed = runner(cfg, store).resume_stale()
        assert [r.run.run_id for r in resumed] == [crashed.run_id]
        assert (len(hook.requests), other.requests[0].headers["idempotency-key"]) == (0, crashed.run_id)
        assert store.run(crashed.run_id).state == "done"  # type: ignore[union-attr]


def test_a_held_run_is_not_taken_over(cfg, store) -> None:
    schedule = metric_schedule(cfg, store, ["webhook:http://127.0.0.1:9/x"])
    store.claim(schedule.id, "manual:held", "live-worker", lease_s=60)
    assert runner(cfg, store).resume_stale() == []


def test_unknown_metric_after_a_schema_change_pauses_and_tells_the_owner(cfg, store, hook) -> None:
    schedule = metric_schedule(cfg, store, [f"webhook:{hook.url}"])
    store.update(schedule.id, metric="gross_bookings")
    outcome = runner(cfg, store).run_now(schedule.id, "key:ana")
    after = store.get(schedule.id)
    assert outcome.state == "failed" and after.paused and "Unknown metric 'gross_bookings'" in after.notices[-1]


def test_every_run_is_in_the_audit_trail(cfg, store, hook) -> None:
    schedule = metric_schedule(cfg, store, [f"webhook:{hook.url}"])
    runner(cfg, store).run_now(schedule.id, "key:ana")
    record = [r for r in open_audit(cfg).query(kinds=("schedule",)) if r.name == "run"][-1]
    assert (record.actor, record.ok, record.args["destinations"]) == ("key:ana", True, {f"webhook:{hook.url}": "sent"})


def test_deleted_slack_channel_is_reported_and_not_retried(cfg, store, hook) -> None:
    with FakeSlack() as fake:
        from slack_sdk import WebClient

        client = WebClient(token="xoxb-test", base_url=fake.api_url)
        schedule = metric_schedule(cfg, store, ["slack:C0DELETED", f"webhook:{hook.url}"])
        fake.fail("chat.postMessage", "channel_not_found", times=5)
        outcome = runner(cfg, store, slack=client).run_now(schedule.id, "key:ana")
        assert len(fake.calls_to("chat.postMessage")) == 1
    assert outcome.delivered == {"slack:C0DELETED": "failed", f"webhook:{hook.url}": "sent"}
    assert "Slack channel C0DELETED was not found" in store.get(schedule.id).notices[-1]


def test_slack_message_is_block_kit_with_the_headline(cfg, store) -> None:
    with FakeSlack() as fake:
        from slack_sdk import WebClient

        schedule = metric_schedule(cfg, store, ["slack:#marketing"])
        runner(cfg, store, slack=WebClient(token="xoxb-test", base_url=fake.api_url)).run_now(schedule.id, "key:ana")
        call = fake.calls_to("chat.postMessage")[0]
        uploads = fake.calls_to("files.completeUploadExternal")
    blocks = call.params["blocks"]
    blocks = json.loads(blocks) if isinstance(blocks, str) else blocks
    assert blocks[1]["text"]["text"].startswith("Revenue was 140 in October 2025")
    assert len(uploads) == 1  # the chart of the last periods, as an image


@pytest.mark.integration
def test_email_goes_out_as_html_and_plain_text_over_smtp(cfg, store, smtp_inbox) -> None:
    settings = cfg.model_copy(update=smtp_inbox.settings_update)
    schedule = metric_schedule(settings, store, ["email:ana@example.com"])
    outcome = Runner(settings, store, today=TODAY).run_now(schedule.id, "key:ana")
    mail = smtp_inbox.got[0]
    kinds = [part.get_content_type() for part in mail.walk()]
    assert outcome.state == "done" and mail["To"] == "ana@example.com"
    assert "text/plain" in kinds and "text/html" in kinds and "image/png" in kinds  # chart inline


def test_unreachable_mail_server_is_retried_then_reported(cfg, store) -> None:
    settings = cfg.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": 9, "smtp_starttls": False})
    schedule = metric_schedule(settings, store, ["email:ana@example.com"])
    outcome = Runner(settings, store, today=TODAY, sleep=lambda s: None).run_now(schedule.id, "key:ana")
    assert outcome.state == "failed" and "gave up after 4 attempts" in (outcome.detail or "")


def test_personal_columns_and_values_are_removed_for_destinations_not_allowed(cfg, store) -> None:
    table = {"columns": ["first_name", "email", "country", "orders"],
             "rows": [["Ada", "ada@example.com", "DE", 3], ["Bo", "bo@example.com", "FR", 2]]}
    message = {"headline": "Ada (ada@example.com) ordered most.", "text": "Then Bo.", "table": dict(table),
               "chart_spec": {"mark": "bar"}}
    safe = runner(cfg, store)._without_personal_data(message, table)
    assert safe["table"]["columns"] == ["country", "orders"] and safe["chart_spec"] is None
    assert (safe["headline"], safe["text"]) == ("[personal data removed] ([email]) ordered most.",
                                                "Then [personal data removed].")


@pytest.mark.integration
def test_saved_question_runs_as_the_owner_and_pauses_when_it_no_longer_answers(cfg, store, hook) -> None:
    from assistant.agent import Assistant

    with Assistant(cfg) as assistant:
        ok = store.add(new_schedule(cfg, owner="key:ana", cadence="every day at 9:00",
                                    destinations=[f"webhook:{hook.url}"], question="how many customers do we have", scopes=EVERY_SCOPE))
        broken = store.add(new_schedule(cfg, owner="key:ana", cadence="every day at 9:00",
                                        destinations=[f"webhook:{hook.url}"], question="revenue by sales region", scopes=EVERY_SCOPE))
        good = runner(cfg, store, assistant_factory=lambda: assistant).run_now(ok.id, "key:ana")
        bad = runner(cfg, store, assistant_factory=lambda: assistant).run_now(broken.id, "key:ana")
    body = json.loads(hook.wait_for(1)[0].body)
    assert good.state == "done" and "6" in body["headline"] and body["conversation_id"].startswith("sched-run_")
    assert open_audit(cfg).owner("conversation", body["conversation_id"]) == "key:ana"
    after = store.get(broken.id)
    assert bad.state == "failed" and after.paused and "no longer gets a data answer" in after.notices[-1]
    assert len(hook.requests) == 1


@pytest.mark.integration
def test_runs_missed_while_down_fire_once_on_start_and_say_they_are_late(cfg, store, hook) -> None:
    """APScheduler keeps the job's next run time in the job store; a server starting long after
    it runs the job once (coalesced, no misfire limit) and the message says it is late."""
    import time

    from assistant.schedules.service import ScheduleService

    hour = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)).hour
    schedule = metric_schedule(cfg, store, [f"webhook:{hook.url}"], cadence=f"0 {hour} * * *")
    before = ScheduleService(cfg, store=store)
    before.scheduler.start(paused=True)
    before.sync()
    before.scheduler.modify_job(schedule.id, jobstore="default",
                                next_run_time=dt.datetime.now(dt.UTC) - dt.timedelta(days=2, hours=2))
    before.stop()  # down through three due times
    after = ScheduleService(cfg.model_copy(update={"schedule_poll_s": 0.5}), store=store)
    after.start()
    try:
        hook.wait_for(1, timeout=30)
        time.sleep(2)
    finally:
        after.stop()
    body = json.loads(hook.requests[0].body)
    assert len(hook.requests) == 1 and body["late"].startswith("This was due at") and "late: the server was not running" in body["late"]


def test_a_finished_run_keeps_no_message_body(cfg, store, hook) -> None:
    schedule = metric_schedule(cfg, store, [f"webhook:{hook.url}"])
    crashed = store.claim(schedule.id, "manual:body", "dead-worker", lease_s=-1.0)
    assert crashed is not None
    store.save_content(crashed.run_id, {"send": True, "full": {"headline": "Ada (ada@example.com) bought most."},
                                        "safe": {"headline": "[personal data removed] ([email]) bought most."}})
    runner(cfg, store).resume_stale()
    with store.engine.connect() as con:
        raw = con.execute(runs.select().where(runs.c.run_id == crashed.run_id)).first()._mapping["content"]
    assert json.loads(raw) == {"pruned": True, "send": True, "headline": "[personal data removed] ([email]) bought most."}


def test_a_run_whose_worker_died_after_pruning_is_not_sent_again(cfg, store, hook) -> None:
    schedule = metric_schedule(cfg, store, [f"webhook:{hook.url}"])
    done = runner(cfg, store).run_now(schedule.id, "key:ana")
    store.take_over(done.run.run_id, "another-worker", lease_s=60)  # a finished run cannot be taken over
    runner(cfg, store).resume_stale()
    assert len(hook.requests) == 1


def test_runs_older_than_the_age_limit_are_deleted_with_their_deliveries(cfg, store, hook) -> None:
    schedule = metric_schedule(cfg, store, [f"webhook:{hook.url}"])
    old = runner(cfg, store).run_now(schedule.id, "key:ana").run.run_id
    recent = runner(cfg, store).run_now(schedule.id, "key:ana").run.run_id
    with store.engine.begin() as con:
        con.execute(runs.update().where(runs.c.run_id == old).values(finished="2025-01-01T00:00:00+00:00"))
    assert (store.prune_runs(30), store.run(old), store.delivered(old)) == (1, None, {})
    assert store.run(recent) is not None


def test_a_running_run_is_never_pruned_and_zero_keeps_everything(cfg, store) -> None:
    schedule = metric_schedule(cfg, store, ["webhook:http://127.0.0.1:9/x"])
    held = store.claim(schedule.id, "manual:held", "live-worker", lease_s=60)
    store.finish(store.claim(schedule.id, "manual:old", "w", lease_s=60).run_id, "done")  # type: ignore[union-attr]
    with store.engine.begin() as con:
        con.execute(runs.update().values(started="2025-01-01T00:00:00+00:00"))
        con.execute(runs.update().where(runs.c.state == "done").values(finished="2025-01-01T00:00:00+00:00"))
    assert (store.prune_runs(0), store.prune_runs(30), store.run(held.run_id).state) == (0, 1, "running")  # type: ignore[union-attr]


def test_a_body_kept_by_an_older_version_is_dropped_at_the_next_pruning(cfg, store) -> None:
    schedule = metric_schedule(cfg, store, ["webhook:http://127.0.0.1:9/x"])
    run = store.claim(schedule.id, "manual:legacy", "w", lease_s=60)
    store.save_content(run.run_id, {"send": True, "full": {"headline": "Ada"}})  # type: ignore[union-attr]
    with store.engine.begin() as con:  # finished the old way: body kept
        con.execute(runs.update().values(state="done", finished="2026-12-01T00:00:00+00:00"))
    store.prune_runs(0)
    assert store.run(run.run_id).content is None  # type: ignore[union-attr]


def test_a_pruned_body_is_not_left_in_the_database_file(cfg, store) -> None:
    schedule = metric_schedule(cfg, store, ["webhook:http://127.0.0.1:9/x"])
    run = store.claim(schedule.id, "manual:bytes", "w", lease_s=60)
    store.save_content(run.run_id, {"send": True, "full": {"text": "ada.lovelace@example.com " * 200}})  # type: ignore[union-attr]
    with store.engine.connect() as con:
        con.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")  # the body is in the database file now
    store.finish(run.run_id, "done")  # type: ignore[union-attr]
    with store.engine.connect() as con:
        con.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    assert b"ada.lovelace@example.com" not in (cfg.home / "schedules.sqlite").read_bytes()


def test_a_sender_that_breaks_on_a_value_fails_only_its_destination(cfg, store, hook, monkeypatch) -> None:
    def broken(*args: object, **kwargs: object) -> str:
        raise ValueError("Header values may not contain linefeed or carriage return characters")

    monkeypatch.setattr("assistant.schedules.runner.send_email", broken)
    schedule = metric_schedule(cfg, store, ["email:ana@example.com", f"webhook:{hook.url}"])
    outcome = runner(cfg, store).run_now(schedule.id, "key:ana")
    assert outcome.delivered == {"email:ana@example.com": "failed", f"webhook:{hook.url}": "sent"}
