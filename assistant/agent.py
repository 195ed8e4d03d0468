"""The agent loop: one LangChain ``create_agent`` graph, its tools, and the events a turn yields.

Every front end calls :meth:`Assistant.stream` (or :meth:`Assistant.run`) and renders
the :class:`~assistant.events.Event` objects that come back.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

from langchain.agents import create_agent
from langchain.agents.middleware import AgentMiddleware, dynamic_prompt
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, ToolMessage
from langchain_core.tools import BaseTool
from langgraph.errors import GraphRecursionError

from assistant.audit import AuditLog, AuditRecord
from assistant.audit import now as audit_now
from assistant.conversations import open_checkpointer
from assistant.errors import MaraError, ModelProviderError, ToolInputError
from assistant.events import Event
from assistant.pii import MaskPII, PIIVault, StreamUnmasker
from assistant.settings import MaraSettings
from assistant.tokens import TokenUsage, count_message_tokens, count_tokens
from prompts import load_prompt
from tools.context import ToolContext
from tools.registry import build_tools

log = logging.getLogger("mara.agent")


class ToolErrorsToModel(AgentMiddleware):  # type: ignore[type-arg]
    """Tool exceptions become tool messages instead of crashing the turn.

    A :class:`ToolInputError` (arguments the model can fix) goes back as a retry request
    while the tool's per-turn budget lasts; any other error becomes the tool's output.
    """

    def __init__(self, retry_budget: int) -> None:
        super().__init__()
        self.retry_budget = retry_budget

    def wrap_tool_call(self, request: Any, handler: Callable[[Any], Any]) -> Any:
        call = request.tool_call
        start = time.perf_counter()
        try:
            result = handler(request)
        except Exception as err:  # noqa: BLE001 - every tool failure is reported to the model
            result = self._error_message(err, request)
        if isinstance(result, ToolMessage):
            result.additional_kwargs["duration_ms"] = round((time.perf_counter() - start) * 1000, 1)
        log.info("tool %s finished", call["name"], extra={"tool": call["name"]})
        return result

    def _error_message(self, err: Exception, request: Any) -> ToolMessage:
        call = request.tool_call
        name = call["name"]
        if isinstance(err, ToolInputError):
            used = _retries_used(request.state.get("messages", []), name)
            if used < self.retry_budget:
                content = f"Error: {err}\nFix the arguments and call {name} again."
            else:
                content = f"Error: {err}\n(Retry budget for {name} used up; explain the problem to the user.)"
            kwargs = {"retry": True}
        elif isinstance(err, MaraError):
            content, kwargs = f"Error: {err}", {}
        else:
            log.exception("tool %s crashed", name)
            content, kwargs = f"Error: {name} failed unexpectedly ({type(err).__name__}: {err}).", {}
        return ToolMessage(
            content=content, tool_call_id=call["id"], name=name, status="error", additional_kwargs=kwargs
        )


def _retries_used(messages: list[Any], tool: str) -> int:
    used = 0
    for message in reversed(messages):
        if isinstance(message, HumanMessage):
            break
        if isinstance(message, ToolMessage) and message.name == tool and message.additional_kwargs.get("retry"):
            used += 1
    return used


@dataclass(slots=True)
class TurnResult:
    """What one turn produced, for callers that do not stream."""

    reply: str
    conversation_id: str
    mode: str
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    usage: dict[str, int] = field(default_factory=dict)
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "reply": self.reply,
            "tool_calls": [{"name": c["name"], "args": c["args"]} for c in self.tool_calls],
            "mode": self.mode,
            "conversation_id": self.conversation_id,
        }


class Assistant:
    """Mara's agent: build once per process, call :meth:`stream` per user message."""

    def __init__(
        self,
        settings: MaraSettings,
        *,
        model: BaseChatModel | None = None,
        tools: list[BaseTool] | None = None,
        checkpointer: Any | None = None,
    ) -> None:
        self.settings = settings
        self.context = ToolContext(settings)
        self._stack = ExitStack()
        if model is None:
            from assistant.chat_models import make_chat_model

            model = make_chat_model(settings, self.context)
        self.model = model
        self.mode = "offline" if type(model).__name__ == "OfflinePlanner" else "llm"
        self.tools = tools if tools is not None else build_tools(self.context)
        self.checkpointer = checkpointer if checkpointer is not None else open_checkpointer(settings, self._stack)
        self.audit = AuditLog(settings.home / "audit.sqlite")
        masking = settings.pii_masking if settings.pii_masking is not None else self.mode == "llm"
        self.vault = PIIVault(settings.pii_allow) if masking else None
        middleware: list[Any] = [dynamic_prompt(self._system_prompt)]
        if self.vault is not None:
            middleware.append(MaskPII(self.vault))
        middleware.append(ToolErrorsToModel(settings.tool_retry_budget))
        self.graph = create_agent(
            model,
            self.tools,
            middleware=middleware,
            checkpointer=self.checkpointer,
        )

    def _system_prompt(self, request: Any = None) -> str:
        """The system prompt for each model call: today's date and the workspace's tables."""
        return load_prompt(
            "system", brand="the brand", today=dt.date.today().isoformat(), mode=self.mode, data=self._data_overview()
        )

    def _data_overview(self) -> str:
        try:
            profile = self.context.profile()
        except MaraError as err:
            return f"(no customer data available: {err.message})"
        return "; ".join(f"{t.name} ({t.rows:,} rows)" for t in profile.tables) or "(no tables loaded yet)"

    def close(self) -> None:
        """Release the conversation store."""
        self._stack.close()

    def __enter__(self) -> Assistant:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- turns -------------------------------------------------------------------------

    def run(self, message: str, conversation_id: str | None = None, *, actor: str = "local") -> TurnResult:
        """Run one turn to completion and collect its events."""
        events = list(self.stream(message, conversation_id, actor=actor))
        done = next(e for e in reversed(events) if e.type == "done")
        error = next((e.data["message"] for e in events if e.type == "error"), None)
        usage = next((e.data for e in reversed(events) if e.type == "usage"), {})
        return TurnResult(
            reply=done.data["reply"],
            conversation_id=done.data["conversation_id"],
            mode=done.data["mode"],
            tool_calls=done.data["tool_calls"],
            events=events,
            usage=usage,
            error=error,
        )

    def stream(self, message: str, conversation_id: str | None = None, *, actor: str = "local") -> Iterator[Event]:
        """Yield the events of one turn; always ends with a ``done`` event.

        ``actor`` names the caller (CLI user, API key, Slack user) for the audit trail.
        """
        conversation_id = conversation_id or uuid.uuid4().hex
        config = {
            "configurable": {"thread_id": conversation_id},
            "recursion_limit": self.settings.max_steps * 2,
        }
        usage = TokenUsage()
        tool_calls: list[dict[str, Any]] = []
        reply_parts: list[str] = []
        final_reply: str | None = None
        streamed_text = False
        unmasker = StreamUnmasker(self.vault) if self.vault is not None else None
        turn_failed = False
        try:
            stream = self.graph.stream(  # type: ignore[call-overload]
                {"messages": [HumanMessage(content=message)]},
                config,
                stream_mode=["messages", "updates"],
            )
            for mode, payload in stream:
                if mode == "messages":
                    chunk, meta = payload
                    if isinstance(chunk, AIMessageChunk) and meta.get("langgraph_node") == "model":
                        text = _text_of(chunk.content)
                        if unmasker is not None:
                            text = unmasker.feed(text)
                        if text:
                            streamed_text = True
                            reply_parts.append(text)
                            yield Event("text", {"delta": text})
                    continue
                for node, update in (payload or {}).items():
                    for msg in (update or {}).get("messages", []) if isinstance(update, dict) else []:
                        if isinstance(msg, AIMessage):
                            self._account(msg, usage)
                            for call in msg.tool_calls:
                                tool_calls.append({"name": call["name"], "args": call["args"]})
                                yield Event("tool_start", {"id": call["id"], "name": call["name"], "args": call["args"]})
                            if not msg.tool_calls:
                                final_reply = _text_of(msg.content)
                                rest = unmasker.flush() if unmasker is not None else ""
                                if rest:
                                    reply_parts.append(rest)
                                    yield Event("text", {"delta": rest})
                            else:
                                reply_parts.clear()
                        elif isinstance(msg, ToolMessage) and node == "tools":
                            self._audit_tool(msg, actor, conversation_id, tool_calls)
                            yield from _tool_events(msg)
        except GraphRecursionError:
            turn_failed = True
            note = f"I stopped after {self.settings.max_steps} steps without a final answer. Try a narrower question."
            yield Event("error", {"message": note})
            final_reply = note
        except MaraError as err:
            turn_failed = True
            yield Event("error", {"message": str(err)})
            final_reply = f"Sorry — {err}"
        except Exception as err:  # provider failures and anything unexpected end the turn cleanly
            turn_failed = True
            failure: MaraError | None = _as_provider_error(err)
            if failure is None:
                log.exception("turn failed")
                failure = MaraError(f"The turn failed unexpectedly: {type(err).__name__}: {err}")
            yield Event("error", {"message": str(failure)})
            final_reply = f"Sorry — {failure}"
        reply = final_reply if final_reply is not None else "".join(reply_parts)
        if not streamed_text and reply:
            yield Event("text", {"delta": reply})
        yield Event("usage", usage.to_dict())
        self._record_usage(conversation_id, usage, tool_calls)
        self._audit(AuditRecord(
            audit_now(), actor, conversation_id, "turn", self.mode, {"message": message[:2000]},
            ok=not turn_failed, prompt_tokens=usage.prompt_tokens, completion_tokens=usage.completion_tokens,
            detail=(reply or "")[:500],
        ))
        yield Event(
            "done",
            {"reply": reply, "conversation_id": conversation_id, "mode": self.mode, "tool_calls": tool_calls},
        )

    def _account(self, msg: AIMessage, usage: TokenUsage) -> None:
        meta = msg.usage_metadata
        if meta:
            usage.add(int(meta.get("input_tokens", 0)), int(meta.get("output_tokens", 0)))
        else:
            usage.add(count_message_tokens([msg]), count_tokens(_text_of(msg.content)))

    def _audit_tool(self, msg: ToolMessage, actor: str, conversation_id: str, calls: list[dict[str, Any]]) -> None:
        """One audit record per tool call, with the rows its table returned."""
        args: dict[str, Any] = next((c["args"] for c in reversed(calls) if c["name"] == msg.name), {})
        artifact = msg.artifact if isinstance(msg.artifact, dict) else {}
        rows = next((a.get("row_count") for a in artifact.get("artifacts", []) if a.get("kind") == "table"), None)
        ok = msg.status != "error"
        self._audit(AuditRecord(
            audit_now(), actor, conversation_id, "tool", str(msg.name), dict(args), ok=ok,
            rows=None if rows is None else int(rows), duration_ms=msg.additional_kwargs.get("duration_ms"),
            detail=None if ok else _text_of(msg.content)[:500],
        ))

    def _audit(self, record: AuditRecord) -> None:
        try:
            self.audit.append(record)
        except Exception:  # noqa: BLE001 - the audit trail must never break a turn
            log.exception("could not write the audit record")

    def _record_usage(self, conversation_id: str, usage: TokenUsage, tool_calls: list[dict[str, Any]]) -> None:
        """Append the turn's token counts to ``usage.jsonl`` in the workspace (one JSON line per turn)."""
        record = {
            "ts": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "conversation_id": conversation_id,
            "mode": self.mode,
            "model": self.settings.llm_model if self.mode == "llm" else "offline-planner",
            **usage.to_dict(),
            "tools": [c["name"] for c in tool_calls],
        }
        try:
            self.settings.home.mkdir(parents=True, exist_ok=True)
            with self.settings.usage_path.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(record) + "\n")
        except OSError:
            log.warning("could not record usage in %s", self.settings.usage_path)

    def history(self, conversation_id: str) -> list[Any]:
        """The messages of a stored conversation (empty when unknown)."""
        state = self.graph.get_state({"configurable": {"thread_id": conversation_id}})
        return list((state.values or {}).get("messages", []))


def _tool_events(msg: ToolMessage) -> Iterator[Event]:
    ok = msg.status != "error"
    yield Event(
        "tool_end",
        {
            "id": msg.tool_call_id,
            "name": msg.name,
            "ok": ok,
            "duration_ms": msg.additional_kwargs.get("duration_ms"),
            "summary": _text_of(msg.content)[:300],
        },
    )
    artifact = msg.artifact if isinstance(msg.artifact, dict) else {}
    for item in artifact.get("artifacts", []):
        kind = item.get("kind")
        if kind == "table":
            yield Event("table", {k: v for k, v in item.items() if k != "kind"})
        elif kind == "chart":
            yield Event("chart", {k: v for k, v in item.items() if k != "kind"})
    for citation in artifact.get("citations", []):
        yield Event("citation", citation)


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            part.get("text", "") if isinstance(part, dict) else str(part) for part in content
        )
    return str(content or "")


def _as_provider_error(err: Exception) -> ModelProviderError | None:
    """Translate openai/httpx failures into one clear line with the fix."""
    family = [c for c in type(err).__mro__ if c.__module__.split(".")[0] in ("openai", "httpx", "httpx2", "langchain_openai")]
    if not family:
        if isinstance(err, ValueError) and any(s in str(err) for s in ("choices", "Expecting value", "No generations found", "JSON")):
            return ModelProviderError(
                "The LLM endpoint answered with something that is not a chat completion.",
                hint="Check that MARA_LLM_BASE_URL points at an OpenAI-compatible /v1 endpoint.",
            )
        return None
    names = [c.__name__ for c in family]
    name = next((n for n in names if n in _PROVIDER_HINTS), names[0])
    return _provider_message(err, name)


_PROVIDER_HINTS = {
    "APIConnectionError": "Check that the server at MARA_LLM_BASE_URL/OPENAI_BASE_URL is running, or unset it to use offline mode.",
    "APITimeoutError": "The endpoint is too slow; raise MARA_LLM_TIMEOUT_S or try again.",
    "AuthenticationError": "Check OPENAI_API_KEY / MARA_LLM_API_KEY.",
    "RateLimitError": "The provider is rate-limiting; wait and retry.",
    "NotFoundError": "Check MARA_LLM_MODEL and the base URL.",
    "APIResponseValidationError": "The endpoint answered with something that is not a chat completion.",
}


def _provider_message(err: Exception, name: str) -> ModelProviderError:
    message = str(err).splitlines()[0][:300] if str(err) else name
    return ModelProviderError(
        f"The LLM endpoint failed ({name}): {message}", hint=_PROVIDER_HINTS.get(name, "Check the LLM endpoint settings.")
    )
