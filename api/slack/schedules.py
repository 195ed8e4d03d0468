"""Schedules from Slack: ``/mara schedule …`` and the App Home's list with pause / resume.

``/mara schedule every Monday at 9:00 Europe/Berlin: revenue by country last week`` saves the
question to be answered in *this* channel on that cadence (time zone optional, UTC by
default; any IANA name before the colon). ``/mara schedule list``, ``pause ID``,
``resume ID``, ``remove ID`` manage the user's own schedules. The owner is the Slack user
(``slack:TEAM:USER``); runs use the workspace's Slack scopes (``MARA_SLACK_SCOPES``), and a
user only sees and changes their own schedules (another user's id answers "no schedule").
"""

from __future__ import annotations

import re
from typing import Any

from api.runtime import Runtime
from assistant.schedules import new_schedule
from assistant.schedules.runner import audit_change
from assistant.schedules.store import Schedule
from foundation.errors import MaraError

ACTION_SCHEDULE_PAUSE = "mara_schedule_pause"
ACTION_SCHEDULE_RESUME = "mara_schedule_resume"
USAGE = ("Schedule a question for this channel: `/mara schedule every Monday at 9:00 Europe/Berlin: revenue by "
         "country last week`. Manage yours: `/mara schedule list`, `pause ID`, `resume ID`, `remove ID`.")
_ZONE = re.compile(r"\s+([A-Za-z]+(?:/[A-Za-z_+\-]+)+|UTC)\s*$")


def schedule_command(runtime: Runtime, actor: str, channel: str, text: str, scopes: list[str]) -> str:
    """Carry out ``/mara schedule <text>`` for ``actor``; the ephemeral answer."""
    words = text.split()
    verb = words[0].lower() if words else ""
    store = runtime.schedules.store
    try:
        if verb in ("", "help"):
            return USAGE
        if verb == "list":
            mine = store.list(actor)
            if not mine:
                return "You have no schedules yet. " + USAGE
            return "\n".join(_line(s) for s in mine)
        if verb in ("pause", "resume", "remove") and len(words) == 2:
            schedule = _own(runtime, actor, words[1])
            if schedule is None:
                return f"You have no schedule '{words[1]}'. `/mara schedule list` shows yours."
            if verb == "remove":
                store.remove(schedule.id)
            else:
                schedule = store.update(schedule.id, paused=verb == "pause",
                                        paused_reason=f"paused by {actor}" if verb == "pause" else None)
            audit_change(runtime.ledger, actor, schedule, verb)
            runtime.schedules.sync()
            return f"{verb.capitalize()}d: {_line(schedule)}" if verb != "remove" else f"Removed {schedule.id}."
        parts = re.split(r":\s+", text, maxsplit=1)  # "9:00" keeps its colon; ": " ends the cadence
        when, question = (parts[0], parts[1]) if len(parts) == 2 else (text, "")
        if not question.strip():
            return "I need a cadence, a colon and the question. " + USAGE
        zone = _ZONE.search(when)
        timezone = zone.group(1) if zone else "UTC"
        cadence = when[: zone.start()] if zone else when
        schedule = new_schedule(runtime.settings, owner=actor, cadence=cadence, timezone=timezone,
                                destinations=[f"slack:{channel}"], question=question.strip(), scopes=scopes)
        store.add(schedule)
        audit_change(runtime.ledger, actor, schedule, "create")
        runtime.schedules.sync()
        return f"Scheduled {schedule.id}: {_line(schedule)}"
    except MaraError as err:
        return f"Not scheduled: {err}"


def toggle(runtime: Runtime, actor: str, schedule_id: str, paused: bool) -> bool:
    """Pause or resume the actor's own schedule from the App Home; False when not theirs."""
    schedule = _own(runtime, actor, schedule_id)
    if schedule is None:
        return False
    schedule = runtime.schedules.store.update(schedule_id, paused=paused,
                                              paused_reason=f"paused by {actor}" if paused else None)
    audit_change(runtime.ledger, actor, schedule, "pause" if paused else "resume")
    runtime.schedules.sync()
    return True


def home_blocks(runtime: Runtime, actor: str) -> list[dict[str, Any]]:
    """"Your schedules" for the App Home: one line each with a Pause or Resume button."""
    try:
        mine = runtime.schedules.store.list(actor)
    except MaraError:
        return []
    blocks: list[dict[str, Any]] = [{"type": "divider"}, {"type": "section", "text": {
        "type": "mrkdwn", "text": "*Your schedules*" + ("" if mine else "\nNone yet — `/mara schedule …` in a channel.")}}]
    for schedule in mine[:20]:
        paused = schedule.paused
        blocks.append({
            "type": "section", "text": {"type": "mrkdwn", "text": _escape(_line(schedule))[:2900]},
            "accessory": {"type": "button", "text": {"type": "plain_text", "text": "Resume" if paused else "Pause"},
                          "action_id": ACTION_SCHEDULE_RESUME if paused else ACTION_SCHEDULE_PAUSE,
                          "value": schedule.id},
        })
    return blocks


def _own(runtime: Runtime, actor: str, schedule_id: str) -> Schedule | None:
    found = runtime.schedules.store.find(schedule_id)
    return found if found is not None and found.owner == actor else None


def _line(schedule: Schedule) -> str:
    what = schedule.question or f"{schedule.metric} ({schedule.grain})"
    state = "paused" if schedule.paused else "active"
    return f"`{schedule.id}` {state} · {schedule.cadence} ({schedule.timezone}) · {what} → {', '.join(schedule.destinations)}"


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
