"""A caller that forgets to say whose power it runs with gets none, not an admin's.

Schedules and turns used to take ``scopes=None`` to mean "every scope", so a new front end, a
direct call or a schedule stored without scopes could e-mail any address and use every tool.
Every scope is now an explicit value (:data:`foundation.scopes.EVERY_SCOPE`) that admin keys,
the CLI and open mode pass; leaving scopes out means no scopes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.keys import KeyStore
from assistant.schedules import ScheduleInputError, new_schedule
from assistant.schedules.destinations import PermanentFailure, send_email
from assistant.schedules.owners import claim
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


# --- address tricks a chat key might try (refused as destinations or by the allow-list) ----------


@pytest.mark.parametrize("to", [
    "email:Evil <x@evil.example>",  # a display name
    "email:x@evil.example, ana@example.com",  # two recipients in one string
    "email:ana@example.com\r\nBcc: x@evil.example",  # a header through CR/LF
    'email:"x@evil.example"@example.com',  # a quoted local part
    "email:ana(x@evil.example)@example.com",  # a comment
    "email:x%evil.example@example.com",  # percent-hack relaying
    "email:evil.example!x@example.com",  # bang path
    "email:@example.com:x@evil.example",  # source route
    "email:ana@example.com.",  # a trailing dot (another name for the same domain, or a trick)
    "email:ana@exämple.com",  # IDN look-alike, unencoded
    "email:ana@xn--exmple-cua.com",  # the same look-alike as punycode: another domain
    "email:ana@example.com.evil.example",
    "email:ANA@EVIL.EXAMPLE",
])
def test_a_chat_key_cannot_reach_another_domain_by_spelling(settings, to: str) -> None:
    with pytest.raises(ScheduleInputError):
        make(settings, to, scopes=["chat", "data:read"])


def test_an_allowed_address_in_capitals_is_still_allowed(settings) -> None:
    assert make(settings, "email:ANA@Example.COM", scopes=["chat"]).destinations == ["email:ANA@Example.COM"]  # type: ignore[attr-defined]


def test_a_claim_gives_a_revoked_chat_key_schedule_no_more_power(settings, store) -> None:
    """Claimed after its key was revoked, a chat key's schedule still runs with the chat key's scopes:
    an admin tidying up blocked schedules does not hand its question and webhook every scope."""
    keys = KeyStore.for_home(settings.home)
    keys.create("ana", ["chat"])
    keys.create("root", ["admin"])
    keys.revoke("ana")
    store.add(unscoped(scopes=["chat"]))
    assert claim(settings, store, "sch_unscoped", "key:root").scopes == ["chat"]
