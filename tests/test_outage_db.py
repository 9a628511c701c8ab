"""The database goes away: PostgreSQL unreachable (connection refused / reset mid-transaction) and SQLite locked.

Every stage must fail with a clear exception, leave nothing half-written (checked
on the real database, not through the broken link) and finish the work on the
next run once the database is back. The shared PostgreSQL server is never
stopped: the code under test talks to it through :class:`tests.tcp_proxy.TcpProxy`.
"""

from __future__ import annotations

import logging
import re
import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED
from sqlalchemy import event, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError

from collectors.base import FetchResult, RawItem
from monitor.kernel.clock import SimulatedClock
from monitor.kernel.config import AppConfig, SourceConfig
from monitor.scheduler import build_scheduler
from monitor.service import MonitorService
from monitor.stages.collect import run_source
from monitor.stages.ingest import ingest_raw
from monitor.stages.pipeline import run_pipeline
from monitor.store.db import Database
from monitor.store.models import IssuePost, JobRun, Label, Post, PostMetric, Source
from tests.pipeline_support import FixedClassifier
from tests.tcp_proxy import TcpProxy

NOW = datetime(2026, 11, 2, 5, 0, tzinfo=UTC)
N_ITEMS = 35


def make_items(n: int = N_ITEMS, source: str = "outage") -> list[RawItem]:
    return [
        RawItem(
            source=source,
            platform="mastodon",
            external_id=f"o-{i}",
            text=f"Jalan di Desa Sungai Lumpur Kecamatan Cengal OKI rusak parah, laporan {i}",
            created_at=NOW - timedelta(minutes=i),
            author=f"warga{i % 7}",
            likes=i,
            views=10 * i,
        )
        for i in range(n)
    ]


class ListCollector:
    """Serves a fixed page; the cursor says how far the caller got."""

    name = "outage"
    platform = "mastodon"

    def __init__(self, items: list[RawItem], on_fetch: Any = None) -> None:
        self.items = items
        self.on_fetch = on_fetch
        self.calls = 0

    def fetch(self, cursor: dict[str, Any], client: httpx.Client, now: datetime) -> FetchResult:
        self.calls += 1
        if self.on_fetch is not None:
            self.on_fetch()
        start = int(cursor.get("offset", 0))
        return FetchResult(items=self.items[start:], cursor={"offset": len(self.items)}, calls=1)


SOURCE = SourceConfig(name="outage", kind="mastodon", interval_seconds=60)


def counts(db: Database) -> dict[str, int]:
    """Row counts read directly from the real database."""
    with db.session() as s:
        row = s.scalar(select(Source).where(Source.name == "outage"))
        return {
            "posts": int(s.scalar(select(func.count()).select_from(Post)) or 0),
            "distinct": int(s.scalar(select(func.count(func.distinct(Post.external_id)))) or 0),
            "metrics": int(s.scalar(select(func.count()).select_from(PostMetric)) or 0),
            "labels": int(s.scalar(select(func.count()).select_from(Label)) or 0),
            "grouped": int(s.scalar(select(func.count()).select_from(IssuePost)) or 0),
            "new": int(s.scalar(select(func.count()).select_from(Post).where(Post.stage == "new")) or 0),
            "offset": int((row.cursor or {}).get("offset", 0)) if row else -1,
        }


def cut_on(db: Database, proxy: TcpProxy, needle: str, nth: int = 1) -> list[str]:
    """Cut the proxy just before the ``nth`` statement matching ``needle`` (a regex) reaches the server."""
    seen: list[str] = []

    @event.listens_for(db.engine, "before_cursor_execute")
    def _before(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        if re.search(needle, statement):
            seen.append(statement)
            if len(seen) == nth:
                proxy.cut()

    return seen


def assert_disconnect(exc: BaseException) -> None:
    """What the operator sees says the database connection failed, not some unrelated error."""
    assert isinstance(exc, DBAPIError), type(exc)
    text = str(exc).lower()
    assert any(w in text for w in ("connection", "server closed", "terminat", "reset", "refused")), text


# -- PostgreSQL through the proxy -------------------------------------------------------------


@pytest.fixture
def pg_pair(pg_db: Database) -> Iterator[tuple[Database, Database, TcpProxy]]:
    """(direct database, database through the proxy, proxy) on a fresh migrated schema."""
    direct = pg_db
    url = make_url(direct.url)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432).start()
    proxied_url = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    proxied = Database(proxied_url)
    try:
        yield direct, proxied, proxy
    finally:
        proxied.dispose()
        proxy.close()


def test_pg_refused_ingest_fails_clearly_then_completes(
    pg_pair: tuple[Database, Database, TcpProxy], config: AppConfig
) -> None:
    direct, proxied, proxy = pg_pair
    proxy.cut()
    with pytest.raises(OperationalError) as info:
        ingest_raw(proxied, config, make_items(), NOW)
    assert_disconnect(info.value)
    assert proxy.refused >= 1
    assert counts(direct)["posts"] == 0
    proxy.restore()
    report = ingest_raw(proxied, config, make_items(), NOW)
    assert report.stored == N_ITEMS
    assert counts(direct)["posts"] == counts(direct)["distinct"] == N_ITEMS


def test_pg_reset_mid_ingest_leaves_nothing_half_written(
    pg_pair: tuple[Database, Database, TcpProxy], config: AppConfig
) -> None:
    direct, proxied, proxy = pg_pair
    cfg = config.model_copy(update={"ingest": config.ingest.model_copy(update={"batch_size": 10})})
    # One ingest_raw batch commits per transaction: reset during the 2nd batch's insert.
    cut_on(proxied, proxy, r"(INSERT INTO|COPY) posts ", nth=2)
    with pytest.raises(DBAPIError) as info:
        ingest_raw(proxied, cfg, make_items(), NOW)
    assert_disconnect(info.value)
    after = counts(direct)
    assert after["posts"] == 10, "the committed first batch stays; the broken one leaves no trace"
    assert after["metrics"] == sum(1 for i in make_items()[:10] if i.likes or i.views)
    proxy.restore()
    ingest_raw(proxied, cfg, make_items(), NOW)
    done = counts(direct)
    assert done["posts"] == done["distinct"] == N_ITEMS


def test_pg_reset_mid_collect_keeps_cursor_with_storage(
    pg_pair: tuple[Database, Database, TcpProxy], config: AppConfig
) -> None:
    direct, proxied, proxy = pg_pair
    cfg = config.model_copy(update={"ingest": config.ingest.model_copy(update={"batch_size": 10})})
    collector = ListCollector(make_items())
    # run_source stores every batch, the cursor and the health in ONE transaction: cut in its 3rd batch.
    cut_on(proxied, proxy, r"(INSERT INTO|COPY) posts ", nth=3)
    with httpx.Client() as client, pytest.raises(DBAPIError) as info:
        run_source(proxied, cfg, SOURCE, collector, client, NOW, force=True)
    assert_disconnect(info.value)
    after = counts(direct)
    assert after["posts"] == 0 and after["offset"] == 0, after
    proxy.restore()
    with httpx.Client() as client:
        report = run_source(proxied, cfg, SOURCE, collector, client, NOW + timedelta(minutes=1), force=True)
    assert report.ok and report.ingest is not None and report.ingest.stored == N_ITEMS
    done = counts(direct)
    assert done["posts"] == done["distinct"] == done["offset"] == N_ITEMS


def test_pg_reset_mid_pipeline_then_rerun_classifies_each_post_once(
    pg_pair: tuple[Database, Database, TcpProxy], config: AppConfig
) -> None:
    direct, proxied, proxy = pg_pair
    ingest_raw(direct, config, make_items(), NOW)
    cut_on(proxied, proxy, r"(INSERT INTO|COPY) labels ", nth=1)
    with pytest.raises(DBAPIError) as info:
        run_pipeline(proxied, FixedClassifier(), config, NOW)
    assert_disconnect(info.value)
    after = counts(direct)
    assert after["labels"] == 0 and after["new"] == N_ITEMS and after["grouped"] == 0
    proxy.restore()
    report = run_pipeline(proxied, FixedClassifier(), config, NOW + timedelta(minutes=1))
    assert report.classified == N_ITEMS
    done = counts(direct)
    assert done["labels"] == N_ITEMS and done["new"] == 0 and done["grouped"] == N_ITEMS


def test_pg_outage_scheduled_job_logs_failure_and_next_run_succeeds(
    pg_pair: tuple[Database, Database, TcpProxy], config: AppConfig, caplog: pytest.LogCaptureFixture
) -> None:
    direct, proxied, proxy = pg_pair
    ingest_raw(direct, config, make_items(), NOW)
    cfg = config.model_copy(update={"sources": []})
    svc = MonitorService(cfg, proxied, SimulatedClock(NOW), classifier=FixedClassifier())
    scheduler = build_scheduler(svc, "test:1")
    scheduler.start(paused=True)
    for job in scheduler.get_jobs():
        if job.id != "pipeline":
            job.remove()
    # The service's simulated clock is in the past; fire on wall time now (the scheduler runs on wall time).
    scheduler.modify_job("pipeline", next_run_time=datetime.now(UTC))
    finished = threading.Event()
    scheduler.add_listener(lambda _e: finished.set(), EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
    proxy.cut()
    with caplog.at_level(logging.WARNING):
        scheduler.resume()
        try:
            assert finished.wait(10), "the pipeline job never ran"
            finished.clear()
            failure_logged = any("job pipeline failed" in r.getMessage() for r in caplog.records)
            assert failure_logged, [r.getMessage() for r in caplog.records]
            assert counts(direct)["labels"] == 0
            # The job is rescheduled, not dead: bring the database back and run it again now.
            proxy.restore()
            scheduler.modify_job("pipeline", next_run_time=datetime.now(UTC))
            assert finished.wait(10), "the pipeline job did not run again"
        finally:
            scheduler.shutdown(wait=True)
            svc.close()
    assert counts(direct)["labels"] == N_ITEMS
    with direct.session() as s:
        run = s.get(JobRun, "pipeline")
        assert run is not None and run.last_success_at is not None and run.last_error is None


# -- SQLite locked by another process ---------------------------------------------------------


@pytest.fixture
def locked_sqlite(tmp_path: Path) -> Iterator[tuple[Database, str]]:
    """A migrated SQLite database whose connections give up after 200 ms (not the production 10 s)."""
    path = tmp_path / "locked.db"
    db = Database(f"sqlite:///{path}")
    db.upgrade()
    db.dispose()

    @event.listens_for(db.engine, "connect")
    def _short_busy(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
        dbapi_conn.execute("PRAGMA busy_timeout=200")

    yield db, str(path)
    db.dispose()


class Locker:
    """Another process's writer holding ``BEGIN EXCLUSIVE`` past our busy timeout."""

    def __init__(self, path: str) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None, timeout=5)

    def lock(self) -> None:
        self.conn.execute("BEGIN EXCLUSIVE")

    def release(self) -> None:
        self.conn.execute("COMMIT")

    def close(self) -> None:
        self.conn.close()


def test_sqlite_locked_ingest_fails_quickly_then_completes(
    locked_sqlite: tuple[Database, str], config: AppConfig
) -> None:
    db, path = locked_sqlite
    locker = Locker(path)
    locker.lock()
    try:
        with pytest.raises(OperationalError, match="locked"):
            ingest_raw(db, config, make_items(), NOW)
    finally:
        locker.release()
        locker.close()
    assert counts(db)["posts"] == 0
    assert ingest_raw(db, config, make_items(), NOW).stored == N_ITEMS
    assert counts(db)["posts"] == N_ITEMS


def test_sqlite_locked_between_fetch_and_store_keeps_cursor(
    locked_sqlite: tuple[Database, str], config: AppConfig
) -> None:
    db, path = locked_sqlite
    locker = Locker(path)
    collector = ListCollector(make_items(), on_fetch=locker.lock)  # another writer grabs the file mid-run
    try:
        with httpx.Client() as client, pytest.raises(OperationalError, match="locked"):
            run_source(db, config, SOURCE, collector, client, NOW, force=True)
    finally:
        locker.release()
    after = counts(db)
    assert after["posts"] == 0 and after["offset"] == 0
    collector.on_fetch = None
    locker.close()
    with httpx.Client() as client:
        report = run_source(db, config, SOURCE, collector, client, NOW + timedelta(minutes=1), force=True)
    assert report.ok
    done = counts(db)
    assert done["posts"] == done["distinct"] == done["offset"] == N_ITEMS


def test_sqlite_locked_during_pipeline_then_rerun(locked_sqlite: tuple[Database, str], config: AppConfig) -> None:
    db, path = locked_sqlite
    ingest_raw(db, config, make_items(), NOW)
    locker = Locker(path)
    locker.lock()
    try:
        with pytest.raises(OperationalError, match="locked"):
            run_pipeline(db, FixedClassifier(), config, NOW)
    finally:
        locker.release()
        locker.close()
    assert counts(db)["labels"] == 0 and counts(db)["new"] == N_ITEMS
    run_pipeline(db, FixedClassifier(), config, NOW)
    done = counts(db)
    assert done["labels"] == N_ITEMS and done["grouped"] == N_ITEMS and done["new"] == 0
