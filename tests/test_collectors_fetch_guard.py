"""The one guarded fetcher: POST bodies, credentials across redirects, metadata addresses, hostile JSON.

Also the two "looks empty but failed" answers of X (errors only, HTTP 200), replayed from 127.0.0.1.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx
import pytest

from collectors.base import SourceError
from collectors.http import (
    MAX_JSON_VALUES,
    MAX_MARKUP_DEPTH,
    Fetched,
    FetchLimits,
    MarkupTooDeep,
    ResponseTooLarge,
    markup_depth,
    safe_get,
    safe_request,
)
from collectors.x import create as create_x
from tests.hostile import gzip_bomb, hostile, send
from tests.platform_replay import Reply, fixture, replay

NOW = datetime(2026, 11, 2, 4, 30, tzinfo=UTC)

Seen = list[tuple[str, str, dict[str, str], bytes]]


def _client(seen: Seen, status: int, location: str) -> httpx.Client:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.method, f"{request.url.host}{request.url.path}", dict(request.headers), request.content))
        if request.url.path == "/start":
            return httpx.Response(status, headers={"location": location})
        return httpx.Response(200, stream=httpx.ByteStream(b"{}"))

    return httpx.Client(transport=httpx.MockTransport(handler), headers={"User-Agent": "oki-test"})


def test_a_redirect_to_another_origin_carries_no_api_key_header() -> None:
    seen: Seen = []
    with _client(seen, 302, "https://elsewhere.example.net/v3/videos") as client:
        safe_get(
            client,
            "https://www.googleapis.example/start",
            source="yt",
            now=NOW,
            headers={"X-Goog-Api-Key": "AIzaSECRET", "Authorization": "Bearer T", "Accept": "application/json"},
        )
    first, second = seen[0][2], seen[1][2]
    assert first["x-goog-api-key"] == "AIzaSECRET" and first["authorization"] == "Bearer T"
    assert "x-goog-api-key" not in second and "authorization" not in second
    assert second["accept"] == "application/json" and second["user-agent"] == "oki-test"


def test_a_post_body_is_never_resent_to_another_origin() -> None:
    seen: Seen = []
    steal = pytest.raises(SourceError, match="request body may carry credentials")
    with _client(seen, 307, "https://collector.example.net/steal") as client, steal:
        safe_request(
            client,
            "POST",
            "https://open.tiktokapis.example/start",
            source="tt",
            now=NOW,
            form={"client_key": "k", "client_secret": "SECRET"},
        )
    assert [s[1] for s in seen] == ["open.tiktokapis.example/start"]
    assert b"client_secret=SECRET" in seen[0][3]


def test_post_redirects_within_the_origin_follow_http_rules() -> None:
    seen: Seen = []
    with _client(seen, 307, "/moved") as client:
        safe_request(client, "POST", "https://api.example/start", source="tt", now=NOW, json_body={"q": 1})
    assert [(m, p, b) for m, p, _, b in seen] == [
        ("POST", "api.example/start", b'{"q":1}'),
        ("POST", "api.example/moved", b'{"q":1}'),
    ]
    seen.clear()
    with _client(seen, 303, "/result") as client:
        safe_request(client, "POST", "https://api.example/start", source="tt", now=NOW, json_body={"q": 1})
    assert [(m, p, b) for m, p, _, b in seen][1] == ("GET", "api.example/result", b"")
    assert "content-type" not in seen[1][2]


@pytest.mark.parametrize(
    "target",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://metadata.google.internal/computeMetadata/v1/",
        "http://[fd00:ec2::254]/latest/",
        "http://100.100.100.200/latest/meta-data/",
    ],
)
def test_metadata_addresses_are_refused_even_when_private_redirects_are_allowed(target: str) -> None:
    seen: Seen = []
    with _client(seen, 302, target) as client, pytest.raises(SourceError, match="internal address"):
        safe_get(client, "https://feed.example/start", source="s", now=NOW, limits=FetchLimits(allow_private=True))
    assert len(seen) == 1


def test_private_redirects_still_follow_allow_private() -> None:
    seen: Seen = []
    with _client(seen, 302, "http://10.1.2.3/feed") as client:
        with pytest.raises(SourceError, match="internal address"):
            safe_get(client, "https://feed.example/start", source="s", now=NOW)
        safe_get(client, "https://feed.example/start", source="s", now=NOW, limits=FetchLimits(allow_private=True))
    assert [s[1] for s in seen] == ["feed.example/start", "feed.example/start", "10.1.2.3/feed"]


def test_a_post_is_capped_like_a_get() -> None:
    bomb = gzip_bomb(32)
    with hostile() as srv, httpx.Client(timeout=5.0) as client:
        srv.routes["/v2/research/video/query/"] = lambda h, q: send(h, 200, bomb, headers={"Content-Encoding": "gzip"})
        with pytest.raises(ResponseTooLarge, match="source tt"):
            safe_request(
                client,
                "POST",
                srv.base_url + "/v2/research/video/query/",
                source="tt",
                now=NOW,
                json_body={"query": {}},
                limits=FetchLimits(max_bytes=1 << 20),
            )
        assert srv.hits[0][2]["content-type"] == "application/json"


def _fetched(body: bytes) -> Fetched:
    return Fetched("s", "http://h/api", 200, httpx.Headers({"content-type": "application/json"}), body)


def test_json_keeps_a_page_with_bad_bytes_and_absurd_numbers() -> None:
    body = b'[{"id":"1","text":"Jalan \xff rusak","n":NaN},{"id":"2","text":"Banjir","n":' + b"9" * 60 + b"}]"
    body = body.replace(b"]", b',{"id":"3","f":1e400,"g":-Infinity,"h":10000000000000000000000000000000}]')
    data = _fetched(body).json()
    assert data[0] == {"id": "1", "text": "Jalan \ufffd rusak", "n": None}
    assert data[1] == {"id": "2", "text": "Banjir", "n": None}
    assert data[2] == {"id": "3", "f": None, "g": None, "h": 10**31}  # 32 digits: a number, bounded later


def test_json_refuses_floods_and_reports_recursion_as_invalid() -> None:
    with pytest.raises(SourceError, match="JSON values"):
        _fetched(b"[" + b"0," * MAX_JSON_VALUES + b"0]").json()
    with pytest.raises(SourceError, match="not valid JSON"):
        _fetched(b"[" * 40_000 + b"]" * 40_000).json()
    assert _fetched(json.dumps([{"a": [1, 2]}] * 1000).encode()).json()[999] == {"a": [1, 2]}


# --- markup nesting ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "depth"),
    [
        (b"<rss><channel><item><title>x</title><link>u</link></item><item/></channel></rss>", 4),
        (b"<p>a<br>b<img src=x/><a href='/x/'>c</a></p>", 2),  # void, self-closed, "/" inside a value
        (b"<div><p><b>unclosed</p><p>next</p></div>" * 50, 3),  # </p> closes the <b> left open inside it
        (b"</z><a></z><!-- <a><a><a> --><DIV><div></Div>", 3),  # stray end tag ignored, comment skipped
        (b"<item><![CDATA[<p>tidak ditutup]]></item>" * 600, 2),  # sloppy HTML in CDATA does not pile up
    ],
)
def test_markup_depth_follows_a_forgiving_parser(body: bytes, depth: int) -> None:
    assert markup_depth(body) == depth


def test_markup_depth_stops_once_past_the_limit() -> None:
    assert markup_depth(b"<div>" * 45_000, stop_above=512) == 513
    assert markup_depth(b"<div>" * 45_000) == 45_000


def _markup_route(body: bytes) -> int:
    """Serve ``body`` as a t.me-like HTML page and fetch it; the status if the fetch was accepted."""
    with hostile() as srv, httpx.Client(timeout=5.0) as client:
        srv.routes["/s/infooki"] = lambda h, q: send(h, 200, body, "text/html; charset=utf-8")
        return safe_get(client, srv.base_url + "/s/infooki", source="tg", now=NOW).status


def test_deeply_nested_markup_is_refused_before_any_parser_sees_it() -> None:
    with pytest.raises(MarkupTooDeep, match=r"source tg: .*terlalu dalam bersarang.*512 levels deep"):
        _markup_route(b"<html><body>" + b"<div>" * 45_000 + b"x")
    # At the limit, and far more tags than the limit but shallow, the body is handed on.
    at_limit = b"<span>" * (MAX_MARKUP_DEPTH - 1) + b"<p>tepat di batas</p>" + b"</span>" * (MAX_MARKUP_DEPTH - 1)
    assert markup_depth(at_limit) == MAX_MARKUP_DEPTH
    assert _markup_route(at_limit) == 200
    assert _markup_route(b"<ul>" + b"<li>butir</li><li>butir<br><img src=x></li>" * 5_000 + b"</ul>") == 200


# --- X answers that look empty but are failures -------------------------------------------

SEARCH = "/2/tweets/search/recent"
ERRORS_ONLY = {
    "errors": [
        {
            "parameters": {"tweet.fields": ["note_tweet"]},
            "message": "The `tweet.fields` query parameter value [note_tweet] is not one of [...]",
        }
    ],
    "title": "Invalid Request",
    "detail": "One or more parameters to your request was invalid.",
    "type": "https://api.twitter.com/2/problems/invalid-request",
}


def _x(base: str) -> object:
    return create_x("x-oki", {"base_url": base}, {"X_BEARER_TOKEN": "T"})


def test_x_search_with_errors_only_is_a_failure_not_an_empty_result() -> None:
    with replay() as (server, client):
        server.add("GET", SEARCH, Reply(200, ERRORS_ONLY))
        with pytest.raises(SourceError) as info:
            _x(server.base_url).fetch({}, client, NOW)  # type: ignore[attr-defined]
        empty = fixture("x", "search_empty.json")
        server.add("GET", SEARCH, empty)
        result = _x(server.base_url).fetch({}, client, NOW)  # type: ignore[attr-defined]
    message = str(info.value)
    assert "x-oki" in message and "hanya galat" in message and "errors only" in message
    assert "tweet.fields" in message
    assert result.items == []  # a real empty search (no errors) is still fine


def test_x_lookup_skips_deleted_posts_but_fails_on_request_errors() -> None:
    gone = {
        "errors": [
            {
                "value": "1850000000000000001",
                "detail": "Could not find tweet with ids: [1850000000000000001].",
                "title": "Not Found Error",
                "resource_type": "tweet",
                "parameter": "ids",
                "resource_id": "1850000000000000001",
                "type": "https://api.twitter.com/2/problems/resource-not-found",
            }
        ]
    }
    with replay() as (server, client):
        server.add("GET", "/2/tweets", Reply(200, gone))
        readings, calls = _x(server.base_url).lookup(["1850000000000000001"], client, NOW)  # type: ignore[attr-defined]
        server.add("GET", "/2/tweets", Reply(200, ERRORS_ONLY))
        with pytest.raises(SourceError, match="errors only"):
            _x(server.base_url).lookup(["1850000000000000001"], client, NOW)  # type: ignore[attr-defined]
    assert readings == [] and calls == 1
