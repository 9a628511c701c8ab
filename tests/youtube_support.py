"""The YouTube Data API as its collector tests meet it: the test key and a collector pointed at the replay server."""

from __future__ import annotations

from collectors.youtube import YouTubeCollector, create

KEY = "AIzaSyTESTKEY-0123456789abcdef"


def make(base_url: str, **settings: object) -> YouTubeCollector:
    """The YouTube collector pointed at ``base_url`` (the replay server) with the test API key."""
    return create("yt-oki", {"base_url": base_url, **settings}, {"YOUTUBE_API_KEY": KEY})
