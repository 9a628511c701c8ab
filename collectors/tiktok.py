"""TikTok Research API: videos by keyword and region, their comments, and video lookup by id.

Only for deployments with an approved research project (developers.tiktok.com/doc/
about-research-api): a regency monitoring service will usually not qualify, so this
source ships disabled. Wire format (developers.tiktok.com/doc/research-api-specs-query-videos):

- ``POST /v2/oauth/token/`` with the client key and secret (client-credentials grant)
  gives a client access token (``clt.…``, about 2 h); it is kept in memory and renewed
  once when the API reports it invalid.
- ``POST /v2/research/video/query/?fields=…`` with a JSON query (``and``/``or``
  conditions on ``region_code``, ``keyword``, ``video_id``), a ``start_date``/``end_date``
  window of at most 30 days (``YYYYMMDD``), and ``cursor`` + ``search_id`` paging while
  ``has_more``.
- ``POST /v2/research/video/comment/list/?fields=…`` for the comments of one video.

Every response carries ``{"data": …, "error": {"code", "message", "log_id"}}``;
``error.code`` is ``"ok"`` on success.
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
    as_list,
    as_object,
    auth_failed,
    expect_list,
    expect_object,
    missing_secret,
    rate_limited,
)
from collectors.common import log_rejected, note, to_int
from collectors.http import FetchSettings, safe_request

log = logging.getLogger(__name__)

PLATFORM = "tiktok"
VIDEO_FIELDS = (
    "id,video_description,create_time,region_code,username,like_count,comment_count,share_count,"
    "view_count,hashtag_names"
)
COMMENT_FIELDS = "id,video_id,text,like_count,reply_count,parent_comment_id,create_time"
MAX_WINDOW_DAYS = 30
AUTH_CODES = {
    "access_token_invalid",
    "access_token_expired",
    "invalid_client",
    "scope_not_authorized",
    "unauthorized",
    "invalid_token",
}
OLDEST_STAMP = 946_684_800  # 2000-01-01: older is a broken value, not a TikTok post
NEWEST_STAMP = 32_503_680_000  # 3000-01-01
RATE_CODES = {"rate_limit_exceeded", "daily_quota_limit_exceeded", "too_many_requests"}


def _defaults() -> list[str]:
    from collectors.queries import default_queries

    return default_queries("tiktok")


class Settings(FetchSettings):
    """``settings:`` of a ``tiktok`` source in config.yaml (plus ``max_bytes``, ``deadline_seconds``)."""

    model_config = ConfigDict(extra="forbid")

    base_url: str = "https://open.tiktokapis.com"
    client_key_env: str = "TIKTOK_CLIENT_KEY"
    client_secret_env: str = "TIKTOK_CLIENT_SECRET"
    keywords: list[str] = Field(default_factory=lambda: _defaults())
    """Empty in config.yaml: the gazetteer's defaults (the regency and its 18 kecamatan)."""
    region_codes: list[str] = Field(default_factory=lambda: ["ID"])
    max_count: int = Field(100, ge=1, le=100)
    max_pages: int = Field(3, ge=1, le=50)
    first_run_days: int = Field(2, ge=1, le=MAX_WINDOW_DAYS)
    comment_videos: int = Field(5, ge=0, le=100)
    """How many of the most-engaged new videos of a run have their comments read."""
    daily_request_budget: int = Field(800, ge=1)
    """Requests per UTC day for fetching (the Research API allows about 1,000 a day)."""


def _day(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y%m%d")


def _stamp(value: Any, what: str) -> datetime:
    """A ``create_time`` (Unix seconds) as UTC; absent, non-integer or absurd values make the item unusable."""
    # bool is an int in Python; and fromtimestamp overflows (OverflowError/OSError) far outside this range.
    if isinstance(value, bool) or not isinstance(value, int) or not OLDEST_STAMP <= value <= NEWEST_STAMP:
        raise ValueError(f"{what} has no usable create_time ({str(value)[:40]})")
    return datetime.fromtimestamp(value, UTC)


def _n(value: Any) -> int:
    return to_int(value)  # the one bounded count reading every collector shares


def parse_video(video: Any, source: str) -> RawItem:
    """One ``data.videos[]`` element as a post."""
    if not isinstance(video, dict) or not isinstance(video.get("id"), int | str):
        raise ValueError("video without id")
    video_id = str(video["id"])  # a 64-bit number on the wire; kept as text so JavaScript never rounds it
    if isinstance(video["id"], bool) or not (video_id.isascii() and video_id.isdigit()) or len(video_id) > 20:
        raise ValueError(f"video id {video_id[:40]!r} is not a number")
    text = video.get("video_description")
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"video {video_id} has no description")
    created = _stamp(video.get("create_time"), f"video {video_id}")
    username = video.get("username") if isinstance(video.get("username"), str) else None
    url = f"https://www.tiktok.com/@{username}/video/{video_id}" if username else None
    return RawItem(
        source=source,
        platform=PLATFORM,
        external_id=video_id,
        text=text,
        created_at=created,
        url=url,
        author=username,
        kind="post",
        likes=_n(video.get("like_count")),
        shares=_n(video.get("share_count")),
        replies=_n(video.get("comment_count")),
        views=_n(video.get("view_count")),
        extra={
            "hashtags": [h for h in as_list(video.get("hashtag_names")) if isinstance(h, str)],
            "region_code": video.get("region_code"),
        },
    )


def parse_comment(comment: Any, source: str, video_url: str | None) -> RawItem:
    """One ``data.comments[]`` element."""
    if not isinstance(comment, dict) or not isinstance(comment.get("id"), int | str):
        raise ValueError("comment without id")
    text = comment.get("text")
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"comment {comment['id']} has no text")
    created = _stamp(comment.get("create_time"), f"comment {str(comment['id'])[:40]}")
    return RawItem(
        source=source,
        platform=PLATFORM,
        external_id=str(comment["id"]),
        text=text,
        created_at=created,
        url=video_url,
        kind="comment",
        parent_id=str(comment.get("video_id")) if comment.get("video_id") is not None else None,
        likes=_n(comment.get("like_count")),
        replies=_n(comment.get("reply_count")),
    )


class _BudgetSpent(Exception):
    pass


@dataclass(frozen=True, slots=True)
class _Walk:
    """How a walk over the query's result pages ended."""

    top: int
    """Newest ``create_time`` read in this walk (with what a resumed walk had read before)."""
    resume: JSONDict | None
    """Where to go on next run; None when the walk reached its last page."""
    error: SourceError | None = None


def _resume_of(payload: JSONDict, top: int) -> JSONDict:
    return {
        "start_date": payload.get("start_date"),
        "end_date": payload.get("end_date"),
        "cursor": payload.get("cursor"),
        "search_id": payload.get("search_id"),
        "top": top,
    }


class TikTokCollector(base.KeepsSecrets):
    """Research API video query and comments, with the client token renewed in memory."""

    platform = PLATFORM
    max_ids_per_call = 100

    def __init__(self, name: str, settings: Settings, client_key: str, client_secret: str) -> None:
        self.name = name
        self.settings = settings
        self._key = client_key
        self._secret = client_secret
        self._token: str | None = None
        self._token_expires: datetime | None = None

    @property
    def _env_vars(self) -> list[str]:
        return [self.settings.client_key_env, self.settings.client_secret_env]

    def _access_token(self, client: httpx.Client, now: datetime) -> str:
        if self._token and self._token_expires and now < self._token_expires:
            return self._token
        fetched = safe_request(
            client,
            "POST",
            f"{self.settings.base_url.rstrip('/')}/v2/oauth/token/",
            source=self.name,
            now=now,
            form={"client_key": self._key, "client_secret": self._secret, "grant_type": "client_credentials"},
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            limits=self.settings.limits(),
            check_status=False,
        )
        body = fetched.json()
        token = as_object(body).get("access_token")
        if fetched.status >= 400 or not isinstance(token, str) or not token:
            detail = str(as_object(body).get("error_description") or as_object(body).get("error") or "")
            raise auth_failed("TikTok", fetched.status, self._env_vars, detail[:200])
        expires_in = as_object(body).get("expires_in")
        lifetime = float(expires_in) if isinstance(expires_in, int | float) else 7200.0
        self._token = token
        self._token_expires = now + timedelta(seconds=max(lifetime - 300, 60))  # renew 5 min early
        return token

    def _post(self, client: httpx.Client, path: str, fields: str, payload: JSONDict, now: datetime) -> JSONDict:
        for attempt in (1, 2):
            token = self._access_token(client, now)
            fetched = safe_request(
                client,
                "POST",
                f"{self.settings.base_url.rstrip('/')}{path}",
                source=self.name,
                now=now,
                params={"fields": fields},
                json_body=payload,
                headers={"Authorization": f"Bearer {token}"},
                limits=self.settings.limits(),
                check_status=False,
            )
            status = fetched.status
            body = fetched.json()
            error = as_object(as_object(body).get("error"))
            code = str(error.get("code", "ok" if status < 400 else "")).lower()
            message = str(error.get("message", ""))[:200]
            if code == "ok" and status < 400:
                return expect_object(body, "TikTok", "data")
            if code in AUTH_CODES or status == 401:
                if attempt == 1 and code in ("access_token_invalid", "access_token_expired"):
                    self._token = None  # client tokens expire; get a fresh one once before giving up
                    continue
                raise auth_failed("TikTok", status, self._env_vars, f"{code}: {message}")
            if code in RATE_CODES or status == 429:
                if code == "daily_quota_limit_exceeded":
                    tomorrow = datetime(now.year, now.month, now.day, tzinfo=UTC) + timedelta(days=1)
                    wait = (tomorrow - now).total_seconds()
                else:
                    wait = 60.0
                raise rate_limited("TikTok", wait, f"{code}: {message}")
            raise SourceError(
                f"source {self.name}: TikTok menjawab HTTP {status} dengan galat / answered HTTP {status} with an "
                f"error ({code or 'no code'}: {message}); the next run retries"
            )
        raise SourceError("TikTok: token renewal did not help")  # pragma: no cover - loop always returns or raises

    def _call(
        self, run: QuotaRun, client: httpx.Client, path: str, fields: str, payload: JSONDict, now: datetime
    ) -> JSONDict:
        if not run.spend(1):
            raise _BudgetSpent()
        return self._post(client, path, fields, payload, now)

    def _query(self, extra: list[JSONDict]) -> JSONDict:
        query: JSONDict = {
            "and": [{"operation": "IN", "field_name": "region_code", "field_values": list(self.settings.region_codes)}]
        }
        query.update({"or": extra} if extra else {})
        return query

    def fetch(self, cursor: JSONDict, client: httpx.Client, now: datetime) -> FetchResult:
        """Videos created since the watermark matching any keyword in the configured regions, then comments.

        Results come in no promised time order, so the watermark (``newest_create_time``) moves only when
        a walk over the result pages is complete. A walk cut short (``max_pages``, the daily budget, a
        failed or timed-out page) keeps the videos already read and saves where it stopped (``resume``:
        the walk's window, TikTok's ``cursor``/``search_id`` and the newest time seen); the next run
        finishes that walk first. A failed comment page costs only that video's comments.
        """
        s = self.settings
        run = QuotaRun(
            ledger=QuotaLedger.load(cursor, now.astimezone(UTC).date().isoformat()), budget=s.daily_request_budget
        )
        seen = cursor.get("newest_create_time")
        seen = seen if isinstance(seen, int) and not isinstance(seen, bool) else None
        resume = cursor.get("resume") if isinstance(cursor.get("resume"), dict) else None
        try:
            walk = self._walk(run, client, now, seen, resume)
        except SourceError as exc:
            if resume is None or isinstance(exc, RateLimited | AuthFailed) or run.items:
                raise
            # TikTok's search_id may have expired between runs: start the walk again from the watermark.
            note(f"lanjutan halaman gagal, mulai ulang / resuming the walk failed ({exc}); walking again")
            walk = self._walk(run, client, now, seen, None)
        error = walk.error
        # The watermark moves only with a complete walk; while one is pending, its newest time rides in resume.
        newest = max(walk.top, seen or 0) if walk.resume is None else seen or 0
        if not isinstance(error, RateLimited | AuthFailed):
            error = self._comments(run, client, now, list(run.items)) or error
        new_cursor: JSONDict = {"quota": run.ledger.to_json()}
        if newest:
            new_cursor["newest_create_time"] = newest
        if walk.resume is not None:
            new_cursor["resume"] = walk.resume
        rate = run.rate_facts()
        if error is not None and error.retry_after:
            rate["retry_after"] = error.retry_after
        return FetchResult(items=run.items, cursor=new_cursor, rejected=run.rejected, calls=run.spent, rate_limit=rate)

    def _walk(
        self, run: QuotaRun, client: httpx.Client, now: datetime, seen: int | None, resume: JSONDict | None
    ) -> _Walk:
        """Read result pages into ``run``; a failure after the first page is kept in the returned value."""
        s = self.settings
        if resume is not None:
            payload: JSONDict = {
                "query": self._query(self._keywords()),
                "start_date": str(resume.get("start_date")),
                "end_date": str(resume.get("end_date")),
                "max_count": s.max_count,
                "is_random": False,
                "cursor": resume.get("cursor"),
                "search_id": resume.get("search_id"),
            }
            top = resume.get("top") if isinstance(resume.get("top"), int) else 0
        else:
            start = datetime.fromtimestamp(seen, UTC) if seen else now - timedelta(days=s.first_run_days)
            start = max(start, now - timedelta(days=MAX_WINDOW_DAYS - 1))
            payload = {
                "query": self._query(self._keywords()),
                "start_date": _day(start),
                "end_date": _day(now),
                "max_count": s.max_count,
                "is_random": False,
            }
            top = 0
        assert isinstance(top, int)
        for page_no in range(s.max_pages):
            try:
                data = self._call(run, client, "/v2/research/video/query/", VIDEO_FIELDS, payload, now)
                videos = expect_list(data, "videos", "TikTok video query")
            except _BudgetSpent:
                log.warning("source %s: daily request budget of %d spent; keeping what was read", self.name, run.budget)
                return _Walk(top, _resume_of(payload, top) if page_no else resume)
            except SourceError as exc:
                if page_no == 0:
                    raise
                log.warning("source %s: %s; keeping %d videos read so far", self.name, exc, len(run.items))
                note(f"halaman {page_no + 1} gagal, {len(run.items)} video tetap disimpan / page failed: {exc}")
                return _Walk(top, _resume_of(payload, top), exc)
            for raw in videos:
                try:
                    item = parse_video(raw, self.name)
                except (ValueError, TypeError) as exc:
                    run.rejected += 1
                    log_rejected(self.name, as_object(raw).get("id", "?"), f"TikTok video skipped: {exc}")
                    continue
                stamp = int(item.created_at.timestamp())
                # Same second as the watermark is kept: ingest knows the ids, and a video published in that
                # second after the last run must not be skipped.
                if seen is not None and stamp < seen:
                    continue
                run.items.append(item)
                top = max(top, stamp)
            if not data.get("has_more"):
                return _Walk(top, None)
            payload = {**payload, "cursor": data.get("cursor"), "search_id": data.get("search_id")}
        return _Walk(top, _resume_of(payload, top))

    def _keywords(self) -> list[JSONDict]:
        return [{"operation": "EQ", "field_name": "keyword", "field_values": [k]} for k in self.settings.keywords]

    def _comments(
        self, run: QuotaRun, client: httpx.Client, now: datetime, videos: list[RawItem]
    ) -> SourceError | None:
        """Comments of the most-engaged videos into ``run``; the first failure is returned, not raised."""
        busiest = sorted(videos, key=lambda v: v.likes + v.shares + v.replies, reverse=True)
        for video in busiest[: self.settings.comment_videos]:
            if video.replies == 0:
                continue  # no comments: save the request
            try:
                data = self._call(
                    run,
                    client,
                    "/v2/research/video/comment/list/",
                    COMMENT_FIELDS,
                    {"video_id": int(video.external_id), "max_count": 100, "cursor": 0},
                    now,
                )
                comments = expect_list(data, "comments", "TikTok comments")
            except _BudgetSpent:
                log.warning("source %s: daily request budget of %d spent; keeping what was read", self.name, run.budget)
                return None
            except SourceError as exc:
                if not run.items:
                    raise
                log.warning("source %s: comments of video %s failed: %s", self.name, video.external_id, exc)
                note(f"komentar video {video.external_id} gagal / comments failed: {exc}")
                return exc  # the videos and comments read so far are kept; the next run's videos get theirs
            for raw in comments:
                try:
                    run.items.append(parse_comment(raw, self.name, video.url))
                except (ValueError, TypeError) as exc:
                    run.rejected += 1
                    log_rejected(self.name, as_object(raw).get("id", "?"), f"TikTok comment skipped: {exc}")
        return None

    def lookup(self, external_ids: list[str], client: httpx.Client, now: datetime) -> tuple[list[MetricsReading], int]:
        """Fresh counts of videos (a ``video_id IN`` query over the last 30 days); comments cannot be looked up."""
        ids = [i for i in external_ids if i.isascii() and i.isdigit()]
        readings: list[MetricsReading] = []
        calls = 0
        start = _day(now - timedelta(days=MAX_WINDOW_DAYS - 1))
        for begin in range(0, len(ids), self.max_ids_per_call):
            chunk = ids[begin : begin + self.max_ids_per_call]
            query = {"and": [{"operation": "IN", "field_name": "video_id", "field_values": chunk}]}
            payload: JSONDict = {"query": query, "start_date": start, "end_date": _day(now), "max_count": len(chunk)}
            calls += 1
            data = self._post(
                client, "/v2/research/video/query/", "id,like_count,comment_count,share_count,view_count", payload, now
            )
            for raw in expect_list(data, "videos", "TikTok lookup"):
                video = as_object(raw)
                if video.get("id") is None:
                    continue
                readings.append(
                    MetricsReading(
                        str(video["id"]),
                        likes=_n(video.get("like_count")),
                        shares=_n(video.get("share_count")),
                        replies=_n(video.get("comment_count")),
                        views=_n(video.get("view_count")),
                    )
                )
        return readings, calls


def create(name: str, settings: Mapping[str, Any], secrets: Mapping[str, str]) -> TikTokCollector:
    """Build the collector; missing client credentials are an :class:`AuthFailed` naming the variable."""
    parsed = Settings.model_validate(dict(settings))
    key = secrets.get(parsed.client_key_env)
    if not key:
        raise missing_secret("TikTok", parsed.client_key_env)
    secret = secrets.get(parsed.client_secret_env)
    if not secret:
        raise missing_secret("TikTok", parsed.client_secret_env)
    return TikTokCollector(name, parsed, key, secret)
