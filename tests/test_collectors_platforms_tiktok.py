"""TikTok Research API video query, comments and token handling, replayed from a local server."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from collectors.base import AuthFailed, RateLimited, SourceError
from collectors.tiktok import create
from tests.platform_replay import Reply, fixture, replay
from tests.tiktok_support import QUERY, SECRETS, make, serve_pages

NOW = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)


def test_query_pages_comments_and_token() -> None:
    with replay() as (server, client):
        serve_pages(server)
        result = make(server.base_url).fetch({}, client, NOW)
    ids = [i.external_id for i in result.items]
    assert ids == ["7432000000000000003", "7432000000000000002", "7432000000000000001", "7432100000000000001"]
    video = result.items[0]
    assert (video.likes, video.shares, video.replies, video.views) == (900, 12, 40, 15000)
    assert video.url == "https://www.tiktok.com/@warga_oki/video/7432000000000000003"
    assert video.created_at == datetime(2026, 11, 2, 5, 40, tzinfo=UTC)
    comment = result.items[-1]
    assert comment.kind == "comment" and comment.parent_id == "7432000000000000003" and comment.likes == 55
    assert result.rejected == 2  # video without create_time, empty comment
    assert result.calls == 3  # two query pages + comments of the one video that has comments
    assert result.cursor["newest_create_time"] == 1793598000
    token_call = server.calls("/v2/oauth/token/")
    assert len(token_call) == 1 and b"grant_type=client_credentials" in token_call[0].body
    first, second = server.calls(QUERY)
    assert first.headers["authorization"] == "Bearer clt.example-client-access-token-0001"
    sent = json.loads(first.body)
    assert sent["start_date"] == "20261031" and sent["end_date"] == "20261102"
    assert sent["query"]["and"][0] == {"operation": "IN", "field_name": "region_code", "field_values": ["ID"]}
    assert {"operation": "EQ", "field_name": "keyword", "field_values": ["kayuagung"]} in sent["query"]["or"]
    assert "like_count" in first.query["fields"]
    assert json.loads(second.body)["cursor"] == 100 and json.loads(second.body)["search_id"] == "7432000000000000999"
    assert all(SECRETS["TIKTOK_CLIENT_SECRET"] not in str(r.query) for r in server.requests)


def test_nothing_new() -> None:
    with replay() as (server, client):
        server.add("POST", "/v2/oauth/token/", fixture("tiktok", "token.json"))
        server.add("POST", QUERY, fixture("tiktok", "query_empty.json"))
        result = make(server.base_url).fetch({"newest_create_time": 1793598000}, client, NOW)
    assert result.items == [] and result.calls == 1
    assert result.cursor["newest_create_time"] == 1793598000
    assert json.loads(server.calls(QUERY)[0].body)["start_date"] == "20261102"


def test_rate_limit_and_daily_quota() -> None:
    with replay() as (server, client):
        server.add("POST", "/v2/oauth/token/", fixture("tiktok", "token.json"))
        server.add("POST", QUERY, fixture("tiktok", "rate_limited_429.json"))
        with pytest.raises(RateLimited) as short:
            make(server.base_url).fetch({}, client, NOW)
        server.add("POST", QUERY, fixture("tiktok", "daily_quota_429.json"))
        with pytest.raises(RateLimited) as daily:
            make(server.base_url).fetch({}, client, NOW)
    assert short.value.retry_after == 60
    assert daily.value.retry_after == 18 * 3600  # until 00:00 UTC


def test_own_budget_stops_requests() -> None:
    with replay() as (server, client):
        serve_pages(server)
        result = make(server.base_url, daily_request_budget=1).fetch({}, client, NOW)
    assert result.calls == 1 and len(server.calls(QUERY)) == 1
    assert [i.external_id for i in result.items] == ["7432000000000000003", "7432000000000000002"]
    assert result.cursor["quota"]["used"] == 1


def test_revoked_token_renews_once_then_fails() -> None:
    with replay() as (server, client):
        server.add("POST", "/v2/oauth/token/", fixture("tiktok", "token.json"))
        server.add("POST", QUERY, fixture("tiktok", "token_revoked_401.json"))
        with pytest.raises(AuthFailed) as info:
            make(server.base_url).fetch({}, client, NOW)
    assert len(server.calls("/v2/oauth/token/")) == 2 and len(server.calls(QUERY)) == 2
    assert "TIKTOK_CLIENT_KEY" in str(info.value) and SECRETS["TIKTOK_CLIENT_SECRET"] not in str(info.value)


def test_bad_client_credentials() -> None:
    with replay() as (server, client):
        server.add("POST", "/v2/oauth/token/", fixture("tiktok", "token_invalid_client_401.json"))
        with pytest.raises(AuthFailed, match=r"invalid_client|incorrect"):
            make(server.base_url).fetch({}, client, NOW)
    with pytest.raises(AuthFailed, match="TIKTOK_CLIENT_SECRET"):
        create("tt", {}, {"TIKTOK_CLIENT_KEY": "k"})


def test_malformed_body() -> None:
    with replay() as (server, client):
        server.add("POST", "/v2/oauth/token/", fixture("tiktok", "token.json"))
        server.add("POST", QUERY, fixture("tiktok", "malformed_200.json"))
        with pytest.raises(SourceError, match="'videos' is dict"):
            make(server.base_url).fetch({}, client, NOW)
        server.add("POST", QUERY, Reply(200, "<html>bad gateway</html>"))
        with pytest.raises(SourceError, match="not valid JSON"):
            make(server.base_url).fetch({}, client, NOW)


def test_lookup_by_video_id() -> None:
    with replay() as (server, client):
        server.add("POST", "/v2/oauth/token/", fixture("tiktok", "token.json"))
        server.add("POST", QUERY, fixture("tiktok", "lookup.json"))
        readings, calls = make(server.base_url).lookup(["7432000000000000003", "7432100000000000001"], client, NOW)
    assert calls == 1
    assert [(r.external_id, r.likes, r.shares, r.replies, r.views) for r in readings] == [
        ("7432000000000000003", 7200, 380, 410, 98000)]
    sent = json.loads(server.calls(QUERY)[0].body)
    assert sent["query"]["and"][0]["field_name"] == "video_id"
    assert sent["start_date"] == "20261004" and sent["end_date"] == "20261102"  # within the 30-day window
