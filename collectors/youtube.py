"""YouTube Data API v3: recent videos about OKI, their comments, the regency channel's comments, statistics.

Calls (developers.google.com/youtube/v3/docs): ``search.list`` finds recent videos,
``videos.list`` adds statistics (search results carry none), ``commentThreads.list``
reads comments under each found video and, with ``allThreadsRelatedToChannelId``,
under every video of the regency's own channels, where complaints often land.

Quota (developers.google.com/youtube/v3/determine_quota_cost) is counted in units per
Pacific-time day: ``search.list`` is budgeted at ``search_cost`` units (100 under the
stricter, older reading), every other call at 1. The collector keeps its own spending
in the cursor (:class:`collectors.budget.QuotaLedger`) and never passes
``daily_quota_units``; :attr:`FetchResult.calls` reports *units*, so the source's
``calls_today`` and ``daily_call_budget`` are in units too.

The API key travels in the ``X-Goog-Api-Key`` header, never in the URL, so request
logs cannot show it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from pydantic import ConfigDict, Field

from collectors import base
from collectors.base import AuthFailed, FetchResult, JSONDict, MetricsReading, RateLimited, RawItem, SourceError
from collectors.budget import (
    QuotaLedger,
    QuotaRun,
    RateLimit,
    as_list,
    as_object,
    auth_failed,
    expect_list,
    expect_object,
    next_pacific_midnight,
    pacific_day,
    pick_secret,
    rate_limited,
)
from collectors.common import log_rejected, to_int
from collectors.http import FetchSettings, safe_get

log = logging.getLogger(__name__)

PLATFORM = "youtube"
"""``q`` accepts ``|`` for OR (search.list docs); gazetteer terms with the strongest OKI evidence."""

QUOTA_REASONS = {"quotaExceeded", "dailyLimitExceeded"}
SLOWDOWN_REASONS = {"rateLimitExceeded", "userRateLimitExceeded"}
AUTH_REASONS = {
    "keyInvalid",
    "keyExpired",
    "forbidden",
    "accessNotConfigured",
    "ipRefererBlocked",
    "authError",
    "unauthorized",
    "API_KEY_INVALID",
}
SKIP_REASONS = {"commentsDisabled", "videoNotFound", "channelNotFound", "commentThreadNotFound"}
"""Per-video problems: that video is dropped from the watch list, the run goes on."""


def _default_query() -> str:
    from collectors.queries import default_queries

    return default_queries("youtube")[0]


class Settings(FetchSettings):
    """``settings:`` of a ``youtube`` source in config.yaml (plus ``max_bytes``, ``deadline_seconds``)."""

    model_config = ConfigDict(extra="forbid")

    base_url: str = "https://www.googleapis.com/youtube/v3"
    api_key_env: str = "YOUTUBE_API_KEY"
    query: str = Field(default_factory=lambda: _default_query())
    """One search (100 units each): empty in config.yaml means the gazetteer's default."""
    channel_ids: list[str] = Field(default_factory=list)
    """The regency's and agencies' channels: comments on all their videos are read."""
    region_code: str = "ID"
    relevance_language: str = "id"
    search_cost: int = Field(100, ge=1)
    daily_quota_units: int = Field(3000, ge=1)
    """Units this collector's fetch may spend per Pacific day (tracking spends from daily_call_budget)."""
    search_interval_seconds: int = Field(3600, ge=60)
    """Searches are the expensive call: at most one per this interval."""
    watch_videos: int = Field(10, ge=0, le=200)
    """How many of the most recently found videos have their comments read each run."""
    watch_hours: float = Field(72, gt=0)
    """Stop reading a found video's comments this long after it was found."""
    comment_pages: int = Field(1, ge=1, le=20)
    first_run_hours: float = Field(24, gt=0, le=24 * 30)


class _Skip(Exception):
    """A per-video problem (comments disabled, video gone): drop it and carry on."""


class _QuotaGone(Exception):
    """The project's quota (``by_google``) or this source's own daily budget is spent."""

    def __init__(self, message: str, *, by_google: bool) -> None:
        super().__init__(message)
        self.by_google = by_google


def _reasons(body: Any) -> tuple[set[str], str]:
    """Every ``reason`` in a Google error body (``errors[]``, ``details[]``, ``status``) and its message."""
    error = as_object(as_object(body).get("error"))
    reasons = {str(e.get("reason")) for e in as_list(error.get("errors")) if isinstance(e, dict)}
    reasons |= {str(d.get("reason")) for d in as_list(error.get("details")) if isinstance(d, dict)}
    if isinstance(error.get("status"), str):
        reasons.add(error["status"])
    reasons.discard("None")
    return reasons, str(error.get("message", ""))[:200]


def _int(value: Any) -> int:
    # Statistics are JSON strings ("33265"), comment counts integers: both read by the one bounded reading.
    return to_int(value)


def _time(value: Any) -> datetime:
    if not isinstance(value, str):
        raise ValueError("publishedAt missing")
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError(f"publishedAt {value!r} has no timezone")
    return parsed


def parse_video(video: Any, source: str) -> RawItem:
    """A ``videos.list`` item (snippet + statistics) as a post."""
    if not isinstance(video, dict) or not isinstance(video.get("id"), str):
        raise ValueError("video without id")
    snippet, stats = as_object(video.get("snippet")), as_object(video.get("statistics"))
    title = snippet.get("title") if isinstance(snippet.get("title"), str) else ""
    description = snippet.get("description") if isinstance(snippet.get("description"), str) else ""
    if not title and not description:
        raise ValueError(f"video {video['id']} has neither title nor description")
    return RawItem(
        source=source,
        platform=PLATFORM,
        external_id=video["id"],
        title=title or None,
        text=str(description or title),
        created_at=_time(snippet.get("publishedAt")),
        url=f"https://www.youtube.com/watch?v={video['id']}",
        author=snippet.get("channelTitle") if isinstance(snippet.get("channelTitle"), str) else None,
        kind="post",
        likes=_int(stats.get("likeCount")),
        replies=_int(stats.get("commentCount")),
        views=_int(stats.get("viewCount")),
        extra={"channel_id": snippet.get("channelId")} if snippet.get("channelId") else {},
    )


def _comment(
    comment: Any, video_id: str | None, source: str, *, replies: int = 0, parent: str | None = None
) -> RawItem:
    if not isinstance(comment, dict) or not isinstance(comment.get("id"), str):
        raise ValueError("comment without id")
    snip = as_object(comment.get("snippet"))
    text = snip.get("textOriginal") or snip.get("textDisplay")
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"comment {comment['id']} has no text")
    video = snip.get("videoId") or video_id
    url = f"https://www.youtube.com/watch?v={video}&lc={comment['id']}" if video else None
    return RawItem(
        source=source,
        platform=PLATFORM,
        external_id=comment["id"],
        text=text,
        created_at=_time(snip.get("publishedAt")),
        url=url,
        author=snip.get("authorDisplayName") if isinstance(snip.get("authorDisplayName"), str) else None,
        kind="comment",
        parent_id=parent or (str(video) if video else None),
        likes=_int(snip.get("likeCount")),
        replies=replies,
        extra={"video_id": video} if video else {},
    )


def parse_comment_threads(body: Any, source: str) -> tuple[list[RawItem], int, str | None]:
    """Top-level comments and their included replies; returns (items, rejected, nextPageToken)."""
    data = expect_object(body, "YouTube commentThreads")
    items: list[RawItem] = []
    rejected = 0
    for thread in expect_list(data, "items", "YouTube commentThreads"):
        try:
            tsnip = as_object(as_object(thread).get("snippet"))
            video = tsnip.get("videoId") if isinstance(tsnip.get("videoId"), str) else None
            top = tsnip.get("topLevelComment")
            items.append(_comment(top, video, source, replies=_int(tsnip.get("totalReplyCount"))))
            for reply in as_list(as_object(as_object(thread).get("replies")).get("comments")):
                try:
                    items.append(_comment(reply, video, source))
                except ValueError as exc:
                    rejected += 1
                    log_rejected(source, as_object(reply).get("id", "?"), f"YouTube reply skipped: {exc}")
        except (ValueError, TypeError) as exc:
            rejected += 1
            log_rejected(source, as_object(thread).get("id", "?"), f"YouTube comment skipped: {exc}")
    token = data.get("nextPageToken")
    return items, rejected, str(token) if token else None


@dataclass
class _Run(QuotaRun):
    """One fetch's quota state, and why the quota ran out in it (if it did)."""

    exhausted: str | None = None


class YouTubeCollector(base.KeepsSecrets):
    """Search, statistics and comment threads, within a daily quota budget."""

    platform = PLATFORM
    max_ids_per_call = 50
    """``videos.list`` / ``commentThreads.list`` accept up to 50 ids."""

    def __init__(self, name: str, settings: Settings, api_key: str) -> None:
        self.name = name
        self.settings = settings
        self._key = api_key
        self.last_lookup_rate_limit = RateLimit()

    def _get(self, client: httpx.Client, endpoint: str, params: Mapping[str, str], now: datetime) -> Any:
        fetched = safe_get(
            client,
            f"{self.settings.base_url.rstrip('/')}/{endpoint}",
            source=self.name,
            now=now,
            params=dict(params),
            headers={"X-Goog-Api-Key": self._key},
            limits=self.settings.limits(),
            check_status=False,
        )
        status = fetched.status
        if status < 400:
            body = fetched.json()
            if isinstance(body, dict) and body.get("error") is not None and "items" not in body:
                reasons, message = _reasons(body)
                raise SourceError(
                    f"source {self.name}: YouTube {endpoint} menjawab HTTP {status} dengan galat / answered with an "
                    f"error ({','.join(sorted(reasons)) or 'no reason'}: {message}); the next run retries"
                )
            return body
        try:
            body = fetched.json()
        except SourceError:
            body = {}
        reasons, message = _reasons(body)
        reason = ",".join(sorted(reasons))
        if reasons & QUOTA_REASONS:
            raise _QuotaGone("the project's daily YouTube quota is used up (quotaExceeded)", by_google=True)
        if reasons & SLOWDOWN_REASONS or status == 429:
            raise rate_limited("YouTube", 60.0, reason or "too many requests")
        if reasons & SKIP_REASONS or status == 404:
            raise _Skip(f"{reason or 'not found'}: {message}")
        if reasons & AUTH_REASONS or status in (401, 403):
            raise auth_failed("YouTube", status, [self.settings.api_key_env], reason or message)
        raise SourceError(f"YouTube {endpoint} answered HTTP {status} ({reason}: {message})")

    def _spend(self, run: _Run, units: int) -> None:
        if not run.spend(units):
            raise _QuotaGone(f"daily budget of {run.budget} units for this source is spent", by_google=False)

    def _call(
        self, run: _Run, client: httpx.Client, endpoint: str, params: Mapping[str, str], now: datetime, units: int = 1
    ) -> Any:
        self._spend(run, units)  # charged before the call: Google charges failed calls too
        try:
            return self._get(client, endpoint, params, now)
        except _QuotaGone:
            # Google says the project is out: make no more calls this quota day.
            run.ledger = QuotaLedger(run.ledger.day, max(run.ledger.used, run.budget))
            raise

    def fetch(self, cursor: JSONDict, client: httpx.Client, now: datetime) -> FetchResult:
        """New videos (at most one search per interval), statistics, and new comments of watched videos."""
        s = self.settings
        run = _Run(ledger=QuotaLedger.load(cursor, pacific_day(now)), budget=s.daily_quota_units)
        videos: dict[str, JSONDict] = {
            k: dict(v) for k, v in as_object(cursor.get("videos")).items() if isinstance(v, dict)
        }
        channels: dict[str, str] = {k: str(v) for k, v in as_object(cursor.get("channels")).items()}
        channel_walks: dict[str, JSONDict] = {
            k: dict(v) for k, v in as_object(cursor.get("channel_walks")).items() if isinstance(v, dict)
        }
        new_cursor: JSONDict = {k: v for k, v in cursor.items() if k in ("last_search_at", "published_after")}
        try:
            found, newest = self._search(run, client, now, cursor, new_cursor)
            for vid in found:
                videos.setdefault(vid, {"found": now.isoformat()})
            self._statistics(run, client, now, found)
            # Only now: a quota cut between search and statistics must leave the found videos to the next search.
            if newest is not None:
                new_cursor["published_after"] = newest
            self._comments(run, client, now, videos, channels, channel_walks)
        except _QuotaGone as exc:
            if exc.by_google and not run.items:
                # Nothing read at all: let the runner back off until the quota day ends.
                wait = (next_pacific_midnight(now) - now).total_seconds()
                raise rate_limited("YouTube", wait, f"{exc}; resets at midnight Pacific time") from None
            # Keep what was read; the ledger in the cursor stops further calls until the day ends.
            run.exhausted = str(exc)
            log.warning("source %s: %s; no more calls until the quota day ends", self.name, exc)
        horizon = now - timedelta(hours=s.watch_hours)
        kept = {vid: v for vid, v in videos.items() if _found(v) >= horizon}
        new_cursor.update({"quota": run.ledger.to_json(), "videos": kept, "channels": channels})
        if channel_walks:
            new_cursor["channel_walks"] = channel_walks
        rate = run.rate_facts()
        if run.exhausted:
            rate.update(remaining=0, reset=next_pacific_midnight(now).isoformat(), note=run.exhausted[:200])
        return FetchResult(items=run.items, cursor=new_cursor, rejected=run.rejected, calls=run.spent, rate_limit=rate)

    def _search(
        self, run: _Run, client: httpx.Client, now: datetime, cursor: JSONDict, new_cursor: JSONDict
    ) -> tuple[list[str], str | None]:
        """Search for new videos: their ids and the newest publication time (the next ``publishedAfter``)."""
        s = self.settings
        last = cursor.get("last_search_at")
        if isinstance(last, str) and now - datetime.fromisoformat(last) < timedelta(seconds=s.search_interval_seconds):
            return [], None
        after = cursor.get("published_after")
        if not isinstance(after, str):
            after = (now - timedelta(hours=s.first_run_hours)).strftime("%Y-%m-%dT%H:%M:%SZ")
        body = self._call(
            run,
            client,
            "search",
            {
                "part": "snippet",
                "q": s.query,
                "type": "video",
                "order": "date",
                "publishedAfter": after,
                "maxResults": "50",
                "regionCode": s.region_code,
                "relevanceLanguage": s.relevance_language,
            },
            now,
            units=s.search_cost,
        )
        data = expect_object(body, "YouTube search")
        found: list[str] = []
        newest = after
        for result in expect_list(data, "items", "YouTube search"):
            vid = as_object(as_object(result).get("id")).get("videoId")
            published = as_object(as_object(result).get("snippet")).get("publishedAt")
            if not isinstance(vid, str):
                run.rejected += 1
                continue
            found.append(vid)
            if isinstance(published, str) and published > newest:
                newest = published
        new_cursor["last_search_at"] = now.isoformat()
        new_cursor["published_after"] = after  # moved on to ``newest`` by the caller once the videos are read
        return found, newest

    def _statistics(self, run: _Run, client: httpx.Client, now: datetime, ids: list[str]) -> None:
        for start in range(0, len(ids), self.max_ids_per_call):
            chunk = ids[start : start + self.max_ids_per_call]
            body = self._call(run, client, "videos", {"part": "snippet,statistics", "id": ",".join(chunk)}, now)
            for video in expect_list(expect_object(body, "YouTube videos"), "items", "YouTube videos"):
                try:
                    run.items.append(parse_video(video, self.name))
                except (ValueError, TypeError) as exc:
                    run.rejected += 1
                    log_rejected(self.name, as_object(video).get("id", "?"), f"YouTube video skipped: {exc}")

    def _comments(
        self,
        run: _Run,
        client: httpx.Client,
        now: datetime,
        videos: dict[str, JSONDict],
        channels: dict[str, str],
        channel_walks: dict[str, JSONDict],
    ) -> None:
        s = self.settings
        watched = sorted(videos, key=lambda v: _found(videos[v]), reverse=True)[: s.watch_videos]
        threads: list[tuple[str, str, str | None, Any]] = [
            ("videoId", vid, videos[vid].get("seen"), videos[vid].get("pending")) for vid in watched
        ]
        threads += [
            ("allThreadsRelatedToChannelId", cid, channels.get(cid), channel_walks.get(cid)) for cid in s.channel_ids
        ]
        for key, value, seen, pending in threads:
            try:
                mark, walk = self._thread_pages(run, client, now, key, value, seen, pending)
            except _Skip as exc:
                log.info("source %s: comments of %s skipped (%s)", self.name, value, exc)
                videos.pop(value, None)
                continue
            if key == "videoId":
                state = {k: v for k, v in videos[value].items() if k != "pending"}
                if mark:
                    state["seen"] = mark
                if walk:
                    state["pending"] = walk
                videos[value] = state
            else:
                if mark:
                    channels[value] = mark
                if walk:
                    channel_walks[value] = walk
                else:
                    channel_walks.pop(value, None)

    def _thread_pages(
        self, run: _Run, client: httpx.Client, now: datetime, key: str, value: str, seen: str | None, pending: Any
    ) -> tuple[str | None, JSONDict | None]:
        """Read comment pages newest first until reaching comments already seen.

        Returns the new watermark and the unfinished walk (``{"page", "top"}``) or None. A walk cut
        short by ``comment_pages`` keeps the watermark and is resumed from its page token next run;
        moving the watermark at the cut skipped every comment between the last page read and it.
        """
        walk = as_object(pending)
        resumed = walk.get("page") if isinstance(walk.get("page"), str) and walk.get("page") else None
        token: str | None = resumed
        top: str | None = walk.get("top") if isinstance(walk.get("top"), str) else None
        for page_no in range(self.settings.comment_pages):
            params = {
                "part": "snippet,replies",
                key: value,
                "order": "time",
                "maxResults": "100",
                "textFormat": "plainText",
            }
            if token:
                params["pageToken"] = token
            try:
                body = self._call(run, client, "commentThreads", params, now)
            except (_Skip, SourceError) as exc:
                if page_no or not resumed or isinstance(exc, (RateLimited, AuthFailed)):
                    raise
                # A stored page token Google no longer takes: the watermark has not moved, so walking
                # again from the newest page skips nothing, while failing here would fail every run.
                log.warning(
                    "source %s: stored page token of %s rejected (%s); reading from the newest", self.name, value, exc
                )
                params.pop("pageToken")
                body = self._call(run, client, "commentThreads", params, now)
            items, rejected, token = parse_comment_threads(body, self.name)
            run.rejected += rejected
            reached_seen = False
            for item in items:
                stamp = item.created_at.isoformat()
                # Threads come newest first; a top-level comment (reply ids contain ".") at or before
                # the watermark means the rest of the list was read on an earlier run.
                if seen and stamp <= seen and "." not in item.external_id:
                    reached_seen = True
                run.items.append(item)
                if top is None or stamp > top:
                    top = stamp
            if reached_seen or not token:
                break
        else:
            # Without a watermark the first look takes what comment_pages allows, as before.
            if seen:
                return seen, {"page": token, "top": top}
        return max(seen or "", top or "") or None, None

    def lookup(self, external_ids: list[str], client: httpx.Client, now: datetime) -> tuple[list[MetricsReading], int]:
        """Fresh statistics: videos via ``videos.list``, top-level comments via ``commentThreads.list``,
        replies via ``comments.list``; 1 unit per call of up to 50 ids."""
        video_ids = [i for i in external_ids if len(i) == 11 and "." not in i]
        thread_ids = [i for i in external_ids if len(i) != 11 and "." not in i]
        reply_ids = [i for i in external_ids if "." in i]
        readings: list[MetricsReading] = []
        calls = 0
        for endpoint, ids, part in (
            ("videos", video_ids, "statistics"),
            ("commentThreads", thread_ids, "snippet"),
            ("comments", reply_ids, "snippet"),
        ):
            for start in range(0, len(ids), self.max_ids_per_call):
                chunk = ids[start : start + self.max_ids_per_call]
                calls += 1
                try:
                    body = self._get(client, endpoint, {"part": part, "id": ",".join(chunk)}, now)
                except _Skip:
                    continue
                except _QuotaGone as exc:
                    wait = (next_pacific_midnight(now) - now).total_seconds()
                    raise rate_limited("YouTube", wait, f"{exc}; resets at midnight Pacific time") from None
                readings.extend(parse_lookup(endpoint, body))
        return readings, calls


def parse_lookup(endpoint: str, body: Any) -> list[MetricsReading]:
    """Readings from a ``videos`` / ``commentThreads`` / ``comments`` list body."""
    data = expect_object(body, f"YouTube {endpoint}")
    readings = []
    for item in expect_list(data, "items", f"YouTube {endpoint}"):
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            continue
        if endpoint == "videos":
            stats = as_object(item.get("statistics"))
            readings.append(
                MetricsReading(
                    item["id"],
                    likes=_int(stats.get("likeCount")),
                    replies=_int(stats.get("commentCount")),
                    views=_int(stats.get("viewCount")),
                )
            )
        elif endpoint == "commentThreads":
            snip = as_object(item.get("snippet"))
            top = as_object(as_object(snip.get("topLevelComment")).get("snippet"))
            readings.append(
                MetricsReading(item["id"], likes=_int(top.get("likeCount")), replies=_int(snip.get("totalReplyCount")))
            )
        else:
            snip = as_object(item.get("snippet"))
            readings.append(MetricsReading(item["id"], likes=_int(snip.get("likeCount"))))
    return readings


def _found(video: Mapping[str, Any]) -> datetime:
    try:
        return datetime.fromisoformat(str(video.get("found")))
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)


def create(name: str, settings: Mapping[str, Any], secrets: Mapping[str, str]) -> YouTubeCollector:
    """Build the collector; a missing API key is an :class:`AuthFailed` naming the variable."""
    parsed = Settings.model_validate(dict(settings))
    return YouTubeCollector(name, parsed, pick_secret(secrets, parsed.api_key_env, "YouTube"))
