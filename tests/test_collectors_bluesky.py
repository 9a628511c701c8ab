"""Bluesky searchPosts collector against recorded pages served from 127.0.0.1."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from collectors.base import AuthFailed, RateLimited, SourceError
from collectors.bluesky import create
from tests.platform_replay import fixture, query_has, query_lacks, replay

NOW = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)
PATH = "/xrpc/app.bsky.feed.searchPosts"


def make(base: str, **extra: object) -> object:
    return create("bluesky-oki", {"base_url": base, "queries": ["OKI"], "min_request_interval": 0, **extra}, {})


def test_first_run_reads_one_page_then_later_runs_walk_to_the_mark() -> None:
    with replay() as (server, client):
        server.add("GET", PATH, fixture("bluesky", "search_page1.json"), when=query_lacks("cursor"))
        server.add("GET", PATH, fixture("bluesky", "search_page2.json"), when=query_has(cursor="25"))
        b = make(server.base_url)
        first = b.fetch({}, client, NOW)  # type: ignore[attr-defined]
        again = b.fetch(first.cursor, client, NOW)  # type: ignore[attr-defined]
    uris = [i.external_id for i in first.items]
    assert uris == [
        "at://did:plc:abc123/app.bsky.feed.post/3l7xyzabc2k2d",
        "at://did:plc:abc123/app.bsky.feed.post/3l7xyzabc2k2c",
    ]
    assert first.rejected == 2 and first.calls == 1
    reply = first.items[1]
    assert reply.kind == "comment" and reply.parent_id.endswith("3l7xyzabc2k2a")  # type: ignore[union-attr]
    assert reply.url == "https://bsky.app/profile/warga.bsky.social/post/3l7xyzabc2k2c"
    assert (first.items[0].likes, first.items[0].shares, first.items[0].replies) == (31, 3, 1)
    assert first.cursor["queries"]["OKI"]["mark"].endswith("3l7xyzabc2k2d")
    assert again.items == [] and again.cursor == first.cursor  # the mark is reached on page 1


def test_max_pages_leaves_a_pending_walk_that_the_next_run_finishes() -> None:
    old_mark = "2026-11-01T00:00:00.000000Z|at://x"
    with replay() as (server, client):
        server.add("GET", PATH, fixture("bluesky", "search_page1.json"), when=query_lacks("cursor"))
        server.add("GET", PATH, fixture("bluesky", "search_page2.json"), when=query_has(cursor="25"))
        b = make(server.base_url, max_pages=1)
        first = b.fetch({"queries": {"OKI": {"mark": old_mark, "pending": None}}}, client, NOW)  # type: ignore[attr-defined]
        second = b.fetch(first.cursor, client, NOW)  # type: ignore[attr-defined]
    assert len(first.items) == 2
    assert first.cursor["queries"]["OKI"]["mark"] == old_mark  # not moved until the walk completes
    assert first.cursor["queries"]["OKI"]["pending"]["page"] == "25"
    assert [i.text for i in second.items] == ["Pelayanan MPP Kayuagung cepat"]
    assert second.rejected == 1  # the 1970 post
    assert second.cursor["queries"]["OKI"]["pending"] is None
    assert second.cursor["queries"]["OKI"]["mark"].endswith("3l7xyzabc2k2d")


def test_429_on_the_second_page_keeps_page_one_and_resumes_there() -> None:
    with replay() as (server, client):
        server.add("GET", PATH, fixture("bluesky", "search_page1.json"), when=query_lacks("cursor"))
        server.add("GET", PATH, fixture("bluesky", "rate_limited_429.json"), when=query_has(cursor="25"))
        result = make(server.base_url).fetch(  # type: ignore[attr-defined]
            {"queries": {"OKI": {"mark": "2026-11-01T00:00:00.000000Z|at://x"}}}, client, NOW
        )
    assert len(result.items) == 2 and result.rate_limit["retry_after"] == 300.0
    assert result.cursor["queries"]["OKI"]["pending"]["page"] == "25"


@pytest.mark.parametrize(
    ("name", "exc"),
    [
        ("forbidden_403.json", AuthFailed),
        ("rate_limited_429.json", RateLimited),
        ("malformed_200.json", SourceError),
        ("bad_query_400.json", SourceError),
    ],
)
def test_errors_raise_and_name_the_source(name: str, exc: type[SourceError]) -> None:
    with replay() as (server, client):
        server.add("GET", PATH, fixture("bluesky", name))
        with pytest.raises(exc, match="bluesky-oki"):
            make(server.base_url).fetch({}, client, NOW)  # type: ignore[attr-defined]
