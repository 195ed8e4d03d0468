"""The offline planner: a deterministic LangChain chat model that needs no API key.

It reads the conversation, routes the latest request to a tool (embedding
similarity to examples plus rules), extracts arguments from the live schema,
emits a real tool call, and — once the tool results are back — writes the final
answer from them. Because it is a chat model, the agent loop, streaming,
persistence and every front end run the same code as with an LLM.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    ToolMessage,
)
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import ConfigDict, Field, PrivateAttr

from assistant.planner.analysis import analysis_call
from assistant.planner.compose import compose_error_reply
from assistant.planner.copy_requests import (
    copy_follow_up,
    copy_purpose,
    copy_request,
    offer_from_passages,
)
from assistant.planner.declines import (
    AUDIENCE_QUESTION,
    audience_request,
    customer_text,
    needs_message,
    purchases_by_customer,
)
from assistant.planner.hooks import (
    MODEL_TOOLS,
    SCHEMA_ARGS_HOOKS,
    ToolResult,
    audience_follow_up,
    model_tool_args,
    tool_reply,
)
from assistant.planner.parser import DataQuestion, parse_question
from assistant.planner.routing import _COPY, _MODEL_WORDS, Route, Router
from assistant.planner.schedule_requests import schedule_request
from assistant.planner.shorthand import normalise
from foundation.tokens import count_message_tokens, count_tokens
from tools.charts import mark_type

_FOLLOW_UP = re.compile(r"^\s*(and|what about|how about|same for|same but|now|only|just|also|but|ok(ay)?,? (and|now))\b", re.I)

HELP_TEXT = """I'm Mara, your marketing assistant. I can:
- **Explore customer data** — “how many customers opted in to SMS?”, “revenue by country last quarter”, “top 10 products by revenue”, “orders per month this year”.
- **Compare and explain** — “this month vs last month”, “why did revenue drop in August?”, “anything unusual in orders last month?”.
- **Show what data there is** — “what tables do we have?”
- **Run read-only SQL** — paste a `SELECT …` and I'll run it safely.
- **Look up brand knowledge** — “what's our return policy?”, “which disclaimer do SMS need?”

Follow-ups work too: after “revenue by country”, try “and last month?”."""

SECRETS_REFUSAL = ("I can't share my instructions, configuration, API keys or any other credentials. "
                   "Ask me about your customers, campaigns or brand instead.")


class OfflinePlanner(BaseChatModel):
    """Rules-and-embeddings planner implemented as a chat model (see module docstring)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    context: Any = Field(default=None, exclude=True)  # tools.context.ToolContext
    tool_names: list[str] = Field(default_factory=list)
    today: dt.date | None = None
    _router_cache: Router | None = PrivateAttr(default=None)

    @property
    def _llm_type(self) -> str:
        return "mara-offline-planner"

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> OfflinePlanner:  # type: ignore[override]
        """Remember which tools exist; the planner only calls those."""
        names = [t.name if hasattr(t, "name") else t["function"]["name"] if isinstance(t, dict) else t.__name__ for t in tools]
        return self.model_copy(update={"tool_names": names})

    # --- planning ------------------------------------------------------------------------

    def _router(self) -> Router:
        if self._router_cache is None or self._router_cache.available != set(self.tool_names):
            cache_dir = None
            if self.context is not None and self.context.settings.home.is_dir():
                cache_dir = self.context.settings.home / "cache"
            self._router_cache = Router(set(self.tool_names), cache_dir)
        return self._router_cache

    def decide(self, messages: Sequence[BaseMessage]) -> AIMessage:
        """The next message of the assistant: a tool call or the final reply."""
        last_human = max((i for i, m in enumerate(messages) if isinstance(m, HumanMessage)), default=-1)
        if last_human < 0:
            return AIMessage(content=HELP_TEXT)
        text = _text(messages[last_human].content)
        text = normalise(text, self.context.profile() if self.context is not None else None)  # "rev last wk", "ordres"
        results = [m for m in messages[last_human + 1 :] if isinstance(m, ToolMessage)]
        if results:
            plan = _last_plan(messages[last_human + 1 :])
            follow = (self._chart_step(plan, results) or self._offer_step(plan, results)
                      or self._then_step(plan, results))
            if follow is not None:
                return follow
            return AIMessage(content=self._compose(text, plan, results))
        return self._plan(text, messages[:last_human])

    def _chart_step(self, plan: dict[str, Any], results: list[ToolMessage]) -> AIMessage | None:
        """A chart of a requested kind after the query that feeds it (“revenue by month as a line chart”)."""
        kind = plan.get("chart_kind")
        if not kind or "make_chart" not in self.tool_names or any(r.name == "make_chart" for r in results):
            return None
        last = results[-1]
        table_id = _artifact_id(last)
        if last.status == "error" or table_id is None:
            return None
        marks = {"pie": "arc", "donut": "arc", "scatter": "point"}
        artifact = last.artifact if isinstance(last.artifact, dict) else {}
        for existing in artifact.get("artifacts", []):
            mark = mark_type(existing.get("spec", {}))
            if existing.get("kind") == "chart" and mark == marks.get(kind, kind):
                return None  # the automatic chart is already the kind asked for
        return _call("make_chart", {"artifact_id": table_id, "kind": kind}, {**plan, "tool": "make_chart", "after": plan.get("tool")})

    def _then_step(self, plan: dict[str, Any], results: list[ToolMessage]) -> AIMessage | None:
        """The second step of a two-part request (“who will churn … and draft a win-back SMS”)."""
        then = plan.get("then")
        if not then or any(r.name == then["tool"] for r in results) or then["tool"] not in self.tool_names:
            return None
        if then["tool"] == "draft_copy":
            return self._copy_call(then["args"], {**plan, "then": None})
        return _call(then["tool"], then["args"], {**plan, "tool": then["tool"], "then": None})

    def _copy_call(self, args: dict[str, Any], plan: dict[str, Any]) -> AIMessage:
        """Draft copy; for a purpose with no offer given (“a win-back SMS”), first look up the
        brand's offer for it in the knowledge base, so the drafts state the real one."""
        purpose = plan.get("purpose")
        if not args.get("offer") and purpose and "search_knowledge" in self.tool_names:
            return _call("search_knowledge", {"query": f"{purpose} offer code", "k": 3},
                         {**plan, "tool": "search_knowledge", "offer_for": args})
        return _call("draft_copy", args, {**plan, "tool": "draft_copy"})

    def _offer_step(self, plan: dict[str, Any], results: list[ToolMessage]) -> AIMessage | None:
        """After the offer lookup: draft with the offer found (or without one, saying so)."""
        args = plan.get("offer_for")
        if not args or any(r.name == "draft_copy" for r in results):
            return None
        last = results[-1]
        data = (last.artifact or {}).get("data", {}) if isinstance(last.artifact, dict) else {}
        purpose = str(plan.get("purpose") or "")
        found = offer_from_passages(data.get("passages", []), purpose) if last.status != "error" else None
        offer = {"offer": found[0], "source": found[1]} if found else {"offer": None}
        args = {**args, "offer": found[0]} if found else dict(args)
        return _call("draft_copy", args, {**plan, "tool": "draft_copy", "offer_for": None, "offer_lookup": offer})

    def _plan(self, text: str, earlier: Sequence[BaseMessage]) -> AIMessage:
        route = self._router().route(text, self.context.profile() if self.context is not None else None)
        previous_draft = _previous_call(earlier, "draft_copy") if "draft_copy" in self.tool_names else None
        if (previous_draft is not None and route.intent not in ("refuse_write", "refuse_secret")
                and (follow := copy_follow_up(text, previous_draft)) is not None):
            return _call("draft_copy", follow, {"tool": "draft_copy", "follow_up": True})
        if "save_audience" in self.tool_names and (
                saving := audience_follow_up(text, _previous_data(earlier, ("predict_churn",), ("save_audience",)))) is not None:
            return _call("save_audience", saving, {"tool": "save_audience", "follow_up": True})
        if route.intent in ("greeting", "help") and route.score < 1.0 and _FOLLOW_UP.match(text) and self._answerable_from_data(text, earlier):
            route = Route("query_data", route.score)  # "and in ME?" after a data answer changes that question, it is not a greeting
        if route.intent == "greeting":
            return AIMessage(content="Hi! Ask me about your customers, orders, products or brand — or type “help” for examples.")
        if route.intent == "help":
            return AIMessage(content=HELP_TEXT)
        if route.intent == "refuse_write":
            return AIMessage(
                content="Customer data is read-only to me: I can't delete, change or create tables or rows. "
                "I can query it, segment it and draft copy from it."
            )
        if route.intent == "refuse_secret":
            return AIMessage(content=SECRETS_REFUSAL)
        if route.intent == "run_sql":
            return _call("run_sql", {"sql": route.sql}, {"tool": "run_sql"})
        if "schedule_briefing" in self.tool_names and (standing := schedule_request(text)) is not None:
            return _call("schedule_briefing", standing, {"tool": "schedule_briefing"})
        verified = self._verified(text)
        if verified is not None:
            return verified
        chart = self._chart_of_previous(text, earlier)
        if chart is not None:  # "make that a pie chart": before any tool the words might also suggest
            return chart
        if self.context is not None and (route.intent not in MODEL_TOOLS or _FOLLOW_UP.match(text)) and not _COPY.search(text):
            analysis = analysis_call(text, earlier, self.context.profile(), self.today, self.tool_names,
                                     self._data_question(text, earlier))
            if analysis is not None:  # compare periods, explain a change, spot anomalies (planner/analysis.py)
                return analysis
        if route.intent not in ("query_data", *route.strong) and self._answerable_from_data(text, earlier):
            route = Route("query_data", route.score)  # the schema's own words explain the whole question
        if route.intent == "search_knowledge":
            return _call("search_knowledge", {"query": text, "k": 5}, {"tool": "search_knowledge"})
        if route.intent == "describe_data":
            return _call("describe_data", {}, {"tool": "describe_data"})
        if route.intent == "save_audience":
            return self._audience_call(text)
        if route.intent in SCHEMA_ARGS_HOOKS and self.context is not None:
            args = SCHEMA_ARGS_HOOKS[route.intent](text, self.context.profile())
            if not args or not customer_text(args):
                return AIMessage(content=needs_message(route.intent, self.context.profile()))
            return _call(route.intent, args, {"tool": route.intent})
        # copy only when the message asks for it (a data question about e-mail opt-ins is no copy request)
        copy_args = (copy_request(text, asked=route.intent == "draft_copy") if "draft_copy" in self.tool_names
                     and (route.intent == "draft_copy" or route.intent in MODEL_TOOLS) else None)
        model_intent = route.intent if route.intent in MODEL_TOOLS else None
        if copy_args is not None and model_intent is None:
            model_intent = self._router().model_intent(text.split(" and ")[0]) if " and " in text else None
        if model_intent is not None:
            call = self._model_call(model_intent, text)
            if copy_args is not None and call.tool_calls:
                copy_args["segment"] = copy_args.get("segment") or _SEGMENT_FOR_TOOL.get(model_intent)
                call.additional_kwargs["mara_plan"]["then"] = {"tool": "draft_copy", "args": _clean(copy_args)}
                call.additional_kwargs["mara_plan"]["purpose"] = copy_purpose(text)
            return call
        if copy_args is not None:
            return self._copy_call(_clean(copy_args), {"tool": "draft_copy", "purpose": copy_purpose(text)})
        kind = _chart_kind(text)
        question = self._data_question(text, earlier)
        if question is None:
            fallback = self._supported_capability(text, route)
            if fallback is not None:
                return fallback
            if "describe_data" in self.tool_names:
                return _call("describe_data", {}, {"tool": "describe_data", "unsure": True})
            return AIMessage(content="I couldn't map that to your data. Type “help” for examples.")
        if question.clarify:
            return AIMessage(content=question.clarify)
        if question.unmatched:
            return self._no_such_column(question.unmatched)
        plan: dict[str, Any] = {"subject": question.subject, "qualifiers": question.qualifiers, "grouping": question.grouping,
                "notes": question.notes, "kind": question.kind, "rows_alias": question.rows_alias,
                "rows_label": question.rows_label, "data_end": question.data_end, "top_group": question.top_group,
                "compare": question.compare, "flag_columns": question.flag_columns}
        if question.sql is not None:
            return _call("run_sql", {"sql": question.sql}, {**plan, "tool": "run_sql", "count": True})
        args = question.spec.model_dump(mode="json", exclude_none=True)
        for metric in args.get("metrics", []):
            if "name" in metric:  # a semantic-model metric: agg/column come from its definition
                metric.pop("agg", None)
        plan.update({"tool": "query_data", "time_grain": question.spec.time_grain, "order": question.spec.order,
                     "count": question.kind == "count",
                     "share_of": list[object](question.share_of) if question.share_of else None})
        if kind and kind != "chart":
            plan["chart_kind"] = kind
        return _call("query_data", args, plan)

    def _chart_of_previous(self, text: str, earlier: Sequence[BaseMessage]) -> AIMessage | None:
        """A chart of the conversation's last table when the message asks for one and changes nothing of the question
        that made it (“make that a pie chart”, “show it as a line”, “bar chart please”); “and as a chart by month?”
        or “revenue by month as a line chart” ask a question of their own, charted after its query."""
        kind = _chart_kind(text)
        if not kind or "make_chart" not in self.tool_names:
            return None
        previous = _previous_table(earlier)
        if previous is None:
            return None
        if self.context is not None and "query_data" in self.tool_names:
            asked = self._previous_parse(earlier)
            rest = _CHART_PHRASE.sub(" ", _AS_A_KIND.sub(" ", text))  # "as a line" names a chart, not line_total
            question = parse_question(rest, self.context.profile(), self.today or dt.date.today(), previous=asked)
            if question is not None and (asked is None or question.spec != asked.spec):
                return None
        return _call("make_chart", {"artifact_id": previous, "kind": kind if kind != "chart" else None}, {"tool": "make_chart"})

    def _supported_capability(self, text: str, route: Route) -> AIMessage | None:
        """When the data path cannot read a message, the capability whose own words it uses (``route.supported``),
        the one closest by similarity, answers it — not a description of the data. Never a data question's shape:
        “products customers love most, by average rating” that the parser misses is no request for feedback analysis."""
        if route.data_shape:
            return None
        scores = self._router().scores(text)
        candidates = sorted((i for i in route.supported if i in self.tool_names and i not in ("query_data", "describe_data")),
                            key=lambda i: -scores.get(i, 0.0))
        for intent in candidates:
            if intent == "search_knowledge":
                return _call("search_knowledge", {"query": text, "k": 5}, {"tool": "search_knowledge"})
            if intent in SCHEMA_ARGS_HOOKS and self.context is not None:
                args = SCHEMA_ARGS_HOOKS[intent](text, self.context.profile())
                if args and customer_text(args):
                    return _call(intent, args, {"tool": intent})
            elif intent in MODEL_TOOLS:
                return self._model_call(intent, text)
            elif intent == "draft_copy" and (copy_args := copy_request(text, asked=True)) is not None:
                return self._copy_call(_clean(copy_args), {"tool": "draft_copy", "purpose": copy_purpose(text)})
        return None

    def _verified(self, text: str) -> AIMessage | None:
        """The query of a verified question close to ``text`` (see assistant/planner/verified.py)."""
        settings = getattr(self.context, "settings", None)
        # lazy: imported only on this path (keeps the module's own import light)
        from assistant.planner.verified import load_verified, match_verified

        if settings is None or not load_verified(settings.home):
            return None

        found = match_verified(text, self.context.profile(), settings.home, self.today or dt.date.today())
        if found is None or found.tool not in self.tool_names:
            return None
        plan = {"tool": found.tool, "subject": f"the verified question “{found.question}”",
                "qualifiers": found.substituted, "verified": found.question}
        return _call(found.tool, found.args, plan)

    def _answerable_from_data(self, text: str, earlier: Sequence[BaseMessage]) -> bool:
        """Whether the parser explains every word of ``text`` with the live schema's columns, values or
        metrics (“average shipping per order”, “which vendor sells the most units”) — then it is a data
        question whatever the embedding router thought; segments, churn, CLV and copy keep their words."""
        if "query_data" not in self.tool_names or self.context is None:
            return False
        if _CAPABILITY_WORDS.search(text) and not _capability_words_are_columns(text, self.context.profile()):
            return False
        question = self._data_question(text, earlier)
        return question is not None and question.clarify is None and not question.unmatched and question.grounded

    def _model_call(self, tool: str, text: str) -> AIMessage:
        """Segments, churn propensity or CLV over the purchases table found in the live schema (by the roles of
        its columns, whatever the table is called); when none qualifies, what is missing and what exists."""
        profile = self.context.profile() if self.context is not None else None
        orders = _orders_table(profile) if profile is not None else None
        if orders is None:
            return AIMessage(content=needs_message(tool, profile))
        return _call(tool, model_tool_args(tool, text, orders), {"tool": tool})

    def _audience_call(self, text: str) -> AIMessage:
        """Save the RFM segments a message names as an audience (“save the champions as an audience called
        vip”); without a segment, ask which customers it should hold rather than guess."""
        args = audience_request(text)
        if args is None:
            return AIMessage(content=AUDIENCE_QUESTION)
        profile = self.context.profile() if self.context is not None else None
        orders = _orders_table(profile) if profile is not None else None
        if orders is None:
            return AIMessage(content=needs_message("rfm_segments", profile))
        return _call("save_audience", {**args, "orders_table": orders}, {"tool": "save_audience"})

    def _no_such_column(self, phrases: list[str]) -> AIMessage:
        profile = self.context.profile()
        columns = sorted({c.name for t in profile.tables for c in t.columns if c.role in ("category", "flag", "date")})
        wanted = ", ".join(f"“{p}”" for p in phrases)
        return AIMessage(
            content=f"I couldn't find a column for {wanted} in your data, so I won't guess. "
            f"You can break results down by: {', '.join(columns)}."
        )

    def _data_question(self, text: str, earlier: Sequence[BaseMessage]) -> DataQuestion | None:
        """The question's parse; a follow-up (“and last month?”) changes the conversation's last data question."""
        if self.context is None or "query_data" not in self.tool_names:
            return None
        return parse_question(text, self.context.profile(), self.today or dt.date.today(), previous=self._previous_parse(earlier))

    def _previous_parse(self, earlier: Sequence[BaseMessage]) -> DataQuestion | None:
        """The conversation's last data question, its thread replayed so chained follow-ups keep their parts."""
        profile = self.context.profile()
        today = self.today or dt.date.today()
        previous: DataQuestion | None = None
        for asked in _previous_questions(earlier)[-4:]:
            previous = parse_question(asked, profile, today, previous=previous) or previous
        return previous

    def _compose(self, text: str, plan: dict[str, Any], results: list[ToolMessage]) -> str:
        parts = []
        for result in results:
            name = result.name or plan.get("tool", "")
            if result.status == "error":
                parts.append(compose_error_reply(name, _text(result.content)))
                continue
            artifact = result.artifact if isinstance(result.artifact, dict) else {}
            part = tool_reply(ToolResult(
                name=name, message=text, plan=plan, data=artifact.get("data", {}), content=_text(result.content),
                artifacts=list(artifact.get("artifacts", [])),
            ))
            if part is not None:
                parts.append(part)
        return "\n\n".join(parts)

    # --- BaseChatModel ---------------------------------------------------------------------

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        message = self.decide(messages)
        _attach_usage(message, messages)
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        message = self.decide(messages)
        _attach_usage(message, messages)
        if message.tool_calls:
            chunk = AIMessageChunk(
                content="",
                additional_kwargs=message.additional_kwargs,
                tool_call_chunks=[
                    {"name": c["name"], "args": json.dumps(c["args"]), "id": c["id"], "index": i, "type": "tool_call_chunk"}
                    for i, c in enumerate(message.tool_calls)
                ],
                usage_metadata=message.usage_metadata,
            )
            yield ChatGenerationChunk(message=chunk)
            return
        pieces = re.findall(r"\S+\s*|\s+", _text(message.content))
        for i, piece in enumerate(pieces):
            chunk = AIMessageChunk(content=piece, usage_metadata=message.usage_metadata if i == len(pieces) - 1 else None)
            if run_manager:
                run_manager.on_llm_new_token(piece, chunk=ChatGenerationChunk(message=chunk))
            yield ChatGenerationChunk(message=chunk)


_CAPABILITY_WORDS = re.compile("|".join([p.pattern for p in _MODEL_WORDS.values()] + [_COPY.pattern]), re.I)
_FORECAST_WORDS = re.compile(r"\b(predict\w*|forecast\w*|likely|likelihood|propensity|will|going to|at[- ]risk|risk|"
                             r"probabilit\w*|score|model|segments?|segmentation|rfm|clv|ltv|lifetime)\b", re.I)


def _capability_words_are_columns(text: str, profile: Any) -> bool:
    """Whether every segmentation/churn/CLV word of ``text`` is (a form of) a word of one of the live schema's
    column names — “churn rate by region” on a table with an ``is_churned`` flag asks about that flag, not for a
    churn model — and nothing asks for a forecast (“likely”, “will”, “predict”, “at risk”, “segments”)."""
    if _FORECAST_WORDS.search(text) or _COPY.search(text):
        return False
    names = {word for table in getattr(profile, "tables", []) for column in table.columns
             for word in re.findall(r"[a-z]+", re.sub(r"([a-z])([A-Z])", r"\1 \2", column.name).lower()) if len(word) >= 4}
    found = [m.group(0).lower() for p in _MODEL_WORDS.values() for m in p.finditer(text)]
    return bool(found) and all(any(w.startswith(n[:5]) or n.startswith(w[:5]) for n in names) for w in found)


_SEGMENT_FOR_TOOL = {"predict_churn": "At Risk", "customer_lifetime_value": "Champions"}


def _clean(args: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in args.items() if v is not None}


def _orders_table(profile: Any) -> str | None:
    """The transactions table: it references customers and has a date and an amount (orders)."""
    declared = [t for t in profile.tables if t.customer_key and t.customer_key != t.key and t.by_role("date") and t.by_role("money")
                and purchases_by_customer(t)]
    if declared:  # the semantic model names each table's customer key
        declared.sort(key=lambda t: (t.key is None, t.rows))
        return str(declared[0].name)
    customers = next((t for t in profile.tables if t.key and t.key.startswith("customer")), None)
    candidates = [  # without a customers table: a column saying who bought, repeated across rows (not one row per account)
        t for t in profile.tables
        if t.by_role("date") and t.by_role("money") and t is not customers
        and (profile.link_column(t, customers) if customers is not None else purchases_by_customer(t))
    ]
    candidates.sort(key=lambda t: (t.key is None, t.rows))  # a header table with its own key first
    return candidates[0].name if candidates else None


_CHART_KINDS = {"pie": "pie", "donut": "donut", "bar": "bar", "column": "bar", "line": "line", "area": "area",
                "scatter": "scatter", "trend": "line"}
_CHART_WORDS = re.compile(r"\b(chart|plot|graph|visuali[sz]e|visuali[sz]ation|pie|donut|histogram)\b", re.I)
_REFERS_BACK = re.compile(r"\b(that|it|these|those|same)\b|\bthis\b(?!\s+(?:year|quarter|month|week|day|season))", re.I)


_AS_A_KIND = re.compile(r"\b(?:as|into|in|to) an? (pie|donut|bar|column|line|area|scatter)\b(?! (?:item|of)\b)", re.I)
_CHART_PHRASE = re.compile(r"\b(?:(?:pie|donut|bar|column|line|area|scatter)\s+)?(?:chart|graph|plot|visuali[sz]ation)s?\b|"
                           r"\b(?:plot|visuali[sz]e|pie|donut|histogram)\b", re.I)


def _chart_kind(text: str) -> str | None:
    """``"pie"``, ``"line"``, ... when the message asks for a chart of a kind (“as a line” says the kind without
    the word chart); ``"chart"`` for any."""
    if (bare := _AS_A_KIND.search(text)) is not None:
        return _CHART_KINDS[bare.group(1).lower()]
    if not _CHART_WORDS.search(text):
        return None
    for word, kind in _CHART_KINDS.items():
        if re.search(rf"\b{word}\b", text, re.I):
            return kind
    return "chart"


def _artifact_id(message: ToolMessage) -> str | None:
    artifact = message.artifact if isinstance(message.artifact, dict) else {}
    return artifact.get("data", {}).get("artifact_id")


def _previous_call(earlier: Sequence[BaseMessage], tool: str) -> dict[str, Any] | None:
    """The arguments of the latest call of ``tool`` in the conversation, if any."""
    for message in reversed(earlier):
        if isinstance(message, AIMessage):
            for call in reversed(message.tool_calls):
                if call["name"] == tool:
                    return dict(call["args"])
    return None


def _previous_data(earlier: Sequence[BaseMessage], tools: Sequence[str],
                   passing: Sequence[str] = ()) -> dict[str, Any] | None:
    """The ``data`` of the latest successful result of one of ``tools``, when it is the latest
    tool result of the conversation apart from results of ``passing`` (a follow-up acts on the
    answer just given: “save them”, then “and the top 50 as vip-risk”)."""
    for message in reversed(earlier):
        if isinstance(message, ToolMessage) and message.name in passing:
            continue
        if isinstance(message, ToolMessage):
            if message.name not in tools or message.status == "error":
                return None
            artifact = message.artifact if isinstance(message.artifact, dict) else {}
            data = artifact.get("data")
            return data if isinstance(data, dict) else None
    return None


def _previous_table(earlier: Sequence[BaseMessage]) -> str | None:
    for message in reversed(earlier):
        if isinstance(message, ToolMessage) and message.status != "error":
            found = _artifact_id(message)
            if found:
                return found
    return None


def _call(name: str, args: dict[str, Any], plan: dict[str, Any]) -> AIMessage:
    return AIMessage(
        content="",
        tool_calls=[{"name": name, "args": args, "id": f"call_{uuid.uuid4().hex[:12]}", "type": "tool_call"}],
        additional_kwargs={"mara_plan": plan},
    )


def _last_plan(messages: Sequence[BaseMessage]) -> dict[str, Any]:
    for message in reversed(messages):
        if isinstance(message, AIMessage) and "mara_plan" in message.additional_kwargs:
            return dict(message.additional_kwargs["mara_plan"])
    return {}


def _previous_questions(earlier: Sequence[BaseMessage]) -> list[str]:
    """The earlier human messages that led to a data query, oldest first."""
    out: list[str] = []
    asked: str | None = None
    for message in earlier:
        if isinstance(message, HumanMessage):
            asked = _text(message.content)
        elif isinstance(message, AIMessage) and asked and (not out or out[-1] != asked) and (
                (plan := message.additional_kwargs.get("mara_plan", {})).get("tool") == "query_data"
                or (plan.get("tool") == "run_sql" and plan.get("subject"))):
            out.append(asked)
    return out


def _attach_usage(message: AIMessage, prompt: list[BaseMessage]) -> None:
    prompt_tokens = count_message_tokens(prompt)
    completion = count_tokens(_text(message.content)) + sum(count_tokens(json.dumps(c["args"])) for c in message.tool_calls)
    message.usage_metadata = {"input_tokens": prompt_tokens, "output_tokens": completion, "total_tokens": prompt_tokens + completion}


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") if isinstance(p, dict) else str(p) for p in content)
    return str(content or "")
