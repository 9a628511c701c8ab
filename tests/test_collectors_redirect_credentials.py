"""A redirect to another host must not carry the source's bearer token there."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx

from collectors.http import safe_get

NOW = datetime(2026, 11, 29, 6, 0, tzinfo=UTC)


def _client(seen: list[tuple[str, str | None]], location: str) -> httpx.Client:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((f"{request.url.host}{request.url.path}", request.headers.get("authorization")))
        if request.url.path == "/start":
            return httpx.Response(302, headers={"location": location})
        return httpx.Response(200, stream=httpx.ByteStream(b"{}"))

    return httpx.Client(transport=httpx.MockTransport(handler))


def test_cross_host_redirect_drops_the_token() -> None:
    seen: list[tuple[str, str | None]] = []
    with _client(seen, "https://elsewhere.example.net/collect") as client:
        safe_get(client, "https://api.example.org/start", source="bsky", now=NOW, headers={"Authorization": "Bearer T"})
    assert seen == [("api.example.org/start", "Bearer T"), ("elsewhere.example.net/collect", None)]


def test_same_host_redirect_keeps_the_token() -> None:
    seen: list[tuple[str, str | None]] = []
    with _client(seen, "/next") as client:
        safe_get(client, "https://api.example.org/start", source="bsky", now=NOW, headers={"Authorization": "Bearer T"})
    assert seen == [("api.example.org/start", "Bearer T"), ("api.example.org/next", "Bearer T")]
