"""A scheduled e-mail's subject is made of the schedule's name and the run's headline — text a
key holder (or the model's reply) chooses. Line breaks in it neither add headers nor stop the
message."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from email.header import decode_header, make_header
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message as MessageHandler

from assistant.schedules.destinations import send_email
from foundation.scopes import EVERY_SCOPE
from foundation.settings import MaraSettings


class Inbox(MessageHandler):
    def __init__(self) -> None:
        super().__init__()
        self.got: list[Message] = []
        self.recipients: list[list[str]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
        self.recipients.append(list(envelope.rcpt_tos))
        return await super().handle_DATA(server, session, envelope)

    def handle_message(self, message: Message) -> None:
        self.got.append(message)


@pytest.fixture
def inbox(tmp_path: Path) -> Iterator[tuple[Inbox, MaraSettings]]:
    handler = Inbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = Controller(handler, hostname="127.0.0.1", port=port)
    server.start()
    try:
        yield handler, MaraSettings(home=tmp_path, smtp_host="127.0.0.1", smtp_port=port, smtp_starttls=False,
                                    _env_file=None)  # type: ignore[call-arg]
    finally:
        server.stop()


HOSTILE = {"title": "Weekly\r\nBcc: spy@evil.example", "subject": "Revenue up\nX-Injected: 1", "headline": "h"}


def test_a_name_with_line_breaks_adds_no_recipient(inbox) -> None:
    handler, settings = inbox
    send_email(settings, "email:ana@example.com", HOSTILE, None, owner_scopes=EVERY_SCOPE)
    assert handler.recipients == [["ana@example.com"]]


def test_line_breaks_in_the_subject_add_no_header(inbox) -> None:
    handler, settings = inbox
    send_email(settings, "email:ana@example.com", HOSTILE, None, owner_scopes=EVERY_SCOPE)
    assert (handler.got[0]["Bcc"], handler.got[0]["X-Injected"]) == (None, None)


def test_the_subject_keeps_the_words_on_one_line(inbox) -> None:
    handler, settings = inbox
    send_email(settings, "email:ana@example.com", HOSTILE, None, owner_scopes=EVERY_SCOPE)
    unfolded = str(make_header(decode_header(handler.got[0]["Subject"].replace("\r\n ", " "))))
    assert unfolded == "Weekly Bcc: spy@evil.example — Revenue up X-Injected: 1"
