"""When a schedule runs: a cron expression or plain words, in an IANA time zone.

``parse_cadence("every Monday at 9:00")`` gives ``Cadence(cron="0 9 * * mon", ...)``; a
five-field cron expression is accepted as is. Both are checked by building the APScheduler
trigger, so what is accepted here is exactly what the scheduler runs. Errors name what was
wrong and list what is accepted.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from dataclasses import dataclass

from apscheduler.triggers.cron import CronTrigger

from foundation.errors import MaraError


class ScheduleInputError(MaraError):
    """A cadence, time zone, destination or check that is not accepted (HTTP 400)."""


WORDS_HELP = (
    "a five-field cron expression ('0 9 * * mon') or words such as 'every Monday at 9:00', "
    "'every weekday at 8:30', 'every day at 7am', 'every hour', 'every 15 minutes', "
    "'every month on the 1st at 9:00'"
)

_DAYS = {
    "monday": "mon", "tuesday": "tue", "wednesday": "wed", "thursday": "thu", "friday": "fri",
    "saturday": "sat", "sunday": "sun", "mon": "mon", "tue": "tue", "tues": "tue", "wed": "wed",
    "thu": "thu", "thur": "thu", "thurs": "thu", "fri": "fri", "sat": "sat", "sun": "sun",
}
_TIME = re.compile(r"\b(?:at\s+)?(\d{1,2})(?:[:.h](\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)?(?=\s|$|,)", re.I)
_CRON_FIELD = re.compile(r"^[\d*/,\-a-zA-Z?]+$")


@dataclass(frozen=True, slots=True)
class Cadence:
    """A validated cadence: the cron expression the scheduler runs, in ``timezone``."""

    cron: str
    timezone: str
    text: str  # what the user wrote

    def trigger(self) -> CronTrigger:
        return CronTrigger.from_crontab(self.cron, timezone=zoneinfo.ZoneInfo(self.timezone))

    def next_run(self, after: dt.datetime | None = None) -> dt.datetime | None:
        now = after or dt.datetime.now(dt.UTC)
        return self.trigger().get_next_fire_time(None, now)

    def last_due(self, now: dt.datetime) -> dt.datetime | None:
        """The latest time the cadence fired at or before ``now`` (what a late run is for)."""
        trigger = self.trigger()
        for days in (1, 8, 32, 367):
            probe = trigger.get_next_fire_time(None, now - dt.timedelta(days=days))
            found = None
            while probe is not None and probe <= now:
                found = probe
                probe = trigger.get_next_fire_time(probe, probe + dt.timedelta(seconds=1))
            if found is not None:
                return found
        return None

    def describe(self) -> str:
        return f"{self.text} ({self.timezone})"


def check_timezone(name: str) -> str:
    """``name`` when it is an IANA time zone (``Europe/Berlin``, ``UTC``); else a clear error."""
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as err:
        raise ScheduleInputError(
            f"Unknown time zone {name!r}.",
            hint="Use an IANA name such as 'Europe/Berlin', 'America/New_York' or 'UTC'.",
        ) from err
    return name


def parse_cadence(text: str, timezone: str = "UTC") -> Cadence:
    """A cron expression or words (see :data:`WORDS_HELP`) in ``timezone`` (IANA name)."""
    timezone = check_timezone(timezone.strip() or "UTC")
    raw = " ".join((text or "").split())
    if not raw:
        raise ScheduleInputError("The cadence is empty.", hint=f"Give {WORDS_HELP}.")
    fields = raw.split(" ")
    if len(fields) == 5 and all(_CRON_FIELD.match(f) for f in fields) and any(c.isdigit() or c == "*" for c in raw):
        cron = raw.lower()
    else:
        cron = _words_to_cron(raw)
    try:
        CronTrigger.from_crontab(cron, timezone=zoneinfo.ZoneInfo(timezone))
    except ValueError as err:
        raise ScheduleInputError(f"Invalid cron expression {cron!r}: {err}.", hint=f"Give {WORDS_HELP}.") from err
    return Cadence(cron=cron, timezone=timezone, text=raw)


def _words_to_cron(raw: str) -> str:
    text = raw.lower().replace(",", " ")
    text = re.sub(r"\bmornings?\b", "at 8:00", text) if not _TIME.search(text) else text
    hour, minute = 9, 0
    time_given = False
    for match in _TIME.finditer(text):
        number = int(match.group(1))
        before = text[: match.start()].rstrip()
        if match.group(0).strip().lower().startswith("at") or match.group(2) or match.group(3):
            if before.endswith(("every", "the", "on")) and not (match.group(2) or match.group(3)):
                continue
            hour, minute = number, int(match.group(2) or 0)
            meridiem = (match.group(3) or "").replace(".", "")
            if meridiem == "pm" and hour < 12:
                hour += 12
            elif meridiem == "am" and hour == 12:
                hour = 0
            time_given = True
            break
    if hour > 23 or minute > 59:
        raise ScheduleInputError(f"'{raw}' has a time of day that does not exist ({hour}:{minute:02d}).",
                                 hint="Use 0:00–23:59, e.g. 'at 9:00' or 'at 5pm'.")
    every_minutes = re.search(r"\bevery\s+(\d{1,2})\s*(?:minutes|mins?)\b", text)
    if every_minutes:
        n = int(every_minutes.group(1))
        if not 1 <= n <= 59:
            raise ScheduleInputError(f"'{raw}': every {n} minutes is not accepted.", hint="Use 1 to 59 minutes, or hours.")
        return f"*/{n} * * * *"
    if re.search(r"\bevery\s+minute\b", text):
        return "* * * * *"
    every_hours = re.search(r"\bevery\s+(\d{1,2})\s*hours?\b", text)
    if every_hours:
        n = int(every_hours.group(1))
        if not 1 <= n <= 23:
            raise ScheduleInputError(f"'{raw}': every {n} hours is not accepted.", hint="Use 1 to 23 hours.")
        return f"{minute if time_given else 0} */{n} * * *"
    if re.search(r"\b(every\s+hour|hourly)\b", text):
        return f"{minute if time_given else 0} * * * *"
    days = [code for word, code in _DAYS.items() if re.search(rf"\b{word}s?\b", text)]
    days = list(dict.fromkeys(days))
    if re.search(r"\bweekdays?\b|\bworking days?\b|\bbusiness days?\b", text):
        return f"{minute} {hour} * * mon-fri"
    if re.search(r"\bweekends?\b", text):
        return f"{minute} {hour} * * sat,sun"
    if days:
        order = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        return f"{minute} {hour} * * {','.join(sorted(days, key=order.index))}"
    month_day = re.search(r"\b(?:on\s+)?the\s+(\d{1,2})(?:st|nd|rd|th)?\b", text)
    if re.search(r"\b(every\s+month|monthly)\b", text) or month_day:
        day = int(month_day.group(1)) if month_day else 1
        if not 1 <= day <= 28:
            raise ScheduleInputError(f"'{raw}': day {day} of the month is not accepted.",
                                     hint="Use the 1st to the 28th (every month has them).")
        return f"{minute} {hour} {day} * *"
    if re.search(r"\b(every\s+week|weekly)\b", text):
        return f"{minute} {hour} * * mon"
    if re.search(r"\b(every\s+day|daily|each\s+day|every\s+night|nightly|every\s+morning|at\s+8:00)\b", text) or time_given:
        return f"{minute} {hour} * * *"
    raise ScheduleInputError(f"I can't read the cadence '{raw}'.", hint=f"Give {WORDS_HELP}.")
