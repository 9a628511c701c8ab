"""The demo replay server + wire renderers, read back by the real open-source collectors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from collectors.base import RateLimited, RawItem
from collectors.bluesky import create as create_bluesky
from collectors.mastodon import create as create_mastodon
from collectors.reddit import create as create_reddit
from collectors.rss import create as create_rss
from collectors.telegram_channel import create as create_telegram
from monitor.demo.replay_server import Fault, ReplayServer, demo_sources

T0 = datetime(2026, 11, 2, 0, 0, tzinfo=UTC)
LOCAL = {"min_request_interval": 0}


def items(platform: str, n: int) -> list[RawItem]:
    return [
        RawItem(
            source=f"demo-{platform}",
            platform=platform,
            external_id=f"{platform}-{k:05d}",
            text=f"Jalan rusak di Cengal OKI nomor {k}",
            created_at=T0 + timedelta(minutes=10 * k),
            author=f"warga{k}",
            likes=k,
            views=100 * k,
            title=f"Judul {k}",
        )
        for k in range(1, n + 1)
    ]


class Clock:
    def __init__(self, now: datetime) -> None:
        self.t = now

    def now(self) -> datetime:
        return self.t


def test_every_open_source_reads_everything_exactly_once_as_time_passes() -> None:
    posts = [
        *items("rss", 30),
        *items("mastodon", 95),
        *items("bluesky", 60),
        *items("telegram", 70),
        *items("reddit", 40),
    ]
    clock = Clock(T0 + timedelta(hours=3))
    with ReplayServer(posts, clock.now) as server, httpx.Client(timeout=5) as client:
        base = server.base_url
        collectors = {
            "rss": create_rss("r", {"url": base + "/rss/b.xml", **LOCAL}, {}),
            "mastodon": create_mastodon(
                "m", {"base_url": base + "/mastodon", "hashtags": ["oki"], "max_pages": 2, **LOCAL}, {}
            ),
            "bluesky": create_bluesky(
                "b", {"base_url": base + "/bluesky", "queries": ["OKI"], "max_pages": 2, **LOCAL}, {}
            ),
            "telegram": create_telegram(
                "t", {"base_url": base + "/telegram", "channel": "infooki", "max_pages": 2, **LOCAL}, {}
            ),
            "reddit": create_reddit(
                "d",
                {
                    "base_url": base + "/reddit",
                    "queries": ["OKI"],
                    "subreddits": ["indonesia"],
                    "user_agent": "oki-viral-monitor/test (demo)",
                    "max_pages": 2,
                    **LOCAL,
                },
                {},
            ),
        }
        got: dict[str, list[str]] = {k: [] for k in collectors}
        cursors: dict[str, dict] = {k: {} for k in collectors}
        server.inject("/mastodon/", Fault("429", retry_after=60, times=1))
        for step in range(40):
            clock.t = T0 + timedelta(hours=3) + timedelta(minutes=30 * step)
            for name, c in collectors.items():
                try:
                    result = c.fetch(cursors[name], client, clock.t)  # type: ignore[attr-defined]
                except RateLimited:
                    continue
                got[name].extend(i.text.rsplit("\n\n", 1)[-1] for i in result.items)  # reddit: title + body
                cursors[name] = result.cursor
    # The first run of each source reads one page of history; everything after that arrives exactly once.
    for platform, name in [
        ("rss", "rss"),
        ("mastodon", "mastodon"),
        ("bluesky", "bluesky"),
        ("telegram", "telegram"),
        ("reddit", "reddit"),
    ]:
        expected = {p.text for p in posts if p.platform == platform}
        assert len(got[name]) == len(set(got[name])), f"{name} repeated items"
        later = {p.text for p in posts if p.platform == platform and p.created_at > T0 + timedelta(hours=3)}
        assert later <= set(got[name]) <= expected, f"{name} missed items"


def test_rss_etag_and_faults() -> None:
    clock = Clock(T0 + timedelta(hours=10))
    with ReplayServer(items("rss", 5), clock.now) as server, httpx.Client(timeout=5) as client:
        rss = create_rss("r", {"url": server.base_url + "/rss/b.xml", **LOCAL}, {})
        first = rss.fetch({}, client, clock.t)
        second = rss.fetch(first.cursor, client, clock.t)
        server.inject("/rss/", Fault("503", retry_after=7))
        with pytest.raises(Exception, match="HTTP 503"):
            rss.fetch(first.cursor, client, clock.t)
    assert len(first.items) == 5 and second.not_modified


def test_demo_sources_are_valid_config() -> None:
    from monitor.kernel.config import SourceConfig

    sources = [SourceConfig.model_validate(s) for s in demo_sources("http://127.0.0.1:9")]
    assert {s.kind for s in sources} >= {"rss", "mastodon", "bluesky", "telegram_channel", "x", "youtube"}


def test_replay_server_answers_engagement_lookups_for_open_platforms() -> None:
    """The demo's tracking job looks posts up by id: the replay server must speak those endpoints too."""
    from monitor.demo.scenario import build_scenario

    posts = [p for p in build_scenario() if p.item.platform in ("mastodon", "bluesky")]
    now = max(p.item.created_at for p in posts)
    with ReplayServer(posts, lambda: now) as replay, httpx.Client() as client:
        sources = {s["name"]: s for s in demo_sources(replay.base_url)}
        for name, kind in (("demo-mastodon", create_mastodon), ("demo-bluesky", create_bluesky)):
            collector = kind(name, sources[name]["settings"], {})
            fetched = collector.fetch({}, client, now).items
            assert fetched, name
            ids = [i.external_id for i in fetched[:3]] + ["missing-id"]
            readings, calls = collector.lookup(ids, client, now)  # type: ignore[attr-defined]
            assert calls >= 1
            assert {r.external_id for r in readings} == set(ids[:3]), name
