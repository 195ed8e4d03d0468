"""The offline planner's per-tool hooks, looked up by tool name (no ``if name == ...`` chain).

- :data:`ARGS_HOOKS`: how a modelling tool's arguments come from the message, given the
  orders table found in the data (tools without a hook get ``{"orders_table": ...}``);
- :data:`REPLY_HOOKS`: how a tool's result is worded in the reply (tools without a hook get
  the start of what the tool told the model).

A new tool that the offline planner should word well registers a reply hook here with
``@reply_hook("tool_name")``; the sentences themselves stay in :mod:`assistant.planner.compose`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from assistant.planner.compose import (
    compose_copy_reply,
    compose_describe_reply,
    compose_knowledge_reply,
    compose_offer_note,
    compose_query_reply,
)
from tools.feedback.requests import feedback_args


@dataclass(frozen=True, slots=True)
class ToolResult:
    """A successful tool result as the reply hooks see it."""

    name: str
    message: str  # the user's message
    plan: dict[str, Any]  # the offline plan that called the tool
    data: dict[str, Any]  # the tool's ``data`` (key numbers, rows...)
    content: str  # what the tool told the model
    artifacts: list[dict[str, Any]] = field(default_factory=list)


ReplyHook = Callable[[ToolResult], str | None]  # None: the tool adds nothing to the reply
ArgsHook = Callable[[str, str], dict[str, Any]]  # (message, orders table) -> tool arguments

REPLY_HOOKS: dict[str, ReplyHook] = {}
ARGS_HOOKS: dict[str, ArgsHook] = {}
#: Tools that read a table found in the live schema, not the orders table: (message, profile) -> arguments.
SCHEMA_ARGS_HOOKS: dict[str, Callable[[str, Any], dict[str, Any]]] = {}

#: The modelling tools the planner starts from a message, and the sentence that opens their reply.
MODEL_TOOLS = {
    "rfm_segments": "Here are your customers in the standard RFM segments (recency, frequency, monetary value):",
    "cluster_customers": "Here are the behavioural clusters I found in your customers:",
    "predict_churn": "I trained a propensity model on your order history and scored every customer:",
    "customer_lifetime_value": "I fitted BG/NBD and Gamma-Gamma models to your order history:",
    "recommend_products": "Here is what the purchase history recommends:",
}


def reply_hook(*names: str) -> Callable[[ReplyHook], ReplyHook]:
    """Register the decorated function as the reply hook of the tools ``names``."""

    def register(hook: ReplyHook) -> ReplyHook:
        for name in names:
            REPLY_HOOKS[name] = hook
        return hook

    return register


def args_hook(name: str) -> Callable[[ArgsHook], ArgsHook]:
    """Register the decorated function as the argument hook of the tool ``name``."""

    def register(hook: ArgsHook) -> ArgsHook:
        ARGS_HOOKS[name] = hook
        return hook

    return register


def tool_reply(result: ToolResult) -> str | None:
    """The reply's words for ``result`` (its tool's hook, else the start of its text)."""
    hook = REPLY_HOOKS.get(result.name)
    return hook(result) if hook is not None else result.content[:1500]


def model_tool_args(tool: str, message: str, orders_table: str) -> dict[str, Any]:
    """A modelling tool's arguments for ``message`` over ``orders_table``."""
    hook = ARGS_HOOKS.get(tool)
    return hook(message, orders_table) if hook is not None else {"orders_table": orders_table}


# --- reply hooks ------------------------------------------------------------------------------


@reply_hook("query_data")
def _query_data(result: ToolResult) -> str:
    return compose_query_reply(result.plan, result.data)


@reply_hook("run_sql")
def _run_sql(result: ToolResult) -> str:
    sql_plan = result.plan if result.plan.get("subject") else {"subject": "the query result"}
    return compose_query_reply(sql_plan, result.data) if result.data.get("rows") is not None else result.content


@reply_hook("describe_data")
def _describe_data(result: ToolResult) -> str:
    unsure = "I couldn't map that question to a query over your data. Here is what I can see:\n\n"
    return (unsure if result.plan.get("unsure") else "") + compose_describe_reply(result.data)


@reply_hook("make_chart")
def _make_chart(result: ToolResult) -> str | None:
    if result.plan.get("after"):
        return None  # the query's own sentence (composed with it) already states the numbers
    chart = next((a for a in result.artifacts if a.get("kind") == "chart"), None)
    return f"Here is the chart{': ' + chart['title'] if chart and chart.get('title') else ''}."


@reply_hook("draft_copy")
def _draft_copy(result: ToolResult) -> str:
    return compose_copy_reply(result.data)


@reply_hook(*MODEL_TOOLS)
def _model_tool(result: ToolResult) -> str:
    return MODEL_TOOLS[result.name] + "\n\n" + result.content


@reply_hook("search_knowledge")
def _search_knowledge(result: ToolResult) -> str:
    if result.plan.get("offer_lookup") is not None:
        return compose_offer_note(result.plan["offer_lookup"], str(result.plan.get("purpose") or ""))
    return compose_knowledge_reply(result.message, result.data.get("passages", []))


# --- argument hooks ---------------------------------------------------------------------------


@args_hook("cluster_customers")
def _cluster_args(message: str, orders_table: str) -> dict[str, Any]:
    return {"table": orders_table}


SCHEMA_ARGS_HOOKS["analyze_feedback"] = feedback_args  # table, text column, by, where from the message


@reply_hook("analyze_feedback")
def _analyze_feedback(result: ToolResult) -> str:
    return result.content  # already worded for a marketer: headline, spikes, themes with quotes


@args_hook("predict_churn")
def _churn_args(message: str, orders_table: str) -> dict[str, Any]:
    wants_purchase = re.search(r"\b(buy|purchase|order)\w*\b(?!.*\bchurn)", message, re.I) and not re.search(
        r"churn|stop|leave|lapse", message, re.I
    )
    return {"orders_table": orders_table, "label": "purchase" if wants_purchase else "churn",
            "horizon_days": horizon_days(message, 90)}


@args_hook("customer_lifetime_value")
def _clv_args(message: str, orders_table: str) -> dict[str, Any]:
    return {"orders_table": orders_table, "horizon_days": horizon_days(message, 365)}


_RFM_SEGMENT = re.compile(r"\b(champions|loyal|potential loyalists?|new customers|promising|need attention|"
                          r"about to sleep|at[- ]risk|can'?t lose them|hibernating|lost)\b", re.I)
_SEGMENT_NAMES = {"champions": "Champions", "loyal": "Loyal", "potential loyalist": "Potential Loyalist",
                  "potential loyalists": "Potential Loyalist", "new customers": "New", "promising": "Promising",
                  "need attention": "Need Attention", "about to sleep": "About to Sleep", "at risk": "At Risk",
                  "at-risk": "At Risk", "can't lose them": "Can't Lose Them", "cant lose them": "Can't Lose Them",
                  "hibernating": "Hibernating", "lost": "Lost"}
_PRODUCT_PHRASES = (
    re.compile(r"\b(?:likely to|who (?:will|would|might)) (?:buy|purchase|order) (?:an? |the )?(.+?)[?.!]*$", re.I),
    re.compile(r"\b(?:bought|buy|buying|purchased) (?:an? |the )?(.+?) (?:also|next|too|as well)\b", re.I),
    re.compile(r"\b(?:people|customers|those) who (?:bought|buy|purchased) (?:an? |the )?(.+?)(?: also| buy| next|[?.!]|$)", re.I),
    re.compile(r"\b(?:with|goes with|go with|for people who bought) (?:an? |the )?(.+?)[?.!]*$", re.I),
    re.compile(r"\b(\w+) (?:buyers|owners) (?:buy|purchase|also)", re.I),
)


@args_hook("recommend_products")
def _recommend_args(message: str, orders_table: str) -> dict[str, Any]:
    """Who or what the recommendation is about: a customer id, a product, an RFM segment."""
    args: dict[str, Any] = {"ask": "next"}
    customer = re.search(r"\bcustomer\s*(?:id\s*)?#?\s*(\w*\d\w*)", message, re.I)
    product = next((m.group(1).strip() for p in _PRODUCT_PHRASES if (m := p.search(message))), None)
    segment = _RFM_SEGMENT.search(message)
    if re.search(r"likely to (buy|purchase|order)|who (will|would|might) (buy|purchase)", message, re.I) and product:
        args.update(ask="likely_buyers", product=product)
    elif product and not customer:
        args.update(ask="also_bought", product=product)
    elif segment and not customer:
        args.update(ask="feature", segment=_SEGMENT_NAMES.get(segment.group(1).lower().replace("-", " "),
                                                                  segment.group(1).title()))
    elif customer:
        args["customer"] = customer.group(1)
    return args


def horizon_days(text: str, default: int) -> int:
    """“next quarter” → 90, “next 6 months” → 180, “next year” → 365."""
    lowered = text.lower()
    m = re.search(r"next\s+(\d+)\s+(day|week|month|year)s?", lowered)
    if m:
        return int(m.group(1)) * {"day": 1, "week": 7, "month": 30, "year": 365}[m.group(2)]
    for phrase, days in (("next month", 30), ("next quarter", 90), ("next year", 365), ("next week", 7),
                         ("next 12 months", 365), ("half year", 182)):
        if phrase in lowered:
            return days
    return default


# --- follow-ups that act on an earlier answer -------------------------------------------------

_SAVE_AUDIENCE = re.compile(
    r"\b(?:save|keep|store|make|turn|create|build|put)\b.{0,60}?\b(?:audience|segment|list)\b"
    r"|\bsave\s+(?:them|these|those|it|the\s+(?:high|top|at)[\w -]{0,30})\b", re.I)
_AUDIENCE_NAME = re.compile(
    r"\b(?:called|named|name it|as)\s+[\"'“‘]?([A-Za-z0-9][\w.-]{1,60})[\"'”’]?\s*[.!?]?\s*$", re.I)
_TOP_N = re.compile(r"\btop\s+(\d{1,7})\b", re.I)
_NOT_A_NAME = {"an", "a", "the", "audience", "segment", "list", "them", "it"}


def audience_follow_up(text: str, data: dict[str, Any] | None) -> dict[str, Any] | None:
    """``save_audience`` arguments when ``text`` asks to save the customers of an earlier churn
    or purchase answer (“save them as an audience”, “save the high-risk customers as
    winback-q4”, “save the top 200 as an audience called vip-risk”), from that answer's
    ``suggested_audience``; ``None`` when ``text`` is not such a request or nothing was offered."""
    suggested = (data or {}).get("suggested_audience")
    if not suggested or not _SAVE_AUDIENCE.search(text):
        return None
    named = _AUDIENCE_NAME.search(text.strip())
    name = named.group(1) if named and named.group(1).lower() not in _NOT_A_NAME else suggested["name"]
    args: dict[str, Any] = {"name": name, "model_id": suggested["model_id"]}
    top = _TOP_N.search(text)
    if top:
        args["top"] = int(top.group(1))
    else:
        args["threshold"] = suggested["threshold"]
    if suggested.get("active_days"):
        args["active_days"] = suggested["active_days"]  # the headline's customers, no more
    return args


@reply_hook("save_audience")
def _save_audience(result: ToolResult) -> str:
    data = result.data
    rule = data.get("params") or {}
    which = (f"the top {rule['top']:,} by score" if rule.get("top") else
             f"everyone scored ≥ {float(rule['threshold']):.0%}" if rule.get("threshold") is not None else "")
    if rule.get("active_days"):
        which += f"{', ' if which else ''}ordered in the last {int(rule['active_days'])} days of the data"

    name = data.get("name", "")
    return (f"Saved the audience **{name}**: {int(data.get('size', 0)):,} customers"
            f"{' (' + which + ')' if which else ''}. Export it with "
            f"`mara audience export {name} --out {name}.csv`.")
