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

    # --- provider failures (retries, circuit breaker, offline fallback) ----------------------
    llm_backoff_base_s: float = Field(
        default=0.5, description="First retry waits up to this long; doubles per retry (full jitter)."
    )
    llm_backoff_max_s: float = Field(default=8.0, description="Longest wait between two retries.")
    llm_retry_after_max_s: float = Field(
        default=20.0, description="Longest Retry-After honoured; a longer one gives up (and falls back) at once."
    )
    circuit_failures: int = Field(
        default=5, description="Consecutive provider failures that open the circuit (MARA_CIRCUIT_FAILURES)."
    )
    circuit_open_s: float = Field(
        default=30.0, description="Seconds the open circuit skips the provider (MARA_CIRCUIT_OPEN_S)."
    )
    llm_fallback_offline: bool = Field(
        default=True, description="Answer with the offline planner, with a notice, when the provider is down."
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
    audit_url: str | None = Field(
        default=None, description="PostgreSQL URL for the audit trail (MARA_AUDIT_URL); default audit.sqlite in the workspace."
    )
    pii_masking: bool | None = Field(
        default=None, description="Mask customer PII sent to the model; default on in LLM mode."
    )
    pii_allow: list[str] = Field(
        default_factory=list, description="Column names (or 'email', 'phone') never masked."
    )

    # --- usage, cost and budgets ------------------------------------------------------------
    price_table: dict[str, dict[str, float]] = Field(
        default_factory=dict,
        description="USD per 1k tokens by model-name prefix, e.g. {\"gpt-4o\": {\"prompt\": 0.0025, "
        "\"completion\": 0.01}}; merged over prompts/copy_prices.yaml (MARA_PRICE_TABLE, JSON).",
    )
    budget_usd_per_day: float | None = Field(
        default=None, description="Default spend limit per actor (API key, Slack user, CLI user) per UTC day."
    )
    budgets_usd_per_day: dict[str, float] = Field(
        default_factory=dict, description="Per-actor daily limits overriding the default (JSON object)."
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
    embedding_precision: Literal["int8", "float32"] = Field(
        default="int8",
        description="How ingested passages are embedded with the bundled model: 'int8' (about "
        "2x faster, cosine ~0.99 to float32, same retrieval on the eval set) or 'float32' "
        "(exact). Queries are always float32.",
    )

    redis_url: str | None = Field(
        default=None,
        description="redis:// URL shared by API workers/pods: per-key rate limits, one turn at a "
        "time per conversation, Slack retries answered once. Unset: kept in each process.",
    )

    # --- server ---------------------------------------------------------------------
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "WARNING"
    log_format: Literal["text", "json"] = "text"

    # --- API access (api/auth.py) -------------------------------------------------------
    api_auth: Literal["auto", "required"] = Field(
        default="auto",
        description="'required': every /v1 request needs an API key. 'auto': open only while "
        "the workspace has no key and the request comes over loopback to a loopback host.",
    )
    rate_limit_per_minute: int = Field(
        default=120, ge=0, description="Requests per minute per API key (token bucket); 0 = off."
    )
    cors_origins: str = Field(
        default="", description="Comma-separated origins allowed by CORS ('*' for any); none by default."
    )
    max_body_bytes: int = Field(default=1_048_576, ge=1024, description="Largest JSON request body.")
    max_upload_bytes: int = Field(
        default=20_971_520, ge=1024, description="Largest knowledge-base upload request."
    )
    session_hours: float = Field(
        default=12.0, gt=0, description="Lifetime of a web-chat sign-in session cookie."
    )

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
