"""Migrations and the schema check, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, insert, inspect, select, text

from monitor.store.db import Database, SchemaOutOfDate
from monitor.store.models import Issue, IssuePost, Post, Source
from tests.migration_support import migrate

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
    "model_runs",
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


def test_schema_check_reads_the_revisions_alembic_would(empty_db: Database) -> None:
    """The check reads the migration files and the version table itself (Alembic is slow to import):
    it must give Alembic's own answers, before and after the migrations."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from monitor.store.db import alembic_config

    def alembic_current() -> str | None:
        with empty_db.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    assert empty_db.head_revision() == ScriptDirectory.from_config(alembic_config(empty_db.url)).get_current_head()
    assert empty_db.current_revision() is None and alembic_current() is None
    empty_db.upgrade()
    assert empty_db.current_revision() == alembic_current() == empty_db.head_revision()


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


def test_timeline_migration_copies_each_members_post_time(empty_db: Database) -> None:
    """0003 on a database that already holds issues: every membership gets its post's time."""
    migrate(empty_db, "0002")
    created = [datetime(2026, 11, 28, h, 5, tzinfo=UTC) for h in (1, 7, 13)]
    with empty_db.engine.begin() as conn:
        # Core inserts into tables 0003 leaves as they were; the membership row in 0002's own shape.
        conn.execute(insert(Source), [{"name": "s", "kind": "rss", "cursor": {}, "status": "ok", "rate_limit": {}}])
        conn.execute(
            insert(Issue),
            [{"id": 1, "topic": "jalan", "title": "t", "first_seen": created[0], "last_seen": created[-1],
              "created_at": created[-1], "updated_at": created[-1], "terms": {}}],
        )  # fmt: skip
        for n, at in enumerate(created, start=1):
            conn.execute(
                insert(Post),
                [{"id": n, "source_id": 1, "platform": "rss", "external_id": f"p{n}", "kind": "post",
                  "created_at": at, "collected_at": at, "content_hash": f"h{n}", "extra": {}, "stage": "grouped"}],
            )  # fmt: skip
            conn.execute(
                text(
                    "INSERT INTO issue_posts (post_id, issue_id, similarity, is_spread, added_at) "
                    "VALUES (:n, 1, 1.0, false, :at)"
                ),
                {"n": n, "at": datetime(2026, 11, 28, 14, 0)},
            )
    empty_db.upgrade()
    with empty_db.engine.connect() as conn:
        copied = conn.scalars(select(IssuePost.post_created_at).order_by(IssuePost.post_id)).all()
    assert list(copied) == created
    indexes = {ix["name"] for ix in inspect(empty_db.engine).get_indexes("issue_posts")}
    assert "ix_issue_posts_timeline" in indexes and "ix_issue_posts_issue" not in indexes


def test_first_copy_index_migration_replaces_the_value_indexes(empty_db: Database) -> None:
    """0004 on a database with posts: (value, id) indexes instead of the value-only ones, data kept; and back."""

    def indexes() -> dict[str, list[str | None]]:
        return {ix["name"]: ix["column_names"] for ix in inspect(empty_db.engine).get_indexes("posts") if ix["name"]}

    migrate(empty_db, "0003")
    at = datetime(2026, 11, 28, 1, 5, tzinfo=UTC)
    with empty_db.engine.begin() as conn:
        conn.execute(insert(Source), [{"name": "s", "kind": "rss", "cursor": {}, "status": "ok", "rate_limit": {}}])
        conn.execute(
            insert(Post),
            [{"source_id": 1, "platform": "rss", "external_id": f"p{n}", "kind": "post", "created_at": at,
              "collected_at": at, "content_hash": "h", "canonical_url": "https://a.example/x", "extra": {},
              "stage": "new"} for n in range(3)],
        )  # fmt: skip
    assert {"ix_posts_content_hash", "ix_posts_canonical_url"} <= set(indexes())
    empty_db.upgrade()
    after = indexes()
    assert after["ix_posts_content_hash_id"] == ["content_hash", "id"]
    assert after["ix_posts_canonical_url_id"] == ["canonical_url", "id"]
    assert "ix_posts_content_hash" not in after and "ix_posts_canonical_url" not in after
    with empty_db.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Post)) == 3
    migrate(empty_db, "0003", down=True)
    back = indexes()
    assert back["ix_posts_content_hash"] == ["content_hash"] and "ix_posts_content_hash_id" not in back
    empty_db.upgrade()  # and up again: the migration is re-runnable
    assert "ix_posts_canonical_url_id" in indexes()
