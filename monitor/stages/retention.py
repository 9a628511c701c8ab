"""Retention (UU PDP): raw post text and engagement history are purged after N days.

Aggregated counts (``scope_counts``, issue totals) are kept, so trends survive
the purge; label corrections keep their own copy of the text for retraining
only until the same cut-off.
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import CursorResult, delete, update
from sqlalchemy.engine import make_url

from monitor.kernel.config import AppConfig
from monitor.store.db import Database
from monitor.store.models import AuditLog, LabelCorrection, LaporanInbox, Post, PostMetric

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PurgeReport:
    posts_purged: int
    metrics_deleted: int
    corrections_purged: int
    cutoff: datetime


def _count(result: object) -> int:
    return int(result.rowcount or 0) if isinstance(result, CursorResult) else 0


def purge(db: Database, config: AppConfig, now: datetime, *, actor: str = "sistem") -> PurgeReport:
    """Blank the text and author of posts older than the retention period and drop their metrics."""
    cutoff = now - timedelta(days=config.privacy.retention_days)
    with db.session() as session:
        old_posts = (
            update(Post)
            .where(Post.created_at < cutoff, Post.purged_at.is_(None))
            .values(text=None, title=None, author_key=None, url=None, extra={}, purged_at=now)
        )
        posts = _count(session.execute(old_posts))
        old_metrics = delete(PostMetric).where(PostMetric.at < cutoff)
        metrics = _count(session.execute(old_metrics))
        old_corrections = (
            update(LabelCorrection)
            .where(LabelCorrection.created_at < cutoff, LabelCorrection.text.is_not(None))
            .values(text=None)
        )
        corr = _count(session.execute(old_corrections))
        # Forwarded reports: the queue rows (sender pseudonym, reply address) go with the posts' text.
        session.execute(delete(LaporanInbox).where(LaporanInbox.received_at < cutoff))
        session.add(
            AuditLog(
                at=now,
                actor=actor,
                action="purge",
                target="posts",
                detail={"cutoff": cutoff.isoformat(), "posts": posts, "metrics": metrics},
            )
        )
    log.info("retention: %d posts purged, %d metric snapshots deleted (before %s)", posts, metrics, cutoff)
    return PurgeReport(posts, metrics, corr, cutoff)


def backup_sqlite(db: Database, target: Path) -> Path:
    """A consistent copy of a live SQLite database (SQLite online backup API)."""
    url = make_url(db.url)
    if url.get_backend_name() != "sqlite" or not url.database:
        raise ValueError("backup works on SQLite files; for PostgreSQL use pg_dump (see README)")
    target.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(url.database, timeout=30)
    dst = sqlite3.connect(str(target))
    try:
        src.backup(dst, pages=1024)  # copies in steps so writers are not blocked for long
        ok = dst.execute("PRAGMA integrity_check").fetchone()
        if not ok or ok[0] != "ok":
            raise RuntimeError(f"backup {target} failed its integrity check: {ok}")
    finally:
        dst.close()
        src.close()
    return target
