"""Offline reading of "every Monday at 9:00 Europe/Berlin send me revenue vs last week to
#marketing" and "tell me when daily orders fall 30% below normal": the arguments of the
``schedule_briefing`` tool (:mod:`tools.schedule_tool`), or ``None`` for other messages.

Only messages that start like a standing request — a cadence word first *and* a delivery verb
("send me", "post") or a destination ("to #marketing"), or "tell/alert/notify me when" — are
read as one, so "daily revenue last month" or "how many orders last Monday" stay questions.
"""

from __future__ import annotations

import re
from typing import Any

_START = re.compile(r"^\s*(every|each|daily|weekly|monthly|hourly)\b", re.I)
_WHEN = re.compile(r"^\s*(?:please\s+)?(?:tell|alert|notify|ping|warn)\s+(?:me|us)\s+(?:when|if)\s+(.+)$", re.I)
_ZONE = re.compile(r"\b((?:Africa|America|Antarctica|Asia|Atlantic|Australia|Europe|Indian|Pacific)/[A-Za-z_]+(?:/[A-Za-z_]+)?|UTC)\b")
_TARGET = re.compile(r"\s+(?:to|in|into)\s+(#[a-z0-9][a-z0-9_\-]*|[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+|https?://\S+)\s*$", re.I)
_VERB = re.compile(r"\b(?:send|post|e-?mail|give|share|tell|show)\s+(?:me|us)?\s*(?:the\s+)?", re.I)
_TIMED = re.compile(r"^\s*(?:every|each|daily|weekly|monthly|hourly)\b.{0,60}?\bat\s+\d{1,2}(?:[:.]\d{2})?(?:\s*(?:am|pm)\b)?", re.I)
_CADENCE = re.compile(
    r"^\s*(?:every|each|daily|weekly|monthly|hourly)\b.*?(?:"
    r"\b(?:day|morning|week|month|hour|weekday|weekend|monday|tuesday|wednesday|thursday|friday|saturday|sunday)s?\b|"
    r"\b(?:daily|weekly|monthly|hourly)\b)", re.I)
_ALERT = re.compile(
    r"^(?:(daily|weekly|monthly)\s+)?(?:the\s+)?([a-z][a-z _]*?)\s+(?:falls?|drops?|goes\s+down|rises?|goes\s+up|jumps?)"
    r"\s+(?:by\s+)?(?:more\s+than\s+)?(\d+(?:\.\d+)?)\s*%\s*(below|above|under|over)?\s*(normal|usual|the\s+previous\s+\w+|last\s+\w+)?",
    re.I)
_LIMIT = re.compile(r"^(?:(daily|weekly|monthly)\s+)?(?:the\s+)?([a-z][a-z _]*?)\s+(?:is\s+|are\s+|goes\s+|falls?\s+|drops?\s+|rises?\s+)?"
                    r"(below|under|above|over)\s+(\d[\d,]*(?:\.\d+)?)", re.I)
_GRAIN = {"daily": "day", "weekly": "week", "monthly": "month"}


def schedule_request(text: str) -> dict[str, Any] | None:
    """``schedule_briefing`` arguments for a standing request, else ``None``."""
    message = " ".join(text.split()).rstrip(".!")
    alert = _WHEN.match(message)
    if not alert and not _START.match(message):
        return None
    args: dict[str, Any] = {}
    zone = _ZONE.search(message)
    if zone:
        args["timezone"] = zone.group(1)
        message = (message[: zone.start()] + message[zone.end():]).strip()
    target = _TARGET.search(message)
    if target:
        found = target.group(1)
        kind = "slack" if found.startswith("#") else "webhook" if found.lower().startswith("http") else "email"
        args["destination"] = f"{kind}:{found}"
        message = message[: target.start()].strip()
    if alert:
        return _alert_args(alert.group(1), args)
    cadence = _TIMED.match(message) or _CADENCE.match(message)
    if cadence is None or not (target or _VERB.search(message[cadence.end():])):
        return None  # "daily revenue last month" is a question; a standing request says where or "send"
    args["cadence"] = cadence.group(0).strip()
    rest = _VERB.sub("", message[cadence.end():], count=1).strip(" ,:;-")
    if not rest:
        return None
    args["question"] = rest
    return args


def _alert_args(condition: str, args: dict[str, Any]) -> dict[str, Any] | None:
    condition = _ZONE.sub("", _TARGET.sub("", condition)).strip()
    change = _ALERT.match(condition)
    if change:
        grain, metric, pct, side, baseline = change.groups()
        down = bool(re.search(r"fall|drop|down", change.group(0), re.I)) or (side or "").lower() in ("below", "under")
        args.update(metric=_metric_name(metric), period=_GRAIN.get((grain or "daily").lower(), "day"),
                    condition={"kind": "change", "pct": float(pct), "direction": "down" if down else "up",
                               "baseline": "normal" if baseline and baseline.lower() in ("normal", "usual") else "previous"})
    else:
        limit = _LIMIT.match(condition)
        if limit is None:
            return None
        grain, metric, side, value = limit.groups()
        args.update(metric=_metric_name(metric), period=_GRAIN.get((grain or "daily").lower(), "day"),
                    condition={"kind": "threshold", "op": "below" if side.lower() in ("below", "under") else "above",
                               "value": float(value.replace(",", ""))})
    args.setdefault("cadence", {"day": "every day at 8:00", "week": "every Monday at 8:00",
                                "month": "every month on the 1st at 8:00"}[args["period"]])
    args["cooldown_s"] = {"day": 86400, "week": 7 * 86400, "month": 28 * 86400}[args["period"]]
    return args


def _metric_name(words: str) -> str:
    return "_".join(words.lower().split())
