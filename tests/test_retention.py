"""UU PDP: retention purges raw text and metrics but keeps counts; backups are consistent copies."""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from collectors.base import RawItem
from monitor.kernel.config import AppConfig
from monitor.stages.ingest import ingest_raw
from monitor.stages.retention import backup_sqlite, purge
from monitor.store.db import Database
from monitor.store.models import AuditLog, Post, PostMetric, ScopeCount

NOW = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)


def _items(n: int, age: timedelta) -> list[RawItem]:
    return [
        RawItem(
            source="ret",
            platform="mastodon",
            external_id=f"{age.days}-{i}",
            text=f"Jalan rusak di Kayuagung OKI {i}",
            created_at=NOW - age,
            author=f"warga{i}",
            likes=i + 1,
        )
        for i in range(n)
    ]


def test_purge_blanks_old_posts_and_keeps_recent_and_aggregates(db: Database, config: AppConfig) -> None:
    ingest_raw(db, config, _items(4, timedelta(days=400)), NOW - timedelta(days=400))
    ingest_raw(db, config, _items(3, timedelta(days=2)), NOW - timedelta(days=2))
    with db.session() as s:
        s.add(ScopeCount(hour=NOW - timedelta(days=400), topic="infrastruktur", posts=4, complaints=4))
    report = purge(db, config, NOW, actor="tes")
    assert report.posts_purged == 4
    assert report.metrics_deleted == 4
    with db.session() as s:
        old = list(s.scalars(select(Post).where(Post.created_at < NOW - timedelta(days=300))))
        assert all(p.text is None and p.author_key is None and p.purged_at is not None for p in old)
        recent = list(s.scalars(select(Post).where(Post.created_at > NOW - timedelta(days=3))))
        assert len(recent) == 3 and all(p.text and p.author_key for p in recent)
        assert s.scalar(select(func.count()).select_from(PostMetric)) == 3
        assert s.scalar(select(func.sum(ScopeCount.posts))) == 4  # trends survive the purge
        assert s.scalar(select(AuditLog.action).where(AuditLog.actor == "tes")) == "purge"
    assert purge(db, config, NOW).posts_purged == 0  # idempotent


def test_backup_is_consistent_while_writing(tmp_path: Path, config: AppConfig) -> None:
    db = Database(f"sqlite:///{tmp_path / 'live.db'}")
    db.upgrade()
    stop = threading.Event()
    written = 0

    def writer() -> None:
        nonlocal written
        i = 0
        while not stop.is_set():
            ingest_raw(db, config, _items(20, timedelta(hours=i % 24 + 1)), NOW)
            written += 20
            i += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        target = backup_sqlite(db, tmp_path / "backup" / "copy.db")
    finally:
        stop.set()
        thread.join()
    with sqlite3.connect(target) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        copied = conn.execute("SELECT count(*) FROM posts").fetchone()[0]
    assert 0 <= copied <= written
    db.dispose()


def test_backup_refuses_postgresql() -> None:
    db = Database("postgresql+psycopg://postgres@127.0.0.1:5432/test")
    with pytest.raises(ValueError, match="pg_dump"):
        backup_sqlite(db, Path("/tmp/never.db"))
    db.dispose()
