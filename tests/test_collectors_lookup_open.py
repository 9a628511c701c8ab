"""Engagement lookups by id for Mastodon, Reddit and Bluesky, replayed from recorded exchanges on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import select

from collectors.base import AuthFailed, MetricsLookup, RateLimited, SourceError
from collectors.bluesky import BlueskyCollector, parse_posts
from collectors.bluesky import create as create_bluesky
from collectors.mastodon import MastodonCollector
from collectors.mastodon import create as create_mastodon
from collectors.reddit import RedditCollector, parse_info, to_fullname
from collectors.reddit import create as create_reddit
from monitor.kernel.config import AppConfig
from monitor.stages.track import run_tracking
from monitor.store.db import Database
from monitor.store.models import Issue, IssuePost, Post, PostMetric, Source
from tests.platform_replay import ReplayServer, Reply, fixture

NOW = datetime(2026, 11, 2, 4, 30, tzinfo=UTC)
TOKEN = "test-token-0123456789secret"
UA = "oki-viral-monitor/0.1 (test; contact diskominfo@okikab.example)"

M_BATCH = "/api/v1/statuses"
R_INFO = "/api/info.json"
B_POSTS = "/xrpc/app.bsky.feed.getPosts"
DID = "did:plc:abc123"


def uri(rkey: str) -> str:
    return f"at://{DID}/app.bsky.feed.post/{rkey}"


@contextmanager
def served() -> Iterator[tuple[ReplayServer, httpx.Client, list[httpx.URL]]]:
    """A replay server and a client that also records every URL sent (repeated query keys included)."""
    server = ReplayServer()
    server.start()
    urls: list[httpx.URL] = []

    def record(request: httpx.Request) -> None:
        urls.append(request.url)

    try:
        with httpx.Client(timeout=5.0, event_hooks={"request": [record]}) as client:
            yield server, client, urls
    finally:
        server.stop()


def multi(url: httpx.URL, key: str) -> list[str]:
    """All values of a repeated query parameter, in order."""
    return parse_qs(urlsplit(str(url)).query).get(key, [])


def mastodon(base_url: str, token: str | None = None) -> MastodonCollector:
    secrets = {"MASTODON_TOKEN": token} if token else {}
    return create_mastodon("mastodon-oki", {"base_url": base_url, "hashtags": ["oki"],
                                            "min_request_interval": 0}, secrets)


def reddit(base_url: str) -> RedditCollector:
    return create_reddit("reddit-indonesia", {"base_url": base_url, "queries": ["Kayuagung"], "user_agent": UA,
                                              "min_request_interval": 0}, {})


def bluesky(base_url: str, token: str | None = None) -> BlueskyCollector:
    secrets = {"BLUESKY_TOKEN": token} if token else {}
    return create_bluesky("bluesky-oki", {"base_url": base_url, "queries": ["Kayuagung"],
                                          "min_request_interval": 0}, secrets)


def test_collectors_satisfy_the_lookup_protocol() -> None:
    collectors: list[MetricsLookup] = [
        mastodon("http://127.0.0.1:1"), reddit("http://127.0.0.1:1"), bluesky("http://127.0.0.1:1")]
    assert [c.max_ids_per_call for c in collectors] == [20, 100, 25]


# --- Mastodon -----------------------------------------------------------------------------


def test_mastodon_batch_lookup_reads_counts_and_leaves_missing_out() -> None:
    ids = ["113500000000000003", "113500000000000002", "113500000000000001"]
    with served() as (server, client, urls):
        server.add("GET", M_BATCH, fixture("mastodon", "lookup_statuses.json"))
        collector = mastodon(server.base_url, TOKEN)
        readings, calls = collector.lookup(ids, client, NOW)
    assert calls == 1 and len(server.calls(M_BATCH)) == 1
    assert multi(urls[0], "id[]") == ids
    assert server.calls(M_BATCH)[0].headers["authorization"] == f"Bearer {TOKEN}"
    # ...01 is gone; the numeric id, the string entry and the id not asked for are skipped.
    assert {r.external_id: (r.likes, r.shares, r.replies, r.views) for r in readings} == {
        "113500000000000003": (42, 9, 5, 0),
        "113500000000000002": (7, 1, 3, 0),
    }
    limit = collector.last_lookup_rate_limit.to_json()
    assert limit["remaining"] == 287 and limit["limit"] == 300
    assert datetime.fromisoformat(limit["reset"]) == datetime(2026, 11, 2, 4, 35, tzinfo=UTC)


def test_mastodon_splits_batches_of_20_and_never_sends_unsafe_ids() -> None:
    ids = [str(113500000000000100 + i) for i in range(45)] + ["../admin", "1 2", ""]
    with served() as (server, client, urls):
        server.add("GET", M_BATCH, Reply(200, []))
        readings, calls = mastodon(server.base_url).lookup(ids, client, NOW)
    assert readings == [] and calls == 3
    assert [len(multi(u, "id[]")) for u in urls] == [20, 20, 5]
    sent = [v for u in urls for v in multi(u, "id[]")]
    assert sent == ids[:45]


def test_mastodon_falls_back_to_single_lookups_on_an_old_instance() -> None:
    with served() as (server, client, _urls):
        server.add("GET", M_BATCH, fixture("mastodon", "lookup_no_batch_404.json"))
        server.add("GET", f"{M_BATCH}/113500000000000003", fixture("mastodon", "lookup_status_single.json"))
        server.add("GET", f"{M_BATCH}/113500000000000001", fixture("mastodon", "lookup_gone_404.json"))
        collector = mastodon(server.base_url)
        first, first_calls = collector.lookup(["113500000000000003", "113500000000000001"], client, NOW)
        assert collector.max_ids_per_call == 1  # later batches: one real request per planned call
        second, second_calls = collector.lookup(["113500000000000003"], client, NOW)
    assert [(r.external_id, r.likes, r.shares, r.replies) for r in first] == [("113500000000000003", 44, 9, 6)]
    assert first_calls == 3  # the 404 batch probe plus two single lookups
    assert [r.external_id for r in second] == ["113500000000000003"] and second_calls == 1
    assert len(server.calls(M_BATCH)) == 1  # the batch endpoint is not probed again


# --- Reddit -------------------------------------------------------------------------------


def test_reddit_info_lookup_converts_bare_ids_and_keeps_stored_ids() -> None:
    stored = ["t3_1okabc", "1okdef", "t1_nx1yz2", "t3_gone00", "not valid!", "T3_1OKABC"]
    with served() as (server, client, urls):
        server.add("GET", R_INFO, fixture("reddit", "lookup_info.json"))
        collector = reddit(server.base_url)
        readings, calls = collector.lookup(stored, client, NOW)
    assert calls == 1
    assert multi(urls[0], "id") == ["t3_1okabc,t3_1okdef,t1_nx1yz2,t3_gone00"]
    seen = server.calls(R_INFO)[0]
    assert seen.headers["user-agent"] == UA and seen.query["raw_json"] == "1"
    assert {r.external_id: (r.likes, r.shares, r.replies) for r in readings} == {
        "t3_1okabc": (128, 0, 37),
        "T3_1OKABC": (128, 0, 37),  # the same post stored under another spelling gets its reading too
        "1okdef": (5, 0, 2),
        "t1_nx1yz2": (17, 0, 0),
    }
    limit = collector.last_lookup_rate_limit
    assert limit.remaining == 96 and limit.limit == 100
    assert limit.reset_at == NOW + timedelta(seconds=240)


def test_reddit_splits_calls_of_100() -> None:
    with served() as (server, client, urls):
        server.add("GET", R_INFO, Reply(200, {"kind": "Listing", "data": {"children": []}}))
        _, calls = reddit(server.base_url).lookup([f"t3_a{i:05d}" for i in range(250)], client, NOW)
    assert calls == 3
    assert [len(multi(u, "id")[0].split(",")) for u in urls] == [100, 100, 50]


def test_fullname_conversion() -> None:
    assert to_fullname("abc123") == "t3_abc123"
    assert to_fullname("t1_xyz") == "t1_xyz"
    assert to_fullname("t3_abc,t3_def") is None
    assert to_fullname("https://reddit.com/r/x") is None


# --- Bluesky ------------------------------------------------------------------------------


def test_bluesky_get_posts_reads_counts_and_leaves_missing_out() -> None:
    wanted = [uri("3l7xyzabc2k2d"), uri("3l7xyzabc2k2c"), uri("3l7deleted000")]
    with served() as (server, client, urls):
        server.add("GET", B_POSTS, fixture("bluesky", "lookup_posts.json"))
        collector = bluesky(server.base_url)
        readings, calls = collector.lookup([*wanted, "https://bsky.app/profile/x/post/1"], client, NOW)
    assert calls == 1
    assert multi(urls[0], "uris") == wanted  # the web URL is never sent: one bad URI fails the whole call
    assert "authorization" not in server.calls(B_POSTS)[0].headers
    assert {r.external_id: (r.likes, r.shares, r.replies) for r in readings} == {
        uri("3l7xyzabc2k2d"): (131, 15, 9),
        uri("3l7xyzabc2k2c"): (8, 2, 4),
    }
    limit = collector.last_lookup_rate_limit
    assert limit.remaining == 2990 and limit.reset_at == datetime(2026, 11, 2, 4, 35, tzinfo=UTC)


def test_bluesky_splits_calls_of_25_and_sends_the_token() -> None:
    with served() as (server, client, urls):
        server.add("GET", B_POSTS, Reply(200, {"posts": []}))
        _, calls = bluesky(server.base_url, TOKEN).lookup([uri(f"3k{i:011d}") for i in range(60)], client, NOW)
    assert calls == 3
    assert [len(multi(u, "uris")) for u in urls] == [25, 25, 10]
    assert server.calls(B_POSTS)[0].headers["authorization"] == f"Bearer {TOKEN}"


# --- errors, the same contract for all three -----------------------------------------------

CASES: dict[str, tuple[str, Any, str, list[str]]] = {
    "mastodon": ("mastodon", mastodon, M_BATCH, ["113500000000000003"]),
    "reddit": ("reddit", lambda base: reddit(base), R_INFO, ["t3_1okabc"]),
    "bluesky": ("bluesky", bluesky, B_POSTS, [uri("3l7xyzabc2k2d")]),
}


@pytest.mark.parametrize("platform", list(CASES))
def test_429_raises_rate_limited_with_retry_after(platform: str) -> None:
    folder, make, path, ids = CASES[platform]
    with served() as (server, client, _):
        server.add("GET", path, fixture(folder, "lookup_rate_limited_429.json"))
        with pytest.raises(RateLimited) as info:
            make(server.base_url).lookup(ids, client, NOW)
    expected = {"mastodon": 120, "reddit": 90, "bluesky": 300}[platform]
    assert info.value.retry_after == pytest.approx(expected)
    assert "rate limited" in str(info.value)


def test_reddit_429_inside_a_200_is_rate_limited() -> None:
    with served() as (server, client, _):
        server.add("GET", R_INFO, fixture("reddit", "rate_limited_in_200.json"))
        with pytest.raises(RateLimited):
            reddit(server.base_url).lookup(["t3_1okabc"], client, NOW)


@pytest.mark.parametrize("platform", list(CASES))
def test_401_is_auth_failed_without_leaking_the_token(platform: str, caplog: pytest.LogCaptureFixture) -> None:
    folder, make, path, ids = CASES[platform]
    with served() as (server, client, _):
        server.add("GET", path, fixture(folder, "lookup_unauthorized_401.json"))
        collector = make(server.base_url) if platform == "reddit" else make(server.base_url, TOKEN)
        with pytest.raises(AuthFailed) as info:
            collector.lookup(ids, client, NOW)
    assert "HTTP 401" in str(info.value)
    assert TOKEN not in str(info.value) and TOKEN not in repr(collector) and TOKEN not in caplog.text


def test_reddit_403_is_auth_failed() -> None:
    with served() as (server, client, _):
        server.add("GET", R_INFO, fixture("reddit", "lookup_forbidden_403.json"))
        with pytest.raises(AuthFailed, match="HTTP 403"):
            reddit(server.base_url).lookup(["t3_1okabc"], client, NOW)


@pytest.mark.parametrize("platform", list(CASES))
@pytest.mark.parametrize(("name", "message"), [("lookup_malformed_200.json", "not valid JSON"),
                                               ("lookup_wrong_type_200.json", "the next run retries")])
def test_malformed_or_wrong_type_body_is_a_clear_source_error(platform: str, name: str, message: str) -> None:
    folder, make, path, ids = CASES[platform]
    with served() as (server, client, _):
        server.add("GET", path, fixture(folder, name))
        with pytest.raises(SourceError, match=message) as info:
            make(server.base_url).lookup(ids, client, NOW)
    assert not isinstance(info.value, (RateLimited, AuthFailed))
    assert platform in str(info.value).split(":")[0]  # names the source


def test_mastodon_server_error_is_a_source_error() -> None:
    with served() as (server, client, _):
        server.add("GET", M_BATCH, fixture("mastodon", "server_error_500.json"))
        with pytest.raises(SourceError, match="HTTP 500"):
            mastodon(server.base_url).lookup(["113500000000000003"], client, NOW)


def test_wrong_types_inside_entries_skip_only_that_entry() -> None:
    posts = {"posts": [{"uri": uri("a1"), "likeCount": "lots", "repostCount": -4, "replyCount": 2.0},
                       {"uri": [uri("a2")]}, None, {"uri": uri("a3"), "likeCount": True}]}
    assert [(r.external_id, r.likes, r.shares, r.replies) for r in
            parse_posts(posts, source="b", wanted=[uri("a1"), uri("a2"), uri("a3")])] == [
        (uri("a1"), 0, 0, 2), (uri("a3"), 0, 0, 0)]
    listing = {"kind": "Listing", "data": {"children": [
        {"kind": "t3", "data": {"name": "t3_a", "ups": None, "score": "12", "num_comments": {}}},
        {"kind": "t3", "data": {"name": 5}}, 7]}}
    assert [(r.external_id, r.likes, r.replies) for r in parse_info(listing, source="r", wanted=["t3_a"])] == [
        ("t3_a", 12, 0)]


# --- through the tracking runner --------------------------------------------------------------


def seed(db: Database, source: str, kind: str, external_ids: list[str]) -> list[int]:
    """One open, rising issue holding one post per external id of ``source``."""
    started = NOW - timedelta(minutes=30)
    with db.session() as s:
        src = Source(name=source, kind=kind, enabled=True, cursor={})
        s.add(src)
        s.flush()
        issue = Issue(topic="infrastruktur", title="Jalan rusak Cengal", status="open", stage="naik", score=5.0,
                      first_seen=started, last_seen=started, created_at=started, updated_at=started)
        s.add(issue)
        s.flush()
        ids = []
        for ext in external_ids:
            post = Post(source_id=src.id, platform=kind, external_id=ext, text="Jalan rusak di Cengal, OKI",
                        created_at=started, collected_at=started, content_hash=f"h-{ext}", likes=1)
            s.add(post)
            s.flush()
            s.add(IssuePost(post_id=post.id, issue_id=issue.id, added_at=started, post_created_at=post.created_at))
            ids.append(post.id)
    return ids


@pytest.mark.parametrize(
    ("source", "kind", "path", "folder", "name", "ext_ids", "expected"),
    [
        ("bluesky-oki", "bluesky", B_POSTS, "bluesky", "lookup_posts.json",
         [uri("3l7xyzabc2k2d"), uri("3l7deleted000")], (131, 15, 9)),
        ("mastodon-oki", "mastodon", M_BATCH, "mastodon", "lookup_statuses.json",
         ["113500000000000003", "113500000000000001"], (42, 9, 5)),
        ("reddit-indonesia", "reddit", R_INFO, "reddit", "lookup_info.json",
         ["t3_1okabc", "t3_gone00"], (128, 0, 37)),
    ],
)
def test_run_tracking_writes_snapshots(db: Database, config: AppConfig, source: str, kind: str, path: str,
                                       folder: str, name: str, ext_ids: list[str],
                                       expected: tuple[int, int, int]) -> None:
    post_ids = seed(db, source, kind, ext_ids)
    with served() as (server, client, _):
        server.add("GET", path, fixture(folder, name))
        collector: MetricsLookup = CASES[kind][1](server.base_url)
        report = run_tracking(db, config, NOW, client, {source: collector})
    assert report.errors == {} and report.calls == {source: 1}
    assert [(s.post_id, s.likes, s.shares, s.replies) for s in report.snapshots] == [(post_ids[0], *expected)]
    assert report.missing == 1
    with db.session() as s:
        rows = list(s.scalars(select(PostMetric).where(PostMetric.post_id.in_(post_ids))))
        assert [(r.post_id, r.likes, r.shares, r.replies, r.at.replace(tzinfo=UTC)) for r in rows] == [
            (post_ids[0], *expected, NOW)]
        post = s.get(Post, post_ids[0])
        assert post is not None and (post.likes, post.shares, post.replies) == expected
        gone = s.get(Post, post_ids[1])
        assert gone is not None and gone.extra["tracking_misses"] == 1
        row = s.scalar(select(Source).where(Source.name == source))
        assert row is not None and row.calls_today == 1
        assert isinstance(row.rate_limit["lookup"]["remaining"], int)


def test_run_tracking_marks_auth_failed_on_401(db: Database, config: AppConfig) -> None:
    seed(db, "bluesky-oki", "bluesky", [uri("3l7xyzabc2k2d")])
    with served() as (server, client, _):
        server.add("GET", B_POSTS, fixture("bluesky", "lookup_unauthorized_401.json"))
        report = run_tracking(db, config, NOW, client, {"bluesky-oki": bluesky(server.base_url, TOKEN)})
    assert "bluesky-oki" in report.errors and report.snapshots == []
    with db.session() as s:
        row = s.scalar(select(Source).where(Source.name == "bluesky-oki"))
        assert row is not None and row.status == "auth_failed"
