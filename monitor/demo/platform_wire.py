"""Render demo scenario items in the X v2 and YouTube Data API v3 wire formats.

Pure functions: the demo's local replay server calls them with the scenario items
as they look at the simulated time (``ScenarioPost.at(now)``) and serves the result,
so the real ``collectors.x`` and ``collectors.youtube`` code reads the demo exactly
as it would read the platforms, including engagement tracking lookups.

Scenario ids such as ``x-00012`` are not X snowflakes; :func:`x_id` maps them to a
stable numeric id (and :func:`x_lookup_response` maps back), because the X
collector rejects non-numeric ids as malformed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from collectors.base import RawItem

X_EPOCH_MS = 1_288_834_974_657
"""X snowflake epoch (2010-11-04 01:42:54.657 UTC)."""
DEMO_VIDEO_ID = "OKIdemoVid1"
"""The video the demo's YouTube comments hang under when the scenario names none (11 characters)."""
DEMO_CHANNEL_ID = "UCokiDemoChannel00000001"


def _z(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _zs(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def x_id(item: RawItem) -> str:
    """The numeric X id the demo serves for ``item`` (real numeric ids pass through).

    Built like an X snowflake (milliseconds since X's epoch, shifted left 22 bits), so ids
    grow with time and the collector's ``since_id`` polling behaves as on X; the scenario
    counter fills the low bits to keep ids unique.
    """
    if item.external_id.isdigit():
        return item.external_id
    digits = re.sub(r"\D", "", item.external_id) or "0"
    millis = int(item.created_at.timestamp() * 1000) - X_EPOCH_MS
    return str((millis << 22) + int(digits) % (1 << 22))


def _handle(item: RawItem) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", item.author or "warga")[:15] or "warga"


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
            created_at=_z(item.created_at),
            author_id=f"u{_handle(item)}",
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
            _handle(i): {"id": f"u{_handle(i)}", "username": _handle(i), "name": i.author or "warga"} for i in page
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


# --- YouTube ----------------------------------------------------------------------------


def _video_of(item: RawItem) -> str:
    parent = item.parent_id or ""
    return parent if len(parent) == 11 else DEMO_VIDEO_ID


def youtube_videos(items: Iterable[RawItem]) -> list[RawItem]:
    """The videos the demo serves: the scenario's YouTube posts, plus the demo video comments hang under."""
    items = list(items)
    videos = [i for i in items if i.kind == "post"]
    comments = [i for i in items if i.kind != "post"]
    if comments and all(v.external_id != DEMO_VIDEO_ID for v in videos):
        first = min(c.created_at for c in comments)
        videos.append(
            RawItem(
                source=comments[0].source,
                platform="youtube",
                external_id=DEMO_VIDEO_ID,
                title="Kondisi jalan di Kecamatan Cengal, Ogan Komering Ilir",
                text="Video warga tentang jalan rusak di Desa Sri Tanjung, Cengal, Kabupaten OKI.",
                created_at=first - timedelta(hours=1),
                author="Kabar OKI",
                kind="post",
                replies=len(comments),
                likes=sum(c.likes for c in comments),
                views=50 * len(comments),
            )
        )
    return videos


def _video_id(item: RawItem) -> str:
    # YouTube video ids are 11 characters; the collector's lookup tells videos from comments by that.
    if len(item.external_id) == 11:
        return item.external_id
    digits = re.sub(r"\D", "", item.external_id) or "0"
    return "OKIv" + digits[-7:].zfill(7)


def youtube_search_response(items: Iterable[RawItem], *, published_after: datetime | None = None) -> dict[str, Any]:
    """A ``search.list`` body: the demo videos published after ``published_after``, newest first."""
    videos = sorted(
        (v for v in youtube_videos(items) if published_after is None or v.created_at > published_after),
        key=lambda v: v.created_at,
        reverse=True,
    )
    return {
        "kind": "youtube#searchListResponse",
        "etag": "demo",
        "regionCode": "ID",
        "pageInfo": {"totalResults": len(videos), "resultsPerPage": 50},
        "items": [
            {
                "kind": "youtube#searchResult",
                "etag": f"s{n}",
                "id": {"kind": "youtube#video", "videoId": _video_id(v)},
                "snippet": {
                    "publishedAt": _zs(v.created_at),
                    "channelId": DEMO_CHANNEL_ID,
                    "title": v.title or v.text[:80],
                    "description": v.text[:160],
                    "channelTitle": v.author or "Warga OKI",
                    "liveBroadcastContent": "none",
                    "publishTime": _zs(v.created_at),
                },
            }
            for n, v in enumerate(videos[:50])
        ],
    }


def _stats(item: RawItem) -> dict[str, str]:
    # Strings, as the real API sends them.
    return {
        "viewCount": str(item.views),
        "likeCount": str(item.likes),
        "favoriteCount": "0",
        "commentCount": str(item.replies),
    }


def youtube_videos_response(
    items: Iterable[RawItem], ids: Sequence[str], *, parts: str = "snippet,statistics"
) -> dict[str, Any]:
    """A ``videos.list`` body for the requested ids (unknown ids are left out, as on YouTube)."""
    by_id = {_video_id(v): v for v in youtube_videos(items)}
    out = []
    for vid in ids:
        video = by_id.get(vid)
        if video is None:
            continue
        entry: dict[str, Any] = {"kind": "youtube#video", "etag": f"v{vid}", "id": vid, "statistics": _stats(video)}
        if "snippet" in parts:
            entry["snippet"] = {
                "publishedAt": _zs(video.created_at),
                "channelId": DEMO_CHANNEL_ID,
                "title": video.title or video.text[:80],
                "description": video.text,
                "channelTitle": video.author or "Warga OKI",
                "liveBroadcastContent": "none",
            }
        out.append(entry)
    return {
        "kind": "youtube#videoListResponse",
        "etag": "demo",
        "pageInfo": {"totalResults": len(out), "resultsPerPage": len(out)},
        "items": out,
    }


def _thread(item: RawItem) -> dict[str, Any]:
    video = _video_of(item)
    return {
        "kind": "youtube#commentThread",
        "etag": f"t{item.external_id}",
        "id": item.external_id,
        "snippet": {
            "channelId": DEMO_CHANNEL_ID,
            "videoId": video,
            "canReply": True,
            "totalReplyCount": item.replies,
            "isPublic": True,
            "topLevelComment": {
                "kind": "youtube#comment",
                "etag": f"k{item.external_id}",
                "id": item.external_id,
                "snippet": {
                    "channelId": DEMO_CHANNEL_ID,
                    "videoId": video,
                    "textDisplay": item.text,
                    "textOriginal": item.text,
                    "authorDisplayName": f"@{item.author or 'warga'}",
                    "likeCount": item.likes,
                    "publishedAt": _zs(item.created_at),
                    "updatedAt": _zs(item.created_at),
                },
            },
        },
    }


def youtube_comment_threads_response(
    items: Iterable[RawItem],
    *,
    video_id: str | None = None,
    ids: Sequence[str] | None = None,
    page_token: str | None = None,
    max_results: int = 100,
) -> dict[str, Any]:
    """A ``commentThreads.list`` body: by ``videoId`` (newest first, paged) or by ``id`` (lookup)."""
    comments = [i for i in items if i.kind != "post"]
    if ids is not None:
        wanted = set(ids)
        chosen = [c for c in comments if c.external_id in wanted]
        return {
            "kind": "youtube#commentThreadListResponse",
            "etag": "demo",
            "pageInfo": {"totalResults": len(chosen), "resultsPerPage": len(chosen)},
            "items": [_thread(c) for c in chosen],
        }
    chosen = sorted(
        (c for c in comments if video_id is None or _video_of(c) == video_id), key=lambda c: c.created_at, reverse=True
    )
    start = int(page_token) if page_token and page_token.isdigit() else 0
    page = chosen[start : start + max_results]
    body: dict[str, Any] = {
        "kind": "youtube#commentThreadListResponse",
        "etag": "demo",
        "pageInfo": {"totalResults": len(page), "resultsPerPage": max_results},
        "items": [_thread(c) for c in page],
    }
    if start + max_results < len(chosen):
        body["nextPageToken"] = str(start + max_results)
    return body
