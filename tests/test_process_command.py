"""`oki-monitor process --once [--json]` and migration 0005 (issues.facets, issue_posts.is_response)."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert, select, text

from monitor.cli import main
from monitor.kernel.config import AppConfig
from monitor.stages.group import IssueGrouper
from monitor.store.db import Database
from monitor.store.models import Issue, IssuePost, Label, Post, Source
from tests.incident_support import BRIDGE, OLD_WATER
from tests.migration_support import migrate

ROOT = Path(__file__).resolve().parent.parent
CONTRACT = {"id", "title", "topic", "agency", "kecamatan", "stage", "external_ids"}


def _store(db: Database, posts: list[tuple[int, str, str]], start: datetime) -> dict[str, str]:
    """Store posts (minutes after ``start``) unread; returns external id → facet."""
    facets: dict[str, str] = {}
    with db.session() as s:
        src = Source(name="replay", kind="x", cursor={})
        s.add(src)
        s.flush()
        for n, (minutes, facet, body) in enumerate(posts, start=1):
            at = start + timedelta(minutes=minutes)
            ext = f"{facet}-{n}"
            facets[ext] = facet
            s.add(
                Post(
                    source_id=src.id,
                    platform="x",
                    external_id=ext,
                    author_key=f"a{n}",
                    text=body,
                    created_at=at,
                    collected_at=at,
                    content_hash=hashlib.sha256(body.encode()).hexdigest(),
                    stage="new",
                )
            )
    return facets


def test_process_once_json_prints_one_line_per_open_issue(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = Database(f"sqlite:///{tmp_path / 'p.db'}")
    db.upgrade()
    # Wall-clock times: the command reads the system clock, and issues quiet for 72 hours are closed.
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=4)
    facets = _store(db, [*BRIDGE, *((m + 20 * 60 + 60, f, t) for m, f, t in OLD_WATER)], start)
    db.dispose()
    monkeypatch.setenv("OKI_MONITOR_DATABASE_URL", f"sqlite:///{tmp_path / 'p.db'}")
    monkeypatch.setenv("OKI_MONITOR_AUTHOR_KEY", "test-author-key-0123456789")
    config = str(ROOT / "config.yaml")

    assert main(["--config", config, "process", "--once", "--json"]) == 0
    lines = capsys.readouterr().out.splitlines()
    items = [json.loads(line) for line in lines]
    assert all(set(item) == CONTRACT for item in items)
    assert [item["id"] for item in items] == sorted(item["id"] for item in items)
    bridge = [i for i in items if i["agency"] == "pupr"]
    assert len(bridge) == 1 and len(items) == 2
    assert bridge[0]["topic"] == "infrastruktur" and bridge[0]["kecamatan"] == "Pampangan"
    # Every post of the event, the government's responses included, in post-time order.
    by_time = [f"{f}-{n}" for n, (_, f, _) in sorted(enumerate(BRIDGE, start=1), key=lambda x: (x[1][0], x[0]))]
    got = bridge[0]["external_ids"]
    assert got == [e for e in by_time if e in got] and len(got) >= 0.9 * len(by_time), got
    water = next(i for i in items if i["agency"] == "pdam")
    assert water["external_ids"] == [e for e, f in facets.items() if f == "water_old"]

    # Again: nothing new to read, the same issues.
    assert main(["--config", config, "process", "--once"]) == 0
    assert capsys.readouterr().out.startswith("Diproses: 0 unggahan diklasifikasi")
    assert main(["--config", config, "process", "--once", "--json"]) == 0
    assert [json.loads(line) for line in capsys.readouterr().out.splitlines()] == items
    assert main(["--config", config, "process"]) == 2


def test_migration_0005_keeps_old_issues_and_members(empty_db: Database, config: AppConfig) -> None:
    """0005 on a database grouped before it: old issues get empty facets, memberships are complaints; grouping
    reads an old issue's topic and place as its facets; down and up again."""
    migrate(empty_db, "0004")
    at = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
    with empty_db.engine.begin() as conn:
        conn.execute(insert(Source), [{"name": "s", "kind": "rss", "cursor": {}, "status": "ok", "rate_limit": {}}])
        conn.execute(
            insert(Issue),
            [{"id": 1, "topic": "air_bersih", "agency_code": "pdam", "kecamatan": "Kayu Agung", "desa": "Sukadana",
              "title": "t", "first_seen": at, "last_seen": at, "created_at": at, "updated_at": at,
              "post_count": 3, "terms": {"w": {"air": 3.0, "pdam": 3.0, "keruh": 3.0}, "sigs": []}}],
        )  # fmt: skip
        conn.execute(
            insert(Post),
            [{"id": 1, "source_id": 1, "platform": "rss", "external_id": "p1", "kind": "post", "created_at": at,
              "collected_at": at, "content_hash": "h1", "extra": {}, "stage": "grouped"}],
        )  # fmt: skip
        conn.execute(
            text(
                "INSERT INTO issue_posts (post_id, issue_id, similarity, is_spread, added_at, post_created_at) "
                "VALUES (1, 1, 1.0, false, :at, :at)"
            ),
            {"at": at.replace(tzinfo=None)},
        )
    empty_db.upgrade()
    with empty_db.session() as s:
        issue = s.get(Issue, 1)
        assert issue is not None and issue.facets == {}
        assert s.scalar(select(IssuePost.is_response).where(IssuePost.post_id == 1)) is False
        # A new complaint about the same outage: the old issue's 3 posts count as its facets.
        post = Post(
            id=2,  # ids given: the rows above were written with theirs, PostgreSQL's sequence did not move
            source_id=1,
            platform="rss",
            external_id="p2",
            text="Air PDAM Sukadana Kayuagung keruh lagi",
            created_at=at + timedelta(hours=1),
            collected_at=at + timedelta(hours=1),
            content_hash="h2",
            stage="classified",
        )
        s.add(post)
        s.flush()
        label = Label(
            post_id=post.id, model_version="t", relevant=True, relevance_score=1, is_complaint=True,
            complaint_score=1, topic="kesehatan", topic_score=1, kecamatan="Kayu Agung", desa="Sukadana",
            confidence=1, created_at=at,
        )  # fmt: skip
        s.add(label)
        s.flush()
        placement = IssueGrouper(config).place(s, post, label, at + timedelta(hours=1))
        assert placement.issue_id == 1
        issue = s.get(Issue, 1)
        assert issue is not None and issue.topic == "air_bersih" and issue.agency_code == "pdam"
        assert issue.facets["topics"] == {"air_bersih": 3.0, "kesehatan": 1.0}
        assert issue.facets["desa"] == {"Kayu Agung|Sukadana": 4.0}
    migrate(empty_db, "0004", down=True)
    with empty_db.engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM issue_posts")) == 2
    empty_db.upgrade()  # and up again: the migration is re-runnable
    assert empty_db.current_revision() == empty_db.head_revision()
