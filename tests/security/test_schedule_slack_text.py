"""A scheduled Slack post carries customer data (table cells) and the model's reply. Slack reads
``<!channel>``, ``<@U…>`` and ``<url|label>`` anywhere in a message, code blocks included, so a
hostile cell must arrive as text: no channel-wide ping, no disguised link."""

from __future__ import annotations

import json
from typing import Any

from assistant.schedules.destinations import send_slack, slack_blocks

CELL = "<!channel> <https://evil.example/login|Verify your account>"
MESSAGE = {"title": "Top products", "headline": "Backpacks led.", "text": "Then <!here>.",
           "table": {"columns": ["product", "orders"], "rows": [[CELL, 3]]}}


class Recorder:
    """The one Slack Web API call a channel post makes, recorded."""

    def __init__(self) -> None:
        self.posted: dict[str, Any] = {}

    def chat_postMessage(self, **kwargs: Any) -> dict[str, Any]:  # noqa: N802 (Slack's name)
        self.posted = kwargs
        return {"ok": True, "ts": "1.0", "channel": kwargs["channel"]}


def test_a_table_cell_cannot_ping_the_channel_or_hide_a_link() -> None:
    table_block = slack_blocks(MESSAGE)[-1]["text"]["text"]
    assert ("<!channel>" in table_block, "<https://" in table_block) == (False, False)


def test_the_cell_is_still_shown_as_text() -> None:
    assert "&lt;!channel&gt;" in slack_blocks(MESSAGE)[-1]["text"]["text"]


def test_the_notification_text_cannot_ping_either() -> None:
    slack = Recorder()
    send_slack(slack, "slack:C0MARKETING", MESSAGE, None)
    assert ("<!channel>" in slack.posted["text"], "<!here>" in slack.posted["text"]) == (False, False)


def test_no_block_of_the_post_carries_a_slack_control_sequence() -> None:
    slack = Recorder()
    send_slack(slack, "slack:C0MARKETING", MESSAGE, None)
    assert "<!" not in json.dumps(slack.posted["blocks"])
