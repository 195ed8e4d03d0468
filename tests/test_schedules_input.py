"""Schedule input: cadences in words or cron, time zones, destinations and the SSRF rules."""

from __future__ import annotations

import datetime as dt
import socket

import httpx
import pytest

from assistant.schedules import new_schedule
from assistant.schedules.cadence import ScheduleInputError, parse_cadence
from assistant.schedules.ssrf import AllowList, UnsafeDestination, check_url, guarded_client
from foundation.scopes import EVERY_SCOPE
from foundation.settings import MaraSettings


@pytest.mark.parametrize(("words", "cron"), [
    ("every Monday at 9:00", "0 9 * * mon"),
    ("every weekday at 8:30", "30 8 * * mon-fri"),
    ("every day at 7am", "0 7 * * *"),
    ("every Monday and Thursday at 5pm", "0 17 * * mon,thu"),
    ("every 15 minutes", "*/15 * * * *"),
    ("every month on the 1st at 9:00", "0 9 1 * *"),
    ("0 9 * * mon", "0 9 * * mon"),
])
def test_cadence_words_and_cron(words: str, cron: str) -> None:
    assert parse_cadence(words, "Europe/Berlin").cron == cron


def test_invalid_cron_names_the_field_and_the_accepted_forms() -> None:
    with pytest.raises(ScheduleInputError, match=r"Invalid cron expression '61 9 \* \* \*'.*higher than the maximum"):
        parse_cadence("61 9 * * *")


def test_unreadable_words_list_what_is_accepted() -> None:
    with pytest.raises(ScheduleInputError, match="can't read the cadence 'whenever'.*every Monday at 9:00"):
        parse_cadence("whenever")


def test_unknown_time_zone_is_refused_with_examples() -> None:
    with pytest.raises(ScheduleInputError, match="Unknown time zone 'Mars/Base'.*Europe/Berlin"):
        parse_cadence("every day at 9:00", "Mars/Base")


def test_nine_in_berlin_is_eight_utc_in_winter() -> None:
    nxt = parse_cadence("every Monday at 9:00", "Europe/Berlin").next_run(dt.datetime(2025, 11, 1, tzinfo=dt.UTC))
    assert nxt is not None and nxt.astimezone(dt.UTC) == dt.datetime(2025, 11, 3, 8, 0, tzinfo=dt.UTC)


def test_last_due_finds_the_run_missed_while_down() -> None:
    due = parse_cadence("every day at 9:00", "UTC").last_due(dt.datetime(2025, 11, 1, 13, 0, tzinfo=dt.UTC))
    assert due == dt.datetime(2025, 11, 1, 9, 0, tzinfo=dt.UTC)


# --- destinations and SSRF -------------------------------------------------------------------

NONE = AllowList()


@pytest.mark.parametrize(("url", "why"), [
    ("http://example.com/hook", "must use https"),
    ("https://127.0.0.1/hook", "loopback"),
    ("https://169.254.169.254/latest/meta-data", "link-local"),
    ("https://10.0.0.5/hook", "private"),
    ("https://[::1]/hook", "loopback"),
    ("https://[::ffff:127.0.0.1]/hook", "loopback"),
    ("https://100.100.100.200/hook", "private or internal"),
    ("https://user:pw@example.com/hook", "user name or password"),
    ("ftp://example.com/x", "not an http"),
])
def test_webhook_urls_refused(url: str, why: str) -> None:
    with pytest.raises(UnsafeDestination, match=why):
        check_url(url, NONE)


def test_a_name_resolving_to_an_internal_address_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: [(socket.AF_INET, 1, 6, "", ("10.1.2.3", 443))])
    with pytest.raises(UnsafeDestination, match="'hooks.example.com' resolves to 10.1.2.3"):
        check_url("https://hooks.example.com/x", NONE)


def test_admin_allow_list_admits_a_local_receiver() -> None:
    assert check_url("http://127.0.0.1:8080/hook", AllowList.parse("127.0.0.1"))


def test_allow_list_by_host_name_pattern(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: [(socket.AF_INET, 1, 6, "", ("10.1.2.3", 443))])
    assert check_url("https://crm.corp.example/x", AllowList.parse("*.corp.example"))


def test_dns_rebinding_is_caught_when_connecting(monkeypatch: pytest.MonkeyPatch) -> None:
    """Public when checked, loopback when the request connects: refused at connect time."""
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: [(socket.AF_INET, 1, 6, "", ("127.0.0.1", 443))])
    with guarded_client(NONE, 2) as client, pytest.raises(UnsafeDestination, match="loopback"):
        client.post("https://rebind.example.com/hook", content=b"{}")


def test_guarded_client_ignores_proxy_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    with guarded_client(NONE, 2) as client:
        assert client._mounts == {} and not client._trust_env  # type: ignore[attr-defined]
    assert isinstance(client, httpx.Client)


@pytest.fixture
def plain(tmp_path) -> MaraSettings:  # type: ignore[no-untyped-def]
    return MaraSettings(home=tmp_path, _env_file=None)  # type: ignore[call-arg]


def test_destination_forms_are_named_when_wrong(plain: MaraSettings) -> None:
    with pytest.raises(ScheduleInputError, match=r"Destination 'sms:\+4917' is not accepted.*slack:#channel"):
        new_schedule(plain, owner="key:a", cadence="every day", destinations=["sms:+4917"], metric="orders", scopes=EVERY_SCOPE)


def test_a_schedule_is_a_question_or_a_metric(plain: MaraSettings) -> None:
    with pytest.raises(ScheduleInputError, match="either a saved question or a metric check"):
        new_schedule(plain, owner="key:a", cadence="every day", destinations=["slack:#m"], metric="orders",
                     question="how many orders", scopes=EVERY_SCOPE)


def test_metric_checks_need_data_read(plain: MaraSettings) -> None:
    with pytest.raises(ScheduleInputError, match="needs the 'data:read' scope"):
        new_schedule(plain, owner="key:a", cadence="every day", destinations=["slack:#m"], metric="orders",
                     scopes=["chat"])


def test_bad_condition_is_refused(plain: MaraSettings) -> None:
    with pytest.raises(ScheduleInputError, match="Threshold op 'over' is not accepted"):
        new_schedule(plain, owner="key:a", cadence="every day", destinations=["slack:#m"], metric="orders",
                     condition={"kind": "threshold", "op": "over", "value": 3}, scopes=EVERY_SCOPE)


def test_anomaly_alert_can_be_scheduled(plain: MaraSettings) -> None:
    made = new_schedule(plain, owner="key:a", cadence="every day at 8:00", destinations=["slack:#m"], metric="orders",
                        condition={"kind": "anomaly"}, scopes=EVERY_SCOPE)
    assert made.condition == {"kind": "anomaly"}


def test_anomaly_condition_flags_a_drop_against_the_same_weekdays() -> None:
    from tools.alerts import Anomaly, Observation

    history = [100.0 + (20 if i % 7 in (5, 6) else 0) + (i % 3) for i in range(56)]
    seen = Observation(metric="orders", grain="day", start=dt.date(2026, 12, 6), end=dt.date(2026, 12, 7),
                       value=30.0, previous=history[-1], history=history)
    verdict = Anomaly().evaluate(seen)
    assert verdict.fired and verdict.reason.startswith("30 vs 101 expected (median of the recent same weekdays")


def test_usual_day_is_not_an_anomaly() -> None:
    from tools.alerts import Anomaly, Observation

    history = [100.0 + (20 if i % 7 in (5, 6) else 0) + (i % 3) for i in range(56)]
    seen = Observation(metric="orders", grain="day", start=dt.date(2026, 12, 6), end=dt.date(2026, 12, 7),
                       value=101.0, previous=history[-1], history=history)
    assert not Anomaly().evaluate(seen).fired
