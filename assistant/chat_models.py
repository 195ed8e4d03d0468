"""The one chat-model factory: an OpenAI-compatible endpoint (LLM mode) or the offline planner.

LLM mode gets a :class:`ResilientChatOpenAI`: ``ChatOpenAI`` with Mara's own failure handling
instead of the SDK's silent retries —

- a timeout per request (``MARA_LLM_TIMEOUT_S``);
- retries of 429, 408/409, 5xx, timeouts, connection errors and streams that break before
  their first chunk, with exponential backoff and full jitter (``MARA_LLM_MAX_RETRIES``,
  ``MARA_LLM_BACKOFF_BASE_S``, ``MARA_LLM_BACKOFF_MAX_S``), honouring ``Retry-After`` up to
  ``MARA_LLM_RETRY_AFTER_MAX_S``;
- a circuit breaker per endpoint shared by the process: ``MARA_CIRCUIT_FAILURES`` consecutive
  failed requests open it for ``MARA_CIRCUIT_OPEN_S`` seconds, during which calls fail at once
  with :class:`~foundation.errors.ProviderUnavailable` (the agent then answers offline);
- tool-call arguments checked as strict JSON when streamed: a broken argument string is
  reported in ``additional_kwargs["mara_invalid_tool_args"]`` rather than silently parsed
  into ``{}`` or a partial object, so the agent can send the model a corrective message.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from langchain_core.outputs import ChatGenerationChunk, ChatResult
from pydantic import PrivateAttr

from foundation.errors import ModelProviderError, ProviderUnavailable, StreamInterrupted
from foundation.settings import MaraSettings

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from tools.context import ToolContext

log = logging.getLogger("mara.llm")

#: HTTP statuses worth retrying: timeouts, conflicts, rate limits and server errors.
RETRY_STATUSES = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
#: Statuses that say something about one request, not about the endpoint's health.
REQUEST_STATUSES = frozenset({400, 413, 422})


# --- circuit breaker --------------------------------------------------------------------------


class CircuitBreaker:
    """Closed → (``failures`` consecutive failures) → open for ``open_s`` → half-open → one trial.

    In the half-open state one request may go through: success closes the circuit, failure
    opens it again for another ``open_s``. Thread-safe; ``clock`` is injectable for tests.
    """

    def __init__(self, failures: int = 5, open_s: float = 30.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.threshold = max(1, int(failures))
        self.open_s = float(open_s)
        self.clock = clock
        self.consecutive = 0
        self.opened_at: float | None = None
        self._trial = False
        self._lock = threading.Lock()

    @property
    def state(self) -> str:
        with self._lock:
            return self._state()

    def _state(self) -> str:
        if self.opened_at is None:
            return "closed"
        return "open" if self.clock() - self.opened_at < self.open_s else "half-open"

    def retry_in(self) -> float:
        """Seconds until the open circuit lets a trial request through (0 when not open)."""
        with self._lock:
            if self.opened_at is None:
                return 0.0
            return max(0.0, self.open_s - (self.clock() - self.opened_at))

    def allow(self) -> bool:
        """Whether a request may go to the endpoint now."""
        with self._lock:
            state = self._state()
            if state == "closed":
                return True
            if state == "half-open" and not self._trial:
                self._trial = True
                return True
            return False

    def record_success(self) -> None:
        with self._lock:
            self.consecutive = 0
            self.opened_at = None
            self._trial = False

    def record_failure(self) -> None:
        with self._lock:
            self.consecutive += 1
            if self._trial or self.consecutive >= self.threshold:
                if self.opened_at is None or self._trial:
                    log.warning("LLM circuit opened after %d consecutive failures", self.consecutive)
                self.opened_at = self.clock()
            self._trial = False


_BREAKERS: dict[tuple[str, str], CircuitBreaker] = {}
_BREAKERS_LOCK = threading.Lock()


def breaker_for(settings: MaraSettings) -> CircuitBreaker:
    """The process-wide breaker of the endpoint ``settings`` point at (base URL + model)."""
    key = (settings.llm_base_url or "default", settings.llm_model)
    with _BREAKERS_LOCK:
        found = _BREAKERS.get(key)
        if found is None or (found.threshold, found.open_s) != (max(1, settings.circuit_failures), settings.circuit_open_s):
            found = _BREAKERS[key] = CircuitBreaker(settings.circuit_failures, settings.circuit_open_s)
        return found


def reset_breakers() -> None:
    """Forget every endpoint's failures (tests, benchmarks)."""
    with _BREAKERS_LOCK:
        _BREAKERS.clear()


# --- retry policy ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how long to wait: exponential backoff with full jitter, Retry-After honoured."""

    max_retries: int = 2
    base_s: float = 0.5
    max_s: float = 8.0
    retry_after_max_s: float = 20.0

    @classmethod
    def from_settings(cls, settings: MaraSettings) -> RetryPolicy:
        return cls(
            max(0, settings.llm_max_retries), max(0.0, settings.llm_backoff_base_s),
            max(0.0, settings.llm_backoff_max_s), max(0.0, settings.llm_retry_after_max_s),
        )

    def delay(self, retry: int, retry_after: float | None = None, rng: Callable[[], float] = random.random) -> float | None:
        """Seconds to wait before retry number ``retry`` (0-based); ``None``: do not retry."""
        if retry >= self.max_retries:
            return None
        backoff = rng() * min(self.max_s, self.base_s * (2**retry))
        if retry_after is not None:
            if retry_after > self.retry_after_max_s:
                return None  # the endpoint asks for longer than a chat turn can wait
            return retry_after + backoff * 0.1
        return backoff


@dataclass(frozen=True, slots=True)
class Failure:
    """What a provider exception means for retrying and for the circuit."""

    retryable: bool
    counts: bool  # towards opening the circuit
    retry_after: float | None = None
    name: str = ""


def classify(err: BaseException) -> Failure | None:
    """``None`` when ``err`` is not a provider failure (a bug, a tool error...)."""
    name = type(err).__name__
    if isinstance(err, ProviderUnavailable):
        return Failure(False, False, None, name)
    if isinstance(err, StreamInterrupted):
        return Failure(True, True, None, name)
    if isinstance(err, ModelProviderError):
        return Failure(False, True, None, name)
    modules = {c.__module__.split(".")[0] for c in type(err).__mro__}
    if not modules & {"openai", "httpx", "httpcore", "langchain_openai"}:
        if isinstance(err, ValueError) and any(s in str(err) for s in ("choices", "Expecting value", "No generations found", "JSON")):
            return Failure(False, True, None, "InvalidResponse")
        return None
    status = getattr(err, "status_code", None)
    if isinstance(status, int):
        return Failure(status in RETRY_STATUSES, status not in REQUEST_STATUSES, _retry_after(err), name)
    if name in ("APIResponseValidationError",):
        return Failure(False, True, None, name)
    # timeouts, refused/dropped connections, broken streams (openai.APIConnectionError, httpx.TransportError)
    return Failure(True, True, None, name)


def _retry_after(err: BaseException) -> float | None:
    response = getattr(err, "response", None)
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    try:
        if headers.get("retry-after-ms"):
            return float(headers["retry-after-ms"]) / 1000
        value = headers.get("retry-after")
        if value:
            return max(0.0, float(value))
    except (TypeError, ValueError):
        return None  # an HTTP date: fall back to our own backoff
    return None


# --- the resilient model --------------------------------------------------------------------------


def _resilient_class() -> type:
    # lazy: langchain_openai, openai, langchain_core load slowly; only this path needs them
    from langchain_core.messages import AIMessageChunk
    from langchain_openai import ChatOpenAI

    class ResilientChatOpenAI(ChatOpenAI):
        """``ChatOpenAI`` with Mara's retries, circuit breaker and strict tool-argument check."""

        _policy: RetryPolicy = PrivateAttr(default_factory=RetryPolicy)
        _breaker: CircuitBreaker | None = PrivateAttr(default=None)
        _sleep: Callable[[float], None] = PrivateAttr(default=time.sleep)

        def configure(self, policy: RetryPolicy, breaker: CircuitBreaker | None,
                      sleep: Callable[[float], None] = time.sleep) -> ResilientChatOpenAI:
            self._policy, self._breaker, self._sleep = policy, breaker, sleep
            return self

        def _admit(self) -> None:
            if self._breaker is not None and not self._breaker.allow():
                raise ProviderUnavailable(
                    f"The LLM endpoint failed {self._breaker.consecutive} times in a row; "
                    f"it is skipped for another {self._breaker.retry_in():.0f} s.",
                    hint="Check the endpoint (MARA_LLM_BASE_URL) or wait; MARA_CIRCUIT_OPEN_S sets the pause.",
                )

        def _failed(self, err: BaseException, retry: int) -> float:
            """Record ``err``; the seconds to wait before retrying, or re-raise it."""
            failure = classify(err)
            if failure is None:
                raise err
            if failure.counts and self._breaker is not None:
                self._breaker.record_failure()
            wait = self._policy.delay(retry, failure.retry_after) if failure.retryable else None
            if wait is None:
                raise err
            log.warning("LLM request failed (%s); retry %d in %.2f s", failure.name, retry + 1, wait)
            return wait

        def _succeeded(self) -> None:
            if self._breaker is not None:
                self._breaker.record_success()

        def _generate(self, messages: list[Any], stop: list[str] | None = None, run_manager: Any = None,
                      **kwargs: Any) -> ChatResult:
            retry = 0
            while True:
                self._admit()
                try:
                    result = super()._generate(messages, stop=stop, run_manager=run_manager, **kwargs)
                except Exception as err:  # noqa: BLE001 - classified in _failed
                    self._sleep(self._failed(err, retry))
                    retry += 1
                    continue
                self._succeeded()
                return result

        def _stream(self, messages: list[Any], stop: list[str] | None = None, run_manager: Any = None,
                    **kwargs: Any) -> Iterator[ChatGenerationChunk]:
            retry = 0
            while True:
                self._admit()
                started = False
                arguments: dict[int, dict[str, Any]] = {}
                try:
                    for chunk in super()._stream(messages, stop=stop, run_manager=run_manager, **kwargs):
                        started = True
                        _collect_arguments(chunk.message, arguments)
                        yield chunk
                except Exception as err:  # noqa: BLE001 - classified below
                    if not started:
                        self._sleep(self._failed(err, retry))
                        retry += 1
                        continue
                    failure = classify(err)
                    if failure is None:
                        raise
                    if failure.counts and self._breaker is not None:
                        self._breaker.record_failure()
                    raise StreamInterrupted(
                        f"The LLM endpoint dropped its answer part-way ({type(err).__name__}).",
                        hint="Usually transient; if it persists check the endpoint or raise MARA_LLM_TIMEOUT_S.",
                    ) from err
                if not started:
                    if self._breaker is not None:
                        self._breaker.record_failure()
                    raise ModelProviderError(
                        "The LLM endpoint answered with something that is not a chat completion.",
                        hint="Check that MARA_LLM_BASE_URL points at an OpenAI-compatible /v1 endpoint.",
                    )
                self._succeeded()
                broken = _invalid_arguments(arguments)
                if broken:
                    yield ChatGenerationChunk(
                        message=AIMessageChunk(content="", additional_kwargs={"mara_invalid_tool_args": broken})
                    )
                return

    return ResilientChatOpenAI


def _collect_arguments(message: Any, into: dict[int, dict[str, Any]]) -> None:
    for part in getattr(message, "tool_call_chunks", None) or []:
        index = part.get("index") or 0
        slot = into.setdefault(index, {"id": None, "name": None, "args": ""})
        if part.get("id"):
            slot["id"] = part["id"]
        if part.get("name"):
            slot["name"] = part["name"]
        slot["args"] += part.get("args") or ""


def _invalid_arguments(calls: dict[int, dict[str, Any]]) -> dict[str, dict[str, str]]:
    """``{call id: {"name", "raw", "error"}}`` for streamed tool calls whose arguments are not a JSON object."""
    out: dict[str, dict[str, str]] = {}
    for slot in calls.values():
        raw = slot["args"]
        if not raw.strip():
            continue
        try:
            parsed = json.loads(raw)
            error = None if isinstance(parsed, dict) else f"expected a JSON object, got {type(parsed).__name__}"
        except ValueError as err:
            error = str(err)
        if error and slot["id"]:
            out[str(slot["id"])] = {"name": str(slot["name"] or ""), "raw": raw[:500], "error": error}
    return out


_RESILIENT: type | None = None


def resilient_chat_model_class() -> type:
    """The ``ResilientChatOpenAI`` class (built lazily: importing langchain-openai costs time)."""
    global _RESILIENT
    if _RESILIENT is None:
        _RESILIENT = _resilient_class()
    return _RESILIENT


def make_chat_model(settings: MaraSettings, ctx: ToolContext | None = None) -> BaseChatModel:
    """``ChatOpenAI`` when a key or base URL is configured (or ``MARA_MODE=llm``), else the offline planner."""
    if settings.resolved_mode == "llm":
        api_key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else "not-needed"
        model = resilient_chat_model_class()(
            model=settings.llm_model,
            api_key=api_key,
            base_url=settings.llm_base_url,
            timeout=settings.llm_timeout_s,
            max_retries=0,  # Mara retries itself (backoff, Retry-After, circuit breaker)
            temperature=settings.llm_temperature,
            stream_usage=True,
        )
        configured: BaseChatModel = model.configure(RetryPolicy.from_settings(settings), breaker_for(settings))
        return configured
    return make_offline_model(ctx)


def make_offline_model(ctx: ToolContext | None = None) -> BaseChatModel:
    """The offline planner (also the fallback when the LLM endpoint is down)."""
    # lazy: langchain_core, numpy, pydantic load slowly; only this path needs them
    from assistant.planner import OfflinePlanner

    return OfflinePlanner(context=ctx)


def is_provider_failure(err: BaseException) -> bool:
    """Whether ``err`` came from the LLM endpoint (as opposed to a bug or a tool)."""
    return isinstance(err, ModelProviderError) or classify(err) is not None


#: The fix to suggest per provider exception class (the first match in its MRO).
PROVIDER_HINTS = {
    "APIConnectionError": "Check that the server at MARA_LLM_BASE_URL/OPENAI_BASE_URL is running, or unset it to use offline mode.",
    "APITimeoutError": "The endpoint is too slow; raise MARA_LLM_TIMEOUT_S or try again.",
    "AuthenticationError": "Check OPENAI_API_KEY / MARA_LLM_API_KEY.",
    "RateLimitError": "The provider is rate-limiting; wait and retry.",
    "NotFoundError": "Check MARA_LLM_MODEL and the base URL.",
    "APIResponseValidationError": "The endpoint answered with something that is not a chat completion.",
}


def provider_error(err: BaseException) -> ModelProviderError | None:
    """``err`` as one clear line with the fix, when :func:`classify` says the provider failed.

    The one translation of openai/httpx failures for every front end; ``None`` for anything
    else (a bug, a tool error), which the caller reports as it is.
    """
    if isinstance(err, ModelProviderError):
        return err
    failure = classify(err)
    if failure is None:
        return None
    if failure.name == "InvalidResponse":
        return ModelProviderError(
            "The LLM endpoint answered with something that is not a chat completion.",
            hint="Check that MARA_LLM_BASE_URL points at an OpenAI-compatible /v1 endpoint.",
        )
    name = next((c.__name__ for c in type(err).__mro__ if c.__name__ in PROVIDER_HINTS), failure.name)
    message = str(err).splitlines()[0][:300] if str(err) else name
    return ModelProviderError(
        f"The LLM endpoint failed ({name}): {message}",
        hint=PROVIDER_HINTS.get(name, "Check the LLM endpoint settings."),
    )
