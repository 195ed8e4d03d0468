"""Whether a schedule's owner may still have it run, and how an admin takes over one that may not.

A schedule runs with the power of whoever made it (their scopes, their e-mail rights). That power
can end while the schedule stays:

- **a revoked key** (``key:NAME``): the key was revoked, or is no longer in a workspace that has
  keys;
- **open mode ended** (``api:local``): open mode is the no-key, loopback-only state of a fresh
  workspace, where the local caller holds every scope. Its schedules were made by "whoever could
  reach the loopback API", not by a person the workspace later named. Once the first key is
  created (revoked ones count, as for open mode itself) such a schedule no longer runs: it has
  every scope and nobody answers for it.

:func:`held_back` says why (``None``: it may run). The runner checks it before every run (due,
"run now" or resumed after a crash) and pauses the schedule with that reason; the API and the
CLI show it in listings (``blocked``, ``needs_claim``) and refuse to resume such a schedule.
An admin **claims** it (:func:`claim`: ``POST /v1/schedules/{id}/claim`` with an admin key, or
``mara schedule claim ID``): the claimer becomes its owner — it then runs with their power, and
stops if their key is revoked — and a pause made for this reason is lifted.
"""

from __future__ import annotations

from typing import Any

from assistant.keys import KeyNotFoundError, KeyStore
from assistant.schedules.cadence import ScheduleInputError
from assistant.schedules.store import Schedule, ScheduleStore
from foundation.settings import MaraSettings

OPEN_MODE_OWNER = "api:local"


class ScheduleNeedsClaim(ScheduleInputError):
    """A schedule whose owner may no longer run it, asked to resume (HTTP 409)."""

    http_status = 409
    error_type = "schedule_needs_claim"


class NothingToClaim(ScheduleInputError):
    """A claim of a schedule whose owner may still run it (HTTP 409)."""

    http_status = 409
    error_type = "schedule_has_an_owner"


def claim_hint(schedule_id: str) -> str:
    return (f"An admin claims it: POST /v1/schedules/{schedule_id}/claim with an admin key, or "
            f"'mara schedule claim {schedule_id}'.")


def held_back(settings: MaraSettings, schedule: Schedule, keys: KeyStore | None = None) -> str | None:
    """Why ``schedule`` may not run as it stands (its owner's power ended), or ``None``."""
    kind, _, name = schedule.owner.partition(":")
    if kind == "key":
        keys = keys or KeyStore.for_home(settings.home)
        try:
            info = keys.get(name)
        except KeyNotFoundError:
            return f"its owner's API key '{name}' no longer exists." if keys.has_keys() else None
        return None if info.active else f"its owner's API key '{name}' was revoked."
    if schedule.owner == OPEN_MODE_OWNER:
        keys = keys or KeyStore.for_home(settings.home)
        if keys.has_keys():
            return ("it was made in open mode (owner api:local, every scope) and this workspace now has "
                    "API keys, so nobody answers for it. " + claim_hint(schedule.id))
    return None


def check_may_resume(settings: MaraSettings, schedule: Schedule) -> None:
    """Refuse to resume a schedule that would only be paused again at its next run."""
    why = held_back(settings, schedule)
    if why is not None:
        raise ScheduleNeedsClaim(f"Schedule {schedule.id} cannot be resumed: {why}", hint=claim_hint(schedule.id))


def claim(settings: MaraSettings, store: ScheduleStore, schedule_id: str, new_owner: str) -> Schedule:
    """Make ``new_owner`` (an admin key or the CLI's user: every scope) the owner of a schedule its
    owner may no longer run; a pause made because of it is lifted. Other schedules are refused:
    an admin manages them already and need not take them from their owner.

    The schedule keeps its own scopes (an open-mode one has every scope already): a ``chat`` key's
    question and webhook, claimed after the key was revoked, must not start running with the
    admin's power — reading data the key could not, and sending it where the key chose. An admin
    who wants more makes a new schedule."""
    schedule = store.get(schedule_id)
    why = held_back(settings, schedule)
    if why is None:
        raise NothingToClaim(f"Schedule {schedule_id} belongs to {schedule.owner}, who may still run it.",
                             hint="Pause or remove it instead.")
    updates: dict[str, Any] = {"owner": new_owner}
    if schedule.paused and schedule.paused_reason == why:
        updates.update(paused=False, paused_reason=None)
    return store.update(schedule_id, **updates)
