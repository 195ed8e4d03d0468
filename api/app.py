"""The FastAPI application factory.

``create_app(settings)`` wires the routers (health, chat, conversations, artifacts, the
OpenAI-compatible ``/v1/chat/completions`` and ``/v1/models``, web chat),
the error handlers and one :class:`~api.runtime.Runtime` holding the app's assistant.
Later front ends (Slack, auth) add routers and dependencies here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from api import openai_compat
from api.errors import install_error_handlers
from api.routes import artifacts, chat, conversations, health, web
from api.runtime import ChatAssistant, Runtime
from api.slack import SlackSettings, mount_slack
from assistant.settings import MaraSettings, get_settings

API_VERSION = "0.1.0"


def create_app(
    settings: MaraSettings | None = None, assistant: ChatAssistant | None = None
) -> FastAPI:
    """Build the Mara API.

    ``settings`` default to the process settings (``MARA_*`` env). ``assistant`` defaults to an
    :class:`assistant.agent.Assistant` built on first use and closed at shutdown; one passed in
    is used as is and left open for its owner to close.
    """
    runtime = Runtime(settings or get_settings(), assistant)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        slack = getattr(app.state, "slack", None)
        if slack is not None:
            slack.close()
        await run_in_threadpool(runtime.close)

    app = FastAPI(
        title="Mara API",
        version=API_VERSION,
        summary="Conversational marketing assistant: chat over customer data and brand knowledge.",
        lifespan=lifespan,
        docs_url=None,  # Swagger UI and ReDoc load their assets from a CDN; /openapi.json stays
        redoc_url=None,
    )
    app.state.runtime = runtime
    install_error_handlers(app)
    for router in (
        health.router,
        chat.router,
        conversations.router,
        artifacts.router,
        openai_compat.router,
        web.router,
    ):
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=web.STATIC_DIR), name="static")
    slack_settings = SlackSettings.from_env()
    if slack_settings is not None:  # SLACK_SIGNING_SECRET and SLACK_BOT_TOKEN are set
        mount_slack(app, runtime, slack_settings)
    return app
