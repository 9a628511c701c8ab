"""Posts placed into issues by the real grouper, one call each: the harness of the grouping tests."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from classifiers.labels import Labels
from monitor.kernel.config import AppConfig
from monitor.stages.group import IssueGrouper
from monitor.store.db import Database
from monitor.store.models import Post, Source
from tests.pipeline_support import label_row, road_label

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)

ROAD = road_label()
"""The label a post gets unless the test gives one: a sure road complaint in Sungai Lumpur, Cengal."""


class Harness:
    """Stores classified posts of one source and places each with one ``IssueGrouper`` (its state kept)."""

    def __init__(self, db: Database, config: AppConfig, *, source: str = "t") -> None:
        self.db, self.config = db, config
        self.grouper = IssueGrouper(config)
        self.n = 0
        with db.session() as s:
            src = Source(name=source, kind="mastodon", cursor={})
            s.add(src)
            s.flush()
            self.source_id = src.id

    def store(
        self,
        s: Session,
        text: str,
        *,
        at: datetime = NOW,
        label: Labels = ROAD,
        parent: str | None = None,
        dup_of: int | None = None,
    ) -> Post:
        """Store a classified post with its label in the session, not yet placed."""
        self.n += 1
        post = Post(
            source_id=self.source_id,
            platform="mastodon",
            external_id=f"p{self.n}",
            text=text,
            created_at=at,
            collected_at=at,
            content_hash=f"h{self.n}",
            stage="classified",
            parent_external_id=parent,
            duplicate_of_id=dup_of,
        )
        s.add(post)
        s.flush()
        s.add(label_row(post.id, label, at))
        s.flush()
        return post

    def add(
        self,
        text: str,
        *,
        at: datetime = NOW,
        label: Labels = ROAD,
        parent: str | None = None,
        dup_of: int | None = None,
    ) -> tuple[int, int]:
        """Store a post with a label and place it; returns (post id, issue id)."""
        with self.db.session() as s:
            post = self.store(s, text, at=at, label=label, parent=parent, dup_of=dup_of)
            placement = self.grouper.place(s, post, label, at)
            return post.id, placement.issue_id
