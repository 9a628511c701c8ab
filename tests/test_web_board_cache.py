"""The shared board cache, its ETag/304 answers, and the database-side trend sums."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from monitor.kernel.config import AppConfig
from monitor.store.db import Database
from monitor.store.models import Issue, Signal
from monitor.web import queries, routes_pages
from monitor.web.app import create_app
from monitor.web.auth import Principal
from monitor.web.cache import BoardCache
from tests import web_support
from tests.web_support import NOW, Seeded, csrf_from, login, make_clock, seed, viral_flood_issue

# The dashboard tests' shared fixture: the seeded app signed in as the communications team.
env = web_support.kominfo_env


def test_board_partial_answers_304_until_the_data_changes(env: tuple[TestClient, Seeded, Database]) -> None:
    client, s, db = env
    first = client.get("/partials/board")
    etag = first.headers["etag"]
    assert first.status_code == 200 and etag and "no-store" not in first.headers["cache-control"]
    again = client.get("/partials/board", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
    # A pipeline write (a new assessment, its reasons on the row) is seen without telling the web process.
    with db.session() as session:
        session.add(
            Signal(
                issue_id=s.rising_id,
                at=NOW,
                stage="naik",
                score=0.9,
                mentions=500,
                engagement=1.0,
                reasons=["lonjakan terdeteksi"],
            )
        )
    changed = client.get("/partials/board", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag


def test_board_shows_an_acknowledgement_at_once(env: tuple[TestClient, Seeded, Database]) -> None:
    client, s, _db = env
    assert "Belum diterima" in client.get("/partials/board").text.split(f'data-issue="{s.rising_id}"')[1][:3000]
    token = csrf_from(client.get(f"/issues/{s.rising_id}").text)
    client.post(f"/issues/{s.rising_id}/ack", data={"csrf_token": token})
    row = client.get("/").text.split(f'data-issue="{s.rising_id}"')[1].split("</tr>")[0]
    assert "Diterima" in row and "Belum diterima" not in row


def test_new_issue_appears_even_with_the_same_timestamps(env: tuple[TestClient, Seeded, Database]) -> None:
    client, _s, db = env
    client.get("/partials/board")
    with db.session() as session:
        session.add(viral_flood_issue())
    assert "Banjir rob di Cengal" in client.get("/partials/board").text


def test_cached_rows_are_kept_per_scope(config: AppConfig, sqlite_db: Database) -> None:
    s = seed(sqlite_db)
    app = create_app(config, sqlite_db, make_clock())
    comms, pdam = login(TestClient(app), "kominfo"), login(TestClient(app), "pdam")
    assert f'data-issue="{s.rising_id}"' in comms.get("/partials/board").text
    rows = pdam.get("/partials/board").text
    assert f'data-issue="{s.pdam_id}"' in rows and f'data-issue="{s.rising_id}"' not in rows
    # The comms ETag is not valid for the agency user's rows.
    etag = comms.get("/partials/board").headers["etag"]
    assert pdam.get("/partials/board", headers={"If-None-Match": etag}).status_code == 200


def test_board_cache_entry_needs_the_same_version_and_expires() -> None:
    cache = BoardCache(ttl=5)
    entry = cache.put("k", 1, "<tr></tr>", now=100.0)
    assert cache.get("k", 1, now=104.0) == entry
    assert cache.get("k", 2, now=101.0) is None
    assert cache.get("k", 1, now=106.0) is None
    before = cache.generation
    cache.invalidate()
    assert cache.generation == before + 1 and cache.get("k", 1, now=101.0) is None


@pytest.mark.parametrize("bucket", ["day", "week", "month", "hour"])
@pytest.mark.parametrize("dimension", ["topic", "kecamatan", "agency", "source"])
def test_database_trend_sums_equal_python_sums(db: Database, bucket: str, dimension: str) -> None:
    seed(db)
    comms = Principal(1, "kominfo", "comms", None)
    pupr = Principal(2, "pupr", "agency", "pupr")
    start, end = queries.default_range(NOW, days=120)
    for principal in (comms, pupr):
        for flt in (
            queries.TrendFilter(start, end),
            queries.TrendFilter(start, end, kecamatan="Kayu Agung"),
            queries.TrendFilter(NOW - timedelta(days=20), end, source="mastodon"),
        ):
            with db.session() as session:
                expected = queries.series_by(queries.trend_rows(session, principal, flt, bucket), dimension)
                got = queries.trend_series(session, principal, flt, bucket, dimension)
            assert set(got) == set(expected)
            for key, points in expected.items():
                assert set(got[key]) == set(points)
                for at, values in points.items():
                    assert got[key][at] == pytest.approx(values)
            if principal is pupr:
                assert "pdam" not in got and "air_bersih" not in got


def test_issue_page_shows_its_posts_page_by_page(env: tuple[TestClient, Seeded, Database]) -> None:
    from monitor.store.models import IssuePost, Post

    client, s, db = env
    with db.session() as session:
        for k in range(60):
            post = Post(source_id=1, platform="mastodon", external_id=f"bulk{k}", text=f"jembatan retak nomor {k}",
                        created_at=NOW - timedelta(minutes=k), collected_at=NOW, content_hash=f"b{k}")  # fmt: skip
            session.add(post)
            session.flush()
            session.add(IssuePost(post_id=post.id, issue_id=s.quiet_id, added_at=NOW, post_created_at=post.created_at))
        issue = session.get(Issue, s.quiet_id)
        assert issue is not None
        issue.post_count = 61
    page = client.get(f"/issues/{s.quiet_id}").text
    shown = routes_pages.PAGE_POSTS
    assert 0 < shown < 61
    assert page.count('class="post"') == shown and f"Unggahan 1–{shown} dari 61" in page
    assert "Halaman 1 dari 3" in page and f'href="/issues/{s.quiet_id}?hal=2#bukti"' in page
    seen: list[str] = []
    for number in (1, 2, 3):
        html = client.get(f"/issues/{s.quiet_id}?hal={number}").text
        seen += re.findall(r'<li class="post" id="post-(\d+)"', html)
        if number == 3:
            assert html.count('class="post"') == 61 - 2 * shown and f"Unggahan {2 * shown + 1}–61 dari 61" in html
            assert "Berikutnya" not in html and "Sebelumnya" in html
    assert len(seen) == len(set(seen)) == 61  # every post once, on exactly one page
    assert client.get(f"/issues/{s.quiet_id}?hal=0").status_code == 422
