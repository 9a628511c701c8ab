"""Stored corrections become training examples (newest value per field wins)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from monitor.stages.corrections import stored_corrections
from monitor.store.db import Database
from monitor.store.models import LabelCorrection, Post, Source

T = datetime(2026, 11, 2, tzinfo=UTC)


def test_corrections_merge_per_text_and_survive_purged_posts(db: Database) -> None:
    with db.session() as s:
        src = Source(name="s", kind="rss", cursor={})
        s.add(src)
        s.flush()
        live = Post(
            source_id=src.id,
            platform="rss",
            external_id="1",
            text="Jalan rusak di Cengal",
            created_at=T,
            collected_at=T,
            content_hash="a",
        )
        purged = Post(
            source_id=src.id, platform="rss", external_id="2", text=None, created_at=T, collected_at=T, content_hash="b"
        )
        s.add_all([live, purged])
        s.flush()
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
        src = Source(name="s", kind="rss", cursor={})
        s.add(src)
        s.flush()
        post = Post(
            source_id=src.id,
            platform="rss",
            external_id="1",
            title="Air mati",
            text="PDAM di Kayuagung mati dua hari",
            created_at=T,
            collected_at=T,
            content_hash="a",
        )
        s.add(post)
        s.flush()
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
