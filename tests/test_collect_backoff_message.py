"""The collect command's "skipped until" message gives the time in WIB (tracking's twin already does)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from monitor.kernel.config import AppConfig, SourceConfig
from monitor.stages.collect import run_source
from monitor.store.db import Database
from monitor.store.models import Source

NOW = datetime(2026, 11, 29, 6, 0, tzinfo=UTC)


def test_backoff_skip_message_is_in_wib(config: AppConfig, sqlite_db: Database) -> None:
    with sqlite_db.session() as s:
        s.add(Source(name="rss-x", kind="rss", enabled=True, cursor={}, backoff_until=NOW + timedelta(hours=1)))
    with httpx.Client() as client:
        report = run_source(sqlite_db, config, SourceConfig(name="rss-x", kind="rss"), object(), client, NOW)  # type: ignore[arg-type]
    assert report.skipped == "menunggu hingga 29 Nov 2026 14.00 WIB"
