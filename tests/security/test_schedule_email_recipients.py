"""A ``chat`` key (or a Slack user) must not be able to make the workspace's mail server write to
any address it names. E-mail goes to addresses on ``MARA_EMAIL_ALLOW`` only, unless the owner has
every scope (an admin key, the CLI): refused when the schedule is made (REST, chat) and again by
the sender at every delivery, so a schedule saved before the rule sends nothing either."""

from __future__ import annotations

import ast
import secrets
import socket
from collections.abc import Iterator
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message as MessageHandler
from fastapi.testclient import TestClient
from pydantic import ValidationError

from api.app import create_app
from assistant.schedules.recipients import allowed_by_list
from assistant.schedules.runner import Runner
from assistant.schedules.store import Schedule, ScheduleStore
from foundation.scopes import EVERY_SCOPE
from foundation.settings import MaraSettings
from tests.conftest import keyed_workspace
from tools.semantic_model import refresh_workspace_model

ROOT = Path(__file__).resolve().parents[2]


class Inbox(MessageHandler):
    """An SMTP server that keeps what it is given (the fake is at the wire)."""

    def __init__(self) -> None:
        super().__init__()
        self.recipients: list[str] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
        self.recipients += list(envelope.rcpt_tos)
        return await super().handle_DATA(server, session, envelope)

    def handle_message(self, message: Message) -> None:
        return None


@pytest.fixture(scope="module")
def inbox() -> Iterator[tuple[Inbox, int]]:
    handler = Inbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = Controller(handler, hostname="127.0.0.1", port=port)
    server.start()
    try:
        yield handler, port
    finally:
        server.stop()


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, inbox: tuple[Inbox, int]) -> Iterator[dict[str, Any]]:
    home, made = keyed_workspace(tmp_path_factory.mktemp("mail"), {
        "ana": ("ana", ["chat", "data:read"]), "root": ("root", ["admin"])})
    settings = MaraSettings(home=home, mode="offline", email_allow="example.com", smtp_host="127.0.0.1",
                            smtp_port=inbox[1], smtp_starttls=False, delivery_retries=0, schedule_poll_s=3600,
                            rate_limit_per_minute=600, _env_file=None)  # type: ignore[call-arg]
    refresh_workspace_model(settings)  # the metric the schedules check
    with TestClient(create_app(settings)) as client:
        yield {"client": client, "keys": made, "settings": settings}


def create(api: dict[str, Any], who: str, to: str) -> Any:
    return api["client"].post("/v1/schedules", headers={"Authorization": f"Bearer {api['keys'][who]}"}, json={
        "metric": "orders", "period": "month", "cadence": "every Monday at 9:00", "destinations": [to]})


# --- made through the API ------------------------------------------------------------------------


def test_a_chat_key_cannot_schedule_e_mail_to_an_address_it_names(api) -> None:
    assert create(api, "ana", "email:spy@evil.example").status_code == 403


def test_the_refusal_names_the_address_and_the_setting(api) -> None:
    error = create(api, "ana", "email:spy@evil.example").json()["error"]
    assert (error["type"], "spy@evil.example" in error["message"], "MARA_EMAIL_ALLOW" in error["message"]) == (
        "email_recipient_not_allowed", True, True)


def test_nothing_is_saved_when_refused(api) -> None:
    create(api, "ana", "email:saved@evil.example")
    listed = api["client"].get("/v1/schedules", headers={"Authorization": f"Bearer {api['keys']['root']}"})
    assert [s for s in listed.json()["schedules"] if "email:saved@evil.example" in s["destinations"]] == []


def test_a_chat_key_may_e_mail_an_allowed_domain(api) -> None:
    assert create(api, "ana", "email:ana@example.com").status_code == 201


def test_an_admin_key_may_e_mail_any_address(api) -> None:
    assert create(api, "root", "email:partner@elsewhere.example").status_code == 201


# --- at the sender: schedules saved before the rule ------------------------------------------------


def saved_before_the_rule(api: dict[str, Any], to: str, scopes: list[str]) -> Schedule:
    """A schedule as an older version stored it, without the creation check."""
    store = ScheduleStore(api["settings"])
    try:
        return store.add(Schedule(id="sch_" + secrets.token_hex(6), owner="key:ana", name="old", kind="metric",
                                  cron="0 9 * * mon", timezone="UTC", cadence="every Monday at 9:00",
                                  destinations=[to], webhook_secret="whsec_x", metric="orders", grain="month",
                                  scopes=scopes))
    finally:
        store.close()


def run_now(api: dict[str, Any], schedule: Schedule) -> Any:
    store = ScheduleStore(api["settings"])
    try:
        return Runner(api["settings"], store, sleep=lambda s: None).run_now(schedule.id, "key:root")
    finally:
        store.close()


def test_the_sender_refuses_a_saved_schedule_to_a_named_address(api, inbox) -> None:
    handler, _port = inbox
    run_now(api, saved_before_the_rule(api, "email:old@evil.example", ["chat", "data:read"]))
    assert "old@evil.example" not in handler.recipients


def test_the_refused_delivery_says_why(api) -> None:
    outcome = run_now(api, saved_before_the_rule(api, "email:why@evil.example", ["chat", "data:read"]))
    assert outcome.delivered == {"email:why@evil.example": "failed"} and "MARA_EMAIL_ALLOW" in (outcome.detail or "")


def test_the_sender_still_sends_to_an_allowed_address(api, inbox) -> None:
    handler, _port = inbox
    run_now(api, saved_before_the_rule(api, "email:team@example.com", ["chat", "data:read"]))
    assert "team@example.com" in handler.recipients


def test_the_sender_sends_anywhere_for_an_admin_owner(api, inbox) -> None:
    handler, _port = inbox
    run_now(api, saved_before_the_rule(api, "email:board@elsewhere.example", sorted(EVERY_SCOPE)))
    assert "board@elsewhere.example" in handler.recipients


# --- made in chat (a key or a Slack user asking in its own words) ------------------------------------


@pytest.mark.integration
@pytest.mark.parametrize("actor", ["key:ana", "slack:T1:U0123ABCD"])
def test_chat_cannot_schedule_e_mail_to_an_address_the_asker_names(api, actor: str) -> None:
    from assistant.agent import Assistant

    with Assistant(api["settings"]) as assistant:
        turn = assistant.run("every day at 7am send me the order count to spy@evil.example", f"c-{actor}",
                             actor=actor, scopes=frozenset({"chat", "copy", "data:read"}))
    store = ScheduleStore(api["settings"])
    try:
        saved = [s for s in store.list() if "email:spy@evil.example" in s.destinations]
    finally:
        store.close()
    assert (saved, "MARA_EMAIL_ALLOW" in turn.reply) == ([], True)


@pytest.mark.integration
def test_a_turn_run_without_scopes_cannot_schedule_e_mail(api) -> None:
    """A caller of ``Assistant.run`` that forgets ``scopes`` (a new front end) is not an admin."""
    from assistant.agent import Assistant

    with Assistant(api["settings"]) as assistant:
        assistant.run("every day at 7am send me the order count to forgot@evil.example", "c-forgot", actor="key:ana")
    store = ScheduleStore(api["settings"])
    try:
        saved = [s for s in store.list() if "email:forgot@evil.example" in s.destinations]
    finally:
        store.close()
    assert saved == []


def test_a_schedule_stored_without_scopes_e_mails_no_named_address(api, inbox) -> None:
    handler, _port = inbox
    store = ScheduleStore(api["settings"])
    try:
        made = store.add(Schedule(id="sch_" + secrets.token_hex(6), owner="key:ana", name="no scopes", kind="metric",
                                  cron="0 9 * * mon", timezone="UTC", cadence="every Monday at 9:00",
                                  destinations=["email:noscope@evil.example"], webhook_secret="whsec_x",
                                  metric="orders", grain="month"))
    finally:
        store.close()
    run_now(api, made)
    assert "noscope@evil.example" not in handler.recipients


# --- the rule itself ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("address", "allowed"), [
    ("ana@example.com", True),
    ("ANA@Example.COM", True),
    ("ana@mail.example.com", False),  # 'example.com' is that domain only
    ("ana@notexample.com", False),
    ("ana@example.com.evil.example", False),
    ("victim%evil.example@example.com", False),  # relays that still do the percent hack
    ("bob@sub.partner.example", True),
    ("bob@partner.example", False),  # '*.partner.example' is its subdomains
    ("carol@solo.example", True),
    ("dave@solo.example", False),
])
def test_the_allow_list(address: str, allowed: bool) -> None:
    assert allowed_by_list(address, ("example.com", "*.partner.example", "carol@solo.example")) is allowed


def test_a_bad_allow_list_entry_is_refused_at_start_naming_it(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="'example com'"):
        MaraSettings(home=tmp_path, email_allow="example.org, example com", _env_file=None)  # type: ignore[call-arg]


def test_only_the_sender_speaks_smtp() -> None:
    """Every path to e-mail goes through ``send_email``, where the rule is checked: no other module
    may open an SMTP connection of its own."""
    speakers = []
    for folder in ("api", "assistant", "tools", "knowledge", "foundation"):
        for path in (ROOT / folder).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
            names |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
            if names & {"smtplib", "aiosmtplib"}:
                speakers.append(str(path.relative_to(ROOT)))
    assert speakers == ["assistant/schedules/destinations.py"]
