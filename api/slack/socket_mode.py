"""Socket Mode: Mara in Slack without a public URL (for ``mara slack``).

The same :class:`~api.slack.app.SlackBot` (guards, rendering, threads) receives events over a
WebSocket the app opens itself with an app-level token (``SLACK_APP_TOKEN``, ``xapp-…``,
scope ``connections:write``), so no signing secret or inbound HTTPS is needed.
"""

from __future__ import annotations

import logging

from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk import WebClient

from api.runtime import Runtime
from api.slack.app import SlackBot
from api.slack.settings import SlackSettings
from foundation.settings import MaraSettings

log = logging.getLogger("mara.slack")


class SocketModeBot:
    """A :class:`SlackBot` fed by a Socket Mode connection."""

    def __init__(self, runtime: Runtime, settings: SlackSettings) -> None:
        if settings.app_token is None or not settings.app_token.get_secret_value():
            raise ValueError("Socket Mode needs SLACK_APP_TOKEN (an app-level xapp-… token).")
        self.bot = SlackBot(settings, runtime)
        self.handler = SocketModeHandler(
            self.bot.bolt,
            settings.app_token.get_secret_value(),
            web_client=WebClient(base_url=settings.api_url),  # apps.connections.open
            logger=log,
        )

    def connect(self) -> None:
        """Open the connection and return; events are handled on background threads."""
        self.handler.connect()

    def serve_forever(self) -> None:
        """Connect and block until the process is interrupted."""
        self.handler.start()

    def close(self) -> None:
        """Close the connection and the bot's worker pools."""
        self.handler.close()
        self.bot.close()


def run_socket_mode(settings: MaraSettings, slack: SlackSettings) -> None:
    """Serve Slack over Socket Mode until interrupted (what ``mara slack`` runs)."""
    runtime = Runtime(settings)
    bot = SocketModeBot(runtime, slack)
    try:
        bot.serve_forever()
    finally:
        bot.close()
        runtime.close()
