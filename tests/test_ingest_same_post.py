"""The same platform post from two sources is one stored post (evidence counted once) — SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from collectors.base import RawItem
from collectors.import_file import parse_import_file
from monitor.kernel.config import AppConfig
from monitor.stages.ingest import ingest_raw, post_identity
from monitor.store.db import Database
from monitor.store.models import Post

NOW = datetime(2026, 12, 1, 5, 0, tzinfo=UTC)
TEXT = "Jembatan gantung Desa Bangsal Kec. Pampangan OKI putus, anak sekolah naik rakit"


def _x_item(**kw: object) -> RawItem:
    fields: dict[str, object] = {
        "source": "x-oki",
        "platform": "x",
        "external_id": "1865000000000000001",
        "text": TEXT + " https://t.co/abc",
        "created_at": NOW - timedelta(hours=1),
        "url": "https://x.com/warga_bangsal/status/1865000000000000001",
        "author": "warga_bangsal",
        "likes": 40,
        "shares": 12,
        "replies": 3,
        "views": 900,
    }
    fields.update(kw)
    return RawItem(**fields)  # type: ignore[arg-type]


def _imported(tmp_path: Path, **kw: object) -> RawItem:
    record = {
        "source": "laporan-humas",
        "external_id": "HUMAS-7",
        "url": "https://twitter.com/Warga_Bangsal/status/1865000000000000001?s=20",
        "author": "warga_bangsal",
        "text": TEXT,
        "created_at": "2026-12-01T11:00:00+07:00",
        "likes": 5,
    } | kw
    path = tmp_path / "ekspor.jsonl"
    path.write_text(json.dumps(record) + "\n", encoding="utf-8")
    items, errors = parse_import_file(path, now=NOW)
    assert errors == []
    return items[0]


def _posts(db: Database) -> list[Post]:
    with db.session() as s:
        return list(s.scalars(select(Post).order_by(Post.id)))


def test_imported_tweet_then_fetched_from_x_is_one_post(db: Database, config: AppConfig, tmp_path: Path) -> None:
    imported = _imported(tmp_path)
    assert imported.platform == "x"  # from the URL's host, not "import"
    assert ingest_raw(db, config, [imported], NOW).stored == 1
    report = ingest_raw(db, config, [_x_item()], NOW + timedelta(minutes=5), kind="x")
    assert (report.stored, report.duplicates, report.updated) == (0, 1, 1)
    (post,) = _posts(db)
    assert post.platform == "x" and post.canonical_url == "https://x.com/i/status/1865000000000000001"
    assert (post.likes, post.shares, post.views) == (40, 12, 900)  # the fresher (higher) reading
    # Fetched again by X: still one post.
    assert ingest_raw(db, config, [_x_item(likes=55)], NOW + timedelta(minutes=10), kind="x").stored == 0
    assert len(_posts(db)) == 1 and _posts(db)[0].likes == 55


def test_tweet_fetched_from_x_then_imported_is_one_post(db: Database, config: AppConfig, tmp_path: Path) -> None:
    assert ingest_raw(db, config, [_x_item()], NOW, kind="x").stored == 1
    # An export without a platform column or handle in the URL (x.com/i/web/status/...), older counts.
    late = _imported(tmp_path, url="https://mobile.x.com/i/web/status/1865000000000000001", likes=1)
    report = ingest_raw(db, config, [late], NOW + timedelta(minutes=5))
    assert (report.stored, report.duplicates, report.updated) == (0, 1, 0)
    (post,) = _posts(db)
    assert post.likes == 40 and post.platform == "x"


def test_platform_kept_from_column_and_other_posts_untouched(db: Database, config: AppConfig, tmp_path: Path) -> None:
    fb = _imported(tmp_path, url="https://www.facebook.com/groups/oki/posts/77", external_id="H-8")
    assert fb.platform == "facebook"
    told = _imported(tmp_path, url=None, platform="TikTok", external_id="H-9")
    assert told.platform == "tiktok"
    bare = _imported(tmp_path, url="https://lapor.go.id/laporan/9", external_id="H-10", text="Laporan lain")
    assert bare.platform == "import"
    # Two different tweets with the same text stay two posts (linked as copies, not merged).
    other = _x_item(external_id="1865000000000000002", url="https://x.com/warga_lain/status/1865000000000000002")
    ingest_raw(db, config, [_x_item(), other], NOW, kind="x")
    assert len(_posts(db)) == 2


def test_post_identity() -> None:
    tweet = "https://x.com/i/status/123"
    assert post_identity("import", "LPR-1", "https://twitter.com/a_b/status/123?s=20") == tweet
    assert post_identity("import", "LPR-1", "https://mobile.twitter.com/a/statuses/123/photo/1") == tweet
    assert post_identity("x", "123", None) == tweet
    assert post_identity("x", "123", "https://x.com/i/web/status/123") == tweet
    assert post_identity("mastodon", "123", "https://mastodon.social/@a/123") is None
    assert post_identity("import", "LPR-1", "https://x.com/a/likes") is None
