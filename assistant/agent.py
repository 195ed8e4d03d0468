"""The agent loop: one LangChain ``create_agent`` graph, its tools, and the events a turn yields.

Every front end calls :meth:`Assistant.stream` (or :meth:`Assistant.run`) and renders
the :class:`~foundation.events.Event` objects that come back.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

from langchain.agents import create_agent
from langchain.agents.middleware import AgentMiddleware, dynamic_prompt
from langchain.agents.middleware.types import ModelResponse
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, ToolMessage
from langchain_core.tools import BaseTool
from langgraph.config import get_config
from langgraph.errors import GraphRecursionError

from assistant.audit import AuditRecord, open_audit, redact_keys
from assistant.audit import now as audit_now
from assistant.chat_models import (
    is_provider_failure,
    make_chat_model,
    make_offline_model,
    provider_error,
)
from assistant.conversations import open_checkpointer
from assistant.links import allowed_hosts
from assistant.pii import MaskPII, PIIVault, StreamUnmasker
from foundation.errors import (
    BudgetExceeded,
    MaraError,
    StreamInterrupted,
    ToolInputError,
    TurnCancelled,
)
from foundation.events import Event, TurnSummary
from foundation.scopes import NO_SCOPES, has_every_scope
from foundation.settings import MaraSettings, open_private, private_dir
from foundation.tokens import TokenUsage, count_message_tokens, count_tokens
from prompts import load_prompt
from tools.context import ToolContext
from tools.progress import CANCEL_KEY, PROGRESS_KEY, check_cancelled
from tools.registry import build_tools, required_scope, tool_allowed

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
        check_cancelled()
        try:
            result = handler(request)
        except TurnCancelled:
            raise  # Stop ends the turn; it is not an error for the model to work around
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


#: Marker key of a tool call whose arguments were not valid JSON (see :class:`RepairToolCalls`).
INVALID_ARGS = "__mara_invalid_arguments__"


def _schedule_sink(settings: MaraSettings) -> Any:
    """``ToolContext.schedule_sink``: saves a schedule asked for in chat (assistant/schedules/chat.py)."""

    def save(**kwargs: Any) -> dict[str, Any]:
        # lazy: apscheduler, sqlalchemy load slowly; only saving a schedule needs them
        from assistant.schedules.chat import make_sink

        return make_sink(settings)(**kwargs)  # type: ignore[no-any-return]

    return save


def _turn_setting(name: str) -> Any:
    """A per-turn value :meth:`Assistant.stream` put in the run's ``configurable``."""
    try:
        return (get_config().get("configurable") or {}).get(name)
    except RuntimeError:  # outside a graph run
        return None


def _since_last_human(messages: list[Any]) -> list[Any]:
    last = max((i for i, m in enumerate(messages) if isinstance(m, HumanMessage)), default=-1)
    return list(messages[last + 1:])


class ScopeGuard(AgentMiddleware):  # type: ignore[type-arg]
    """Per-turn permissions and refusals.

    The model is offered only the tools the caller's scopes allow; a call to any other tool
    (one it was not offered, or one that does not exist) is answered with a corrective tool
    message naming the tools it may use. A turn :meth:`Assistant.stream` refused up front is
    answered here with the refusal, without calling the model, so it lands in the history.
    """

    def __init__(self, tool_names: list[str]) -> None:
        super().__init__()
        self.tool_names = tool_names

    def wrap_model_call(self, request: Any, handler: Callable[[Any], Any]) -> Any:
        check_cancelled()  # a stopped turn calls no model again
        refusal = _turn_setting("mara_refusal")
        if refusal:
            return ModelResponse(result=[AIMessage(content=refusal, additional_kwargs={"mara_refusal": True})])
        scopes = _scopes(_turn_setting("mara_scopes"))
        if not has_every_scope(scopes):
            request = request.override(tools=[t for t in request.tools if tool_allowed(_tool_name(t), scopes)])
        return handler(request)

    def wrap_tool_call(self, request: Any, handler: Callable[[Any], Any]) -> Any:
        call = request.tool_call
        name = str(call["name"])
        scopes = _scopes(_turn_setting("mara_scopes"))
        if request.tool is not None and tool_allowed(name, scopes):
            return handler(request)
        offered = [n for n in self.tool_names if tool_allowed(n, scopes)]
        if request.tool is None:
            why = f"There is no tool named {name!r}."
        else:
            why = f"{name} needs the {required_scope(name)!r} scope, which this user does not have."
        return ToolMessage(
            content=f"Error: {why} Tools you can call: {', '.join(offered) or '(none)'}. "
            "Use one of these, or answer without a tool.",
            tool_call_id=call["id"], name=name, status="error",
        )


def _scopes(value: Any) -> frozenset[str]:
    """The turn's scopes; a run that did not set them (a graph run outside :meth:`Assistant.stream`) has none."""
    return frozenset(value or ())


def _tool_name(tool: Any) -> str:
    if isinstance(tool, dict):
        return str(tool.get("name") or tool.get("function", {}).get("name", ""))
    return str(getattr(tool, "name", ""))


class RepairToolCalls(AgentMiddleware):  # type: ignore[type-arg]
    """Tool calls whose arguments are not valid JSON get a corrective tool message.

    LangChain would drop such calls (``invalid_tool_calls``: the turn then ends with an empty
    answer) or, when streamed, parse a broken string into ``{}`` or a partial object. Here each
    one becomes a call carrying its raw text, and its tool message tells the model what was
    wrong, so it can call again (bounded by ``MARA_MAX_STEPS``).
    """

    def wrap_model_call(self, request: Any, handler: Callable[[Any], Any]) -> Any:
        response = handler(request)
        for message in getattr(response, "result", None) or []:
            if isinstance(message, AIMessage):
                _mark_invalid_calls(message)
        return response

    def wrap_tool_call(self, request: Any, handler: Callable[[Any], Any]) -> Any:
        call = request.tool_call
        bad = call["args"].get(INVALID_ARGS) if isinstance(call.get("args"), dict) else None
        if not isinstance(bad, dict):
            return handler(request)
        name = str(call["name"])
        return ToolMessage(
            content=f"Error: the arguments of your {name} call are not a valid JSON object ({bad.get('error')}); "
            f"you sent: {str(bad.get('raw'))[:300]}\nCall {name} again with arguments that are one JSON object "
            "matching its schema.",
            tool_call_id=call["id"], name=name, status="error", additional_kwargs={"invalid_arguments": True},
        )


def _mark_invalid_calls(message: AIMessage) -> None:
    broken: dict[str, Any] = message.additional_kwargs.pop("mara_invalid_tool_args", None) or {}
    calls = []
    for call in message.tool_calls:
        info = broken.get(str(call.get("id")))
        if isinstance(info, dict):
            call = {**call, "args": {INVALID_ARGS: {"raw": info.get("raw"), "error": info.get("error")}}}
        calls.append(call)
    for bad in message.invalid_tool_calls:
        calls.append({
            "name": bad.get("name") or "unknown_tool",
            "args": {INVALID_ARGS: {"raw": (bad.get("args") or "")[:500], "error": bad.get("error") or "not JSON"}},
            "id": bad.get("id") or f"call_{uuid.uuid4().hex[:12]}",
            "type": "tool_call",
        })
    if broken or message.invalid_tool_calls:
        message.tool_calls = calls  # type: ignore[assignment]
        message.invalid_tool_calls = []


class OfflineFallback(AgentMiddleware):  # type: ignore[type-arg]
    """When the LLM endpoint fails (after its retries) or its circuit is open, the offline planner
    answers the rest of the turn, and the reply says so.

    A stream cut off part-way is retried once first. Placed outside :class:`MaskPII`, so the
    planner (which runs locally) works on the real values.
    """

    def __init__(self, planner: BaseChatModel) -> None:
        super().__init__()
        self.planner = planner

    def wrap_model_call(self, request: Any, handler: Callable[[Any], Any]) -> Any:
        earlier = _fallback_reason(request.messages)
        if earlier is not None:
            return self._offline(request, earlier)
        attempts = 0
        while True:
            try:
                return handler(request)
            except Exception as err:
                if not is_provider_failure(err):
                    raise
                if isinstance(err, StreamInterrupted) and attempts == 0:
                    attempts += 1
                    log.warning("LLM stream interrupted; asking again")
                    continue
                failure = provider_error(err)
                reason = failure.message if isinstance(failure, MaraError) else str(err)
                log.warning("LLM endpoint failed, answering offline: %s", reason)
                return self._offline(request, reason)

    def _offline(self, request: Any, reason: str) -> Any:
        planner = self.planner.bind_tools(request.tools)
        message = planner.decide(request.messages)  # type: ignore[attr-defined]
        message.additional_kwargs["mara_fallback"] = reason
        if not message.tool_calls:
            message.content = fallback_notice(reason) + _text_of(message.content)
        return ModelResponse(result=[message])


def fallback_notice(reason: str) -> str:
    """The line a degraded answer starts with."""
    return (f"⚠️ The language model is unavailable right now ({reason.rstrip('.')}), so this answer comes "
            "from Mara's offline planner.\n\n")


def _fallback_reason(messages: list[Any]) -> str | None:
    for message in _since_last_human(messages):
        if isinstance(message, AIMessage) and message.additional_kwargs.get("mara_fallback"):
            return str(message.additional_kwargs["mara_fallback"])
    return None


@dataclass(slots=True)
class TurnResult:
    """What one turn produced, for callers that do not stream."""

    reply: str
    conversation_id: str
    mode: str
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    usage: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    notice: str | None = None  # set when the offline planner stood in for a failing LLM endpoint

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
        today: dt.date | None = None,
    ) -> None:
        self.settings = settings
        self.context = ToolContext(settings, chat_model_factory=make_chat_model, schedule_sink=_schedule_sink(settings))
        self._stack = ExitStack()
        self.today = today  # "today" for relative periods (evaluations fix it; default the real date)
        if model is None:
            model = make_chat_model(settings, self.context)
        if today is not None and "today" in type(model).model_fields:
            model = model.model_copy(update={"today": today})  # the offline planner reads periods against it
        self.model = model
        self.mode = "offline" if type(model).__name__ == "OfflinePlanner" else "llm"
        self.tools = tools if tools is not None else build_tools(self.context)
        self.checkpointer = checkpointer if checkpointer is not None else open_checkpointer(settings, self._stack)
        self.audit = open_audit(settings)
        masking = settings.pii_masking if settings.pii_masking is not None else self.mode == "llm"
        self.vault = PIIVault(settings.pii_allow, columns=self._declared_pii) if masking else None
        middleware: list[Any] = [dynamic_prompt(self._system_prompt), ScopeGuard([t.name for t in self.tools])]
        if self.mode == "llm" and settings.llm_fallback_offline:
            fallback = make_offline_model(self.context)
            if today is not None:
                fallback = fallback.model_copy(update={"today": today})
            middleware.append(OfflineFallback(fallback))
        self.link_hosts = allowed_hosts(settings.link_hosts)
        if self.vault is not None or self.mode == "llm":  # model-written links: see assistant.links
            middleware.append(MaskPII(self.vault, self.link_hosts))
        middleware.extend([RepairToolCalls(), ToolErrorsToModel(settings.tool_retry_budget)])
        self.graph = create_agent(
            model,
            self.tools,
            middleware=middleware,
            checkpointer=self.checkpointer,
        )

    def _system_prompt(self, request: Any = None) -> str:
        """The system prompt for each model call: today's date and the workspace's tables."""
        # lazy: numpy loads slowly; only this path needs it
        from assistant.planner.verified import verified_examples

        return load_prompt(
            "system", brand="the brand", today=(self.today or dt.date.today()).isoformat(), mode=self.mode,
            data=self._data_overview(),
        ) + verified_examples(self.settings.home)

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

    def run(
        self, message: str, conversation_id: str | None = None, *, actor: str = "local",
        scopes: frozenset[str] = NO_SCOPES,
    ) -> TurnResult:
        """Run one turn to completion and collect its events."""
        events = list(self.stream(message, conversation_id, actor=actor, scopes=scopes))
        turn = TurnSummary.from_events(events)  # stream() always ends with ``done``
        return TurnResult(
            reply=turn.reply,
            conversation_id=turn.conversation_id or "",
            mode=turn.mode or self.mode,
            tool_calls=turn.tool_calls,
            events=events,
            usage=turn.usage,
            error=turn.error,
            notice=turn.notice,
        )

    def _declared_pii(self) -> set[str]:
        """Columns the semantic model marks as personal data (masked like e-mails and names)."""
        try:
            return {c.name.lower() for t in self.context.profile().tables for c in t.columns if c.pii}
        except Exception:  # no warehouse or an invalid model: the name patterns still apply
            return set()

    def stream(
        self, message: str, conversation_id: str | None = None, *, actor: str = "local",
        scopes: frozenset[str] = NO_SCOPES, cancel: threading.Event | None = None,
        replace_turn: int | None = None,
    ) -> Iterator[Event]:
        """Yield the events of one turn; always ends with a ``done`` event.

        ``actor`` names the caller (CLI user, API key, Slack user) for the audit trail, usage
        and budgets. ``scopes`` are the caller's permissions: :data:`~foundation.scopes.EVERY_SCOPE`
        for admin keys, the CLI and open mode, which must pass it; left out they are none. Tools needing a
        scope the caller lacks are not offered to the model (each tool declares its scope: ``@mara_tool(scope=...)``).
        When the caller is over budget, or asks for secrets, mutating SQL or customer data
        beyond its scopes, the turn is answered with a refusal (kept in the history and audited).
        When the LLM endpoint fails, the offline planner answers and ``done`` carries a ``notice``.

        ``cancel`` is the turn's stop signal: once set, the turn ends at its next step (tools check
        it between steps, see :func:`tools.progress.check_cancelled`) with the reply "Stopped.",
        and the history is left consistent (an unanswered tool call gets a "stopped" result).
        ``replace_turn`` (1 = the first question) runs this message in place of that turn and
        everything after it (regenerate, edit and resend): the conversation continues from the
        state before it, so the replaced answer is no longer part of the history.
        """
        conversation_id = conversation_id or uuid.uuid4().hex
        message = redact_keys(message)  # a pasted Mara key is kept neither in the history nor the audit
        scopes = frozenset(scopes or ())  # None (an older caller) is no scopes, never every scope
        refusal, refusal_kind, budget_error = self._screen(message, actor, scopes)
        config: dict[str, Any] = {
            "configurable": {
                "thread_id": conversation_id,
                "mara_scopes": sorted(scopes),
                "mara_actor": actor,  # who owns what the turn saves (schedules)
                "mara_message": message,  # the asker's own words: a schedule's destination must be in them
                "mara_refusal": refusal,
                CANCEL_KEY: cancel,
            },
            "recursion_limit": self.settings.max_steps * 2,
        }
        if replace_turn == 1 and self.history(conversation_id):
            self.checkpointer.delete_thread(conversation_id)  # the first question replaced: start afresh
        elif replace_turn is not None:
            checkpoint = self._checkpoint_before(conversation_id, replace_turn)
            if checkpoint is not None:
                config["configurable"]["checkpoint_id"] = checkpoint
        ledger = TurnLedger(self, message, conversation_id, actor=actor, scopes=scopes)
        turn = StreamTranslator(
            StreamUnmasker(self.vault, self.link_hosts) if self.vault is not None or self.mode == "llm" else None,
            on_model_message=ledger.account,
            on_tool_message=ledger.tool_done,
        )
        failed = refusal is not None
        if budget_error is not None:
            yield Event("error", {"message": str(budget_error)})
        stream: Any = None
        try:
            stream = self.graph.stream(  # type: ignore[call-overload]
                {"messages": [HumanMessage(content=message)]},
                config,
                stream_mode=["messages", "updates", "custom"],
            )
            for mode, payload in stream:
                if cancel is not None and cancel.is_set():
                    raise TurnCancelled("The turn was stopped.")
                yield from turn.feed(mode, payload)
        except TurnCancelled:
            failed = True
            if stream is not None:
                stream.close()  # the graph takes no further step (its pending tool work is dropped)
            self._settle_stopped(conversation_id)  # before yielding: the client may be gone already
            yield from turn.fail("Stopped.", reply="Stopped.")
        except GeneratorExit:  # the client left mid-turn: leave the history whole, then stop
            if stream is not None:
                stream.close()
            self._settle_stopped(conversation_id)
            raise
        except GraphRecursionError:
            failed = True
            note = f"I stopped after {self.settings.max_steps} steps without a final answer. Try a narrower question."
            yield from turn.fail(note, reply=note)
        except MaraError as err:
            failed = True
            yield from turn.fail(str(err), reply=f"Sorry — {err}")
        except Exception as err:  # provider failures and anything unexpected end the turn cleanly
            failed = True
            failure: MaraError | None = provider_error(err)
            if failure is None:
                log.exception("turn failed")
                failure = MaraError(f"The turn failed unexpectedly: {type(err).__name__}: {err}")
            yield from turn.fail(str(failure), reply=f"Sorry — {failure}")
        yield from turn.finish()
        yield ledger.usage_event()
        ledger.close(turn, failed=failed, refusal=refusal, refusal_kind=refusal_kind)
        yield Event("done", turn.done(conversation_id, self.mode))

    def _checkpoint_before(self, conversation_id: str, turn: int) -> str | None:
        """The id of the last finished checkpoint before question ``turn`` was asked (``None``
        when the conversation has no such turn: the message is then simply a new turn)."""
        if turn < 1:
            return None
        for snapshot in self.graph.get_state_history({"configurable": {"thread_id": conversation_id}}):
            messages = (snapshot.values or {}).get("messages", [])
            asked = sum(isinstance(m, HumanMessage) for m in messages)
            if asked == turn - 1 and not snapshot.next:
                return str(snapshot.config["configurable"].get("checkpoint_id") or "") or None
            if asked < turn - 1:
                break
        return None

    def _settle_stopped(self, conversation_id: str) -> None:
        """After Stop: answer the tool calls left open with "stopped" and end the turn with
        "Stopped.", so the next turn (and an LLM, which refuses unanswered calls) sees a whole history."""
        config: Any = {"configurable": {"thread_id": conversation_id}}
        try:
            messages = list((self.graph.get_state(config).values or {}).get("messages", []))
            last_turn = _since_last_human(messages)
            if last_turn and isinstance(last_turn[-1], AIMessage) and not last_turn[-1].tool_calls:
                return  # the answer was already complete
            answered = {m.tool_call_id for m in last_turn if isinstance(m, ToolMessage)}
            patch: list[Any] = [
                ToolMessage(content="Stopped by the user before this finished.", tool_call_id=call["id"],
                            name=call["name"], status="error")
                for m in last_turn if isinstance(m, AIMessage) for call in m.tool_calls
                if call["id"] not in answered
            ]
            patch.append(AIMessage(content="Stopped.", additional_kwargs={"mara_stopped": True}))
            self.graph.update_state(config, {"messages": patch}, as_node="model")
        except Exception:  # noqa: BLE001 - a stopped turn must still end cleanly
            log.exception("could not settle the stopped turn's history")

    def _screen(
        self, message: str, actor: str, scopes: frozenset[str]
    ) -> tuple[str | None, str | None, BudgetExceeded | None]:
        """``(refusal text, kind, budget error)`` for a turn that must not reach the model."""
        # lazy: numpy loads slowly; only this path needs it
        from assistant.planner.routing import asks_for_customer_data, refusal_kind
        from assistant.usage import check_budget

        if self.mode == "llm":
            try:
                check_budget(actor, self.settings)
            except BudgetExceeded as err:
                return f"Sorry — {err}", "budget", err
        kind = refusal_kind(message)
        if kind is not None:
            return _REFUSALS[kind], kind, None
        if not tool_allowed("query_data", scopes) and asks_for_customer_data(message):
            held = ", ".join(sorted(scopes)) or "none"
            return (
                "I can't look into customer data for you: that needs the data:read permission, and yours are: "
                f"{held}. Ask an administrator for data access — meanwhile I can help with brand knowledge"
                + (" and copy." if "copy" in scopes else "."),
                "scope", None,
            )
        return None, None, None

    def _cost(self, billable: TokenUsage) -> float:
        if self.mode != "llm" or not billable.total_tokens:
            return 0.0
        # lazy: imported only on this path (keeps the module's own import light)
        from assistant.usage import cost_usd

        return cost_usd(self.settings.llm_model, billable.prompt_tokens, billable.completion_tokens, self.settings)

    def _account(self, msg: AIMessage, usage: TokenUsage, billable: TokenUsage | None = None) -> None:
        meta = msg.usage_metadata
        if meta:
            prompt, completion = int(meta.get("input_tokens", 0)), int(meta.get("output_tokens", 0))
        else:
            prompt, completion = count_message_tokens([msg]), count_tokens(_text_of(msg.content))
        usage.add(prompt, completion)
        local = msg.additional_kwargs.get("mara_fallback") or msg.additional_kwargs.get("mara_refusal")
        if billable is not None and meta and not local:
            billable.add(prompt, completion)

    def _personal(self, msg: ToolMessage) -> list[tuple[str, str]]:
        """``(KIND, value)`` of personal columns in a tool result (see :meth:`PIIVault.pii_values`)."""
        try:
            return PIIVault(self.settings.pii_allow, columns=self._declared_pii).pii_values(msg)
        except Exception:  # noqa: BLE001 - the audit's masking must never break a turn
            log.exception("could not read personal values of a tool result")
            return []

    def _audit_tool(
        self, msg: ToolMessage, actor: str, conversation_id: str, calls: list[dict[str, Any]],
        personal: list[tuple[str, str]] | None = None,
    ) -> None:
        """One audit record per tool call, with the rows its table returned."""
        args: dict[str, Any] = next((c["args"] for c in reversed(calls) if c["name"] == msg.name), {})
        artifact = msg.artifact if isinstance(msg.artifact, dict) else {}
        rows = next((a.get("row_count") for a in artifact.get("artifacts", []) if a.get("kind") == "table"), None)
        ok = msg.status != "error"
        self._audit(AuditRecord(
            audit_now(), actor, conversation_id, "tool", str(msg.name), dict(args), ok=ok,
            rows=None if rows is None else int(rows), duration_ms=msg.additional_kwargs.get("duration_ms"),
            detail=None if ok else _mask_personal(_text_of(msg.content)[:500], personal or []),
        ))

    def _audit(self, record: AuditRecord) -> None:
        try:
            self.audit.append(record)
        except Exception:  # noqa: BLE001 - the audit trail must never break a turn
            log.exception("could not write the audit record")

    def _record_usage(
        self, conversation_id: str, usage: TokenUsage, tool_calls: list[dict[str, Any]], *,
        actor: str = "local", cost: float = 0.0, degraded: bool = False,
    ) -> None:
        """Append the turn's token counts and cost to ``usage.jsonl`` in the workspace (one JSON line per turn)."""
        record = {
            "ts": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "actor": actor,
            "conversation_id": conversation_id,
            "mode": self.mode,
            "model": self.settings.llm_model if self.mode == "llm" else "offline-planner",
            **usage.to_dict(),
            "cost_usd": cost,
            "tools": [c["name"] for c in tool_calls],
        }
        if degraded:
            record["degraded"] = True
        try:
            private_dir(self.settings.home)
            with open_private(self.settings.usage_path, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(record) + "\n")
        except OSError:
            log.warning("could not record usage in %s", self.settings.usage_path)

    def conversations(self, actor: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """Stored conversations, most recent first (all of them when ``actor`` is None)."""
        return self.audit.conversations(actor, limit)

    def rename_conversation(self, conversation_id: str, title: str, *, actor: str = "local") -> bool:
        """Give a conversation a title; False when there is no such conversation."""
        if not self.history(conversation_id):
            return False
        self._audit(AuditRecord(audit_now(), actor, conversation_id, "conversation", "rename",
                                {"title": " ".join(title.split())[:120]}, ok=True))
        return True

    def delete_conversation(self, conversation_id: str, *, actor: str = "local") -> bool:
        """Forget a conversation's messages (the audit trail keeps its record); False when unknown."""
        if not self.history(conversation_id):
            return False
        self.checkpointer.delete_thread(conversation_id)
        self._audit(AuditRecord(audit_now(), actor, conversation_id, "conversation", "delete", {}, ok=True))
        return True

    def history(self, conversation_id: str) -> list[Any]:
        """The messages of a stored conversation (empty when unknown)."""
        state = self.graph.get_state({"configurable": {"thread_id": conversation_id}})
        return list((state.values or {}).get("messages", []))


class StreamTranslator:
    """Turns one turn's LangGraph stream (``messages``, ``updates``, ``custom``) into events.

    It knows only the stream: the model step whose text is being streamed (to notice a step
    that is asked again after a dropped connection), the PII unmasker, the tool calls and the
    final reply. What the turn costs and what is audited is the :class:`TurnLedger`'s business;
    it hears of each finished model and tool message through the two callbacks.
    """

    def __init__(
        self,
        unmasker: StreamUnmasker | None,
        *,
        on_model_message: Callable[[AIMessage], None],
        on_tool_message: Callable[[ToolMessage, list[dict[str, Any]]], None],
    ) -> None:
        self.unmasker = unmasker
        self.on_model_message = on_model_message
        self.on_tool_message = on_tool_message
        self.tool_calls: list[dict[str, Any]] = []
        self.final_reply: str | None = None
        self.emitted_reply = False
        self.notice: str | None = None
        self._step_text: list[str] = []
        self._step_run: str | None = None

    @property
    def reply(self) -> str:
        return self.final_reply if self.final_reply is not None else ""

    def feed(self, mode: str, payload: Any) -> Iterator[Event]:
        """The events for one item of the graph's stream."""
        if mode == "custom":
            if isinstance(payload, dict) and isinstance(payload.get(PROGRESS_KEY), dict):
                yield Event("progress", payload[PROGRESS_KEY])
        elif mode == "messages":
            yield from self._chunk(*payload)
        else:
            for node, update in (payload or {}).items():
                for msg in (update or {}).get("messages", []) if isinstance(update, dict) else []:
                    if isinstance(msg, AIMessage):
                        yield from self._model_message(msg)
                    elif isinstance(msg, ToolMessage) and node == "tools":
                        self.on_tool_message(msg, self.tool_calls)
                        yield from _tool_events(msg)

    def _chunk(self, chunk: Any, meta: dict[str, Any]) -> Iterator[Event]:
        if not (isinstance(chunk, AIMessageChunk) and meta.get("langgraph_node") == "model"):
            return
        if chunk.id != self._step_run:
            if self._step_text:  # an answer cut off part-way is being asked for again
                yield Event("text", {"delta": _RESTARTED})
            self._step_run, self._step_text = chunk.id, []
            if self.unmasker is not None:
                self.unmasker.pending = ""
        text = _text_of(chunk.content)
        if self.unmasker is not None:
            text = self.unmasker.feed(text)
        if text:
            self._step_text.append(text)
            yield Event("text", {"delta": text})

    def _model_message(self, msg: AIMessage) -> Iterator[Event]:
        self.on_model_message(msg)
        if msg.additional_kwargs.get("mara_fallback"):
            self.notice = fallback_notice(str(msg.additional_kwargs["mara_fallback"])).strip()
        if msg.tool_calls and self.unmasker is not None:  # text streamed before the calls
            rest = self.unmasker.flush()
            if rest and self._step_text and msg.id == self._step_run:
                yield Event("text", {"delta": rest})
        for call in msg.tool_calls:
            self.tool_calls.append({"name": call["name"], "args": call["args"]})
            yield Event("tool_start", {"id": call["id"], "name": call["name"], "args": call["args"]})
        if not msg.tool_calls:
            self.final_reply = _text_of(msg.content)
            rest = self.unmasker.flush() if self.unmasker is not None else ""
            if self._step_text and msg.id == self._step_run:
                if rest:
                    yield Event("text", {"delta": rest})
            else:
                if self._step_text:
                    yield Event("text", {"delta": _RESTARTED})
                if self.final_reply:
                    yield Event("text", {"delta": self.final_reply})
            self.emitted_reply = True
        self._step_text, self._step_run = [], None

    def fail(self, message: str, *, reply: str) -> Iterator[Event]:
        """The turn stopped: an ``error`` event; ``reply`` is what the user is told instead."""
        yield Event("error", {"message": message})
        self.final_reply, self.emitted_reply = reply, False

    def finish(self) -> Iterator[Event]:
        """The reply's text when it was not streamed (a failure, a refusal)."""
        if not self.emitted_reply and self.reply:
            if self._step_text:
                yield Event("text", {"delta": _RESTARTED})
            yield Event("text", {"delta": self.reply})

    def done(self, conversation_id: str, mode: str) -> dict[str, Any]:
        """The ``done`` event's payload."""
        done: dict[str, Any] = {
            "reply": self.reply, "conversation_id": conversation_id, "mode": mode, "tool_calls": self.tool_calls,
        }
        if self.notice is not None:
            done["notice"] = self.notice
            done["degraded"] = True
        return done


class TurnLedger:
    """What one turn costs and leaves behind: tokens, cost, ``usage.jsonl`` and the audit trail."""

    def __init__(
        self, assistant: Assistant, message: str, conversation_id: str, *, actor: str,
        scopes: frozenset[str],
    ) -> None:
        self.assistant = assistant
        self.message = message
        self.conversation_id = conversation_id
        self.actor = actor
        self.scopes = scopes
        self.usage = TokenUsage()
        self.billable = TokenUsage()
        self.cost = 0.0
        self.personal: list[tuple[str, str]] = []  # names, addresses ... seen this turn: kept out of the audit

    def account(self, msg: AIMessage) -> None:
        """Count a finished model message's tokens (billable unless answered locally)."""
        self.assistant._account(msg, self.usage, self.billable)

    def tool_done(self, msg: ToolMessage, calls: list[dict[str, Any]]) -> None:
        """Audit a finished tool call (personal values it returned are masked in the audit)."""
        self.personal.extend(self.assistant._personal(msg))
        self.assistant._audit_tool(msg, self.actor, self.conversation_id, calls, self.personal)

    def usage_event(self) -> Event:
        """The turn's ``usage`` event (tokens and cost)."""
        self.cost = self.assistant._cost(self.billable)
        return Event("usage", {**self.usage.to_dict(), "cost_usd": self.cost})

    def close(
        self, turn: StreamTranslator, *, failed: bool, refusal: str | None, refusal_kind: str | None,
    ) -> None:
        """Record the turn's usage and audit its refusal (if any) and the turn itself."""
        assistant, actor, conversation_id = self.assistant, self.actor, self.conversation_id
        assistant._record_usage(conversation_id, self.usage, turn.tool_calls, actor=actor, cost=self.cost,
                                degraded=turn.notice is not None)
        if refusal is not None:
            assistant._audit(AuditRecord(
                audit_now(), actor, conversation_id, "refusal", refusal_kind or "refused",
                {"message": self.message[:2000]}, ok=False, detail=refusal[:500],
            ))
        turn_args: dict[str, Any] = {"message": self.message[:2000]}
        if not has_every_scope(self.scopes):
            turn_args["scopes"] = sorted(self.scopes)
        if turn.notice is not None:
            turn_args["degraded"] = True
        assistant._audit(AuditRecord(
            audit_now(), actor, conversation_id, "turn", assistant.mode, turn_args,
            ok=not failed, prompt_tokens=self.usage.prompt_tokens, completion_tokens=self.usage.completion_tokens,
            detail=_mask_personal((turn.reply or "")[:500], self.personal),
        ))


_RESTARTED = "\n\n[The model's connection dropped part-way; answering again]\n\n"

_REFUSALS = {
    "secrets": "I can't share my instructions, configuration, API keys or any other credentials — they are not "
    "part of what I can show. Ask me about your customers, campaigns or brand instead.",
    "write": "I can't do that: customer data is read-only to me. I only run a single read-only SELECT over known "
    "tables — no DELETE, UPDATE, INSERT, DROP, ALTER or other statements that change data. I can query it, "
    "segment it and draft copy from it.",
}


def _mask_personal(text: str, personal: list[tuple[str, str]]) -> str:
    """``text`` for the audit trail: e-mails, phones and this turn's personal values (names,
    addresses) replaced by placeholders, as the LLM path masks them (a throwaway vault: the
    audit keeps no way back)."""
    return PIIVault().mask(text, personal) if text else text


def result_events(msg: ToolMessage) -> list[Event]:
    """The result cards (``table``, ``chart``, ``draft``, ``citation`` events) a stored tool message carries:
    the same events its turn streamed, so a reopened conversation shows what was shown then."""
    return [event for event in _tool_events(msg) if event.type != "tool_end"]


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
        elif kind == "draft":
            yield Event("draft", {k: v for k, v in item.items() if k != "kind"})
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
