"""collectors.http: caps after decompression, total deadline, redirects and status mapping, against 127.0.0.1."""

from __future__ import annotations

import time
import zlib
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler

import httpx
import pytest

from collectors.base import AuthFailed, RateLimited, SourceError
from collectors.common import Pacer
from collectors.http import FetchLimits, FetchTimeout, ResponseTooLarge, is_private_host, safe_get
from tests.hostile import drip, gzip_body, gzip_bomb, hostile, send

NOW = datetime(2026, 11, 2, 5, 0, tzinfo=UTC)


@pytest.fixture()
def client() -> httpx.Client:
    with httpx.Client(timeout=5.0) as c:
        yield c


def test_plain_and_gzip_bodies_come_back_whole(client: httpx.Client) -> None:
    payload = b'{"ok": true, "text": "Jalan rusak di Cengal"}' * 100
    with hostile() as srv:
        srv.routes["/plain"] = lambda h, q: send(h, 200, payload)
        srv.routes["/gz"] = lambda h, q: send(h, 200, gzip_body(payload), headers={"Content-Encoding": "gzip"})
        srv.routes["/deflate"] = lambda h, q: send(
            h, 200, zlib.compress(payload), headers={"Content-Encoding": "deflate"}
        )
        got = [safe_get(client, srv.base_url + p, source="s", now=NOW).body for p in ("/plain", "/gz", "/deflate")]
        sent_encoding = srv.hits[0][2]["accept-encoding"]
    assert got == [payload, payload, payload]
    assert sent_encoding == "gzip, deflate"


def test_gzip_bomb_is_stopped_at_the_cap_quickly(client: httpx.Client) -> None:
    bomb = gzip_bomb(200)  # 200 MiB decoded from ~200 KiB
    with hostile() as srv:
        srv.routes["/bomb"] = lambda h, q: send(h, 200, bomb, headers={"Content-Encoding": "gzip"})
        started = time.monotonic()
        with pytest.raises(ResponseTooLarge, match="source news-a"):
            safe_get(client, srv.base_url + "/bomb", source="news-a", now=NOW, limits=FetchLimits(max_bytes=1 << 20))
    assert time.monotonic() - started < 2


def test_large_plain_body_and_declared_length_are_rejected(client: httpx.Client) -> None:
    big = b"x" * (3 << 20)
    with hostile() as srv:
        srv.routes["/big"] = lambda h, q: send(h, 200, big)

        def chunked(h: BaseHTTPRequestHandler, q: dict[str, str]) -> None:
            h.send_response(200)
            h.send_header("Transfer-Encoding", "chunked")
            h.end_headers()
            for _ in range(64):
                h.wfile.write(b"10000\r\n" + b"y" * 0x10000 + b"\r\n")
            h.wfile.write(b"0\r\n\r\n")

        srv.routes["/chunked"] = chunked
        with pytest.raises(ResponseTooLarge):
            safe_get(client, srv.base_url + "/big", source="s", now=NOW, limits=FetchLimits(max_bytes=1 << 20))
        with pytest.raises(ResponseTooLarge):
            safe_get(client, srv.base_url + "/chunked", source="s", now=NOW, limits=FetchLimits(max_bytes=1 << 20))


def test_slow_drip_is_cut_by_the_total_deadline(client: httpx.Client) -> None:
    with hostile() as srv:
        srv.routes["/slow"] = lambda h, q: drip(h, every=0.1, total=10)
        started = time.monotonic()
        with pytest.raises(FetchTimeout, match="source slowpoke"):
            safe_get(client, srv.base_url + "/slow", source="slowpoke", now=NOW, limits=FetchLimits(deadline=1.0))
        took = time.monotonic() - started
    assert 0.9 <= took < 2.5


def test_redirects_are_followed_but_loops_and_private_targets_refused(client: httpx.Client) -> None:
    with hostile() as srv:
        srv.routes["/a"] = lambda h, q: send(h, 302, b"", headers={"Location": "/b"})
        srv.routes["/b"] = lambda h, q: send(h, 301, b"", headers={"Location": srv.base_url + "/a"})
        srv.routes["/moved"] = lambda h, q: send(h, 301, b"", headers={"Location": "/final"})
        srv.routes["/final"] = lambda h, q: send(h, 200, b"[]")
        srv.routes["/meta"] = lambda h, q: send(h, 302, b"", headers={"Location": "http://169.254.169.254/latest"})
        srv.routes["/file"] = lambda h, q: send(h, 302, b"", headers={"Location": "file:///etc/passwd"})
        ok = safe_get(client, srv.base_url + "/moved", source="s", now=NOW)
        with pytest.raises(SourceError, match="redirect loop"):
            safe_get(client, srv.base_url + "/a", source="s", now=NOW)
        with pytest.raises(SourceError, match="internal address"):
            safe_get(client, srv.base_url + "/meta", source="s", now=NOW)
        with pytest.raises(SourceError, match="non-HTTP"):
            safe_get(client, srv.base_url + "/file", source="s", now=NOW)
    assert ok.body == b"[]" and ok.url.endswith("/final") and ok.redirects == [srv.base_url + "/final"]


@pytest.mark.parametrize(
    ("status", "headers", "exc", "retry_after"),
    [
        (401, {}, AuthFailed, None),
        (403, {}, AuthFailed, None),
        (404, {}, SourceError, None),
        (429, {"Retry-After": "120"}, RateLimited, 120.0),
        (429, {}, RateLimited, 300.0),
        (429, {"Retry-After": "Mon, 02 Nov 2026 05:10:00 GMT"}, RateLimited, 600.0),
        (500, {}, SourceError, None),
        (503, {"Retry-After": "30"}, SourceError, 30.0),
    ],
)
def test_error_statuses_map_to_clear_exceptions(
    client: httpx.Client, status: int, headers: dict[str, str], exc: type[SourceError], retry_after: float | None
) -> None:
    with hostile() as srv:
        srv.routes["/x"] = lambda h, q: send(h, status, b'{"error":"Too many requests"}', headers=headers)
        with pytest.raises(exc) as info:
            safe_get(client, srv.base_url + "/x", source="mastodon-oki", now=NOW)
        unchecked = safe_get(client, srv.base_url + "/x", source="mastodon-oki", now=NOW, check_status=False)
    assert type(info.value) is exc
    assert "source mastodon-oki" in str(info.value) and f"HTTP {status}" in str(info.value)
    assert info.value.retry_after == retry_after
    assert unchecked.status == status


def test_connection_refused_and_bad_json_name_the_source(client: httpx.Client) -> None:
    with hostile() as srv:
        dead = srv.base_url
        srv.routes["/html"] = lambda h, q: send(h, 200, b"<html>captcha</html>", "text/html")
        fetched = safe_get(client, dead + "/html", source="gnews", now=NOW)
    with pytest.raises(SourceError, match=r"source gnews: .*not valid JSON"):
        fetched.json()
    with httpx.Client() as fresh, pytest.raises(SourceError, match="source gnews: cannot reach"):
        # A fresh client: the old one may still hold a kept-alive connection to the stopped server.
        safe_get(fresh, dead + "/html", source="gnews", now=NOW, limits=FetchLimits(deadline=2))


def test_text_uses_declared_charset_and_replaces_bad_bytes() -> None:
    from collectors.http import Fetched

    latin = Fetched("s", "http://h/", 200, httpx.Headers({"content-type": "text/html; charset=ISO-8859-1"}), b"caf\xe9")
    broken = Fetched("s", "http://h/", 200, httpx.Headers({"content-type": "text/html"}), b"ok \xff\xfe end")
    bogus = Fetched("s", "http://h/", 200, httpx.Headers({"content-type": "text/html; charset=nonsense"}), b"x")
    assert latin.text() == "café"
    assert broken.text() == "ok \ufffd\ufffd end"
    assert bogus.text() == "x"


def test_private_host_detection() -> None:
    assert is_private_host("127.0.0.1") and is_private_host("10.1.2.3") and is_private_host("localhost")
    assert is_private_host("[::1]") and is_private_host("169.254.169.254")
    assert not is_private_host("8.8.8.8")


def test_pacer_keeps_the_interval() -> None:
    slept: list[float] = []
    now = [100.0]

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    pacer = Pacer(2.0, sleep=sleep, clock=lambda: now[0])
    pacer.wait()
    now[0] += 0.5
    pacer.wait()
    now[0] += 5
    pacer.wait()
    assert slept == [1.5]
