"""Topic × kecamatan spikes from the hourly aggregates, with the same detector as the issues."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from monitor.kernel.config import AppConfig
from monitor.stages.scopes import scan_scopes
from monitor.store.db import Database
from monitor.store.models import ScopeCount, Signal

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def test_a_burst_in_one_scope_is_signalled_once_and_quiet_scopes_are_not(db: Database, config: AppConfig) -> None:
    with db.session() as s:
        for h in range(14 * 24):
            hour = NOW - timedelta(hours=14 * 24 - h)
            # Background: one water complaint in Kayu Agung every 8 hours; flood posts in Pampangan burst at the end.
            if h % 8 == 0:
                s.add(ScopeCount(hour=hour, topic="air_bersih", kecamatan="Kayu Agung", complaints=1, posts=1))
            burst = 14 * 24 - h <= 2
            s.add(ScopeCount(hour=hour, topic="bencana", kecamatan="Pampangan", complaints=25 if burst else 0, posts=1))
    with db.session() as s:
        first = scan_scopes(s, config, NOW)
    with db.session() as s:
        again = scan_scopes(s, config, NOW + timedelta(minutes=10))
        scopes = list(s.scalars(select(Signal.scope)))
    assert {sig.scope for sig in first} == {"bencana:Pampangan"}
    assert again == []  # the same onset is not stored twice
    assert scopes.count("bencana:Pampangan") == len(first)


def test_hourly_counts_add_up_across_batches(db: Database) -> None:
    """The per-batch upsert adds to an existing hour's row instead of failing or replacing it."""
    from monitor.stages.classify import _add_scope_counts

    hour = NOW.replace(minute=0)
    key = (hour, "infrastruktur", "Cengal", "pupr", "x")
    other = (hour, "infrastruktur", "Cengal", "pupr", "youtube")
    with db.session() as s:
        _add_scope_counts(s, {key: [3, 2, 10.0]})
    with db.session() as s:
        _add_scope_counts(s, {key: [2, 1, 5.5], other: [1, 1, 0.0]})
    with db.session() as s:
        rows = {r.platform: (r.posts, r.complaints, r.engagement) for r in s.scalars(select(ScopeCount))}
    assert rows == {"x": (5, 3, 15.5), "youtube": (1, 1, 0.0)}
