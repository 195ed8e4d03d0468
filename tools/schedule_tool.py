"""The ``schedule_briefing`` tool: "every Monday at 9:00 send me revenue vs last week to
#marketing" or "tell me when daily orders fall 30% below normal" saved from chat.

Saving happens in the assistant layer (``ToolContext.schedule_sink``, see
:mod:`assistant.schedules.chat`), which knows who is asking (the schedule's owner) and with
which scopes; this module only declares the tool the model (and the offline planner) calls.
"""

from __future__ import annotations

from typing import Any, Literal

from foundation.errors import ToolInputError
from tools.context import ToolContext
from tools.declare import mara_tool
from tools.results import ToolOutput


@mara_tool(
    scope="chat",
    route_offline=False,  # the offline planner reads standing requests by rule (assistant/planner/schedule_requests.py)
    examples=[
        "every Monday at 9:00 send me revenue and orders vs last week to #marketing",
        "every day at 8am post yesterday's orders by channel",
        "tell me when daily orders fall 30% below normal",
        "alert me when weekly revenue drops below 5000",
    ],
)
def schedule_briefing(
    ctx: ToolContext,
    cadence: str,
    question: str | None = None,
    destination: str | None = None,
    timezone: str = "UTC",
    metric: str | None = None,
    period: Literal["day", "week", "month"] = "day",
    condition: dict[str, Any] | None = None,
    cooldown_s: float = 0,
) -> ToolOutput:
    """Save a standing request: a question answered (or a metric checked) on a cadence and sent
    to a destination. cadence: words ("every Monday at 9:00") or cron; timezone: IANA name;
    destination: "slack:#channel", "slack:@U123" or "email:<address>" (default: the
    asker's Slack DM). Either question, or metric (a semantic-model metric) with period and an
    optional condition {"kind":"threshold","op":"above|below","value":N} |
    {"kind":"change","pct":N,"direction":"up|down|either","baseline":"previous|normal"}.
    """
    if ctx.schedule_sink is None:
        raise ToolInputError("Schedules cannot be saved from this conversation.",
                             hint="Use 'mara schedule add' or POST /v1/schedules.")
    saved = ctx.schedule_sink(cadence=cadence, question=question, destination=destination, timezone=timezone,
                              metric=metric, period=period, condition=condition, cooldown_s=cooldown_s)
    what = f"the question “{saved['question']}”" if saved.get("question") else f"{saved['metric']} ({saved['grain']})"
    rule = ""
    if saved.get("condition"):
        rule = f" — only when the alert condition holds ({_condition_text(saved['condition'])})"
    text = (f"Scheduled {saved['id']}: {what}, {saved['cadence']} ({saved['timezone']}) → "
            f"{', '.join(saved['destinations'])}{rule}. Next run: {saved.get('next_run') or 'n/a'}. "
            f"Pause or remove it with `mara schedule pause {saved['id']}` or `/mara schedule pause {saved['id']}` in Slack.")
    return ToolOutput(text=text, data=saved)


def _condition_text(condition: dict[str, Any]) -> str:
    if condition.get("kind") == "threshold":
        return f"{condition.get('op')} {condition.get('value'):,g}"
    if condition.get("kind") == "change":
        against = "normal" if condition.get("baseline") == "normal" else "the previous period"
        return f"{condition.get('direction')} {condition.get('pct'):g}% vs {against}"
    return str(condition.get("kind"))
