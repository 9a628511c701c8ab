"""Reddit search listings (the format :mod:`collectors.reddit` reads)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from collectors.base import RawItem
from collectors.wire._common import digits, handle, newest_first


def reddit_id(item: RawItem) -> str:
    """A base-36 post id (``t3_`` + this is the fullname)."""
    n = int(item.created_at.timestamp()) * 1000 + digits(item) % 1000
    alphabet = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while n:
        n, r = divmod(n, 36)
        out = alphabet[r] + out
    return out or "0"


def reddit_listing(
    items: Iterable[RawItem], *, after: str | None = None, limit: int = 25, subreddit: str = "indonesia"
) -> dict[str, Any]:
    """A search ``Listing`` (sort=new): newest first, ``after`` = fullname of the last post when more exist."""
    posts = newest_first(items)
    start = 0
    if after:
        names = [f"t3_{reddit_id(i)}" for i in posts]
        start = names.index(after) + 1 if after in names else len(posts)
    page = posts[start : start + limit]
    children: list[dict[str, Any]] = []
    for item in page:
        rid = reddit_id(item)
        permalink = f"/r/{subreddit}/comments/{rid}/demo/"
        children.append(
            {
                "kind": "t3",
                "data": {
                    "id": rid,
                    "name": f"t3_{rid}",
                    "subreddit": subreddit,
                    "title": item.title or item.text[:120],
                    "selftext": item.text,
                    "author": handle(item),
                    "created_utc": float(int(item.created_at.timestamp())),
                    "ups": item.likes,
                    "score": item.likes,
                    "num_comments": item.replies,
                    "over_18": False,
                    "is_self": True,
                    "permalink": permalink,
                    "url": "https://www.reddit.com" + permalink,
                },
            }
        )
    more = start + limit < len(posts)
    return {
        "kind": "Listing",
        "data": {
            "after": children[-1]["data"]["name"] if more and children else None,
            "dist": len(children),
            "modhash": "",
            "geo_filter": None,
            "children": children,
            "before": None,
        },
    }
