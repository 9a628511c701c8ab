"""The TikTok Research API as its collector tests meet it: credentials, endpoints and the recorded pages."""

from __future__ import annotations

from collectors.tiktok import TikTokCollector, create
from tests.platform_replay import ReplayServer, fixture

SECRETS = {"TIKTOK_CLIENT_KEY": "awkey0123456789", "TIKTOK_CLIENT_SECRET": "secret-abcdef-0123456789"}
QUERY = "/v2/research/video/query/"
COMMENTS = "/v2/research/video/comment/list/"


def make(base_url: str, **settings: object) -> TikTokCollector:
    """The TikTok collector pointed at ``base_url`` (the replay server) with the test credentials."""
    return create("tt-oki", {"base_url": base_url, **settings}, SECRETS)


def serve_pages(server: ReplayServer) -> None:
    """The recorded token, two pages of videos and their comments."""
    server.add("POST", "/v2/oauth/token/", fixture("tiktok", "token.json"))
    server.add("POST", QUERY, fixture("tiktok", "query_page1.json"), fixture("tiktok", "query_page2.json"))
    server.add("POST", COMMENTS, fixture("tiktok", "comments.json"))
