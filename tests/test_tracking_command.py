"""`oki-monitor track --once` end to end: config, database, X lookup on a local server, report in Indonesian."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from monitor.commands import track
from monitor.commands.track import format_report
from monitor.stages.track import TrackingReport
from monitor.store.context import Context
from monitor.store.db import Database
from monitor.store.models import Issue, IssuePost, Post, PostMetric, Source
from tests.platform_replay import fixture, replay

ROOT = Path(__file__).resolve().parent.parent


def write_config(tmp_path: Path, base_url: str, db_url: str) -> Path:
    data = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    data["database_url"] = db_url
    data["sources"] = [{"name": "x-oki", "kind": "x", "token_env": "X_BEARER_TOKEN", "daily_call_budget": 50,
                        "settings": {"base_url": base_url}}]
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def seed(db: Database, now: datetime) -> int:
    with db.session() as s:
        src = Source(name="x-oki", kind="x", enabled=True, cursor={})
        s.add(src)
        s.flush()
        issue = Issue(topic="infrastruktur", title="Jalan rusak Cengal", status="open", stage="naik", score=5.0,
                      first_seen=now - timedelta(minutes=30), last_seen=now, created_at=now, updated_at=now)
        s.add(issue)
        s.flush()
        post = Post(source_id=src.id, platform="x", external_id="1985000000000000003", text="jalan rusak",
                    created_at=now - timedelta(minutes=30), collected_at=now - timedelta(minutes=30),
                    content_hash="h", likes=88)
        s.add(post)
        s.flush()
        s.add(IssuePost(post_id=post.id, issue_id=issue.id, added_at=now, post_created_at=post.created_at))
        return post.id


def test_track_once_measures_and_prints(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("X_BEARER_TOKEN", "cli-test-token-123456")
    monkeypatch.setenv("OKI_MONITOR_AUTHOR_KEY", "test-author-key-0123456789")
    monkeypatch.delenv("OKI_MONITOR_DATABASE_URL", raising=False)
    db_url = f"sqlite:///{tmp_path / 'cli.db'}"
    db = Database(db_url)
    db.upgrade()
    post_id = seed(db, datetime.now(UTC))
    with replay() as (server, _client):
        server.add("GET", "/2/tweets", fixture("x", "lookup.json"))
        config = write_config(tmp_path, server.base_url, db_url)
        parser = argparse.ArgumentParser()
        track.add_arguments(parser)
        ctx = Context(config)
        try:
            code = track.run(parser.parse_args(["--once"]), ctx)
        finally:
            ctx.close()
    out = capsys.readouterr().out
    assert code == 0, out
    assert "1 diukur ulang" in out and "x-oki: 1 panggilan API" in out
    assert "cli-test-token-123456" not in out
    with db.session() as s:
        metric = s.scalar(select(PostMetric).where(PostMetric.post_id == post_id))
        assert metric is not None and metric.likes == 310
    db.dispose()


def test_report_lines_name_skips_errors_and_disabled_sources() -> None:
    report = TrackingReport(at=datetime(2026, 11, 2, tzinfo=UTC), due=3, batches=1,
                            calls={"x-oki": 1}, budget={"x-oki": 5}, deferred={"x-oki": 2},
                            skipped={"yt": "anggaran panggilan API hari ini habis"},
                            errors={"fb": "Facebook rejected the access token"})
    lines = format_report(report, {"tt": "nonaktif: set environment variable TIKTOK_CLIENT_KEY"})
    text = "\n".join(lines)
    assert "3 unggahan jatuh tempo" in lines[0]
    assert "x-oki: 1 panggilan API (jatah putaran ini 5)" in text
    assert "x-oki: 2 unggahan ditunda" in text
    assert "yt: dilewati — anggaran" in text
    assert "fb: GAGAL — Facebook rejected" in text
    assert "TIKTOK_CLIENT_KEY" in text
