"""Bluesky ``searchPosts`` and ``getPosts`` bodies (the format :mod:`collectors.bluesky` reads)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from collectors.base import RawItem
from collectors.wire._common import digits, handle, iso_millis, newest_first

DEMO_DID = "did:plc:okidemo000000000000000"


def bluesky_uri(item: RawItem) -> str:
    """An ``at://`` post URI with a time-ordered record key."""
    rkey = f"3demo{int(item.created_at.timestamp()):010d}{digits(item) % 100000:05d}"
    return f"at://{DEMO_DID}/app.bsky.feed.post/{rkey}"


def bluesky_search(
    items: Iterable[RawItem], *, cursor: str | None = None, limit: int = 25, since: datetime | None = None
) -> dict[str, Any]:
    """An ``app.bsky.feed.searchPosts`` body (sort=latest): newest first, ``cursor`` = offset of the next page."""
    posts = [i for i in newest_first(items) if since is None or i.created_at >= since]
    start = int(cursor) if cursor and cursor.isdigit() else 0
    limit = max(1, min(limit, 100))
    page = posts[start : start + limit]
    body: dict[str, Any] = {"hitsTotal": len(posts), "posts": [_post_view(i) for i in page]}
    if start + limit < len(posts):
        body["cursor"] = str(start + limit)
    return body


def bluesky_get_posts(items: Iterable[RawItem], uris: Sequence[str]) -> dict[str, Any]:
    """An ``app.bsky.feed.getPosts`` body: the posts still visible among ``uris`` (missing ones left out)."""
    wanted = set(uris)
    return {"posts": [_post_view(i) for i in items if bluesky_uri(i) in wanted]}


def _post_view(item: RawItem) -> dict[str, Any]:
    name = handle(item).lower().replace("_", "-") + ".bsky.social"
    return {
        "uri": bluesky_uri(item),
        "cid": "bafyrei" + format(digits(item), "x").rjust(12, "a"),
        "author": {"did": DEMO_DID, "handle": name, "displayName": item.author or name},
        "record": {
            "$type": "app.bsky.feed.post",
            "text": item.text,
            "createdAt": iso_millis(item.created_at),
            "langs": ["id"],
        },
        "replyCount": item.replies,
        "repostCount": item.shares,
        "likeCount": item.likes,
        "quoteCount": 0,
        "bookmarkCount": 0,
        "indexedAt": iso_millis(item.created_at),
        "labels": [],
    }
