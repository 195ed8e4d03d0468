"""Saving a schedule from chat: the sink behind the ``schedule_briefing`` tool.

The owner is the turn's actor and the scopes its scopes (both put in the run's configurable by
:meth:`assistant.agent.Assistant.stream`). Without a destination, a Slack user gets a DM; others
must name one. Webhooks are not set up from chat: their signing secret is shown once, and a
chat would keep it in the conversation (use the API or the CLI).

**The destination must be in the asker's own message.** In LLM mode the model fills in the
tool's arguments, and a prompt injection in a document or a data row could otherwise make it
save a daily e-mail of the owner's data to an address of the attacker's choosing. So an e-mail
address, or a Slack channel / user name, is accepted only when the turn's message names it.
"""

from __future__ import annotations

import re
from typing import Any

from langgraph.config import get_config

from assistant.audit import open_audit
from assistant.schedules import ScheduleInputError, new_schedule
from assistant.schedules.cadence import parse_cadence
from assistant.schedules.runner import audit_change
from assistant.schedules.store import ScheduleStore
from foundation.scopes import NO_SCOPES
from foundation.settings import MaraSettings


def _turn() -> dict[str, Any]:
    try:
        return dict(get_config().get("configurable") or {})
    except RuntimeError:  # outside a graph run (direct calls in tests)
        return {}


def make_sink(settings: MaraSettings) -> Any:
    """The ``ToolContext.schedule_sink`` of an assistant on ``settings``."""

    def save(*, cadence: str, question: str | None, destination: str | None, timezone: str, metric: str | None,
             period: str, condition: dict[str, Any] | None, cooldown_s: float) -> dict[str, Any]:
        turn = _turn()
        actor = str(turn.get("mara_actor") or "local")
        scopes = turn.get("mara_scopes") or NO_SCOPES  # a turn that did not say has none
        if not destination:
            parts = actor.split(":")
            if parts[0] != "slack" or len(parts) != 3:
                raise ScheduleInputError("Where should it go? Name a destination.",
                                         hint="e.g. 'to #marketing' (Slack) or 'to ana@example.com' (e-mail).")
            destination = f"slack:@{parts[2]}"
        elif not _named_in(destination, str(turn.get("mara_message") or "")):
            raise ScheduleInputError(
                f"The destination {destination!r} is not in your message, so it was not set up.",
                hint="Say where it should go in your own words, e.g. 'to #marketing' or 'to ana@example.com'.")
        if destination.startswith("webhook:"):
            raise ScheduleInputError("Webhooks are set up with 'mara schedule add' or POST /v1/schedules, not in chat.",
                                     hint="Their signing secret is shown once and would stay in this conversation.")
        schedule = new_schedule(settings, owner=actor, cadence=cadence, timezone=timezone or "UTC",
                                destinations=[destination], question=question, metric=metric, period=period or "day",
                                condition=condition, cooldown_s=cooldown_s or 0,
                                scopes=list(scopes))
        store = ScheduleStore(settings)
        try:
            store.add(schedule)
        finally:
            store.close()
        audit_change(open_audit(settings), actor, schedule, "create", via="chat")
        nxt = parse_cadence(schedule.cron, schedule.timezone).next_run()
        return {**schedule.public(), "next_run": nxt.isoformat(timespec="minutes") if nxt else None}

    return save


def _named_in(destination: str, message: str) -> bool:
    """Whether the asker's ``message`` names the destination's target as a whole word: the
    e-mail address, or the Slack channel / user (with or without its ``#`` / ``@``)."""
    target = destination.partition(":")[2].strip().casefold()
    if destination.startswith("slack:"):
        target = target.lstrip("#@")
    if not target:
        return False
    pattern = rf"(?<![\w.+-])[#@]?{re.escape(target)}(?![\w-]|\.\w)"
    return re.search(pattern, message.casefold()) is not None
