"""Google News search RSS collector against recorded feeds served from 127.0.0.1."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from collectors.base import RateLimited
from collectors.googlenews import create, split_title
from collectors.rss import FeedRejected
from tests.platform_replay import fixture, query_has, replay

NOW = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)
PATH = "/rss/search"


def make(base: str, queries: list[str]) -> object:
    return create("googlenews-oki", {"base_url": base, "queries": queries, "min_request_interval": 0}, {})


def test_publisher_is_resolved_and_queries_share_one_run() -> None:
    with replay() as (server, client):
        server.add("GET", PATH, fixture("googlenews", "search_feed.json"), when=query_has(q='"Ogan Komering Ilir"'))
        server.add("GET", PATH, fixture("googlenews", "search_empty.json"), when=query_has(q="Kayuagung"))
        g = make(server.base_url, ['"Ogan Komering Ilir"', "Kayuagung"])
        first = g.fetch({}, client, NOW)  # type: ignore[attr-defined]
        again = g.fetch(first.cursor, client, NOW)  # type: ignore[attr-defined]
        sent = server.calls(PATH)[0].query
    assert sent == {"q": '"Ogan Komering Ilir"', "hl": "id", "gl": "ID", "ceid": "ID:id"}
    assert [(i.title, i.extra["outlet"]) for i in first.items] == [
        ("Jalan Rusak di Cengal OKI Dikeluhkan Warga", "Sumsel Terkini"),
        ("Pemkab OKI Janji Perbaiki Jalan - Tahun Depan", "OKI News"),  # only the last " - " splits
    ]
    assert first.items[0].url.startswith("https://news.google.com/rss/articles/")  # type: ignore[union-attr]
    assert first.items[0].text == "Jalan Rusak di Cengal OKI Dikeluhkan Warga"
    assert first.calls == 2 and again.items == []


def test_consent_page_and_429() -> None:
    with replay() as (server, client):
        server.add("GET", PATH, fixture("googlenews", "consent_html.json"), when=query_has(q="a"))
        server.add("GET", PATH, fixture("googlenews", "rate_limited_429.json"), when=query_has(q="b"))
        with pytest.raises(FeedRejected, match="consent or CAPTCHA"):
            make(server.base_url, ["a"]).fetch({}, client, NOW)  # type: ignore[attr-defined]
        with pytest.raises(RateLimited):
            make(server.base_url, ["b"]).fetch({}, client, NOW)  # type: ignore[attr-defined]


def test_one_failing_query_keeps_the_others_and_its_own_state() -> None:
    state = {"queries": {"b": {"etag": '"old"', "seen": ["x"]}}}
    with replay() as (server, client):
        server.add("GET", PATH, fixture("googlenews", "search_feed.json"), when=query_has(q="a"))
        server.add("GET", PATH, fixture("googlenews", "rate_limited_429.json"), when=query_has(q="b"))
        result = make(server.base_url, ["a", "b"]).fetch(state, client, NOW)  # type: ignore[attr-defined]
    assert len(result.items) == 2 and result.cursor["queries"]["b"] == {"etag": '"old"', "seen": ["x"]}
    assert result.rate_limit["retry_after"] == 300.0


def test_split_title() -> None:
    assert split_title("Banjir di OKI - Tribun Sumsel", "Tribun Sumsel") == ("Banjir di OKI", "Tribun Sumsel")
    assert split_title("Tanpa penerbit", None) == ("Tanpa penerbit", None)
