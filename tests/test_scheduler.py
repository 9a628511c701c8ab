"""Scheduler: one scheduler process at a time, coalesced misfires, explicit job ids."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitor.kernel.clock import SimulatedClock
from monitor.kernel.config import AppConfig
from monitor.scheduler import LEASE_SECONDS, LeaseHeld, acquire_lease, build_scheduler, release_lease
from monitor.service import MonitorService
from monitor.store.db import Database

T0 = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)


def service(db: Database, config: AppConfig) -> MonitorService:
    cfg = config.model_copy(update={"sources": []})
    return MonitorService(cfg, db, SimulatedClock(T0))


def test_only_one_scheduler_holds_the_lease(db: Database, config: AppConfig) -> None:
    svc = service(db, config)
    acquire_lease(svc, "host:1", T0)
    acquire_lease(svc, "host:1", T0 + timedelta(seconds=10))  # renewing our own lease is fine
    with pytest.raises(LeaseHeld, match="host:1"):
        acquire_lease(svc, "host:2", T0 + timedelta(seconds=20))
    # A crashed owner's lease expires; then another process takes over.
    acquire_lease(svc, "host:2", T0 + timedelta(seconds=10 + LEASE_SECONDS + 1))
    release_lease(svc, "host:1")  # not the owner any more: no effect
    with pytest.raises(LeaseHeld, match="host:2"):
        acquire_lease(svc, "host:1", T0 + timedelta(seconds=10 + LEASE_SECONDS + 2))
    release_lease(svc, "host:2")
    acquire_lease(svc, "host:1", T0 + timedelta(seconds=10 + LEASE_SECONDS + 3))
    svc.close()


def test_jobs_coalesce_run_one_at_a_time_and_tolerate_lateness(sqlite_db: Database, config: AppConfig) -> None:
    svc = service(sqlite_db, config)
    scheduler = build_scheduler(svc, "host:1")
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert {"pipeline", "deliver", "housekeeping", "tracking", "retention", "lease", "weekly-brief"} <= set(jobs)
    pipeline = jobs["pipeline"]
    assert pipeline.coalesce is True and pipeline.max_instances == 1
    # Late by less than half an interval still runs (APScheduler's 1 s default silently skips).
    assert pipeline.misfire_grace_time == int(
        config.schedules.pipeline_seconds * config.schedules.misfire_grace_fraction
    )
    # Rebuilding (a restart) does not duplicate jobs: ids are explicit.
    scheduler2 = build_scheduler(svc, "host:1")
    assert sorted(j.id for j in scheduler2.get_jobs()) == sorted(jobs)
    svc.close()
