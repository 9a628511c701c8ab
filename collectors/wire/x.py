"""X API v2 recent search, tweet lookup and rate-limit headers (the format :mod:`collectors.x` reads).

Scenario ids such as ``x-00012`` are not X snowflakes; :func:`x_id` maps them to a
stable numeric id (and :func:`x_lookup_response` maps back), because the X
collector rejects non-numeric ids as malformed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from collectors.base import RawItem
from collectors.wire._common import digits, handle, iso_millis

X_EPOCH_MS = 1_288_834_974_657
"""X snowflake epoch (2010-11-04 01:42:54.657 UTC)."""


def x_id(item: RawItem) -> str:
    """The numeric X id the demo serves for ``item`` (real numeric ids pass through).

    Built like an X snowflake (milliseconds since X's epoch, shifted left 22 bits), so ids
    grow with time and the collector's ``since_id`` polling behaves as on X; the scenario
    counter fills the low bits to keep ids unique.
    """
    if item.external_id.isdigit():
        return item.external_id
    millis = int(item.created_at.timestamp() * 1000) - X_EPOCH_MS
    return str((millis << 22) + digits(item) % (1 << 22))


def _x_tweet(item: RawItem, *, with_text: bool = True) -> dict[str, Any]:
    tweet: dict[str, Any] = {
        "id": x_id(item),
        "public_metrics": {
            "retweet_count": item.shares,
            "reply_count": item.replies,
            "like_count": item.likes,
            "quote_count": 0,
            "bookmark_count": 0,
            "impression_count": item.views,
        },
        "edit_history_tweet_ids": [x_id(item)],
    }
    if with_text:
        tweet.update(
            text=item.text,
            created_at=iso_millis(item.created_at),
            author_id=f"u{handle(item, 15)}",
            conversation_id=x_id(item),
            lang="in",
        )
    return tweet


def x_search_response(
    items: Iterable[RawItem], *, since_id: str | None = None, next_token: str | None = None, max_results: int = 100
) -> dict[str, Any]:
    """A ``GET /2/tweets/search/recent`` body over ``items`` (newest first), paged by ``max_results``.

    ``next_token`` is the offset of the page as a string (opaque to the collector, as on X).
    """
    posts = sorted(
        (i for i in items if since_id is None or int(x_id(i)) > int(since_id)),
        key=lambda i: (i.created_at, int(x_id(i))),
        reverse=True,
    )
    start = int(next_token) if next_token and next_token.isdigit() else 0
    page = posts[start : start + max_results]
    meta: dict[str, Any] = {"result_count": len(page)}
    if page:
        meta.update(newest_id=x_id(page[0]), oldest_id=x_id(page[-1]))
    if start + max_results < len(posts):
        meta["next_token"] = str(start + max_results)
    body: dict[str, Any] = {"meta": meta}
    if page:
        body["data"] = [_x_tweet(i) for i in page]
        users = {
            handle(i, 15): {"id": f"u{handle(i, 15)}", "username": handle(i, 15), "name": i.author or "warga"}
            for i in page
        }
        body["includes"] = {"users": list(users.values())}
    return body


def x_lookup_response(items: Iterable[RawItem], ids: Sequence[str]) -> dict[str, Any]:
    """A ``GET /2/tweets?ids=`` body: current metrics of the requested ids, ``errors`` for unknown ones."""
    by_id = {x_id(i): i for i in items}
    found = [by_id[i] for i in ids if i in by_id]
    body: dict[str, Any] = {"data": [_x_tweet(i, with_text=False) | {"text": i.text} for i in found]}
    missing = [i for i in ids if i not in by_id]
    if missing:
        body["errors"] = [
            {
                "value": i,
                "resource_id": i,
                "resource_type": "tweet",
                "parameter": "ids",
                "title": "Not Found Error",
                "detail": f"Could not find tweet with ids: [{i}].",
                "type": "https://api.twitter.com/2/problems/resource-not-found",
            }
            for i in missing
        ]
    return body


def x_rate_limit_headers(now: datetime, *, remaining: int = 449, limit: int = 450) -> dict[str, str]:
    """The ``x-rate-limit-*`` headers of a response in a 15-minute window."""
    window_end = now.astimezone(UTC).replace(second=0, microsecond=0)
    window_end += timedelta(minutes=15 - window_end.minute % 15)
    return {
        "x-rate-limit-limit": str(limit),
        "x-rate-limit-remaining": str(remaining),
        "x-rate-limit-reset": str(int(window_end.timestamp())),
    }
