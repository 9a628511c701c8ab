"""Which scheduled jobs a deployment has and when each one is due next. Pure: no database, no clock.

`oki-monitor run` (APScheduler, one process) and `oki-monitor worker` (any number of processes
claiming rows of ``job_runs``) schedule the same plan. Times follow APScheduler's rules for the
options the project uses (``coalesce=True``, ``max_instances=1``):

- an interval job is due every ``every_seconds`` counted from its scheduled times, never from
  when a run happened to finish, so intervals do not drift with slow runs;
- a job overdue by several intervals runs once (coalesced), and the next slot after that run is
  the first scheduled time still in the future;
- a cron job (the weekly retrain, the Monday brief) fires on its crontab line in WIB; a run
  missed by more than its grace is skipped, not made up hours later.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from monitor.kernel.config import AppConfig, crontab_trigger

RETRAIN_GRACE_SECONDS = 6 * 3600
"""A weekly retrain missed (process down at 02:00) still runs if the scheduler is back within 6 hours."""
BRIEF_GRACE_SECONDS = 3600
"""The regent's Monday brief an hour late (the machine was down) still goes."""
HOUSEKEEPING_SECONDS = 300


@dataclass(frozen=True)
class JobSpec:
    """One scheduled job: an interval in seconds or a crontab line (WIB), not both."""

    job_id: str
    every_seconds: int | None = None
    cron: str | None = None
    grace_seconds: float | None = None
    """Cron jobs: a run later than this after its scheduled time is skipped. None: always runs (once)."""


def pipeline_job(region: str) -> str:
    """The job id of one region's pipeline pass (``pipeline:16.01``)."""
    return f"pipeline:{region}"


def plan_jobs(config: AppConfig, sources: Iterable[str], *, region_pipelines: bool = False) -> list[JobSpec]:
    """Every scheduled job of a deployment whose runnable sources are ``sources``, in a stable order.

    ``region_pipelines`` (`oki-monitor worker`): in a deployment of several regions, one pipeline job
    per region instead of one for all, so several workers run the regions' passes at once. One
    process (`oki-monitor run`) keeps the one job, which passes over every region's rows.
    """
    cfg = config.schedules
    jobs = [JobSpec(f"collect:{name}", every_seconds=config.source(name).interval_seconds) for name in sources]
    regions = list(config.deployment_regions())
    if region_pipelines and len(regions) > 1:
        jobs += [JobSpec(pipeline_job(code), every_seconds=cfg.pipeline_seconds) for code in regions]
    else:
        jobs.append(JobSpec("pipeline", every_seconds=cfg.pipeline_seconds))
    jobs += [
        JobSpec("deliver", every_seconds=cfg.delivery_seconds),
        JobSpec("telegram-acks", every_seconds=max(cfg.delivery_seconds, 10)),
        JobSpec("housekeeping", every_seconds=HOUSEKEEPING_SECONDS),
        JobSpec("tracking", every_seconds=cfg.tracking_seconds),
        JobSpec("retention", every_seconds=cfg.retention_hours * 3600),
    ]
    if config.lapor.folder:
        jobs.append(JobSpec("lapor-folder", every_seconds=config.lapor.interval_seconds))
    retrain = config.classifier.retrain
    if retrain.enabled:
        jobs.append(JobSpec("retrain", cron=retrain.schedule, grace_seconds=RETRAIN_GRACE_SECONDS))
    brief = config.alerts.brief
    if brief.enabled and brief.receivers:
        jobs.append(JobSpec("weekly-brief", cron=brief.schedule, grace_seconds=BRIEF_GRACE_SECONDS))
    return jobs


def _next_fire(cron: str, after: datetime) -> datetime:
    """The crontab line's first fire time strictly after ``after``."""
    fire = crontab_trigger(cron).get_next_fire_time(None, after + timedelta(seconds=1))
    if fire is None:  # a crontab line always fires again; guard against a trigger with an end date
        raise ValueError(f"jadwal {cron!r} tidak pernah berjalan lagi")
    return fire.astimezone(after.tzinfo)


def first_due(spec: JobSpec, now: datetime) -> datetime:
    """When a job never run before is due: interval jobs at once (as `run` starts them), cron jobs on their line."""
    if spec.cron is not None:
        return _next_fire(spec.cron, now)
    return now


def next_due(spec: JobSpec, scheduled: datetime, now: datetime) -> datetime:
    """The slot after a run that was scheduled for ``scheduled`` and ended (or was skipped) at ``now``.

    Interval jobs: ``scheduled + k × every`` for the smallest k that is after ``now`` (slots missed
    while the job ran, or while no worker was up, are coalesced into the one run that just ended).
    """
    if spec.cron is not None:
        return _next_fire(spec.cron, max(scheduled, now))
    assert spec.every_seconds is not None and spec.every_seconds > 0
    every = timedelta(seconds=spec.every_seconds)
    if now < scheduled:  # a run that started early (clocks a little apart): the next slot as planned
        return scheduled + every
    return scheduled + every * ((now - scheduled) // every + 1)


def missed(spec: JobSpec, scheduled: datetime, now: datetime) -> bool:
    """True when a run due at ``scheduled`` is too late at ``now`` to run at all (cron jobs past their grace)."""
    return spec.grace_seconds is not None and (now - scheduled).total_seconds() > spec.grace_seconds
