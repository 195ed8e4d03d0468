"""Scheduled briefings and alerts: a saved question or a metric check, a cadence in a time zone,
and destinations (Slack, e-mail, signed webhooks).

- :mod:`.cadence` reads cron or words ("every Monday at 9:00") in an IANA time zone;
- :mod:`.store` keeps schedules, runs (with their lease) and deliveries;
- :mod:`.runner` runs one schedule; :mod:`.service` runs them on time inside ``mara serve``
  (APScheduler);
- :mod:`.destinations` sends, :mod:`.ssrf` keeps webhooks off internal addresses.

:func:`new_schedule` is the one place a schedule is checked and made, whichever front end
(REST, CLI, Slack, chat) asks.
"""

from __future__ import annotations

import secrets
from collections.abc import Collection
from typing import Any

from assistant.schedules.cadence import ScheduleInputError, check_timezone, parse_cadence
from assistant.schedules.destinations import parse_destination
from assistant.schedules.recipients import check_email_recipient
from assistant.schedules.store import Schedule
from foundation.scopes import NO_SCOPES
from foundation.settings import MaraSettings
from tools.alerts import GRAINS, AlertInputError, anomaly_detector, condition_from_dict

__all__ = ["ScheduleInputError", "new_schedule"]

MAX_DESTINATIONS = 10


def new_schedule(
    settings: MaraSettings, *, owner: str, cadence: str, destinations: list[str], timezone: str = "UTC",
    name: str | None = None, question: str | None = None, metric: str | None = None, period: str = "day",
    condition: dict[str, Any] | None = None, cooldown_s: float = 0.0, scopes: Collection[str] = NO_SCOPES,
    resolve: bool = True,
) -> Schedule:
    """A checked, unsaved schedule. Raises :class:`ScheduleInputError` naming what was wrong.

    ``scopes`` are the owner's (stored): runs read no more than they allow, and e-mail goes only
    where they allow (:mod:`assistant.schedules.recipients`: any address for admins,
    ``MARA_EMAIL_ALLOW`` otherwise). Admin keys, the CLI and open mode pass
    :data:`~foundation.scopes.EVERY_SCOPE`; left out (or ``None``) they are no scopes at all, so a
    front end that forgets them makes a schedule with no power rather than an admin's."""
    held = sorted(scopes or ())
    if bool(question and question.strip()) == bool(metric and metric.strip()):
        raise ScheduleInputError("A schedule runs either a saved question or a metric check.",
                                 hint="Give a question ('revenue by country last week') or a metric (orders, revenue…).")
    if not destinations:
        raise ScheduleInputError("A schedule needs at least one destination.",
                                 hint="e.g. slack:#marketing, email:ana@example.com, webhook:https://crm.example.com/hook.")
    if len(destinations) > MAX_DESTINATIONS:
        raise ScheduleInputError(f"{len(destinations)} destinations is too many.", hint=f"At most {MAX_DESTINATIONS}.")
    when = parse_cadence(cadence, check_timezone(timezone or "UTC"))
    targets = list(dict.fromkeys(parse_destination(d, settings, resolve=resolve) for d in destinations))
    for target in targets:  # the sender checks again at every delivery; here the maker hears why at once
        if target.startswith("email:"):
            check_email_recipient(settings, target.split(":", 1)[1], held, owner=owner)
    if metric:
        if period not in GRAINS:
            raise ScheduleInputError(f"Unknown period {period!r}.", hint=f"Use one of: {', '.join(GRAINS)}.")
        try:
            condition_from_dict(condition)
        except AlertInputError as err:
            raise ScheduleInputError(err.message, hint=err.hint) from err
        if condition and condition.get("kind") == "anomaly" and anomaly_detector() is None:
            raise ScheduleInputError("The anomaly condition needs the anomaly detector (tools.analysis), which this "
                                     "version of Mara does not include yet.",
                                     hint="Use a threshold or a % change condition for now.")
        if not {"data:read", "admin"} & set(held):
            raise ScheduleInputError("A metric check reads customer data: the key needs the 'data:read' scope.")
    if question and len(question) > 2000:
        raise ScheduleInputError("The question is longer than 2,000 characters.", hint="Shorten it.")
    if not 0 <= cooldown_s <= 90 * 86400:
        raise ScheduleInputError("The cool-down must be between 0 and 90 days.")
    label = (name or (question or f"{metric} check")).strip()[:120]
    return Schedule(
        id="sch_" + secrets.token_hex(6), owner=owner, name=label, kind="metric" if metric else "question",
        cron=when.cron, timezone=when.timezone, cadence=when.text, destinations=targets,
        webhook_secret="whsec_" + secrets.token_urlsafe(24), question=question.strip() if question else None,
        metric=metric.strip() if metric else None, grain=period if metric else None,
        condition=condition or None, cooldown_s=float(cooldown_s), scopes=held,
    )
