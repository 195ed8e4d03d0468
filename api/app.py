"""The FastAPI application factory.

``create_app(settings)`` wires the routers (health, chat, conversations, artifacts, data,
query, knowledge, audiences, copy, the OpenAI-compatible ``/v1/chat/completions`` and
``/v1/models``, sign-in sessions, metrics, web chat), API keys and rate limits
(:mod:`api.auth`), request size limits (:mod:`api.limits`), CORS (``MARA_CORS_ORIGINS``),
request metrics (:mod:`api.metrics`), the error handlers and one
:class:`~api.runtime.Runtime` holding the app's assistant.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from api import auth, metrics, openai_compat
from api.errors import install_error_handlers
from api.limits import BodySizeLimit
from api.metrics import MetricsMiddleware
from api.routes import (
    artifacts,
    audiences,
    chat,
    conversations,
    copy,
    data,
    health,
    keys,
    knowledge,
    schedules,
    web,
    workspace,
)
from api.runtime import ChatAssistant, Runtime
from api.site_guard import SiteGuard
from api.slack import SlackSettings, mount_slack
from foundation.settings import MaraSettings, get_settings

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
        if runtime.settings.scheduler:  # scheduled briefings and alerts run in the server
            await run_in_threadpool(lambda: runtime.schedules.start())
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
    app.state.auth = auth.Auth(runtime.settings, runtime.shared)
    app.state.metrics = runtime.metrics
    install_error_handlers(app)
    for router in (
        health.router,
        auth.router,
        chat.router,
        conversations.router,
        artifacts.router,
        data.router,
        workspace.router,
        knowledge.router,
        audiences.router,
        copy.router,
        schedules.router,
        keys.router,
        openai_compat.router,
        metrics.router,
        web.router,
    ):
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=web.STATIC_DIR), name="static")
    slack_settings = SlackSettings.from_env()
    if slack_settings is not None:  # SLACK_SIGNING_SECRET and SLACK_BOT_TOKEN are set
        mount_slack(app, runtime, slack_settings)
    _add_middleware(app, runtime.settings)
    return app


def _add_middleware(app: FastAPI, settings: MaraSettings) -> None:
    """Innermost first: size limits, the Host/Origin guard, CORS (so errors carry its headers),
    then metrics."""
    app.add_middleware(
        BodySizeLimit,
        max_body=settings.max_body_bytes,
        max_upload=settings.max_upload_bytes,
        max_data_upload=settings.max_data_upload_bytes,
    )
    app.add_middleware(SiteGuard, cors_origins=settings.cors_origins)
    origins = [o.strip() for o in settings.cors_origins.split(",") if o.strip()]
    if origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_credentials="*" not in origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type", "X-API-Key", "X-Conversation-Id"],
            expose_headers=["X-Conversation-Id", "Retry-After"],
            max_age=600,
        )
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
