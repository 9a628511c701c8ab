"""Run one source: fetch, store, then (only then) advance its cursor, and record its health."""

from __future__ import annotations

import dataclasses
import logging
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from collectors.base import AuthFailed, Collector, RateLimited, RawItem, SourceError
from collectors.common import MAX_NOTES, collecting_notes
from monitor.kernel import redact
from monitor.kernel.clock import format_wib
from monitor.kernel.config import AppConfig, SourceConfig
from monitor.stages.ingest import Ingestor, IngestReport, database_unavailable
from monitor.store.db import Database
from monitor.store.models import Source

log = logging.getLogger(__name__)

MAX_BACKOFF = timedelta(hours=6)


@dataclass
class CollectReport:
    source: str
    ok: bool
    skipped: str | None = None
    fetched: int = 0
    ingest: IngestReport | None = None
    not_modified: bool = False
    error: str | None = None
    rejected: int = 0
    """Items rejected by the collector (malformed) and by ingest (invalid): each one alone, never the batch."""
    reasons: list[str] = field(default_factory=list)
    """Why, a few lines (the log has every one)."""


def backoff_delay(failures: int, interval: float, retry_after: float | None, rng: random.Random) -> timedelta:
    """Exponential backoff with jitter, never shorter than what the source asked for."""
    base = min(interval * (2 ** max(failures - 1, 0)), MAX_BACKOFF.total_seconds())
    delay = base * (0.5 + rng.random() / 2)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return timedelta(seconds=min(delay, MAX_BACKOFF.total_seconds()))


def run_source(
    db: Database,
    config: AppConfig,
    src: SourceConfig,
    collector: Collector,
    client: httpx.Client,
    now: datetime,
    *,
    ingestor: Ingestor | None = None,
    force: bool = False,
    rng: random.Random | None = None,
    tracked: Sequence[str] = (),
    incidents: Mapping[str, Mapping[str, Any]] | None = None,
) -> CollectReport:
    """Fetch new items of one source and store them; the cursor moves only after the items are stored.

    ``tracked`` are queries following rising incidents (``monitor.stages.tracked_queries``); a collector
    with ``for_run(tracked, calls_left)`` searches them too this run, and is told what is left of
    the source's ``daily_call_budget`` today. ``incidents`` maps a tracked query to its issue and
    place; an item fetched by it (``extra["tracked_query"]`` or ``extra["query"]``) is stored with
    that as ``extra["incident"]``, so classification knows which place the search was about.
    """
    rng = rng or random.Random()
    ingestor = ingestor or Ingestor(config)
    with db.session() as session:
        row = ingestor.source_row(session, src.name, src.kind)
        if row.backoff_until and row.backoff_until > now and not force:
            return CollectReport(src.name, ok=False, skipped=f"menunggu hingga {format_wib(row.backoff_until)}")
        if row.status == "auth_failed" and not force:
            return CollectReport(
                src.name, ok=False, skipped="token ditolak; perbaiki token lalu jalankan dengan --force"
            )
        cursor = dict(row.cursor or {})
        source_id = row.id
        calls_left = None
        if src.daily_call_budget is not None:
            used = row.calls_today if row.calls_day == now.date().isoformat() else 0
            calls_left = max(src.daily_call_budget - used, 0)
    for_run = getattr(collector, "for_run", None)
    if callable(for_run) and (tracked or calls_left is not None):
        collector = for_run(list(tracked), calls_left)
    try:
        with collecting_notes() as notes:
            result = collector.fetch(cursor, client, now)
    except SourceError as exc:
        return _record_failure(db, src, source_id, exc, now, rng)
    # A collector bug (a number too large for a date, a value it did not expect) or a transport error fails
    # this source's run, never the whole job.
    except (httpx.HTTPError, ValueError, OverflowError) as exc:
        return _record_failure(db, src, source_id, SourceError(f"{exc.__class__.__name__}: {exc}"), now, rng)
    reasons = list(notes)
    if incidents:
        result = dataclasses.replace(result, items=[_with_incident(item, incidents) for item in result.items])
    try:
        with db.session() as session:
            stored_row = session.get(Source, source_id)
            assert stored_row is not None
            row = stored_row
            report = IngestReport()
            batch = config.ingest.batch_size
            for start in range(0, len(result.items), batch):
                report.add(ingestor.store(session, row, result.items[start : start + batch], now))
            rejected = report.rejected + result.rejected
            reasons = (reasons + [e.removeprefix(f"source {src.name}: ") for e in report.errors])[:MAX_NOTES]
            if result.rejected > len(notes):
                reasons.append(f"{result.rejected - len(notes)} item lain ditolak pengumpul (lihat log)")
            # Same transaction: the cursor can never get ahead of what is stored.
            row.cursor = result.cursor
            row.last_run_at = now
            row.last_success_at = now
            row.status = "ok"
            row.last_error = None
            row.consecutive_failures = 0
            row.backoff_until = None
            row.items_last_run = report.stored
            row.items_total += report.stored
            row.rejected_total += rejected
            row.rejected_last_run = rejected
            if reasons:
                row.last_reject = "\n".join(reasons)[:4000]
                row.last_reject_at = now
            _count_calls(row, result.calls, now)
            if result.rate_limit:
                row.rate_limit = {**(row.rate_limit or {}), **result.rate_limit}  # keep tracking's lookup window
    except (SQLAlchemyError, OverflowError, ValueError, TypeError) as exc:
        if isinstance(exc, SQLAlchemyError) and database_unavailable(exc):
            raise  # an outage: nothing stored, nothing recordable; the next run retries from the same cursor
        # Ingest isolates bad items, so this is a bug; the source must not keep showing "ok" while nothing moves.
        log.exception("source %s: storing the batch failed", src.name)
        failure = SourceError(f"penyimpanan gagal ({exc.__class__.__name__}); lihat log, laporkan ke pengembang")
        return _record_failure(db, src, source_id, failure, now, rng)
    log.info(
        "source %s: %d fetched, %d new, %d known, %d filtered, %d rejected%s",
        src.name,
        len(result.items),
        report.stored,
        report.duplicates,
        report.filtered,
        report.rejected + result.rejected,
        " (not modified)" if result.not_modified else "",
    )
    return CollectReport(
        src.name,
        ok=True,
        fetched=len(result.items),
        ingest=report,
        not_modified=result.not_modified,
        rejected=rejected,
        reasons=reasons,
    )


def _with_incident(item: RawItem, incidents: Mapping[str, Mapping[str, Any]]) -> RawItem:
    query = item.extra.get("tracked_query") or item.extra.get("query")
    incident = incidents.get(query) if isinstance(query, str) else None
    return dataclasses.replace(item, extra={**item.extra, "incident": dict(incident)}) if incident else item


def _count_calls(row: Source, calls: int, now: datetime) -> None:
    day = now.date().isoformat()
    if row.calls_day != day:
        row.calls_day, row.calls_today = day, 0
    row.calls_today += calls


def _record_failure(
    db: Database, src: SourceConfig, source_id: int, exc: SourceError, now: datetime, rng: random.Random
) -> CollectReport:
    # httpx errors quote the request URL, and some tokens live in URLs: never store or print them.
    message = redact.mask(str(exc))
    with db.session() as session:
        row = session.get(Source, source_id)
        assert row is not None
        row.last_run_at = now
        row.last_error = message[:2000]
        row.last_error_at = now
        row.consecutive_failures += 1
        if isinstance(exc, AuthFailed):
            row.status = "auth_failed"  # stop hammering until someone fixes the token
        elif isinstance(exc, RateLimited):
            row.status = "rate_limited"
        else:
            row.status = "error"
        row.backoff_until = now + backoff_delay(row.consecutive_failures, src.interval_seconds, exc.retry_after, rng)
    log.warning("source %s failed: %s", src.name, message)
    return CollectReport(src.name, ok=False, error=message)


def source_ids(db: Database) -> dict[str, int]:
    with db.session() as session:
        return {name: sid for sid, name in session.execute(select(Source.id, Source.name))}
