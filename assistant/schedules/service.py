"""Running schedules on time inside ``mara serve``, on APScheduler 3.

Each server runs a ``BackgroundScheduler`` whose job store is the schedule database (the
workspace's ``schedules.sqlite``, or PostgreSQL when the audit trail or the conversations live
there): a job per active schedule, with the schedule's cron trigger and time zone.
``coalesce`` and no misfire limit mean that runs missed while every server was down run once
when one comes back, and say they are late. Several servers share the job store; each may
fire the same job, and the run's unique key (:meth:`ScheduleStore.claim`) lets exactly one
of them start it.

Every ``MARA_SCHEDULE_POLL_S`` a server also :meth:`~ScheduleService.tick`\\ s: it brings the
jobs in line with the schedules (created, paused or removed by another server, the CLI or
Slack) and resumes runs whose worker died.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import ConflictingIdError, JobLookupError
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler

from assistant.audit import AuditLog
from assistant.schedules.cadence import parse_cadence
from assistant.schedules.runner import Runner
from assistant.schedules.store import ScheduleStore
from foundation.settings import MaraSettings

log = logging.getLogger("mara.schedules")
JOBS_TABLE = "mara_apscheduler_jobs"

_ACTIVE: list[ScheduleService] = []  # started services of this process (one per app; tests may run several)
_ACTIVE_LOCK = threading.Lock()


def fire_job(schedule_id: str, version: int | None = None) -> None:
    """The job function stored in the job store (importable by name in every worker): the
    service of this process whose store holds the schedule runs it."""
    with _ACTIVE_LOCK:
        services = list(_ACTIVE)
    for service in services:
        if service.store.find(schedule_id) is not None:
            service.runner.fire(schedule_id)
            return
    log.warning("schedule %s is due but no scheduler service of this process knows it", schedule_id)


class ScheduleService:
    """The scheduler of one server process (see the module docs)."""

    def __init__(self, settings: MaraSettings, *, audit: AuditLog | None = None,
                 assistant_factory: Callable[[], Any] | None = None, slack: Any = None,
                 store: ScheduleStore | None = None) -> None:
        self.settings = settings
        self.store = store or ScheduleStore(settings)
        self.runner = Runner(settings, self.store, audit=audit, assistant_factory=assistant_factory, slack=slack)
        self.scheduler = BackgroundScheduler(
            jobstores={"default": SQLAlchemyJobStore(engine=self.store.engine, tablename=JOBS_TABLE),
                       "local": MemoryJobStore()},
            executors={"default": ThreadPoolExecutor(settings.schedule_workers)},
            job_defaults={"coalesce": True, "misfire_grace_time": None, "max_instances": 1},
            timezone="UTC",
        )
        self._tick_lock = threading.Lock()

    def start(self) -> None:
        """Start the scheduler and the periodic sync / resume."""
        with _ACTIVE_LOCK:
            if self not in _ACTIVE:
                _ACTIVE.append(self)
        self.scheduler.start()  # first: before it starts, get_jobs() sees only jobs added in this process
        self.sync()
        self.scheduler.add_job(self.tick, "interval", seconds=self.settings.schedule_poll_s, id="mara-tick",
                               jobstore="local", replace_existing=True, max_instances=1)
        threading.Thread(target=self.tick, name="mara-schedule-resume", daemon=True).start()
        threading.Thread(target=self.runner.prune, name="mara-schedule-prune", daemon=True).start()

    def tick(self) -> None:
        """Bring the jobs in line with the schedules, then resume runs whose worker died."""
        if not self._tick_lock.acquire(blocking=False):
            return
        try:
            self.sync()
            self.runner.resume_stale()
        except Exception:  # the next tick tries again
            log.exception("schedule tick failed")
        finally:
            self._tick_lock.release()

    def sync(self) -> None:
        """One job per active schedule, at its current version (jobs are shared by servers)."""
        wanted = {s.id: s for s in self.store.list() if not s.paused}
        jobs = {job.id: job for job in self.scheduler.get_jobs(jobstore="default")}
        for job_id, job in list(jobs.items()):  # a changed schedule's job is dropped from `jobs` below
            schedule = wanted.get(job_id)
            if schedule is None:
                self._remove(job_id)
            elif job.kwargs.get("version") != schedule.version:
                self._remove(job_id)
                jobs.pop(job_id, None)
        for schedule_id, schedule in wanted.items():
            if schedule_id in jobs and jobs[schedule_id].kwargs.get("version") == schedule.version:
                continue
            try:
                self.scheduler.add_job(
                    fire_job, trigger=parse_cadence(schedule.cron, schedule.timezone).trigger(), id=schedule.id,
                    name=schedule.name[:100], args=[schedule.id], kwargs={"version": schedule.version},
                    jobstore="default", replace_existing=False,
                )
            except ConflictingIdError:  # another server added it first
                pass
            except Exception as err:  # one broken schedule must not stop the others
                log.warning("schedule %s could not be scheduled: %s", schedule.id, err)

    def _remove(self, job_id: str) -> None:
        with contextlib.suppress(JobLookupError):
            self.scheduler.remove_job(job_id, jobstore="default")

    def stop(self) -> None:
        """Stop scheduling. The shared job store is detached first: APScheduler's loop processes
        due jobs once more while shutting down, which would move a due job's next run past a run
        this server will no longer make (another server, or the next start, must make it)."""
        with contextlib.suppress(Exception):
            self.scheduler.remove_jobstore("default")
        with contextlib.suppress(Exception):  # not started
            self.scheduler.shutdown(wait=False)
        with _ACTIVE_LOCK:
            if self in _ACTIVE:
                _ACTIVE.remove(self)
