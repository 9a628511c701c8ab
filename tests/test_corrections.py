"""Stored corrections become training examples (newest value per field wins)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from monitor.stages.corrections import stored_corrections
from monitor.store.db import Database
from monitor.store.models import LabelCorrection, Post, Source

T = datetime(2026, 11, 2, tzinfo=UTC)


def _posts(s: Session, *texts: str | None, **fields: Any) -> list[Post]:
    """Posts of one RSS source with these texts (and ``fields``), flushed so they have ids."""
    src = Source(name="s", kind="rss", cursor={})
    s.add(src)
    s.flush()
    posts = [
        Post(
            source_id=src.id,
            platform="rss",
            external_id=str(n),
            text=text,
            created_at=T,
            collected_at=T,
            content_hash=f"h{n}",
            **fields,
        )
        for n, text in enumerate(texts, 1)
    ]
    s.add_all(posts)
    s.flush()
    return posts


def test_corrections_merge_per_text_and_survive_purged_posts(db: Database) -> None:
    with db.session() as s:
        live, purged = _posts(s, "Jalan rusak di Cengal", None)
        s.add_all(
            [
                LabelCorrection(post_id=live.id, field="topic", value="transportasi", created_at=T),
                LabelCorrection(
                    post_id=live.id, field="topic", value="infrastruktur", created_at=T + timedelta(minutes=1)
                ),
                LabelCorrection(post_id=live.id, field="is_complaint", value="true", created_at=T),
                LabelCorrection(
                    post_id=purged.id, field="relevant", value="false", text="KTT OKI di Jeddah", created_at=T
                ),
                LabelCorrection(post_id=purged.id, field="relevant", value="false", text=None, created_at=T),
                LabelCorrection(post_id=live.id, field="agency", value="pupr", created_at=T),
            ]
        )
    got = dict(stored_corrections(db))
    assert got == {
        "Jalan rusak di Cengal": {"topic": "infrastruktur", "is_complaint": True},
        "KTT OKI di Jeddah": {"relevant": False},
    }


def test_recorded_corrections_keep_the_text_and_read_back_like_dashboard_ones(db: Database) -> None:
    from monitor.stages.corrections import record_corrections

    with db.session() as s:
        (post,) = _posts(s, "PDAM di Kayuagung mati dua hari", title="Air mati")
        rows = record_corrections(
            s, post.id, {"relevant": True, "is_complaint": False}, user_id=None, source="triage", now=T
        )
        assert [(r.field, r.value, r.source) for r in rows] == [
            ("relevant", "true", "triage"),
            ("is_complaint", "false", "triage"),
        ]
        post_id = post.id
    with db.session() as s:  # the post is purged later: the correction keeps its text
        s.execute(Post.__table__.update().where(Post.id == post_id).values(text=None, title=None))
    assert stored_corrections(db) == [
        ("Air mati\nPDAM di Kayuagung mati dua hari", {"relevant": True, "is_complaint": False})
    ]
