"""Slack settings, read from the environment (``SLACK_*`` and ``MARA_SLACK_*``)."""

from __future__ import annotations

import os
from collections.abc import Mapping

from pydantic import BaseModel, Field, SecretStr, field_validator

from assistant.keys import SCOPES

DEFAULT_API_URL = "https://slack.com/api/"


class SlackSettings(BaseModel):
    """What the Slack adapter needs. Built by :meth:`from_env` (HTTP Events API) or
    :meth:`socket_mode_from_env`; tests construct it directly."""

    bot_token: SecretStr = Field(description="SLACK_BOT_TOKEN (xoxb-…): calls the Web API.")
    signing_secret: SecretStr | None = Field(
        default=None, description="SLACK_SIGNING_SECRET: verifies HTTP requests (required there)."
    )
    app_token: SecretStr | None = Field(
        default=None, description="SLACK_APP_TOKEN (xapp-…): Socket Mode connections."
    )
    api_url: str = Field(
        default=DEFAULT_API_URL,
        description="MARA_SLACK_API_URL: Web API base URL (tests, proxies).",
    )
    rate_limit_per_minute: float = Field(
        default=10.0, gt=0, description="MARA_SLACK_RATE_LIMIT: questions per user per minute."
    )
    rate_limit_burst: int = Field(default=5, ge=1, description="Questions a user may send at once.")
    max_message_chars: int = Field(
        default=4000,
        ge=1,
        description="MARA_SLACK_MAX_MESSAGE_CHARS: longer questions are refused.",
    )
    scopes: tuple[str, ...] = Field(
        default=("chat", "copy", "data:read"),
        description="MARA_SLACK_SCOPES (comma-separated): what Slack users may do; tools outside are not offered.",
    )
    workers: int = Field(
        default=4, ge=1, description="MARA_SLACK_WORKERS: turns answered in parallel."
    )

    @field_validator("scopes")
    @classmethod
    def _known_scopes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [s for s in value if s not in SCOPES]
        if unknown:
            raise ValueError(f"unknown scope(s) {', '.join(unknown)}; accepted: {', '.join(SCOPES)}")
        return value

    @field_validator("api_url")
    @classmethod
    def _trailing_slash(cls, value: str) -> str:
        """slack_sdk joins method names onto the base URL, which must end with ``/``."""
        return value if value.endswith("/") else value + "/"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> SlackSettings | None:
        """Settings from the environment, or ``None`` when Slack is not configured.

        Slack is configured when both ``SLACK_SIGNING_SECRET`` and ``SLACK_BOT_TOKEN`` are set.
        """
        env = os.environ if env is None else env
        if not env.get("SLACK_SIGNING_SECRET") or not env.get("SLACK_BOT_TOKEN"):
            return None
        return cls._from(env)

    @classmethod
    def socket_mode_from_env(cls, env: Mapping[str, str] | None = None) -> SlackSettings | None:
        """Settings for Socket Mode: ``SLACK_APP_TOKEN`` and ``SLACK_BOT_TOKEN`` set, or ``None``."""
        env = os.environ if env is None else env
        if not env.get("SLACK_APP_TOKEN") or not env.get("SLACK_BOT_TOKEN"):
            return None
        return cls._from(env)

    @classmethod
    def _from(cls, env: Mapping[str, str]) -> SlackSettings:
        optional = {
            "signing_secret": env.get("SLACK_SIGNING_SECRET"),
            "app_token": env.get("SLACK_APP_TOKEN"),
            "api_url": env.get("MARA_SLACK_API_URL"),
            "rate_limit_per_minute": env.get("MARA_SLACK_RATE_LIMIT"),
            "max_message_chars": env.get("MARA_SLACK_MAX_MESSAGE_CHARS"),
            "workers": env.get("MARA_SLACK_WORKERS"),
            "scopes": tuple(x.strip() for x in env["MARA_SLACK_SCOPES"].split(",") if x.strip())
            if env.get("MARA_SLACK_SCOPES") else None,
        }
        return cls.model_validate(
            {"bot_token": env["SLACK_BOT_TOKEN"], **{k: v for k, v in optional.items() if v}}
        )
