"""A local SMTP server for the e-mail delivery tests: keeps every message and its envelope."""

from __future__ import annotations

import socket
from email.message import Message
from types import TracebackType
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message as MessageHandler


class _Keep(MessageHandler):
    def __init__(self) -> None:
        super().__init__()
        self.got: list[Message] = []
        self.recipients: list[list[str]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
        self.recipients.append(list(envelope.rcpt_tos))
        return await super().handle_DATA(server, session, envelope)

    def handle_message(self, message: Message) -> None:
        self.got.append(message)


class SmtpInbox:
    """Listens on a free 127.0.0.1 port; ``settings_update`` points Mara's SMTP settings at it.
    ``got`` holds the messages received, ``recipients`` each message's envelope recipients (what a
    ``Bcc:`` smuggled into a header would add to)."""

    def __init__(self) -> None:
        self._handler = _Keep()
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port: int = probe.getsockname()[1]
        self._server = Controller(self._handler, hostname="127.0.0.1", port=self.port)

    @property
    def got(self) -> list[Message]:
        return self._handler.got

    @property
    def recipients(self) -> list[list[str]]:
        return self._handler.recipients

    @property
    def settings_update(self) -> dict[str, Any]:
        return {"smtp_host": "127.0.0.1", "smtp_port": self.port, "smtp_starttls": False}

    def __enter__(self) -> SmtpInbox:
        self._server.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self._server.stop()
