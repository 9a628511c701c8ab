"""APScheduler 3 wiring of `oki-monitor run` on SQLite: one scheduler process, one instance per job.

APScheduler job stores must never be shared by two schedulers, so a lease row
in the database makes sure only one `oki-monitor run` schedules jobs; every
collector keeps its own cursor in the database, so a run that was interrupted
is simply caught up by the next one. The jobs and their times are the plan of
:mod:`monitor.domain.jobs`, which `oki-monitor worker` processes (monitor/worker.py)
schedule through ``job_runs`` claims instead on PostgreSQL.
"""

from __future__ import annotations

import logging
import os
import socket
import traceback
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, JobExecutionEvent
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import select

from monitor.domain.jobs import pipeline_job, plan_jobs
from monitor.kernel.config import crontab_trigger
from monitor.service import MonitorService
from monitor.stages.retrain import RetrainReport, run_retrain
from monitor.store.models import JobRun

log = logging.getLogger(__name__)

LEASE_ID = "scheduler-lease"
LEASE_SECONDS = 90


class LeaseHeld(RuntimeError):
    """Another scheduler process holds the lease."""


def owner_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def acquire_lease(service: MonitorService, owner: str, now: datetime) -> None:
    """Take (or renew) the single-scheduler lease; raise LeaseHeld if another live process has it."""
    with service.db.session() as session:
        row = session.get(JobRun, LEASE_ID, with_for_update=not service.db.is_sqlite)
        if row is None:
            row = JobRun(job_id=LEASE_ID)
            session.add(row)
        elif row.lease_owner not in (None, owner) and row.lease_expires_at and row.lease_expires_at > now:
            raise LeaseHeld(
                f"scheduler lain ({row.lease_owner}) sedang berjalan sampai {row.lease_expires_at:%H:%M:%S} UTC; "
                "hentikan proses itu atau tunggu lease habis"
            )
        row.lease_owner = owner
        row.lease_expires_at = now + timedelta(seconds=LEASE_SECONDS)


def _renew_lease(service: MonitorService, owner: str) -> None:
    acquire_lease(service, owner, service.clock.now())


def release_lease(service: MonitorService, owner: str) -> None:
    with service.db.session() as session:
        row = session.get(JobRun, LEASE_ID)
        if row is not None and row.lease_owner == owner:
            row.lease_owner, row.lease_expires_at = None, None


def _record(service: MonitorService, job_id: str, ok: bool, error: str | None) -> None:
    now = service.clock.now()
    with service.db.session() as session:
        row = session.get(JobRun, job_id) or JobRun(job_id=job_id)
        session.add(row)
        row.last_finished_at = now
        if ok:
            row.last_success_at = now
            row.last_error = None
        else:
            row.last_error = (error or "")[:2000]


def scheduled_retrain(service: MonitorService) -> RetrainReport:
    """The weekly job: gated retrain with stored corrections; a promoted model is used from the next pipeline run."""
    report = run_retrain(service.db, service.config, service.clock.now, trigger="schedule")
    if report.promoted:
        service.reload_classifier()
    return report


def send_weekly_brief(service: MonitorService) -> list[str]:
    """The Monday job: last week's brief (PDF) to ``alerts.brief.receivers`` by e-mail."""
    from monitor.reports.brief import send

    return send(service.db, service.config, service.clock.now())


def job_functions(service: MonitorService) -> dict[str, Callable[[], Any]]:
    """What each job id of :func:`monitor.domain.jobs.plan_jobs` runs, for `run` and `worker` alike."""
    functions: dict[str, Callable[[], Any]] = {
        f"collect:{name}": partial(service.collect, name) for name in service.collectors
    }
    # Each region's pass, for workers of a deployment of several regions (``plan_jobs(region_pipelines=True)``).
    functions.update(
        {pipeline_job(code): partial(service.pipeline, code) for code in service.config.deployment_regions()}
    )
    functions.update(
        {
            "pipeline": service.pipeline,
            "deliver": service.deliver,
            "telegram-acks": service.poll_acks,
            "housekeeping": service.housekeeping,
            "tracking": service.track,
            "retention": service.purge,
            "lapor-folder": service.import_lapor_folder,
            "retrain": partial(scheduled_retrain, service),
            "weekly-brief": partial(send_weekly_brief, service),
        }
    )
    return functions


def build_scheduler(service: MonitorService, owner: str) -> BackgroundScheduler:
    """A scheduler with every job of this deployment, not yet started."""
    cfg = service.config
    scheduler = BackgroundScheduler(
        timezone="Asia/Jakarta",
        job_defaults={"coalesce": True, "max_instances": 1},
    )
    grace = cfg.schedules.misfire_grace_fraction

    def add(job_id: str, func: Callable[[], Any], seconds: int) -> None:
        scheduler.add_job(
            func,
            "interval",
            seconds=seconds,
            id=job_id,
            name=job_id,
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=max(1, int(seconds * grace)),
            jitter=max(1, seconds // 10),
            next_run_time=service.clock.now(),
        )

    functions = job_functions(service)
    for spec in plan_jobs(cfg, service.collectors):
        if spec.cron is not None:
            scheduler.add_job(
                functions[spec.job_id],
                crontab_trigger(spec.cron),
                id=spec.job_id,
                name=spec.job_id,
                replace_existing=True,
                coalesce=True,
                max_instances=1,
                misfire_grace_time=int(spec.grace_seconds or 1),
            )
        else:
            assert spec.every_seconds is not None
            add(spec.job_id, functions[spec.job_id], spec.every_seconds)
    add("lease", partial(_renew_lease, service, owner), LEASE_SECONDS // 3)

    def on_event(event: JobExecutionEvent) -> None:
        if event.job_id == "lease":
            return
        error = None
        if event.exception is not None:
            error = "".join(traceback.format_exception_only(type(event.exception), event.exception)).strip()
            log.error("job %s failed: %s", event.job_id, error)
        try:
            _record(service, event.job_id, event.exception is None, error)
        except Exception:  # the database may be the thing that is down; the next run retries
            log.exception("could not record run of job %s", event.job_id)

    scheduler.add_listener(on_event, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
    return scheduler


def last_runs(service: MonitorService) -> dict[str, JobRun]:
    with service.db.session() as session:
        return {r.job_id: r for r in session.scalars(select(JobRun))}
