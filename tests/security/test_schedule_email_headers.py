"""A scheduled e-mail's subject is made of the schedule's name and the run's headline — text a
key holder (or the model's reply) chooses. Line breaks in it neither add headers nor stop the
message."""

from __future__ import annotations

from email.header import decode_header, make_header
from pathlib import Path

import pytest

from assistant.schedules.destinations import send_email
from foundation.scopes import EVERY_SCOPE
from foundation.settings import MaraSettings
from tests.smtp_inbox import SmtpInbox


@pytest.fixture
def settings(smtp_inbox: SmtpInbox, tmp_path: Path) -> MaraSettings:
    return MaraSettings(home=tmp_path, **smtp_inbox.settings_update, _env_file=None)  # type: ignore[call-arg]


HOSTILE = {"title": "Weekly\r\nBcc: spy@evil.example", "subject": "Revenue up\nX-Injected: 1", "headline": "h"}


def test_a_name_with_line_breaks_adds_no_recipient(smtp_inbox, settings) -> None:
    send_email(settings, "email:ana@example.com", HOSTILE, None, owner_scopes=EVERY_SCOPE)
    assert smtp_inbox.recipients == [["ana@example.com"]]


def test_line_breaks_in_the_subject_add_no_header(smtp_inbox, settings) -> None:
    send_email(settings, "email:ana@example.com", HOSTILE, None, owner_scopes=EVERY_SCOPE)
    assert (smtp_inbox.got[0]["Bcc"], smtp_inbox.got[0]["X-Injected"]) == (None, None)


def test_the_subject_keeps_the_words_on_one_line(smtp_inbox, settings) -> None:
    send_email(settings, "email:ana@example.com", HOSTILE, None, owner_scopes=EVERY_SCOPE)
    unfolded = str(make_header(decode_header(smtp_inbox.got[0]["Subject"].replace("\r\n ", " "))))
    assert unfolded == "Weekly Bcc: spy@evil.example — Revenue up X-Injected: 1"
