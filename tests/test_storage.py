"""Migrations and the schema check, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import inspect, select

from monitor.db import Database, SchemaOutOfDate
from monitor.models import Source

EXPECTED_TABLES = {
    "sources",
    "posts",
    "post_metrics",
    "labels",
    "label_corrections",
    "issues",
    "issue_posts",
    "issue_events",
    "signals",
    "agencies",
    "alerts",
    "deliveries",
    "delivery_attempts",
    "silences",
    "users",
    "audit_log",
    "job_runs",
    "scope_counts",
}


def test_upgrade_creates_schema_and_is_idempotent(empty_db: Database) -> None:
    with pytest.raises(SchemaOutOfDate, match="oki-monitor db upgrade"):
        empty_db.check_schema()
    empty_db.upgrade()
    tables = set(inspect(empty_db.engine).get_table_names())
    assert tables >= EXPECTED_TABLES
    rev = empty_db.current_revision()
    assert rev == empty_db.head_revision()
    empty_db.upgrade()  # second run changes nothing
    assert empty_db.current_revision() == rev
    assert set(inspect(empty_db.engine).get_table_names()) == tables
    empty_db.check_schema()


def test_schema_behind_is_refused(db: Database) -> None:
    with db.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = 'old0'")
    with pytest.raises(SchemaOutOfDate, match=r"old0.*oki-monitor db upgrade"):
        db.check_schema()


def test_times_round_trip_as_utc(db: Database) -> None:
    when = datetime(2026, 11, 2, 7, 30, tzinfo=UTC)
    with db.session() as s:
        s.add(Source(name="s1", kind="rss", cursor={"etag": "x"}, last_run_at=when))
    with db.session() as s:
        row = s.scalar(select(Source).where(Source.name == "s1"))
        assert row is not None
        assert row.last_run_at == when and row.last_run_at.tzinfo is not None
        assert row.cursor == {"etag": "x"}


def test_naive_datetime_is_refused(db: Database) -> None:
    from sqlalchemy.exc import StatementError

    with pytest.raises(StatementError, match="naive datetime"), db.session() as s:
        s.add(Source(name="s2", kind="rss", cursor={}, last_run_at=datetime(2026, 1, 1)))
        s.flush()


def test_sqlite_pragmas(sqlite_db: Database) -> None:
    with sqlite_db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 10000
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
