"""YouTube Data API v3 ``search.list``, ``videos.list`` and ``commentThreads.list`` bodies.

The format :mod:`collectors.youtube` reads.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from collectors.base import RawItem
from collectors.wire._common import iso_seconds

DEMO_VIDEO_ID = "OKIdemoVid1"
"""The video the demo's YouTube comments hang under when the scenario names none (11 characters)."""
DEMO_CHANNEL_ID = "UCokiDemoChannel00000001"


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
                    "publishedAt": iso_seconds(v.created_at),
                    "channelId": DEMO_CHANNEL_ID,
                    "title": v.title or v.text[:80],
                    "description": v.text[:160],
                    "channelTitle": v.author or "Warga OKI",
                    "liveBroadcastContent": "none",
                    "publishTime": iso_seconds(v.created_at),
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
                "publishedAt": iso_seconds(video.created_at),
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
                    "publishedAt": iso_seconds(item.created_at),
                    "updatedAt": iso_seconds(item.created_at),
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
