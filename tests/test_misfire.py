"""A scheduler that wakes late, a job still running, a wall clock that jumps: no job runs twice.

The jobs are the real ones from :func:`monitor.scheduler.build_scheduler` (same
coalesce / max_instances / misfire-grace options); only their bodies are
replaced by counters. Wall-clock jumps are simulated by shifting the time
APScheduler reads, since the test must not change the machine's clock.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import apscheduler.executors.base as aps_executors
import apscheduler.schedulers.base as aps_base
import httpx
import pytest
from apscheduler.events import EVENT_JOB_MAX_INSTANCES, JobExecutionEvent, JobSubmissionEvent
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import func, select

import monitor.scheduler as scheduler_module
from collectors.base import FetchResult, RawItem
from monitor.kernel.clock import SimulatedClock
from monitor.kernel.config import AppConfig, SourceConfig
from monitor.scheduler import build_scheduler
from monitor.service import MonitorService
from monitor.store.db import Database
from monitor.store.models import Label, Post, Source
from tests.pipeline_support import FixedClassifier

T0 = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)


class ShiftedDatetime(datetime):
    """``datetime`` whose ``now()`` is wall time plus an adjustable offset (a clock that jumps)."""

    offset: ClassVar[timedelta] = timedelta(0)

    @classmethod
    def now(cls, tz: Any = None) -> Any:
        return datetime.now(tz) + cls.offset


@pytest.fixture
def shifted_clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[ShiftedDatetime]]:
    ShiftedDatetime.offset = timedelta(0)
    monkeypatch.setattr(aps_base, "datetime", ShiftedDatetime)
    monkeypatch.setattr(aps_executors, "datetime", ShiftedDatetime)
    yield ShiftedDatetime
    ShiftedDatetime.offset = timedelta(0)


class Counter:
    """A job body that counts runs and the most runs seen at the same time."""

    def __init__(self, hold: float = 0.0) -> None:
        self.hold = hold
        self.runs = 0
        self.active = 0
        self.max_active = 0
        self.ran = threading.Event()
        self._lock = threading.Lock()

    def __call__(self, *_args: Any) -> None:
        with self._lock:
            self.runs += 1
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        try:
            if self.hold:
                time.sleep(self.hold)
        finally:
            with self._lock:
                self.active -= 1
            self.ran.set()


def make_service(db: Database, config: AppConfig, **schedules: int) -> MonitorService:
    cfg = config.model_copy(
        update={"sources": [], "schedules": config.schedules.model_copy(update=schedules)},
    )
    return MonitorService(cfg, db, SimulatedClock(T0))


def only_job(
    svc: MonitorService, job_id: str, method: str, body: Callable[..., Any], *, seconds: float
) -> BackgroundScheduler:
    """The real scheduler with one job left, its body replaced, jitter removed (so lateness is exact)."""
    setattr(svc, method, body)  # build_scheduler binds service.<method> when it adds the job
    scheduler = build_scheduler(svc, "test:1")
    scheduler.start(paused=True)
    for job in scheduler.get_jobs():
        if job.id != job_id:
            job.remove()
    scheduler.reschedule_job(job_id, trigger="interval", seconds=seconds)
    return scheduler


def settled(
    scheduler: BackgroundScheduler, timeout: float = 10, now: Callable[[], datetime] = lambda: datetime.now(UTC)
) -> None:
    """Wait until the scheduler has handled the late wake-up: every job's next run is in the future.

    A wrong catch-up shows either in that same pass (several run times submitted at once, which
    ``shutdown(wait=True)`` then waits out) or as a next run time left in the past (never settles).
    A short pause after it leaves room for a submission racing the check.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        at = now()
        if all(job.next_run_time is not None and job.next_run_time > at for job in scheduler.get_jobs()):
            break
        time.sleep(0.02)
    time.sleep(0.1)


def test_late_wakeup_runs_a_job_once(sqlite_db: Database, config: AppConfig) -> None:
    svc = make_service(sqlite_db, config, pipeline_seconds=60)
    counter = Counter()
    scheduler = only_job(svc, "pipeline", "pipeline", counter, seconds=60)
    job = scheduler.get_job("pipeline")
    assert job.coalesce is True and job.max_instances == 1 and job.misfire_grace_time == 30
    # The process slept through ten runs (suspend, a stalled VM): it wakes 0.3 s after the last one was due.
    scheduler.modify_job("pipeline", next_run_time=datetime.now(UTC) - timedelta(seconds=600.3))
    try:
        scheduler.resume()
        assert counter.ran.wait(5), "the late job never ran"
        settled(scheduler)
    finally:
        scheduler.shutdown(wait=True)
        svc.close()
    assert counter.runs == 1


def test_every_job_runs_at_most_once_after_a_long_stall(
    sqlite_db: Database, config: AppConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """All real jobs (with their jitter) are an hour late at once: none runs more than once."""
    svc = make_service(sqlite_db, config)
    counters: dict[str, Counter] = {}
    for method in ("pipeline", "deliver", "poll_acks", "housekeeping", "track", "purge", "import_lapor_folder"):
        counters[method] = Counter()
        setattr(svc, method, counters[method])
    # The weekly cron jobs too: their real bodies would train a model (~80 s of CPU) and write a PDF.
    for function in ("scheduled_retrain", "send_weekly_brief"):
        counters[function] = Counter()
        monkeypatch.setattr(scheduler_module, function, counters[function])
    scheduler = build_scheduler(svc, "test:1")
    scheduler.start(paused=True)
    scheduler.remove_job("lease")
    late = datetime.now(UTC) - timedelta(hours=1)
    for job in scheduler.get_jobs():
        scheduler.modify_job(job.id, next_run_time=late)
    try:
        scheduler.resume()
        assert counters["purge"].ran.wait(5), "retention did not run"
        settled(scheduler)
    finally:
        scheduler.shutdown(wait=True)
        svc.close()
    assert all(c.runs <= 1 for c in counters.values()), {k: c.runs for k, c in counters.items()}
    # Retention runs every 24 h: one hour late is within its grace, so it did run (the scheduler was alive).
    assert counters["purge"].runs == 1


def test_a_running_job_is_not_started_again(sqlite_db: Database, config: AppConfig) -> None:
    svc = make_service(sqlite_db, config, delivery_seconds=1)
    # A delivery that takes longer than its interval (slow SMTP server); the interval is a quarter
    # second rather than the shortest configurable 1 s so the test need not hold a job for seconds.
    slow = Counter(hold=0.8)
    scheduler = only_job(svc, "deliver", "deliver", slow, seconds=0.25)
    skipped: list[JobSubmissionEvent] = []
    scheduler.add_listener(skipped.append, EVENT_JOB_MAX_INSTANCES)
    scheduler.modify_job("deliver", next_run_time=datetime.now(UTC))
    try:
        scheduler.resume()
        deadline = time.monotonic() + 10
        while not skipped and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        scheduler.shutdown(wait=True)
        svc.close()
    assert slow.max_active == 1
    assert skipped, "the scheduler never tried to start the job while it was running (test did not exercise it)"
    assert 1 <= slow.runs <= 2


def test_wall_clock_jumps_do_not_double_run(
    sqlite_db: Database, config: AppConfig, shifted_clock: type[ShiftedDatetime]
) -> None:
    svc = make_service(sqlite_db, config, pipeline_seconds=60)
    counter = Counter()
    scheduler = only_job(svc, "pipeline", "pipeline", counter, seconds=60)
    executed: list[JobExecutionEvent] = []
    scheduler.add_listener(executed.append)
    scheduler.modify_job("pipeline", next_run_time=datetime.now(UTC))
    try:
        scheduler.resume()
        assert counter.ran.wait(5)
        counter.ran.clear()
        # NTP steps the clock back an hour: the next run is now 61 minutes away, nothing re-runs.
        shifted_clock.offset = timedelta(hours=-1)
        scheduler.wakeup()
        time.sleep(0.6)
        assert counter.runs == 1
        # Then forward two hours (past the hour we "lived twice"): exactly one catch-up run.
        shifted_clock.offset = timedelta(hours=1)
        scheduler.wakeup()
        assert counter.ran.wait(5), "the job did not run after the clock jumped forward"
        settled(scheduler, now=lambda: shifted_clock.now(UTC))
    finally:
        scheduler.shutdown(wait=True)
        svc.close()
    assert counter.runs == 2


class ReplayingCollector:
    """A feed that ignores the cursor and always serves the same page (RSS does this)."""

    name = "feed"
    platform = "rss"

    def __init__(self) -> None:
        self.calls = 0

    def fetch(self, cursor: dict[str, Any], client: httpx.Client, now: datetime) -> FetchResult:
        self.calls += 1
        items = [
            RawItem(
                source=self.name,
                platform=self.platform,
                external_id=f"berita-{i}",
                text=f"Jalan rusak di Kecamatan Cengal OKI belum diperbaiki, berita {i}",
                created_at=T0 - timedelta(hours=3, minutes=i),
                kind="news",
            )
            for i in range(12)
        ]
        return FetchResult(items=items, cursor={"seen_until": now.isoformat()}, calls=1)


def test_collect_and_pipeline_after_clock_goes_back_store_and_label_once(
    sqlite_db: Database, config: AppConfig
) -> None:
    cfg = config.model_copy(
        update={"sources": [SourceConfig(name="feed", kind="rss", enabled=False, interval_seconds=600)]}
    )
    clock = SimulatedClock(T0)
    svc = MonitorService(cfg, sqlite_db, clock, classifier=FixedClassifier())
    collector = ReplayingCollector()
    svc.collectors["feed"] = collector  # the configured kind is not built here; the test feeds it directly
    try:
        first = svc.collect("feed")
        svc.pipeline()
        clock.set(T0 - timedelta(hours=1))  # the host clock is stepped back an hour
        second = svc.collect("feed")
        svc.pipeline()
        clock.set(T0 + timedelta(minutes=10))
        third = svc.collect("feed")
        svc.pipeline()
    finally:
        svc.close()
    assert collector.calls == 3
    assert first.ingest is not None and first.ingest.stored == 12
    assert second.ingest is not None and second.ingest.stored == 0 and second.ingest.duplicates == 12
    assert third.ingest is not None and third.ingest.stored == 0
    with sqlite_db.session() as s:
        posts = s.scalar(select(func.count()).select_from(Post))
        labels = s.scalar(select(func.count()).select_from(Label))
        row = s.scalar(select(Source).where(Source.name == "feed"))
        assert row is not None
    assert posts == labels == 12
    assert row.items_total == 12
