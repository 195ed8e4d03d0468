"""Mara in Slack: a Bolt app over the HTTP Events API (``/slack/events``).

Importing this package does not import Slack Bolt; :func:`mount_slack` does, so the API runs
without the Slack packages when Slack is not configured. See ``manifest.yaml`` to install it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from api.slack.settings import SlackSettings

if TYPE_CHECKING:
    from fastapi import FastAPI

    from api.runtime import Runtime
    from api.slack.app import SlackBot

__all__ = ["SlackSettings", "mount_slack"]


def mount_slack(app: FastAPI, runtime: Runtime, settings: SlackSettings) -> SlackBot:
    """Mount the Slack events endpoint on ``app`` (imports Slack Bolt on first use)."""
    # lazy: slack_bolt loads slowly; only this path needs it
    from api.slack.app import mount_slack as mount

    return mount(app, runtime, settings)
