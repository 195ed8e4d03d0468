"""The one chat-model factory: an OpenAI-compatible endpoint (LLM mode) or the offline planner."""

from __future__ import annotations

from typing import TYPE_CHECKING

from assistant.settings import MaraSettings

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from tools.context import ToolContext


def make_chat_model(settings: MaraSettings, ctx: ToolContext | None = None) -> BaseChatModel:
    """``ChatOpenAI`` when a key or base URL is configured (or ``MARA_MODE=llm``), else the offline planner."""
    if settings.resolved_mode == "llm":
        from langchain_openai import ChatOpenAI

        api_key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else "not-needed"
        return ChatOpenAI(
            model=settings.llm_model,
            api_key=api_key,  # type: ignore[arg-type]
            base_url=settings.llm_base_url,
            timeout=settings.llm_timeout_s,
            max_retries=settings.llm_max_retries,
            temperature=settings.llm_temperature,
            stream_usage=True,
        )
    from assistant.planner import OfflinePlanner

    return OfflinePlanner(context=ctx)
