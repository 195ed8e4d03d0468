"""Scheduled briefings and alerts: ``/v1/schedules`` (scope ``chat``; owner or ``admin``).

A schedule belongs to the key that created it (``key:NAME``; ``api:local`` in open mode).
Once its owner's power ends (the key is revoked; open mode is over) it does not run and is listed
as ``blocked`` / ``needs_claim`` until an admin claims it (``POST …/claim``,
:mod:`assistant.schedules.owners`).
Like conversations, others get **404** for its id (its existence is not confirmed); an
``admin`` key sees and manages all of them. The webhook secret is shown once, in the answer to
``POST``. Runs execute with the owner's scopes, so a schedule cannot read more than its key.
Webhook URLs pass the SSRF rules (:mod:`assistant.schedules.ssrf`) when created and again
when each request connects.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from api.auth import Caller, require
from api.errors import AUTH_RESPONSES, ERROR_RESPONSES, NotFound
from api.models import ErrorResponse
from api.runtime import Runtime, get_runtime
from foundation.scopes import EVERY_SCOPE

router = APIRouter(prefix="/v1", tags=["schedules"], dependencies=[require("chat")])

_404: dict[int | str, dict[str, Any]] = {404: {"model": ErrorResponse, "description": "No such schedule (or not yours)."}}


class ConditionModel(BaseModel):
    """When an alert fires: ``threshold`` (op above|below, value), ``change`` (pct, direction
    up|down|either, baseline previous|normal) or ``anomaly``."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["threshold", "change", "anomaly"]
    op: Literal["above", "below"] | None = None
    value: float | None = None
    pct: float | None = Field(default=None, gt=0, le=1000)
    direction: Literal["up", "down", "either"] = "either"
    baseline: Literal["previous", "normal"] = "previous"


class ScheduleCreate(BaseModel):
    """A saved question *or* a metric check, a cadence in a time zone, and destinations."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=120)
    question: str | None = Field(default=None, max_length=2000, description="A question Mara answers each time.")
    metric: str | None = Field(default=None, max_length=200, description="A metric of the semantic model (orders, revenue...).")
    period: Literal["day", "week", "month"] = Field(default="day", description="The metric's period: the last complete one is checked.")
    condition: ConditionModel | None = Field(default=None, description="Alert condition; none: a briefing every time.")
    cooldown_s: float = Field(default=0, ge=0, le=90 * 86400, description="Seconds after an alert before the next one.")
    cadence: str = Field(max_length=200, description="Cron ('0 9 * * mon') or words ('every Monday at 9:00').")
    timezone: str = Field(default="UTC", max_length=80, description="IANA time zone, e.g. Europe/Berlin.")
    destinations: list[str] = Field(min_length=1, max_length=10, description="slack:#channel, slack:@U…, email:…, webhook:https://…")


class ScheduleOut(BaseModel):
    """A schedule as listed (no secret)."""

    id: str
    owner: str
    name: str
    kind: str
    question: str | None = None
    metric: str | None = None
    grain: str | None = None
    condition: dict[str, Any] | None = None
    cooldown_s: float = 0
    cron: str
    timezone: str
    cadence: str
    destinations: list[str]
    paused: bool
    paused_reason: str | None = None
    next_run: str | None = None
    last_run: str | None = None
    last_status: str | None = None
    notices: list[str] = Field(default_factory=list)
    blocked: str | None = Field(default=None, description="Why it will not run as it stands: its owner's key was "
                                "revoked, or it was made in open mode and API keys now exist.")
    needs_claim: bool = Field(default=False, description="True when only an admin's claim (POST …/claim) lets it run again.")
    created: str
    webhook_secret: str | None = Field(default=None, description="Only in the answer to POST: signs webhooks.")


class ScheduleList(BaseModel):
    schedules: list[ScheduleOut]


class RunOut(BaseModel):
    """One run: its state and where it went."""

    run_id: str
    schedule_id: str
    run_key: str
    state: str
    late_s: float | None = None
    deliveries: dict[str, str] = Field(default_factory=dict)
    detail: str | None = None


def _out(runtime: Runtime, schedule: Any, *, secret: bool = False) -> ScheduleOut:
    # lazy: apscheduler loads slowly; only this path needs it
    from assistant.schedules.cadence import parse_cadence
    from assistant.schedules.owners import held_back

    data = schedule.public()
    blocked = held_back(runtime.settings, schedule)
    nxt = None if schedule.paused or blocked else parse_cadence(schedule.cron, schedule.timezone).next_run()
    return ScheduleOut(**{k: v for k, v in data.items() if k in ScheduleOut.model_fields},
                       next_run=nxt.isoformat() if nxt else None, blocked=blocked, needs_claim=blocked is not None,
                       webhook_secret=schedule.webhook_secret if secret else None)


def _sees_all(caller: Caller) -> bool:
    return caller.anonymous or "admin" in caller.scopes


async def _owned(runtime: Runtime, schedule_id: str, caller: Caller) -> Any:
    schedule = await run_in_threadpool(runtime.schedules.store.find, schedule_id)
    if schedule is None or not (_sees_all(caller) or schedule.owner == caller.actor):
        raise NotFound(f"No schedule with id '{schedule_id}'.")
    return schedule


@router.post("/schedules", response_model=ScheduleOut, response_model_exclude_none=True, status_code=201,
             summary="Create a schedule", responses={**AUTH_RESPONSES, **ERROR_RESPONSES})
async def create_schedule(body: ScheduleCreate, runtime: Runtime = Depends(get_runtime),
                          caller: Caller = require("chat")) -> ScheduleOut:
    """Save a question or metric check to run on a cadence; the caller owns it."""
    # lazy: apscheduler loads slowly; only this path needs it
    from assistant.schedules import new_schedule
    from assistant.schedules.runner import audit_change

    scopes = EVERY_SCOPE if _sees_all(caller) else frozenset(caller.scopes)
    schedule = await run_in_threadpool(lambda: new_schedule(
        runtime.settings, owner=caller.actor, cadence=body.cadence, timezone=body.timezone,
        destinations=body.destinations, name=body.name, question=body.question, metric=body.metric,
        period=body.period, condition=body.condition.model_dump(exclude_none=True) if body.condition else None,
        cooldown_s=body.cooldown_s, scopes=scopes))
    await run_in_threadpool(runtime.schedules.store.add, schedule)
    await run_in_threadpool(audit_change, runtime.ledger, caller.actor, schedule, "create")
    await run_in_threadpool(runtime.schedules.sync)
    return _out(runtime, schedule, secret=True)


@router.get("/schedules", response_model=ScheduleList, summary="List schedules",
            responses={**AUTH_RESPONSES, **ERROR_RESPONSES})
async def list_schedules(runtime: Runtime = Depends(get_runtime), caller: Caller = require("chat")) -> ScheduleList:
    """The caller's schedules (every schedule for an admin key)."""
    found = await run_in_threadpool(runtime.schedules.store.list, None if _sees_all(caller) else caller.actor)
    return ScheduleList(schedules=await run_in_threadpool(lambda: [_out(runtime, s) for s in found]))


@router.get("/schedules/{schedule_id}", response_model=ScheduleOut, response_model_exclude_none=True,
            summary="Read a schedule", responses={**_404, **AUTH_RESPONSES, **ERROR_RESPONSES})
async def get_schedule(schedule_id: str, runtime: Runtime = Depends(get_runtime),
                       caller: Caller = require("chat")) -> ScheduleOut:
    schedule = await _owned(runtime, schedule_id, caller)
    return await run_in_threadpool(_out, runtime, schedule)


async def _set_paused(runtime: Runtime, schedule_id: str, caller: Caller, paused: bool) -> ScheduleOut:
    # lazy: apscheduler loads slowly; only this path needs it
    from assistant.schedules.owners import check_may_resume
    from assistant.schedules.runner import audit_change

    found = await _owned(runtime, schedule_id, caller)
    if not paused:  # it would only be paused again at its next run
        await run_in_threadpool(check_may_resume, runtime.settings, found)
    schedule = await run_in_threadpool(lambda: runtime.schedules.store.update(
        schedule_id, paused=paused, paused_reason="paused by " + caller.actor if paused else None))
    await run_in_threadpool(audit_change, runtime.ledger, caller.actor, schedule, "pause" if paused else "resume")
    await run_in_threadpool(runtime.schedules.sync)
    return await run_in_threadpool(_out, runtime, schedule)


@router.post("/schedules/{schedule_id}/pause", response_model=ScheduleOut, response_model_exclude_none=True,
             summary="Pause a schedule", responses={**_404, **AUTH_RESPONSES, **ERROR_RESPONSES})
async def pause_schedule(schedule_id: str, runtime: Runtime = Depends(get_runtime),
                         caller: Caller = require("chat")) -> ScheduleOut:
    return await _set_paused(runtime, schedule_id, caller, True)


@router.post("/schedules/{schedule_id}/resume", response_model=ScheduleOut, response_model_exclude_none=True,
             summary="Resume a schedule", responses={**_404, **AUTH_RESPONSES, **ERROR_RESPONSES})
async def resume_schedule(schedule_id: str, runtime: Runtime = Depends(get_runtime),
                          caller: Caller = require("chat")) -> ScheduleOut:
    return await _set_paused(runtime, schedule_id, caller, False)


@router.post("/schedules/{schedule_id}/claim", response_model=ScheduleOut, response_model_exclude_none=True,
             summary="Claim a schedule whose owner may no longer run it (admin)",
             responses={**_404, 409: {"model": ErrorResponse, "description": "Its owner may still run it."},
                        **AUTH_RESPONSES, **ERROR_RESPONSES})
async def claim_schedule(schedule_id: str, runtime: Runtime = Depends(get_runtime),
                         caller: Caller = require("admin")) -> ScheduleOut:
    """Take over a schedule made in open mode (once keys exist) or by a revoked key: the admin key
    becomes its owner (it runs with that key's power and stops if it is revoked), and a pause made
    for this reason is lifted."""
    # lazy: apscheduler loads slowly; only this path needs it
    from assistant.schedules.owners import claim
    from assistant.schedules.runner import audit_change

    before = await _owned(runtime, schedule_id, caller)
    schedule = await run_in_threadpool(claim, runtime.settings, runtime.schedules.store, schedule_id, caller.actor)
    await run_in_threadpool(audit_change, runtime.ledger, caller.actor, schedule, "claim", previous_owner=before.owner)
    await run_in_threadpool(runtime.schedules.sync)
    return await run_in_threadpool(_out, runtime, schedule)


@router.delete("/schedules/{schedule_id}", status_code=204, summary="Remove a schedule",
               responses={**_404, **AUTH_RESPONSES, **ERROR_RESPONSES})
async def remove_schedule(schedule_id: str, runtime: Runtime = Depends(get_runtime),
                          caller: Caller = require("chat")) -> Response:
    # lazy: apscheduler loads slowly; only this path needs it
    from assistant.schedules.runner import audit_change

    schedule = await _owned(runtime, schedule_id, caller)
    await run_in_threadpool(runtime.schedules.store.remove, schedule_id)
    await run_in_threadpool(audit_change, runtime.ledger, caller.actor, schedule, "remove")
    await run_in_threadpool(runtime.schedules.sync)
    return Response(status_code=204)


@router.post("/schedules/{schedule_id}/run", response_model=RunOut, summary="Run a schedule now",
             responses={**_404, **AUTH_RESPONSES, **ERROR_RESPONSES})
async def run_schedule(schedule_id: str, runtime: Runtime = Depends(get_runtime),
                       caller: Caller = require("chat")) -> RunOut:
    """Run it once at once (paused ones too) and answer with where it went."""
    await _owned(runtime, schedule_id, caller)
    outcome = await run_in_threadpool(runtime.schedules.runner.run_now, schedule_id, caller.actor)
    run = outcome.run
    return RunOut(run_id=run.run_id, schedule_id=run.schedule_id, run_key=run.run_key, state=outcome.state,
                  late_s=run.late_s, deliveries=outcome.delivered, detail=outcome.detail)
