"""Mastodon collector against recorded tag-timeline pages served from 127.0.0.1."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from collectors.base import AuthFailed, RateLimited, SourceError
from collectors.mastodon import create, parse_link_header, parse_statuses
from tests.platform_replay import fixture, query_has, query_lacks, replay

NOW = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)
PATH = "/api/v1/timelines/tag/kayuagung"


def make(base: str, **extra: object) -> object:
    return create(
        "mastodon-oki", {"base_url": base, "hashtags": ["#kayuagung"], "min_request_interval": 0, **extra}, {}
    )


def test_first_page_then_next_page_then_nothing_new() -> None:
    with replay() as (server, client):
        server.add("GET", PATH, fixture("mastodon", "tag_page1.json"), when=query_lacks("min_id"))
        server.add("GET", PATH, fixture("mastodon", "tag_page2.json"), when=query_has(min_id="113400000000000105"))
        server.add("GET", PATH, fixture("mastodon", "tag_empty.json"), when=query_has(min_id="113400000000000107"))
        m = make(server.base_url)
        first = m.fetch({}, client, NOW)  # type: ignore[attr-defined]
        second = m.fetch(first.cursor, client, NOW)  # type: ignore[attr-defined]
        third = m.fetch(second.cursor, client, NOW)  # type: ignore[attr-defined]
        calls = server.calls(PATH)
    assert [i.external_id for i in first.items] == ["113400000000000105", "113400000000000104"]
    assert first.rejected == 3  # duplicate id, year 2100, numeric id
    top = first.items[0]
    assert top.text == "Jalan di Cengal rusak parah\nmotor jatuh tiap hari #kayuagung"
    assert (top.likes, top.shares, top.replies, top.author) == (12, 4, 2, "warga@mastodon.example")
    assert first.items[1].text == "Air PDAM mati lagi di Jua-Jua\nsudah dua hari"
    assert first.cursor == {"streams": {"tag:kayuagung": {"newest_id": "113400000000000105"}}}
    assert first.calls == 1 and first.rate_limit["remaining"] == 299
    assert [i.external_id for i in second.items] == ["113400000000000107", "113400000000000106"]
    assert second.items[0].kind == "comment" and second.items[0].parent_id == "113400000000000105"
    assert second.cursor["streams"]["tag:kayuagung"]["newest_id"] == "113400000000000107"
    assert third.items == [] and third.cursor == second.cursor
    assert calls[1].query == {"limit": "40", "min_id": "113400000000000105"}


def test_429_with_nothing_read_raises_and_the_cursor_stays() -> None:
    cursor = {"streams": {"tag:kayuagung": {"newest_id": "113400000000000105"}}}
    with replay() as (server, client):
        server.add("GET", PATH, fixture("mastodon", "rate_limited_429.json"))
        with pytest.raises(RateLimited) as info:
            make(server.base_url).fetch(cursor, client, NOW)  # type: ignore[attr-defined]
    assert info.value.retry_after == 60.0 and "mastodon-oki" in str(info.value)


def test_failure_on_the_second_page_keeps_what_was_read() -> None:
    cursor = {"streams": {"tag:kayuagung": {"newest_id": "113400000000000100"}}}
    full = fixture("mastodon", "tag_page1.json")
    assert isinstance(full.body, list)
    full.body = full.body[:2] * 20  # a full page of 40 means "there may be more"
    with replay() as (server, client):
        server.add("GET", PATH, full, when=query_has(min_id="113400000000000100"))
        server.add(
            "GET", PATH, fixture("mastodon", "server_error_500.json"), when=query_has(min_id="113400000000000105")
        )
        result = make(server.base_url).fetch(cursor, client, NOW)  # type: ignore[attr-defined]
    assert [i.external_id for i in result.items] == ["113400000000000105", "113400000000000104"]
    # The cursor moves only to what was stored; the next run asks again after ...105.
    assert result.cursor["streams"]["tag:kayuagung"]["newest_id"] == "113400000000000105"


@pytest.mark.parametrize(
    ("name", "exc"),
    [
        ("server_error_500.json", SourceError),
        ("unauthorized_401.json", AuthFailed),
        ("malformed_200.json", SourceError),
    ],
)
def test_errors_and_malformed_bodies(name: str, exc: type[SourceError]) -> None:
    with replay() as (server, client):
        server.add("GET", PATH, fixture("mastodon", name))
        with pytest.raises(exc, match="mastodon-oki"):
            make(server.base_url).fetch({}, client, NOW)  # type: ignore[attr-defined]


def test_a_404_timeline_is_a_failure_naming_the_address_not_no_posts() -> None:
    # Mastodon answers an unused hashtag with 200 []; a 404 means base_url is wrong and must show in health.
    with replay() as (server, client):
        server.add("GET", PATH, fixture("mastodon", "not_found_404.json"))
        with pytest.raises(SourceError) as info:
            make(server.base_url).fetch({}, client, NOW)  # type: ignore[attr-defined]
    message = str(info.value)
    assert "mastodon-oki" in message and "HTTP 404" in message
    assert "tidak ditemukan" in message and "check settings.base_url" in message


def test_link_header_and_wrong_types() -> None:
    links = parse_link_header('<https://m.example/a?max_id=1>; rel="next", <https://m.example/a?min_id=9>; rel="prev"')
    assert links == {"next": "https://m.example/a?max_id=1", "prev": "https://m.example/a?min_id=9"}
    with pytest.raises(SourceError, match="expected a JSON array"):
        parse_statuses({"id": "1"}, source="m", instance="m.example", now=NOW)
    page = parse_statuses(
        [None, 5, {"id": "7", "content": 3, "created_at": "2026-11-02T00:00:00Z"}], source="m", instance="i", now=NOW
    )
    assert page.items == [] and page.rejected == 3


def test_search_needs_a_token() -> None:
    with pytest.raises(ValueError, match=r"settings\.queries"):
        create("m", {"queries": ["Kayuagung"]}, {})
    with pytest.raises(ValueError, match=r"settings\.hashtags"):
        create("m", {"hashtags": ["two words"]}, {})
