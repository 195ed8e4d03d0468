"""Mara's settings: one pydantic-settings class, read from ``MARA_*`` env vars and ``.env``.

LLM settings also accept the conventional ``OPENAI_API_KEY`` / ``OPENAI_BASE_URL``
names so that any OpenAI-compatible endpoint works without Mara-specific setup.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ChatMode = Literal["offline", "llm"]


class MaraSettings(BaseSettings):
    """Every setting Mara reads. Construct with keyword arguments in tests."""

    model_config = SettingsConfigDict(
        env_prefix="MARA_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
    )

    home: Path = Field(default=Path(".mara"), description="Workspace folder (MARA_HOME).")

    # --- chat model -------------------------------------------------------------
    llm_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("MARA_LLM_API_KEY", "OPENAI_API_KEY")
    )
    llm_base_url: str | None = Field(
        default=None, validation_alias=AliasChoices("MARA_LLM_BASE_URL", "OPENAI_BASE_URL")
    )
    llm_model: str = Field(default="gpt-4o-mini", validation_alias=AliasChoices("MARA_LLM_MODEL"))
    llm_timeout_s: float = Field(default=60.0, validation_alias=AliasChoices("MARA_LLM_TIMEOUT_S"))
    llm_max_retries: int = Field(default=2, validation_alias=AliasChoices("MARA_LLM_MAX_RETRIES"))
    llm_temperature: float = Field(
        default=0.2, validation_alias=AliasChoices("MARA_LLM_TEMPERATURE")
    )
    mode: ChatMode | None = Field(
        default=None,
        description="Force 'offline' or 'llm'; by default LLM mode when a key or base URL is set.",
    )

    # --- agent loop ---------------------------------------------------------------
    max_steps: int = Field(default=12, description="Model calls allowed per turn.")
    tool_retry_budget: int = Field(
        default=2, description="Times one tool may ask the model to fix its arguments per turn."
    )
    tool_result_tokens: int = Field(
        default=1500, description="Token budget for one tool result sent to the model."
    )

    # --- trust ---------------------------------------------------------------------------
    pii_masking: bool | None = Field(
        default=None, description="Mask customer PII sent to the model; default on in LLM mode."
    )
    pii_allow: list[str] = Field(
        default_factory=list, description="Column names (or 'email', 'phone') never masked."
    )

    # --- data -----------------------------------------------------------------------
    warehouse_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default is the DuckDB file in MARA_HOME."
    )
    query_row_cap: int = Field(default=10_000, description="Rows a query may return.")
    query_timeout_s: float = Field(default=30.0, description="Seconds a query may run.")

    # --- conversations -------------------------------------------------------------
    checkpoint_url: str | None = Field(
        default=None, description="postgresql:// URL for the LangGraph Postgres checkpointer."
    )

    # --- knowledge ------------------------------------------------------------------
    chroma_host: str | None = None
    chroma_port: int = 8000
    embedding_model: str | None = Field(
        default=None, description="sentence-transformers model name or path; default is bundled."
    )

    # --- server ---------------------------------------------------------------------
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "WARNING"
    log_format: Literal["text", "json"] = "text"

    @field_validator("home", mode="after")
    @classmethod
    def _expand_home(cls, value: Path) -> Path:
        return value.expanduser()

    @property
    def resolved_mode(self) -> ChatMode:
        """Which brain answers: forced by ``MARA_MODE`` or LLM when a key/base URL is set."""
        if self.mode is not None:
            return self.mode
        return "llm" if (self.llm_api_key or self.llm_base_url) else "offline"

    # --- workspace paths --------------------------------------------------------------
    @property
    def duckdb_path(self) -> Path:
        return self.home / "warehouse.duckdb"

    @property
    def conversations_path(self) -> Path:
        return self.home / "conversations.sqlite"

    @property
    def chroma_path(self) -> Path:
        return self.home / "chroma"

    @property
    def artifacts_path(self) -> Path:
        return self.home / "artifacts"

    @property
    def usage_path(self) -> Path:
        return self.home / "usage.jsonl"


@lru_cache(maxsize=1)
def get_settings() -> MaraSettings:
    """The process-wide settings (tests construct ``MaraSettings`` directly instead).

    Raises :class:`~assistant.errors.SettingsError` naming the variable and what it accepts.
    """
    from pydantic import ValidationError

    from assistant.errors import SettingsError

    try:
        return MaraSettings()
    except ValidationError as err:
        problems = []
        for item in err.errors():
            field = str(item["loc"][0]) if item["loc"] else "?"
            problems.append(f"MARA_{field.upper()}={item.get('input')!r}: {item['msg']}")
        raise SettingsError("Invalid setting " + "; ".join(problems) + ".", hint="Fix it in the environment or .env.") from err
