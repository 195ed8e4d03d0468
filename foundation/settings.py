"""Mara's settings: one pydantic-settings class, read from ``MARA_*`` env vars and ``.env``.

LLM settings also accept the conventional ``OPENAI_API_KEY`` / ``OPENAI_BASE_URL``
names so that any OpenAI-compatible endpoint works without Mara-specific setup.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import IO, Any, Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from foundation.errors import SettingsError

ChatMode = Literal["offline", "llm"]


_EMAIL_DOMAIN = re.compile(r"^(\*\.)?([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_EMAIL_ADDRESS = re.compile(r"^[a-z0-9._+\-]+@([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


def email_allow_entries(text: str) -> tuple[str, ...]:
    """The entries of ``MARA_EMAIL_ALLOW``, lower-cased: ``example.com`` (that domain),
    ``*.example.com`` (its subdomains) or ``ana@example.com`` (one address). Anything else is
    refused with the entry named, so a typo cannot silently allow nothing (or too much)."""
    entries = []
    for raw in text.split(","):
        entry = raw.strip().lower().removeprefix("@")
        if not entry:
            continue
        if not (_EMAIL_DOMAIN.match(entry) or _EMAIL_ADDRESS.match(entry)):
            raise ValueError(f"MARA_EMAIL_ALLOW entry {raw.strip()!r} is not a domain ('example.com'), "
                             "a subdomain pattern ('*.example.com') or an address ('ana@example.com')")
        entries.append(entry)
    return tuple(entries)


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
        default=None, validation_alias=AliasChoices("MARA_LLM_API_KEY", "OPENAI_API_KEY"),
        description="API key of the OpenAI-compatible endpoint; setting it turns LLM mode on.",
    )
    llm_base_url: str | None = Field(
        default=None, validation_alias=AliasChoices("MARA_LLM_BASE_URL", "OPENAI_BASE_URL"),
        description="Base URL (…/v1) of any OpenAI-compatible endpoint; setting it turns LLM mode on.",
    )
    llm_model: str = Field(default="gpt-4o-mini", validation_alias=AliasChoices("MARA_LLM_MODEL"),
                           description="Chat model name at the endpoint.")
    llm_timeout_s: float = Field(default=60.0, validation_alias=AliasChoices("MARA_LLM_TIMEOUT_S"),
                                 description="Seconds one model request may take.")
    llm_max_retries: int = Field(default=2, validation_alias=AliasChoices("MARA_LLM_MAX_RETRIES"),
                                 description="Retries of a failed model request (429, 5xx, timeouts).")
    llm_temperature: float = Field(
        default=0.2, validation_alias=AliasChoices("MARA_LLM_TEMPERATURE"),
        description="Sampling temperature of the chat model.",
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
    link_hosts: str = Field(
        default="",
        description="Hosts the model's links may point to in LLM mode (comma-separated, "
        "'*.example.com' for subdomains); links elsewhere are shown as text. Default: none "
        "(relative links only).",
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
    chroma_host: str | None = Field(default=None, description="A Chroma server to use instead of the embedded store.")
    chroma_port: int = Field(default=8000, description="Port of the Chroma server.")
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
    host: str = Field(default="127.0.0.1", description="Address `mara serve` listens on.")
    port: int = Field(default=8000, description="Port `mara serve` listens on.")
    log_level: str = Field(default="WARNING", description="DEBUG, INFO, WARNING or ERROR.")
    log_format: Literal["text", "json"] = Field(default="text", description="'json': one JSON object per log line.")

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
    max_data_upload_bytes: int = Field(
        default=536_870_912,
        ge=1024,
        description="Largest data-file upload request (POST /v1/data/tables, the web chat's workspace panel).",
    )
    session_hours: float = Field(
        default=12.0, gt=0, description="Lifetime of a web-chat sign-in session cookie."
    )

    # --- resource caps (issue 14) -----------------------------------------------------------
    max_result_bytes: int = Field(
        default=32 * 1024 * 1024, ge=1024,
        description="Bytes of cell data one query result may hold (MARA_MAX_RESULT_BYTES); "
        "a larger result is cut and marked truncated (reason 'bytes').",
    )
    artifact_max_age_days: float = Field(
        default=30.0, ge=0, description="Result artifacts older than this are deleted (0 = keep)."
    )
    artifact_max_total_mb: float = Field(
        default=1024.0, ge=0,
        description="Total size of the artifacts folder; the oldest go first past it (0 = no cap).",
    )
    kb_max_decompressed_bytes: int = Field(
        default=50 * 1024 * 1024, ge=1024,
        description="Largest unpacked DOCX (sum of its zip members) or PDF text (MARA_KB_MAX_DECOMPRESSED_BYTES).",
    )
    kb_max_paragraphs: int = Field(
        default=20_000, ge=1, description="Paragraphs (or catalog rows) one document may have."
    )
    kb_max_chunks: int = Field(
        default=2_000, ge=1, description="Passages one document may be cut into (checked before embedding)."
    )
    kb_ingest_queue: int = Field(
        default=4, ge=1, description="Uploads waiting for the one ingestion worker; more get 503."
    )

    # --- scheduled briefings and alerts (assistant/schedules) ---------------------------------
    scheduler: bool = Field(
        default=True, description="Run due schedules inside `mara serve` (off: the API still manages them)."
    )
    schedule_workers: int = Field(default=8, ge=1, le=64, description="Scheduled runs one server runs at once.")
    schedule_poll_s: float = Field(
        default=10.0, gt=0, description="How often a server picks up schedule changes made elsewhere "
        "and resumes runs whose worker died."
    )
    schedule_lease_s: float = Field(
        default=60.0, ge=1, description="A run's lease; renewed while it runs, taken over this long after its worker died."
    )
    schedule_late_s: float = Field(
        default=120.0, ge=0, description="A run that starts this much after its time says it is late (missed while down)."
    )
    schedule_run_max_age_days: float = Field(
        default=30.0, ge=0, description="Scheduled runs finished longer ago than this are deleted from the "
        "schedule store, with their delivery records (0 = keep; otherwise at least 1). A run's message body is deleted as soon as it finishes."
    )
    delivery_retries: int = Field(
        default=3, ge=0, le=10, description="Retries of a failed delivery (5xx, timeouts) before the owner is told."
    )
    delivery_backoff_s: float = Field(
        default=2.0, ge=0, description="First retry waits this long, doubling each time (with jitter)."
    )
    delivery_timeout_s: float = Field(default=10.0, gt=0, description="Seconds one webhook or SMTP call may take.")
    webhook_allow: str = Field(
        default="",
        description="Admin allow-list for webhook hosts otherwise refused (comma-separated names, "
        "'*.corp.example', IPs or CIDRs): lets them use http and private addresses. Default: none.",
    )
    schedule_personal_data_to: list[str] = Field(
        default_factory=list,
        description="Destination kinds ('slack', 'email', 'webhook') that may receive personal "
        "columns (names, e-mails...) from scheduled runs; others get them removed. Default: none.",
    )
    email_allow: str = Field(
        default="",
        description="Admin allow-list of e-mail recipients for schedules made by non-admin keys and Slack users "
        "(comma-separated domains 'example.com', subdomains '*.example.com' or addresses 'ana@partner.example'). "
        "Admin keys and the CLI may e-mail any address. Default: none (only admins set up e-mail).",
    )
    smtp_host: str | None = Field(default=None, description="SMTP server for e-mailed briefings (unset: no e-mail).")
    smtp_port: int = Field(default=587, description="SMTP port.")
    smtp_user: str | None = Field(default=None, description="SMTP user name (login only when set).")
    smtp_password: SecretStr | None = Field(default=None, description="SMTP password.")
    smtp_from: str = Field(default="mara@localhost", description="From address of e-mailed briefings.")
    smtp_starttls: bool = Field(default=True, description="Upgrade the SMTP connection with STARTTLS.")

    @field_validator("schedule_run_max_age_days", mode="after")
    @classmethod
    def _whole_days_of_runs(cls, value: float) -> float:
        """A finished run's key is what stops a second server sending it again: keep it at least a day."""
        if 0 < value < 1:
            raise ValueError(f"{value} days is too short: use 0 (keep every run) or at least 1 day, so a server that "
                             "fires late cannot send a run again after its record was deleted")
        return value

    @field_validator("email_allow", mode="after")
    @classmethod
    def _email_allow_entries(cls, value: str) -> str:
        email_allow_entries(value)  # a typo is refused at start, not found out when a briefing is refused
        return value

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


# --- private workspace files ------------------------------------------------------------------
# Everything Mara writes into the workspace (warehouse, keys, conversations, audit, models,
# artifacts, exports...) can hold customer PII or secrets, so it is created owner-only
# whatever the umask: folders 0700, files 0600.

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


def private_dir(path: Path | str) -> Path:
    """Create ``path`` and its missing parents as owner-only (0700) folders; return it.

    Folders that already exist keep their mode (:func:`permission_warnings` reports loose ones).
    """
    path = Path(path)
    missing: list[Path] = []
    probe = path
    while not probe.exists() and probe != probe.parent:
        missing.append(probe)
        probe = probe.parent
    path.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
    for created in missing:
        with contextlib.suppress(OSError):
            os.chmod(created, PRIVATE_DIR_MODE)
    return path


def make_private(path: Path | str) -> Path:
    """Set an existing file (0600) or folder (0700) owner-only, e.g. one a library created."""
    path = Path(path)
    with contextlib.suppress(OSError):
        os.chmod(path, PRIVATE_DIR_MODE if path.is_dir() else PRIVATE_FILE_MODE)
    return path


def touch_private(path: Path | str) -> Path:
    """Create ``path`` empty with mode 0600 unless it exists (SQLite then gives its journal
    the same mode); its folder is created private too."""
    path = Path(path)
    private_dir(path.parent)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE))
        make_private(path)
    return path


@contextlib.contextmanager
def open_private(path: Path | str, mode: str = "w", **kwargs: Any) -> Iterator[IO[Any]]:
    """``open(path, mode)`` for writing, with the file created (or reset to) 0600."""
    path = Path(path)
    flags = os.O_WRONLY | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
    flags |= os.O_APPEND if "a" in mode else os.O_TRUNC
    fd = os.open(path, flags, PRIVATE_FILE_MODE)
    with contextlib.suppress(OSError):
        os.fchmod(fd, PRIVATE_FILE_MODE)
    with os.fdopen(fd, mode, **kwargs) as handle:
        yield handle


def write_private(path: Path | str, data: str | bytes, encoding: str = "utf-8") -> Path:
    """Write ``data`` to ``path`` (created 0600), like ``Path.write_text``/``write_bytes``."""
    if isinstance(data, bytes):
        with open_private(path, "wb") as handle:
            handle.write(data)
    else:
        with open_private(path, "w", encoding=encoding) as handle:
            handle.write(data)
    return Path(path)


_SENSITIVE = (
    "warehouse.duckdb", "keys.sqlite", "conversations.sqlite", "audit.sqlite", "usage.jsonl",
    "semantic.yaml", "brand.yaml", "openai_conversations.sqlite", "chroma", "models",
    "artifacts", "audiences", "exports", "schedules.sqlite",
)


def permission_warnings(home: Path | str) -> list[str]:
    """One line per workspace path that group or other users may read or enter, with the
    ``chmod`` that fixes it (empty when the workspace is private or does not exist yet)."""
    home = Path(home)
    if os.name != "posix" or not home.is_dir():
        return []
    paths = [home, *(home / name for name in _SENSITIVE)]
    warnings = []
    for path in paths:
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
        except OSError:
            continue
        if mode & 0o077:
            private = PRIVATE_DIR_MODE if path.is_dir() else PRIVATE_FILE_MODE
            what = "folder" if path.is_dir() else "file"
            warnings.append(
                f"Workspace {what} {path} is open to other users (mode {mode:04o}); "
                f"fix it with: chmod {private:o} {path}"
            )
    return warnings


@lru_cache(maxsize=1)
def get_settings() -> MaraSettings:
    """The process-wide settings (tests construct ``MaraSettings`` directly instead).

    Raises :class:`~foundation.errors.SettingsError` naming the variable and what it accepts.
    """
    try:
        return MaraSettings()
    except ValidationError as err:
        problems = []
        for item in err.errors():
            field = str(item["loc"][0]) if item["loc"] else "?"
            problems.append(f"MARA_{field.upper()}={item.get('input')!r}: {item['msg']}")
        raise SettingsError("Invalid setting " + "; ".join(problems) + ".", hint="Fix it in the environment or .env.") from err
