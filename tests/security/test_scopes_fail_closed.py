"""A caller that forgets to say whose power it runs with gets none, not an admin's.

Schedules and turns used to take ``scopes=None`` to mean "every scope", so a new front end, a
direct call or a schedule stored without scopes could e-mail any address and use every tool.
Every scope is now an explicit value (:data:`foundation.scopes.EVERY_SCOPE`) that admin keys,
the CLI and open mode pass; leaving scopes out means no scopes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.schedules import new_schedule
from assistant.schedules.destinations import PermanentFailure, send_email
from assistant.schedules.recipients import EmailRecipientRefused
from assistant.schedules.store import Schedule, ScheduleStore, schedules
from foundation.scopes import EVERY_SCOPE
from foundation.settings import MaraSettings
from tools.registry import tool_allowed


@pytest.fixture
def settings(tmp_path: Path) -> MaraSettings:
    # port 9 (discard) on loopback: nothing listens, so a send that got past the rule fails differently
    return MaraSettings(home=tmp_path, mode="offline", email_allow="example.com", smtp_host="127.0.0.1",
                        smtp_port=9, smtp_starttls=False, _env_file=None)  # type: ignore[call-arg]


def make(settings: MaraSettings, to: str, **scopes: object) -> object:
    return new_schedule(settings, owner="key:ana", cadence="every Monday at 9:00", destinations=[to],
                        question="revenue by country last week", **scopes)  # type: ignore[arg-type]


def test_a_schedule_made_without_scopes_may_not_e_mail_a_named_address(settings) -> None:
    with pytest.raises(EmailRecipientRefused):
        make(settings, "email:spy@evil.example")


def test_a_schedule_made_with_scopes_none_may_not_either(settings) -> None:
    with pytest.raises(EmailRecipientRefused):
        make(settings, "email:spy@evil.example", scopes=None)


def test_every_scope_is_passed_explicitly_to_e_mail_anyone(settings) -> None:
    assert make(settings, "email:board@elsewhere.example", scopes=EVERY_SCOPE).scopes == ["admin"]  # type: ignore[attr-defined]


def test_the_sender_refuses_an_owner_whose_scopes_are_unknown(settings) -> None:
    with pytest.raises(PermanentFailure, match="MARA_EMAIL_ALLOW"):
        send_email(settings, "email:spy@evil.example", {"headline": "Revenue"}, None, owner_scopes=None)  # type: ignore[arg-type]


def test_a_turn_that_names_no_scopes_is_offered_no_scoped_tool() -> None:
    assert (tool_allowed("query_data", None), tool_allowed("schedule_briefing", None)) == (False, False)  # type: ignore[arg-type]


# --- stored scopes -------------------------------------------------------------------------------


@pytest.fixture
def store(settings: MaraSettings) -> Iterator[ScheduleStore]:
    opened = ScheduleStore(settings)
    yield opened
    opened.close()


def unscoped(**scopes: object) -> Schedule:
    return Schedule(id="sch_unscoped", owner="key:ana", name="n", kind="question", cron="0 9 * * mon", timezone="UTC",
                    cadence="every Monday at 9:00", destinations=["slack:#m"], webhook_secret="whsec_x",
                    question="revenue", **scopes)  # type: ignore[arg-type]


def test_a_schedule_built_without_scopes_is_stored_with_none(store) -> None:
    store.add(unscoped())
    assert store.get("sch_unscoped").scopes == []


def test_scopes_none_cannot_be_stored(store) -> None:
    with pytest.raises(TypeError, match="EVERY_SCOPE"):
        store.add(unscoped(scopes=None))


def test_a_row_from_before_scopes_were_always_stored_keeps_every_scope(store) -> None:
    """Older versions wrote NULL for admin keys, the CLI and open mode: those schedules keep working."""
    store.add(unscoped(scopes=["admin"]))
    with store.engine.begin() as con:
        con.execute(schedules.update().where(schedules.c.id == "sch_unscoped").values(scopes=None))
    assert store.get("sch_unscoped").scopes == ["admin"]
